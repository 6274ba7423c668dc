using Pretext.Augmentations;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Augmentations;

public class MlmMaskerTests
{
    public MlmMaskerTests() => set_num_threads(1);

    private const int Vocab = 50, Pad = 0, Cls = 2, Sep = 3, Mask = 4;

    /// <summary>400 sequences of 60: [CLS], 40-58 random word ids (5..49), [SEP], padding.</summary>
    private static long[,] Batch(int seed)
    {
        var rng = new Random(seed);
        var x = new long[400, 60];
        for (int i = 0; i < 400; i++)
        {
            int len = rng.Next(40, 59);
            x[i, 0] = Cls;
            for (int j = 1; j <= len; j++) x[i, j] = rng.Next(5, Vocab);
            x[i, len + 1] = Sep;
        }
        return x;
    }

    [Fact]
    public void MaskingStatisticsFollowBert()
    {
        var raw = Batch(1);
        using var x = tensor(raw);
        var masker = new MlmMasker(Vocab, Mask, [Pad, Cls, Sep]);
        using var g = new Generator(123);
        var views = masker.MakeViews(x, g);
        var input = new long[400 * 60];
        var target = new long[400 * 60];
        views[0].data<long>().CopyTo(input);
        views[1].data<long>().CopyTo(target);
        foreach (var v in views) v.Dispose();

        int words = 0, chosen = 0, masked = 0, random = 0, kept = 0;
        for (int i = 0; i < 400; i++)
            for (int j = 0; j < 60; j++)
            {
                long orig = raw[i, j], inp = input[i * 60 + j], tgt = target[i * 60 + j];
                bool special = orig is Pad or Cls or Sep;
                if (special)
                {
                    Assert.Equal(orig, inp);                 // specials are never touched
                    Assert.Equal(MlmMasker.IgnoreIndex, tgt); // nor predicted
                    continue;
                }
                words++;
                if (tgt == MlmMasker.IgnoreIndex) { Assert.Equal(orig, inp); continue; }
                chosen++;
                Assert.Equal(orig, tgt);
                if (inp == Mask) masked++;
                else if (inp == orig) kept++;
                else { random++; Assert.InRange(inp, 0, Vocab - 1); Assert.False(inp is Pad or Cls or Sep or Mask); } // replacements are never special
            }
        // About 19,600 words: binomial standard errors are about 0.0026 (chosen) and 0.007 (mask share).
        Assert.InRange((double)chosen / words, 0.14, 0.16);
        Assert.InRange((double)masked / chosen, 0.77, 0.83);
        // A random replacement equal to the original (1 in 46) counts as kept.
        Assert.InRange((double)random / chosen, 0.08, 0.12);
        Assert.InRange((double)kept / chosen, 0.08, 0.12);
    }

    [Fact]
    public void SameSeedSameMasksOtherSeedOtherMasks()
    {
        using var x = tensor(Batch(2));
        var masker = new MlmMasker(Vocab, Mask, [Pad, Cls, Sep]);
        Tensor[] Run(ulong seed) { using var g = new Generator(seed); return masker.MakeViews(x, g); }
        var a = Run(5); var b = Run(5); var c = Run(6);
        Assert.True(TestData.Same(a[0], b[0]) && TestData.Same(a[1], b[1]));
        Assert.False(TestData.Same(a[1], c[1]));
        foreach (var t in a.Concat(b).Concat(c)) t.Dispose();
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MlmMasker(Vocab, Mask, [Pad], maskProbability: 1.5));
        Assert.Throws<ArgumentException>(() => new MlmMasker(Vocab, Mask, [Pad], maskFraction: 0.8, randomFraction: 0.3));
        Assert.Throws<ArgumentException>(() => new MlmMasker(Vocab, Vocab, [Pad]));
        var masker = new MlmMasker(Vocab, Mask, [Pad]);
        using var images = zeros(2, 1, 4, 4);
        using var g = new Generator(1);
        Assert.Contains("token ids", Assert.Throws<ArgumentException>(() => masker.MakeViews(images, g)).Message);
    }
}
