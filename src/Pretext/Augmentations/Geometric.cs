using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>
/// Random resized crop (Szegedy et al. 2015; the SimCLR default), optionally fused with a random
/// horizontal flip: per sample, a box of area fraction s ~ U(scale) and aspect ratio r ~ logU(ratio)
/// is placed uniformly inside the image and resampled bilinearly to size x size. Boxes whose sides
/// would exceed the image are clamped to it (instead of torchvision's 10 retries), which keeps the op
/// a single batched affine_grid + grid_sample.
/// </summary>
public sealed class RandomResizedCrop : IAugmentation
{
    public RandomResizedCrop(int size, double scaleMin = 0.08, double scaleMax = 1.0, double ratioMin = 3.0 / 4, double ratioMax = 4.0 / 3, double flipProbability = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "Crop size must be positive.");
        Rand.CheckRange(scaleMin, scaleMax, "scale", 1e-6, 1);
        Rand.CheckRange(ratioMin, ratioMax, "ratio", 1e-6);
        Rand.CheckProbability(flipProbability, nameof(flipProbability));
        Size = size; ScaleMin = scaleMin; ScaleMax = scaleMax; RatioMin = ratioMin; RatioMax = ratioMax; FlipProbability = flipProbability;
    }

    public int Size { get; }
    public double ScaleMin { get; }
    public double ScaleMax { get; }
    public double RatioMin { get; }
    public double RatioMax { get; }
    public double FlipProbability { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckImageBatch(x, nameof(RandomResizedCrop));
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var area = Rand.Uniform(b, ScaleMin, ScaleMax, generator);
        var logR = Rand.Uniform(b, Math.Log(RatioMin), Math.Log(RatioMax), generator);
        var ratio = logR.exp();
        // Width and height as fractions of the image side (affine_grid works in [-1, 1] coordinates).
        var w = area.mul(ratio).sqrt_().clamp_(max: 1.0);
        var h = area.div(ratio).sqrt_().clamp_(max: 1.0);
        var tx = Rand.Uniform(b, -1, 1, generator).mul_(w.neg().add(1));
        var ty = Rand.Uniform(b, -1, 1, generator).mul_(h.neg().add(1));
        var sign = FlipProbability > 0
            ? torch.where(Rand.Bernoulli(b, FlipProbability, generator), -1f, 1f)
            : ones(b);
        var zero = zeros(b);
        var theta = stack([w.mul(sign), zero, tx, zero, h, ty], 1).view(b, 2, 3);
        var grid = nn.functional.affine_grid(theta, [b, x.shape[1], Size, Size], align_corners: false);
        return nn.functional.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false)
            .MoveToOuterDisposeScope();
    }
}

/// <summary>Mirrors each image left-right with probability p.</summary>
public sealed class RandomHorizontalFlip : IAugmentation
{
    public RandomHorizontalFlip(double probability = 0.5)
    {
        Rand.CheckProbability(probability, nameof(probability));
        Probability = probability;
    }

    public double Probability { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckImageBatch(x, nameof(RandomHorizontalFlip));
        using var scope = NewDisposeScope();
        var mask = Rand.Bernoulli(x.shape[0], Probability, generator);
        return Rand.Where(mask, x.flip(3), x).MoveToOuterDisposeScope();
    }
}
