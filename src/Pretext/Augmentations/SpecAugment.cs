using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>Settings of <see cref="SpecAugment"/>; no masks (0 and 0) means no augmentation.</summary>
public sealed record SpecAugmentOptions
{
    /// <summary>Frequency masks per sample (SpecAugment's LibriSpeech policies use 1 or 2).</summary>
    public int FrequencyMasks { get; init; } = 2;
    /// <summary>Widest frequency mask in mel bands (F: 27 of 80 bands in the LibriSpeech policies; 8 of the 64 bands here).</summary>
    public int MaxFrequencyWidth { get; init; } = 8;
    /// <summary>Time masks per sample.</summary>
    public int TimeMasks { get; init; } = 2;
    /// <summary>Widest time mask in frames (T: 100 frames of 10 ms in LibriSpeech; 20 here, for clips of a few seconds).</summary>
    public int MaxTimeWidth { get; init; } = 20;
    /// <summary>A time mask covers at most this fraction of the frames (p, the paper's upper bound: 1.0 in LD, 0.2 in its LibriSpeech "LB" policy and here).</summary>
    public double MaxTimeFraction { get; init; } = 0.2;

    /// <summary>The augmentation, or null when it masks nothing.</summary>
    /// <exception cref="ArgumentException">Negative counts or widths, or a fraction outside [0, 1].</exception>
    public SpecAugment? Build() => FrequencyMasks == 0 && TimeMasks == 0 ? null : new SpecAugment(this);
}

/// <summary>
/// SpecAugment's masking (Park et al. 2019, section 2), without time warping: per sample, <see cref="SpecAugmentOptions.FrequencyMasks"/>
/// bands of f ~ U{0..F} consecutive mel channels starting at f0 ~ U{0..mels-f}, and <see cref="SpecAugmentOptions.TimeMasks"/> spans of
/// t ~ U{0..min(T, p x frames)} consecutive frames starting at t0 ~ U{0..frames-t}, are set to 0, the mean of the standardised
/// log-mel input (the paper masks to the mean value). Every draw comes from the generator passed in, frequency masks first, so a
/// (seed, batch) pair always gives the same output. Input and output (B, mels, frames) fp32.
/// </summary>
public sealed class SpecAugment : IAugmentation
{
    public SpecAugment(SpecAugmentOptions options)
    {
        if (options.FrequencyMasks < 0 || options.TimeMasks < 0 || options.MaxFrequencyWidth < 0 || options.MaxTimeWidth < 0)
            throw new ArgumentException($"SpecAugment counts and widths must be >= 0 (got {options.FrequencyMasks}, {options.MaxFrequencyWidth}, {options.TimeMasks}, {options.MaxTimeWidth}).");
        Rand.CheckProbability(options.MaxTimeFraction, nameof(options.MaxTimeFraction));
        Options = options;
    }

    public SpecAugmentOptions Options { get; }

    public Tensor Apply(Tensor x, Generator generator)
    {
        AudioBatch.Check(x, "SpecAugment");
        long b = x.shape[0], mels = x.shape[1], frames = x.shape[2];
        using var scope = NewDisposeScope();
        var o = Options;
        var masked = zeros(b, mels, frames, ScalarType.Bool);
        var freq = Bands(b, mels, o.FrequencyMasks, Math.Min(o.MaxFrequencyWidth, mels), generator);
        var time = Bands(b, frames, o.TimeMasks, Math.Min(o.MaxTimeWidth, (long)Math.Floor(o.MaxTimeFraction * frames)), generator);
        masked = masked.logical_or(freq.unsqueeze(2)).logical_or(time.unsqueeze(1));
        return x.masked_fill(masked, 0).MoveToOuterDisposeScope();
    }

    /// <summary>(B, size) bool: <paramref name="count"/> spans per row, each of width U{0..maxWidth} at a start U{0..size-width}.</summary>
    internal static Tensor Bands(long b, long size, int count, long maxWidth, Generator generator)
    {
        var positions = arange(size).unsqueeze(0);
        var mask = zeros(b, size, ScalarType.Bool);
        for (int k = 0; k < count; k++)
        {
            var width = rand(b, generator: generator).mul_(maxWidth + 1).floor_().clamp_max_(maxWidth).to(ScalarType.Int64);
            var start = rand(b, generator: generator).mul_((size - width + 1).to(ScalarType.Float32)).floor_().to(ScalarType.Int64);
            start = minimum(start, (size - width).clamp_min(0));
            mask = mask.logical_or(positions.ge(start.unsqueeze(1)).logical_and(positions.lt(start.add(width).unsqueeze(1))));
        }
        return mask;
    }
}

/// <summary>
/// A random segment of <see cref="Frames"/> consecutive frames from each clip, at a start drawn uniformly for each sample
/// (COLA's random crops, Saeed et al. 2021, section 2). Input (B, mels, frames), output (B, mels, <see cref="Frames"/>).
/// </summary>
public sealed class RandomSegment : IAugmentation
{
    /// <exception cref="ArgumentOutOfRangeException">A segment shorter than one frame.</exception>
    public RandomSegment(int frames)
    {
        if (frames < 1) throw new ArgumentOutOfRangeException(nameof(frames), frames, "A segment needs at least one frame.");
        Frames = frames;
    }

    public int Frames { get; }

    /// <exception cref="ArgumentException">Clips shorter than the segment (the message names the fix).</exception>
    public Tensor Apply(Tensor x, Generator generator)
    {
        AudioBatch.Check(x, "A random segment");
        long b = x.shape[0], total = x.shape[2];
        if (total < Frames)
            throw new ArgumentException($"Segments of {Frames} frames do not fit clips of {total} frames; shorten the segment or lengthen encoder.audio.clip.seconds.");
        using var scope = NewDisposeScope();
        var start = rand(b, generator: generator).mul_(total - Frames + 1).floor_().clamp_max_(total - Frames).to(ScalarType.Int64);
        var index = start.view(b, 1, 1).add(arange(Frames).view(1, 1, Frames)).expand(b, x.shape[1], Frames);
        return x.gather(2, index).MoveToOuterDisposeScope();
    }
}

internal static class AudioBatch
{
    public static void Check(Tensor x, string op)
    {
        if (x.dim() != 3) throw new ArgumentException($"{op} takes log-mel spectrograms (B, mels, frames), got shape [{string.Join(",", x.shape)}].");
    }
}
