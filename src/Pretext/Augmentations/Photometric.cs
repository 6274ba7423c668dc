using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>
/// Brightness and contrast jitter, applied with probability p (SimCLR's colour distortion without the
/// hue/saturation parts, which grey images lack). Brightness multiplies by b ~ U(1-B, 1+B); contrast
/// blends with the image's mean grey by c ~ U(1-C, 1+C); the order of the two is random per sample as
/// in torchvision's ColorJitter. Output is clamped to [0, 1].
/// </summary>
public sealed class BrightnessContrastJitter : IAugmentation
{
    public BrightnessContrastJitter(double brightness = 0.4, double contrast = 0.4, double probability = 0.8)
    {
        Rand.CheckRange(0, brightness, nameof(brightness), 0, 1);
        Rand.CheckRange(0, contrast, nameof(contrast), 0, 1);
        Rand.CheckProbability(probability, nameof(probability));
        Brightness = brightness; Contrast = contrast; Probability = probability;
    }

    public double Brightness { get; }
    public double Contrast { get; }
    public double Probability { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckImageBatch(x, nameof(BrightnessContrastJitter));
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var bf = Rand.Uniform(b, 1 - Brightness, 1 + Brightness, generator).view(b, 1, 1, 1);
        var cf = Rand.Uniform(b, 1 - Contrast, 1 + Contrast, generator).view(b, 1, 1, 1);
        var contrastFirst = Rand.Bernoulli(b, 0.5, generator);
        var apply = Rand.Bernoulli(b, Probability, generator);
        Tensor Bright(Tensor t) => t.mul(bf).clamp_(0, 1);
        Tensor Contr(Tensor t)
        {
            var mean = t.mean([1L, 2L, 3L], keepdim: true);
            return t.sub(mean).mul_(cf).add_(mean).clamp_(0, 1);
        }
        var bc = Contr(Bright(x));
        var cb = Bright(Contr(x));
        var jittered = Rand.Where(contrastFirst, cb, bc);
        return Rand.Where(apply, jittered, x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Gaussian blur with sigma ~ U(sigmaMin, sigmaMax) per sample, applied with probability p (SimCLR
/// appendix A: kernel 10 % of the image side, sigma in [0.1, 2.0]). Separable, reflect-padded.
/// </summary>
public sealed class RandomGaussianBlur : IAugmentation
{
    public RandomGaussianBlur(int kernelSize, double sigmaMin = 0.1, double sigmaMax = 2.0, double probability = 0.5)
    {
        if (kernelSize < 3 || kernelSize % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "Kernel size must be odd and at least 3.");
        Rand.CheckRange(sigmaMin, sigmaMax, "sigma", 1e-6);
        Rand.CheckProbability(probability, nameof(probability));
        KernelSize = kernelSize; SigmaMin = sigmaMin; SigmaMax = sigmaMax; Probability = probability;
    }

    public int KernelSize { get; }
    public double SigmaMin { get; }
    public double SigmaMax { get; }
    public double Probability { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckImageBatch(x, nameof(RandomGaussianBlur));
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], hgt = x.shape[2], wid = x.shape[3];
        var sigma = Rand.Uniform(b, SigmaMin, SigmaMax, generator);
        var apply = Rand.Bernoulli(b, Probability, generator);
        int r = KernelSize / 2;
        var offsets = arange(-r, r + 1, dtype: ScalarType.Float32);
        var k = offsets.pow(2).unsqueeze(0).div(sigma.pow(2).mul(-2).unsqueeze(1)).exp_();   // (B, K)
        k = k.div_(k.sum(1, keepdim: true));
        k = k.repeat_interleave(c, dim: 0);                                                   // (B*C, K)
        var flat = x.reshape(1, b * c, hgt, wid);
        var padded = nn.functional.pad(flat, [r, r, r, r], PaddingModes.Reflect);
        var h = nn.functional.conv2d(padded, k.view(b * c, 1, 1, KernelSize), groups: b * c);
        h = nn.functional.conv2d(h, k.view(b * c, 1, KernelSize, 1), groups: b * c);
        return Rand.Where(apply, h.view(b, c, hgt, wid), x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Random erasing (Zhong et al. 2020): with probability p, one rectangle of area fraction
/// s ~ U(scale) and aspect ratio r ~ logU(ratio) is set to <see cref="Value"/>.
/// </summary>
public sealed class RandomErasing : IAugmentation
{
    public RandomErasing(double probability = 0.5, double scaleMin = 0.02, double scaleMax = 0.33, double ratioMin = 0.3, double ratioMax = 3.3, float value = 0)
    {
        Rand.CheckProbability(probability, nameof(probability));
        Rand.CheckRange(scaleMin, scaleMax, "scale", 0, 1);
        Rand.CheckRange(ratioMin, ratioMax, "ratio", 1e-6);
        Probability = probability; ScaleMin = scaleMin; ScaleMax = scaleMax; RatioMin = ratioMin; RatioMax = ratioMax; Value = value;
    }

    public double Probability { get; }
    public double ScaleMin { get; }
    public double ScaleMax { get; }
    public double RatioMin { get; }
    public double RatioMax { get; }
    public float Value { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckImageBatch(x, nameof(RandomErasing));
        using var scope = NewDisposeScope();
        long b = x.shape[0], hgt = x.shape[2], wid = x.shape[3];
        var area = Rand.Uniform(b, ScaleMin, ScaleMax, generator);
        var ratio = Rand.Uniform(b, Math.Log(RatioMin), Math.Log(RatioMax), generator).exp_();
        var eh = area.div(ratio).sqrt_().clamp_(max: 1.0).mul_(hgt).round_();
        var ew = area.mul(ratio).sqrt_().clamp_(max: 1.0).mul_(wid).round_();
        var top = Rand.Uniform(b, 0, 1, generator).mul_(eh.neg().add(hgt + 1)).floor_();
        var left = Rand.Uniform(b, 0, 1, generator).mul_(ew.neg().add(wid + 1)).floor_();
        var apply = Rand.Bernoulli(b, Probability, generator);
        var rows = arange(hgt, dtype: ScalarType.Float32).view(1, hgt);
        var cols = arange(wid, dtype: ScalarType.Float32).view(1, wid);
        var inRows = rows.ge(top.view(b, 1)).logical_and_(rows.lt(top.add(eh).view(b, 1)));   // (B, H)
        var inCols = cols.ge(left.view(b, 1)).logical_and_(cols.lt(left.add(ew).view(b, 1))); // (B, W)
        var mask = inRows.unsqueeze(2).logical_and(inCols.unsqueeze(1)).logical_and_(apply.view(b, 1, 1)).unsqueeze(1); // (B,1,H,W)
        return x.masked_fill(mask, Value).MoveToOuterDisposeScope();
    }
}

/// <summary>Per-channel standardisation (x - mean) / std; deterministic, used for training and evaluation alike.</summary>
public sealed class Normalize : IAugmentation
{
    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        if (mean.Count == 0 || mean.Count != std.Count) throw new ArgumentException("Normalize needs one mean and one std per channel.");
        if (std.Any(s => !(s > 0))) throw new ArgumentException("Normalize std values must be positive.");
        Mean = mean.ToArray(); Std = std.ToArray();
    }

    public float[] Mean { get; }
    public float[] Std { get; }

    public Tensor Apply(Tensor x, Generator generator) => Apply(x);

    /// <summary>Normalises (B, C, ...) with C = number of channels given.</summary>
    public Tensor Apply(Tensor x)
    {
        if (x.dim() < 2 || x.shape[1] != Mean.Length)
            throw new ArgumentException($"Normalize was set up for {Mean.Length} channel(s), got shape [{string.Join(",", x.shape)}].");
        using var scope = NewDisposeScope();
        var shape = new long[x.dim()]; Array.Fill(shape, 1L); shape[1] = Mean.Length;
        return x.sub(tensor(Mean).view(shape)).div_(tensor(Std).view(shape)).MoveToOuterDisposeScope();
    }
}
