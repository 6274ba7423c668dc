using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>
/// A batched random augmentation: every sample of the batch gets its own random parameters, all drawn
/// from the generator passed in, so a (seed, batch) pair always gives the same output.
/// </summary>
public interface IAugmentation
{
    /// <summary>Augments <paramref name="x"/> (B, C, H, W) images or (B, C, L) series windows, fp32, and returns a new tensor; never modifies its input.</summary>
    Tensor Apply(Tensor x, Generator generator);
}

/// <summary>Makes the views a method trains on from one raw batch. Modality-agnostic (the loop only sees tensors).</summary>
public interface IViewGenerator
{
    /// <summary>Number of views produced per sample.</summary>
    int ViewCount { get; }
    /// <summary>Views (each (B, ...)) of the raw batch <paramref name="x"/>.</summary>
    Tensor[] MakeViews(Tensor x, Generator generator);
}

/// <summary>Augmentations applied in order.</summary>
public sealed class AugmentationPipeline(IReadOnlyList<IAugmentation> steps) : IAugmentation
{
    public IReadOnlyList<IAugmentation> Steps { get; } = steps;

    public Tensor Apply(Tensor x, Generator generator)
    {
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var s in Steps) h = s.Apply(h, generator);
        return (ReferenceEquals(h, x) ? x.clone() : h).MoveToOuterDisposeScope();
    }
}

/// <summary>One pipeline per view (SimCLR uses the same pipeline twice; multi-crop uses several).</summary>
public sealed class MultiViewAugmentation(IReadOnlyList<IAugmentation> views) : IViewGenerator
{
    public MultiViewAugmentation(IAugmentation view, int count) : this(Enumerable.Repeat(view, count).ToArray()) { }

    public IReadOnlyList<IAugmentation> Views { get; } = views.Count > 0 ? views : throw new ArgumentException("At least one view is needed.");
    public int ViewCount => Views.Count;
    public Tensor[] MakeViews(Tensor x, Generator generator) => Views.Select(v => v.Apply(x, generator)).ToArray();
}

/// <summary>Shared helpers for per-sample randomness.</summary>
internal static class Rand
{
    /// <summary>(B) uniform draws in [lo, hi).</summary>
    public static Tensor Uniform(long b, double lo, double hi, Generator g) =>
        rand(b, dtype: ScalarType.Float32, generator: g).mul_(hi - lo).add_(lo);

    /// <summary>(B) booleans, true with probability p.</summary>
    public static Tensor Bernoulli(long b, double p, Generator g) => rand(b, dtype: ScalarType.Float32, generator: g).lt(p);

    /// <summary>Per-sample select: where mask[b] take a[b] else x[b]. mask (B) bool.</summary>
    public static Tensor Where(Tensor mask, Tensor a, Tensor x)
    {
        var shape = new long[x.dim()]; Array.Fill(shape, 1L); shape[0] = x.shape[0];
        return torch.where(mask.view(shape), a, x);
    }

    public static void CheckImageBatch(Tensor x, string op)
    {
        if (x.dim() != 4) throw new ArgumentException($"{op} expects an image batch (B, C, H, W), got shape [{string.Join(",", x.shape)}].");
    }

    public static void CheckSeriesBatch(Tensor x, string op)
    {
        if (x.dim() != 3) throw new ArgumentException($"{op} expects windows of a series (B, C, L), got shape [{string.Join(",", x.shape)}].");
    }

    public static void CheckProbability(double p, string name)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(name, p, "A probability must lie in [0, 1].");
    }

    public static void CheckRange(double lo, double hi, string name, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (!(lo <= hi) || lo < min || hi > max) throw new ArgumentOutOfRangeException(name, $"({lo}, {hi})", $"Range must satisfy {min} <= low <= high <= {max}.");
    }
}
