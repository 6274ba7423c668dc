using Pretext.Encoders;
using Pretext.Training;

namespace Pretext.Methods;

/// <summary>
/// A self-supervised method: an encoder plus whatever heads, losses and state its pretext task needs.
/// The shared training loop owns optimisation; the method only computes the loss of one batch of
/// views (<see cref="ITrainingTask"/>). Implementations are <see cref="TorchSharp.torch.nn.Module"/>s so their
/// state_dict is the checkpoint.
/// </summary>
public interface ISslMethod : ITrainingTask
{
    /// <summary>The encoder being learnt; evaluation and export use only this.</summary>
    Encoder Encoder { get; }
}
