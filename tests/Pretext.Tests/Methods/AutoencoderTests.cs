using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Heads;
using Pretext.Methods;
using Pretext.Methods.Shared;
using Pretext.Runs;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

/// <summary>The corruption autoencoders (context encoder, denoising autoencoder) and their shared decoder.</summary>
public class AutoencoderTests
{
    public AutoencoderTests() => set_num_threads(1);

    private static ResNet TinyResNet(int seed = 0)
    {
        manual_seed(seed);
        return new ResNet(new ResNetOptions { Widths = [8, 16], Blocks = [1, 1] });
    }

    [Theory]
    [InlineData(28, 1, Precision.Float32)]
    [InlineData(32, 3, Precision.Float32)]
    [InlineData(28, 1, Precision.BFloat16)]
    public void DecoderMapsFeaturesToImages(int size, int channels, Precision precision)
    {
        manual_seed(1);
        using var decoder = new ConvDecoder(24, channels, size, width: 16, new ComputeOptions(precision, MemoryLayout.ChannelsLast));
        using var f = randn(5, 24);
        using var y = decoder.forward(f);
        Assert.Equal(new long[] { 5, channels, size, size }, y.shape);
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.True(y.std().item<float>() > 0);
    }

    [Fact]
    public void DecoderRejectsSidesItCannotReach()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConvDecoder(8, 1, 30));
        Assert.Contains("multiple of 4", e.Message);
    }

    [Fact]
    public void SquareMasksMatchLoops()
    {
        using var tops = tensor(new long[] { 0, 3, 5 });
        using var lefts = tensor(new long[] { 2, 0, 5 });
        using var m = Inpainting.SquareMasks(8, 3, tops, lefts);
        Assert.Equal(new long[] { 3, 1, 8, 8 }, m.shape);
        var ms = m.data<float>().ToArray();
        var t = tops.data<long>().ToArray(); var l = lefts.data<long>().ToArray();
        for (int b = 0; b < 3; b++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    bool inside = y >= t[b] && y < t[b] + 3 && x >= l[b] && x < l[b] + 3;
                    Assert.Equal(inside ? 1f : 0f, ms[(b * 8 + y) * 8 + x]);
                }
    }

    [Fact]
    public void CentralHoleIsTheMiddleHalfFilledWithTheMean()
    {
        using var method = new Inpainting(TinyResNet(), new InpaintingOptions { Hole = InpaintingHole.Central });
        Assert.Equal(14, method.HoleSide);
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 28, 28).add(5);   // no zeros outside the hole
        using var g = new Generator(1);
        var c = method.Corrupt(x, g);
        var input = c.Input.data<float>().ToArray(); var mask = c.LossMask.data<float>().ToArray(); var xs = x.data<float>().ToArray();
        for (int b = 0; b < 2; b++)
            for (int y = 0; y < 28; y++)
                for (int col = 0; col < 28; col++)
                {
                    int i = (b * 28 + y) * 28 + col;
                    bool hole = y >= 7 && y < 21 && col >= 7 && col < 21;
                    Assert.Equal(hole ? 1f : 0f, mask[i]);
                    Assert.Equal(hole ? 0f : xs[i], input[i]);
                }
    }

    [Fact]
    public void RandomHolesVaryBySampleAndRepeatBySeed()
    {
        using var method = new Inpainting(TinyResNet(), new InpaintingOptions { HoleFraction = 0.25 });
        Assert.Equal(7, method.HoleSide);
        using var scope = NewDisposeScope();
        var x = randn(16, 1, 28, 28);
        using var g1 = new Generator(4); using var g2 = new Generator(4);
        var a = method.Corrupt(x, g1); var b = method.Corrupt(x, g2);
        Assert.True(TestData.Same(a.LossMask, b.LossMask));
        Assert.All(a.LossMask.sum([1L, 2L, 3L]).data<float>().ToArray(), s => Assert.Equal(49f, s));
        Assert.False(TestData.Same(a.LossMask[0], a.LossMask[1]) && TestData.Same(a.LossMask[1], a.LossMask[2]));
    }

    /// <summary>Slow reference of the context-encoder loss: squared error over the hole's pixels only, from loops.</summary>
    [Fact]
    public void InpaintingLossIsL2OnTheHoleOnly()
    {
        using var method = new Inpainting(TinyResNet(), seed: 6);
        using var scope = NewDisposeScope();
        var x = randn(4, 1, 28, 28);
        var progress = new TrainingProgress(3, 10);
        var loss = method.ComputeLoss(new Batch([x], []), progress).Loss.item<float>();
        using var g = StepRandom.For(6, progress);
        var c = method.Corrupt(x, g);
        var (recon, _) = method.Reconstruct(c.Input);
        var r = recon.detach().data<float>().ToArray(); var xs = x.data<float>().ToArray(); var m = c.LossMask.data<float>().ToArray();
        double sum = 0; int count = 0;
        for (int i = 0; i < xs.Length; i++)
            if (m[i] > 0) { sum += (r[i] - xs[i]) * (double)(r[i] - xs[i]); count++; }
        Assert.Equal(4 * 14 * 14, count);
        Assert.Equal(sum / count, loss, 1e-5);
    }

    [Theory]
    [InlineData(0.25, 196)]
    [InlineData(0.1, 78)]    // 78.4 rounds to 78
    public void MaskingNoiseZeroesExactlyTheRequestedFraction(double fraction, int expected)
    {
        using var method = new Denoising(TinyResNet(), new DenoisingOptions { NoiseStd = 0, MaskFraction = fraction });
        using var scope = NewDisposeScope();
        var x = randn(8, 1, 28, 28).add(10);   // no zeros before corruption
        using var g = new Generator(2);
        var c = method.Corrupt(x, g);
        var zerosPerSample = c.Input.eq(0).sum([1L, 2L, 3L]).data<long>().ToArray();
        Assert.All(zerosPerSample, z => Assert.Equal(expected, z));
        // Everything not dropped is untouched (no Gaussian noise here).
        Assert.True(TestData.Same(c.Input.where(c.Input.ne(0), x), x));
        Assert.False(TestData.Same(c.Input.eq(0)[0], c.Input.eq(0)[1]));
    }

    [Fact]
    public void GaussianNoiseHasTheRequestedStd()
    {
        using var method = new Denoising(TinyResNet(), new DenoisingOptions { NoiseStd = 0.5, MaskFraction = 0 });
        using var scope = NewDisposeScope();
        var x = randn(64, 1, 28, 28);
        using var g = new Generator(3);
        var c = method.Corrupt(x, g);
        Assert.Equal(0.5, c.Input.sub(x).std().item<float>(), 0.01);
        Assert.Equal(0, c.Input.sub(x).mean().item<float>(), 0.01);
    }

    /// <summary>Slow reference of the denoising loss: squared error against the clean image over every pixel.</summary>
    [Fact]
    public void DenoisingLossIsMseAgainstTheCleanImage()
    {
        using var method = new Denoising(TinyResNet(), seed: 8);
        using var scope = NewDisposeScope();
        var x = randn(4, 1, 28, 28);
        var progress = new TrainingProgress(5, 10);
        var loss = method.ComputeLoss(new Batch([x], []), progress).Loss.item<float>();
        using var g = StepRandom.For(8, progress);
        var c = method.Corrupt(x, g);
        Assert.False(TestData.Same(c.Input, x));
        var (recon, _) = method.Reconstruct(c.Input);
        var r = recon.detach().data<float>().ToArray(); var xs = x.data<float>().ToArray();
        double sum = 0;
        for (int i = 0; i < xs.Length; i++) sum += (r[i] - xs[i]) * (double)(r[i] - xs[i]);
        Assert.Equal(sum / xs.Length, loss, 1e-5);
    }

    [Fact]
    public void ReconstructionErrorsArePerSampleDeterministicAndLeaveModesAlone()
    {
        var encoder = TinyResNet();
        using var inpainting = new Inpainting(encoder);
        using var denoising = new Denoising(TinyResNet(1));
        foreach (var scorer in new IReconstructionScorer[] { inpainting, denoising })
        {
            using var scope = NewDisposeScope();
            var x = randn(6, 1, 28, 28);
            var a = scorer.ReconstructionError(x, 5);
            var b = scorer.ReconstructionError(x, 5);
            Assert.Equal(new long[] { 6 }, a.shape);
            Assert.True(TestData.Same(a, b));
            Assert.True(a.gt(0).all().item<bool>());
            Assert.True(((nn.Module)scorer).training);
        }
    }

    [Fact]
    public void BadOptionsNameTheSetting()
    {
        var e1 = Assert.Throws<ArgumentException>(() => new Inpainting(TinyResNet(), new InpaintingOptions { HoleFraction = 1 }));
        Assert.Contains("methods.inpainting.hole_fraction", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new Denoising(TinyResNet(), new DenoisingOptions { NoiseStd = 0, MaskFraction = 0 }));
        Assert.Contains("methods.denoising", e2.Message);
        var flat = new MlpEncoder(new MlpOptions { InputShape = [784], Hidden = [8] });
        Assert.Throws<ArgumentException>(() => new Denoising(flat));
        using var method = new Denoising(TinyResNet());
        using var wrongSize = randn(2, 1, 32, 32);
        using var g = new Generator(1);
        Assert.Throws<ArgumentException>(() => method.Corrupt(wrongSize, g));
    }

    [Theory]
    [InlineData("inpainting", 2e-4, 0.5)]
    [InlineData("denoising", 1e-3, 0.9)]
    public void PresetsUseAdam(string name, double lr, double beta1)
    {
        var entry = MethodRegistry.Get(name);
        Assert.Equal("classic", entry.Family);
        var cfg = entry.ApplyPreset(Presets.For("simclr", "fashion-mnist"));
        Assert.Equal(OptimizerKind.AdamW, cfg.Train.Optimizer.Kind);
        Assert.Equal(lr, cfg.Train.LearningRate);
        Assert.Equal(beta1, cfg.Train.Optimizer.Beta1);
        Assert.Equal(0, cfg.Train.Optimizer.WeightDecay);
    }
}
