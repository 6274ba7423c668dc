using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Methods.Shared;
using Pretext.Runs;
using Pretext.Tests.Training;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class MaeTests
{
    public MaeTests() => set_num_threads(1);

    private static Mae TinyMae(double ratio = 0.75, bool normalize = true, int seed = 0)
    {
        manual_seed(seed);
        var vit = new VisionTransformer(new VitOptions { PatchSize = 7, Dim = 16, Depth = 1, Heads = 2, MlpRatio = 2 });
        return new Mae(vit, new MaeOptions { MaskRatio = ratio, DecoderDim = 8, DecoderDepth = 1, DecoderHeads = 2, NormalizePixelTargets = normalize }, seed: 1);
    }

    [Theory]
    [InlineData(49, 0.75, 37)]
    [InlineData(16, 0.75, 12)]
    [InlineData(16, 0.5, 8)]
    [InlineData(10, 0.25, 3)]   // 2.5 rounds away from zero
    [InlineData(196, 0.9, 176)]
    public void MasksHideExactlyTheRequestedFractionOfEverySample(int patches, double ratio, int masked)
    {
        Assert.Equal(masked, PatchMasking.MaskedCount(patches, ratio));
        using var g = new Generator(42);
        using var scope = NewDisposeScope();
        var m = PatchMasking.Draw(64, patches, ratio, g);
        Assert.Equal(patches - masked, m.Visible);
        var perRow = m.Mask.sum(1).data<float>().ToArray();
        Assert.All(perRow, c => Assert.Equal(masked, c));
        // The kept indices are exactly the unmasked patches, each once.
        var keep = m.Keep.data<long>().ToArray();
        var mask = m.Mask.data<float>().ToArray();
        for (int b = 0; b < 64; b++)
        {
            var kept = keep.Skip(b * m.Visible).Take(m.Visible).ToArray();
            Assert.Equal(m.Visible, kept.Distinct().Count());
            Assert.All(kept, k => Assert.Equal(0f, mask[b * patches + k]));
        }
        // Restore is the inverse of the shuffle: the kept patches come first, in keep order.
        var restore = m.Restore.data<long>().ToArray();
        for (int b = 0; b < 64; b++)
            for (int j = 0; j < m.Visible; j++)
                Assert.Equal(j, restore[b * patches + keep[b * m.Visible + j]]);
    }

    [Fact]
    public void SameSeedSameMaskOtherSeedOtherMask()
    {
        using var scope = NewDisposeScope();
        using var g1 = new Generator(7); using var g2 = new Generator(7); using var g3 = new Generator(8);
        var a = PatchMasking.Draw(8, 49, 0.75, g1);
        var b = PatchMasking.Draw(8, 49, 0.75, g2);
        var c = PatchMasking.Draw(8, 49, 0.75, g3);
        Assert.True(TestData.Same(a.Mask, b.Mask));
        Assert.True(TestData.Same(a.Keep, b.Keep));
        Assert.False(TestData.Same(a.Mask, c.Mask));
        // Samples of one batch get different masks.
        Assert.False(TestData.Same(a.Mask[0], a.Mask[1]));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(0.99)]
    [InlineData(double.NaN)]
    public void RatiosThatMaskNothingOrEverythingAreRejected(double ratio)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PatchMasking.MaskedCount(16, ratio));
    }

    [Fact]
    public void TheEncoderSeesOnlyVisiblePatches()
    {
        using var mae = TinyMae();
        using var scope = NewDisposeScope();
        var x = randn(4, 1, 28, 28);
        Mae.Pass a, b;
        using (var g = new Generator(3)) a = mae.Forward(x, g);
        // Scramble the pixels of every masked patch: the encoder's output must not change.
        var vit = (VisionTransformer)mae.Encoder;
        var patches = vit.Patchify(x);
        var noise = randn(patches.shape).mul(a.Mask.unsqueeze(-1));
        var scrambled = vit.Unpatchify(patches.add(noise), 4, 4);
        using (var g = new Generator(3)) b = mae.Forward(scrambled, g);
        Assert.True(TestData.Same(a.Mask, b.Mask));
        Assert.True(a.Latent.sub(b.Latent).abs().max().item<float>() < 1e-5);
        Assert.Equal(new long[] { 4, 1 + 4, 16 }, a.Latent.shape);   // CLS + 4 visible of 16
        Assert.Equal(new long[] { 4, 16, 49 }, a.Prediction.shape);
        // Targets of masked patches did change (the loss looks at them).
        Assert.False(TestData.Same(a.Target, b.Target));
    }

    /// <summary>Slow reference of the MAE loss: per-patch normalised targets (unbiased variance) from pixel loops, squared error averaged over the masked patches' values.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LossMatchesSlowReference(bool normalize)
    {
        using var mae = TinyMae(normalize: normalize);
        using var scope = NewDisposeScope();
        var x = randn(3, 1, 28, 28);
        using var g = new Generator(5);
        var pass = mae.Forward(x, g);
        var loss = Pretext.Losses.ReconstructionLoss.MaskedMse(pass.Prediction, pass.Target, pass.Mask.unsqueeze(-1));

        var px = x.data<float>().ToArray();
        var pred = pass.Prediction.detach().data<float>().ToArray();
        var mask = pass.Mask.data<float>().ToArray();
        double sum = 0; int count = 0;
        for (int b = 0; b < 3; b++)
            for (int gy = 0; gy < 4; gy++)
                for (int gx = 0; gx < 4; gx++)
                {
                    int n = gy * 4 + gx;
                    if (mask[b * 16 + n] == 0) continue;
                    var values = new double[49];
                    for (int i = 0; i < 7; i++)
                        for (int j = 0; j < 7; j++)
                            values[i * 7 + j] = px[b * 784 + (gy * 7 + i) * 28 + gx * 7 + j];
                    double mean = values.Average(), var = values.Sum(v => (v - mean) * (v - mean)) / 48;
                    for (int k = 0; k < 49; k++)
                    {
                        double target = normalize ? (values[k] - mean) / Math.Sqrt(var + 1e-6) : values[k];
                        double e = pred[(b * 16 + n) * 49 + k] - target;
                        sum += e * e; count++;
                    }
                }
        Assert.Equal(3 * 12 * 49, count);
        Assert.Equal(sum / count, loss.item<float>(), 1e-4);
    }

    [Fact]
    public void TrainingLossUsesTheStepsSeededMask()
    {
        using var mae = TinyMae();
        using var scope = NewDisposeScope();
        var x = randn(4, 1, 28, 28);
        var progress = new TrainingProgress(7, 100);
        var a = mae.ComputeLoss(new Batch([x], []), progress).Loss.item<float>();
        var b = mae.ComputeLoss(new Batch([x], []), progress).Loss.item<float>();
        var c = mae.ComputeLoss(new Batch([x], []), new TrainingProgress(8, 100)).Loss.item<float>();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        using var g = StepRandom.For(1, progress);
        var pass = mae.Forward(x, g);
        Assert.Equal(Pretext.Losses.ReconstructionLoss.MaskedMse(pass.Prediction, pass.Target, pass.Mask.unsqueeze(-1)).item<float>(), a);
    }

    [Fact]
    public void ReconstructionErrorIsPerSampleAndDeterministic()
    {
        using var mae = TinyMae();
        IReconstructionScorer scorer = mae;
        using var scope = NewDisposeScope();
        var x = randn(5, 1, 28, 28);
        var a = scorer.ReconstructionError(x, 11);
        var b = scorer.ReconstructionError(x, 11);
        var c = scorer.ReconstructionError(x, 12);
        Assert.Equal(new long[] { 5 }, a.shape);
        Assert.True(TestData.Same(a, b));
        Assert.False(TestData.Same(a, c));
        Assert.False(a.requires_grad);
        Assert.True(mae.training);
        // Its mean over equally masked samples is the batch loss with the same mask.
        using var g = new Generator(11);
        Mae.Pass pass;
        using (no_grad()) pass = mae.Forward(x, g);
        Assert.Equal(Pretext.Losses.ReconstructionLoss.MaskedMse(pass.Prediction, pass.Target, pass.Mask.unsqueeze(-1)).item<float>(), a.mean().item<float>(), 1e-5);
    }

    [Fact]
    public void AnotherEncoderGetsAnErrorNamingTheFix()
    {
        var cfg = TrainingLoopTests.Tiny() with { Method = "mae" };
        var e = Assert.Throws<ArgumentException>(() => Pretraining.CreateMethod(cfg));
        Assert.Contains("--encoder Vit", e.Message);
        Assert.Contains("ResNet", e.Message);
    }

    [Fact]
    public void PresetPicksTheVitAndMaesOptimiser()
    {
        var cfg = MethodRegistry.Get("mae").ApplyPreset(Presets.For("simclr", "fashion-mnist"));
        Assert.Equal("mae", cfg.Method);
        Assert.Equal(EncoderKind.Vit, cfg.Encoder.Kind);
        Assert.Equal(OptimizerKind.AdamW, cfg.Train.Optimizer.Kind);
        Assert.Equal(0.95, cfg.Train.Optimizer.Beta2);
        Assert.Equal(0.05, cfg.Train.Optimizer.WeightDecay);
        Assert.Equal(1.5e-4 * cfg.Train.BatchSize / 256, cfg.Train.LearningRate, 12);
        Assert.Equal(0, cfg.Augment.JitterProbability);
        Assert.Equal("masked", MethodRegistry.Get("mae").Family);
    }

    [Fact]
    public void TokensAndPositionsTakeNoWeightDecay()
    {
        using var mae = TinyMae();
        var groups = mae.ParameterGroups();
        var noDecay = groups.Single(g => !g.WeightDecay).Parameters.Select(p => p.Name).ToList();
        var decay = groups.Single(g => g.WeightDecay).Parameters.Select(p => p.Name).ToList();
        Assert.Contains("encoder.pos_embed", noDecay);
        Assert.Contains("encoder.cls_token", noDecay);
        Assert.Contains("decoder.mask_token", noDecay);
        Assert.Contains("decoder.decoder_pos_embed", noDecay);
        Assert.Contains("encoder.blocks.b0.attn.qkv.weight", decay);
        Assert.Equal(mae.parameters().Count(), decay.Count + noDecay.Count);
    }
}
