using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>
/// Augmentation settings of series windows (normalised per channel, so magnitudes are in channel standard deviations).
/// Jitter and scaling are the "weak" views of TS-TCC (Eldele et al. 2021, section 4.1), permutation of segments its
/// "strong" one; cropping and timestamp masking are TS2Vec's (Yue et al. 2022, section 3.2). 0 turns an operation off.
/// </summary>
public sealed record SeriesAugmentationConfig
{
    /// <summary>Std of the Gaussian noise added to every value.</summary>
    public double JitterStd { get; init; } = 0.03;
    /// <summary>Std of the factor around 1 each channel of a window is multiplied by.</summary>
    public double ScaleStd { get; init; } = 0.1;
    /// <summary>Smallest fraction of the window a random crop keeps (stretched back to the window's length); 1: no cropping.</summary>
    public double CropMin { get; init; } = 1.0;
    /// <summary>Probability that a time step is masked (every channel set to 0, the channel mean after normalisation).</summary>
    public double MaskProbability { get; init; }
    /// <summary>Most segments a window is cut into and shuffled (at least 2 when on); 0 or 1: off.</summary>
    public int PermutationSegments { get; init; }

    /// <summary>One view: crop, permutation, scaling, jitter, masking (those switched on), in this order.</summary>
    public IAugmentation BuildView()
    {
        var steps = new List<IAugmentation>();
        if (CropMin < 1) steps.Add(new SeriesCrop(CropMin));
        if (PermutationSegments >= 2) steps.Add(new SegmentPermutation(PermutationSegments));
        if (ScaleStd > 0) steps.Add(new ChannelScaling(ScaleStd));
        if (JitterStd > 0) steps.Add(new Jitter(JitterStd));
        if (MaskProbability > 0) steps.Add(new TimeMasking(MaskProbability));
        return new AugmentationPipeline(steps);
    }

    /// <summary>The light augmentation of supervised training: scaling and jitter only, which keep every reading in place.</summary>
    public IAugmentation BuildSupervised()
    {
        var steps = new List<IAugmentation>();
        if (ScaleStd > 0) steps.Add(new ChannelScaling(ScaleStd));
        if (JitterStd > 0) steps.Add(new Jitter(JitterStd));
        return new AugmentationPipeline(steps);
    }
}

/// <summary>Adds Gaussian noise of std <see cref="Std"/> to every value of windows (B, C, L).</summary>
public sealed class Jitter : IAugmentation
{
    public Jitter(double std)
    {
        if (!(std >= 0) || double.IsInfinity(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "Jitter std must be a finite number >= 0.");
        Std = std;
    }

    public double Std { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckSeriesBatch(x, nameof(Jitter));
        using var scope = NewDisposeScope();
        return x.add(randn(x.shape, generator: generator).mul_(Std)).MoveToOuterDisposeScope();
    }
}

/// <summary>Multiplies each channel of each window (B, C, L) by its own factor drawn from N(1, std^2).</summary>
public sealed class ChannelScaling : IAugmentation
{
    public ChannelScaling(double std)
    {
        if (!(std >= 0) || double.IsInfinity(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "Scaling std must be a finite number >= 0.");
        Std = std;
    }

    public double Std { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckSeriesBatch(x, nameof(ChannelScaling));
        using var scope = NewDisposeScope();
        var factor = randn([x.shape[0], x.shape[1], 1], generator: generator).mul_(Std).add_(1);
        return x.mul(factor).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Random crop of each window (B, C, L): a fraction s ~ U(min, 1) of its length at a uniform offset, resampled back to L
/// readings by linear interpolation (one batched grid_sample, as <see cref="RandomResizedCrop"/> does for images).
/// </summary>
public sealed class SeriesCrop : IAugmentation
{
    public SeriesCrop(double minFraction)
    {
        Rand.CheckRange(minFraction, 1, nameof(minFraction), 1e-6, 1);
        MinFraction = minFraction;
    }

    public double MinFraction { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckSeriesBatch(x, nameof(SeriesCrop));
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], l = x.shape[2];
        var scale = Rand.Uniform(b, MinFraction, 1, generator);
        // The crop's centre in grid_sample's [-1, 1] coordinates: anywhere that keeps the crop inside the window.
        var shift = Rand.Uniform(b, -1, 1, generator).mul_(scale.neg().add(1));
        var zero = zeros(b);
        var theta = stack([scale, zero, shift, zero, ones(b), zero], 1).view(b, 2, 3);
        var grid = nn.functional.affine_grid(theta, [b, c, 1, l], align_corners: false);
        return nn.functional.grid_sample(x.unsqueeze(2), grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false)
            .squeeze(2).MoveToOuterDisposeScope();
    }
}

/// <summary>Sets every channel of each time step of windows (B, C, L) to 0 with probability <see cref="Probability"/>.</summary>
public sealed class TimeMasking : IAugmentation
{
    public TimeMasking(double probability)
    {
        Rand.CheckProbability(probability, nameof(probability));
        Probability = probability;
    }

    public double Probability { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckSeriesBatch(x, nameof(TimeMasking));
        using var scope = NewDisposeScope();
        var keep = rand([x.shape[0], 1, x.shape[2]], generator: generator).ge_(Probability).to(x.dtype);
        return x.mul(keep).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Cuts each window (B, C, L) at m - 1 random places, m uniform in 2..<see cref="MaxSegments"/> (at most L), and puts the
/// m segments in a random order (TS-TCC's permutation). Every reading stays, with its channels together.
/// </summary>
public sealed class SegmentPermutation : IAugmentation
{
    public SegmentPermutation(int maxSegments)
    {
        if (maxSegments < 2) throw new ArgumentOutOfRangeException(nameof(maxSegments), maxSegments, "Permutation needs at least 2 segments.");
        MaxSegments = maxSegments;
    }

    public int MaxSegments { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        Rand.CheckSeriesBatch(x, nameof(SegmentPermutation));
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[2];
        var order = new long[b * l];
        for (long i = 0; i < b; i++)
        {
            int m = (int)randint(2, Math.Min(MaxSegments, l) + 1, [1], generator: generator).item<long>();
            // m - 1 distinct cut points in 1..L-1.
            var cuts = randperm(l - 1, generator: generator).narrow(0, 0, m - 1).add_(1).data<long>().Order().ToList();
            var bounds = cuts.Prepend(0L).Append(l).ToArray();
            var shuffled = randperm(m, generator: generator).data<long>().ToArray();
            long at = i * l;
            foreach (var s in shuffled)
                for (long t = bounds[s]; t < bounds[s + 1]; t++) order[at++] = t;
        }
        var index = tensor(order, [b, 1, l]).expand(x.shape);
        return x.gather(2, index).MoveToOuterDisposeScope();
    }
}
