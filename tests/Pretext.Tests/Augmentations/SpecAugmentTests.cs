using Pretext.Augmentations;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Augmentations;

/// <summary>SpecAugment's masks and COLA's random segments: drawn from the generator alone, checked against the same draws made by hand.</summary>
public class SpecAugmentTests
{
    public SpecAugmentTests() => set_num_threads(1);

    private static readonly SpecAugmentOptions Options = new() { FrequencyMasks = 2, MaxFrequencyWidth = 3, TimeMasks = 2, MaxTimeWidth = 6, MaxTimeFraction = 0.2 };

    /// <summary>The masks by loops, from the same draws in the same order (per mask: widths of the batch, then starts).</summary>
    private static bool[,,] ReferenceMask(long b, long mels, long frames, SpecAugmentOptions o, ulong seed)
    {
        using var g = new Generator(seed);
        var mask = new bool[b, mels, frames];
        void Draw(int count, long size, long maxWidth, bool frequency)
        {
            for (int k = 0; k < count; k++)
            {
                var u = rand(b, generator: g).data<float>().ToArray();
                var v = rand(b, generator: g).data<float>().ToArray();
                for (int i = 0; i < b; i++)
                {
                    long w = Math.Min(maxWidth, (long)Math.Floor(u[i] * (maxWidth + 1f)));
                    long s = Math.Min(size - w, (long)Math.Floor(v[i] * (float)(size - w + 1)));
                    for (long p = s; p < s + w; p++)
                        for (long q = 0; q < (frequency ? frames : mels); q++)
                            if (frequency) mask[i, p, q] = true; else mask[i, q, p] = true;
                }
            }
        }
        Draw(o.FrequencyMasks, mels, Math.Min(o.MaxFrequencyWidth, mels), true);
        Draw(o.TimeMasks, frames, Math.Min(o.MaxTimeWidth, (long)Math.Floor(o.MaxTimeFraction * frames)), false);
        return mask;
    }

    [Fact]
    public void MasksAreTheSeededDrawsAndZeroOnlyWhatTheyCover()
    {
        using var x = rand(4, 16, 50).add_(1); // no zeros of its own
        var aug = Options.Build()!;
        using (var g = new Generator(7))
        using (var y = aug.Apply(x, g))
        {
            var expected = ReferenceMask(4, 16, 50, Options, 7);
            var ys = y.data<float>().ToArray();
            var xs = x.data<float>().ToArray();
            int masked = 0;
            for (int i = 0; i < 4; i++)
                for (int m = 0; m < 16; m++)
                    for (int t = 0; t < 50; t++)
                    {
                        int at = (i * 16 + m) * 50 + t;
                        Assert.Equal(expected[i, m, t] ? 0f : xs[at], ys[at]);
                        masked += expected[i, m, t] ? 1 : 0;
                    }
            Assert.True(masked > 0, "the seed masked nothing");
        }
        using var g1 = new Generator(7);
        using var g2 = new Generator(7);
        using var g3 = new Generator(8);
        using var a = aug.Apply(x, g1);
        using var b = aug.Apply(x, g2);
        using var c = aug.Apply(x, g3);
        Assert.True(TestData.Same(a, b));
        Assert.False(TestData.Same(a, c));
    }

    [Fact]
    public void TimeMasksStayWithinTheirFractionAndNoMasksMeansNoAugmentation()
    {
        var wide = new SpecAugmentOptions { FrequencyMasks = 0, TimeMasks = 1, MaxTimeWidth = 1000, MaxTimeFraction = 0.1 };
        using var x = ones(64, 4, 30);
        using var g = new Generator(3);
        using var y = wide.Build()!.Apply(x, g);
        using var perSample = y.eq(0).any(1).sum(1); // masked frames per sample
        Assert.True(perSample.max().item<long>() <= 3);
        Assert.True(perSample.max().item<long>() > 0);
        Assert.Null(new SpecAugmentOptions { FrequencyMasks = 0, TimeMasks = 0 }.Build());
        Assert.Throws<ArgumentException>(() => new SpecAugment(Options with { TimeMasks = -1 }));
        Assert.Contains("(B, mels, frames)", Assert.Throws<ArgumentException>(() => Options.Build()!.Apply(ones(2, 3), g)).Message);
    }

    [Fact]
    public void RandomSegmentsAreSeededCropsOfTheClip()
    {
        using var x = arange(2 * 3 * 20, dtype: ScalarType.Float32).view(2, 3, 20);
        var crop = new RandomSegment(8);
        using var g = new Generator(11);
        using var y = crop.Apply(x, g);
        Assert.Equal(new long[] { 2, 3, 8 }, y.shape);
        using var g2 = new Generator(11);
        var starts = rand(2, generator: g2).data<float>().Select(u => (long)Math.Floor(u * 13f)).ToArray();
        for (int b = 0; b < 2; b++)
            for (int m = 0; m < 3; m++)
                for (int t = 0; t < 8; t++)
                    Assert.Equal((b * 3 + m) * 20 + starts[b] + t, y[b, m, t].item<float>());
        Assert.Contains("do not fit", Assert.Throws<ArgumentException>(() => new RandomSegment(21).Apply(x, g)).Message);
    }
}
