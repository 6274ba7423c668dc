using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Encoders;

/// <summary>
/// The one encoder contract: a module mapping a batch (B, ...) to features (B, FeatureDim) in fp32.
/// Evaluation, export and every method go through it; nothing downstream assumes images.
/// </summary>
public abstract class Encoder : nn.Module<Tensor, Tensor>
{
    protected Encoder(string name) : base(name) { }

    /// <summary>Width of the feature vector returned by forward.</summary>
    public abstract int FeatureDim { get; }

    /// <summary>Shape of one input sample, without the batch dimension, e.g. (1, 28, 28).</summary>
    public abstract long[] InputShape { get; }
}
