using static TorchSharp.torch;

namespace Pretext.Methods;

/// <summary>
/// Implemented by methods that reconstruct their input (MAE, denoising and inpainting autoencoders):
/// a per-sample reconstruction error that anomaly detection can use as a score beside kNN distance.
/// </summary>
public interface IReconstructionScorer
{
    /// <summary>(B) fp32 reconstruction errors of the preprocessed batch <paramref name="x"/>, deterministic for a given <paramref name="seed"/> (masks are drawn from it); higher means less typical.</summary>
    Tensor ReconstructionError(Tensor x, long seed);
}
