using static TorchSharp.torch;

namespace Pretext.Methods;

/// <summary>A method that predicts the next frame of a clip; evaluation scores it against copying the last frame.</summary>
public interface IFramePredictor
{
    /// <summary>
    /// One-step predictions (B, T - 1, C, S, S) of frames 1..T-1 of clips <paramref name="clips"/> (B, T, C, S, S) in [0, 1]:
    /// entry t is made from the true frames 0..t only.
    /// </summary>
    Tensor Predict(Tensor clips);
}
