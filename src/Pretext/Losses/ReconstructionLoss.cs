using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// Pixel reconstruction losses of the masked and denoising methods (MAE, context encoder, denoising
/// autoencoder): squared error averaged over the elements a mask selects.
/// </summary>
public static class ReconstructionLoss
{
    /// <summary>
    /// Mean of (prediction - target)^2 over the elements where <paramref name="mask"/> is 1, as one
    /// scalar over the batch (MAE eq.: "we compute the loss only on masked patches"; context encoder:
    /// L2 on the dropped region). 0 when nothing is masked.
    /// </summary>
    /// <param name="prediction">(B, ...) fp32.</param>
    /// <param name="target">Same shape as <paramref name="prediction"/>.</param>
    /// <param name="mask">Same rank, each dimension equal to the prediction's or 1 (e.g. (B, N, 1) for patches, (B, 1, H, W) for pixels); 1 = counted, 0 = ignored.</param>
    /// <exception cref="ArgumentException">Shapes do not fit.</exception>
    public static Tensor MaskedMse(Tensor prediction, Tensor target, Tensor mask)
    {
        Check(prediction, target, mask);
        using var scope = NewDisposeScope();
        var m = mask.to(ScalarType.Float32).expand(prediction.shape);
        var err = prediction.sub(target).square().mul_(m).sum();
        return err.div_(m.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>Like <see cref="MaskedMse"/> but per sample: (B) means over each sample's masked elements (0 for a sample with none).</summary>
    public static Tensor MaskedMsePerSample(Tensor prediction, Tensor target, Tensor mask)
    {
        Check(prediction, target, mask);
        using var scope = NewDisposeScope();
        var m = mask.to(ScalarType.Float32).expand(prediction.shape).flatten(1);
        var err = prediction.sub(target).square().flatten(1).mul_(m).sum(1);
        return err.div_(m.sum(1).clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-patch normalised pixel targets (MAE section 3, "normalized pixels"): each patch's values
    /// minus their mean, divided by sqrt(var + eps) with the unbiased variance, as MAE's reference
    /// code computes it. Input and output (..., P), P >= 2.
    /// </summary>
    public static Tensor NormalizePatches(Tensor patches, double eps = 1e-6)
    {
        if (patches.shape[^1] < 2) throw new ArgumentException($"Per-patch normalisation needs at least 2 values per patch, got shape [{string.Join(",", patches.shape)}].");
        using var scope = NewDisposeScope();
        var mean = patches.mean([-1L], keepdim: true);
        var variance = patches.var(-1, unbiased: true, keepdim: true);
        return patches.sub(mean).div_(variance.add_(eps).sqrt_()).MoveToOuterDisposeScope();
    }

    private static void Check(Tensor prediction, Tensor target, Tensor mask)
    {
        if (!prediction.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"Prediction [{string.Join(",", prediction.shape)}] and target [{string.Join(",", target.shape)}] must have the same shape.");
        if (mask.dim() != prediction.dim() || mask.shape.Zip(prediction.shape).Any(p => p.First != p.Second && p.First != 1))
            throw new ArgumentException($"Mask [{string.Join(",", mask.shape)}] must have the prediction's rank with each dimension equal to [{string.Join(",", prediction.shape)}] or 1.");
    }
}
