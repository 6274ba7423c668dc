using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Encoders;

public class VisionTransformerTests
{
    public VisionTransformerTests() => set_num_threads(1);

    private static VisionTransformer Tiny(int patch = 4, VitPooling pooling = VitPooling.Cls, Precision precision = Precision.Float32, int seed = 0)
    {
        manual_seed(seed);
        return new VisionTransformer(new VitOptions
        {
            PatchSize = patch, Dim = 16, Depth = 2, Heads = 2, MlpRatio = 2, Pooling = pooling, Compute = new ComputeOptions(precision),
        });
    }

    [Theory]
    [InlineData(4, 28, 28)]
    [InlineData(7, 28, 28)]
    [InlineData(4, 16, 16)]
    [InlineData(4, 12, 20)]
    [InlineData(7, 14, 35)]
    [InlineData(4, 32, 32)]
    public void FeaturesHaveTheContractShapeAtAnyMultipleOfThePatch(int patch, int h, int w)
    {
        foreach (var pooling in new[] { VitPooling.Cls, VitPooling.Mean })
        {
            using var vit = Tiny(patch, pooling);
            using var x = randn(3, 1, h, w);
            using var f = vit.forward(x);
            Assert.Equal(new long[] { 3, 16 }, f.shape);
            Assert.Equal(ScalarType.Float32, f.dtype);
            Assert.True(f.isfinite().all().item<bool>());
            Assert.Equal(16, vit.FeatureDim);
            Assert.Equal(new long[] { 1, 28, 28 }, vit.InputShape);
        }
    }

    [Fact]
    public void DifferentSamplesGetDifferentFeatures()
    {
        using var vit = Tiny();
        using var f = vit.forward(randn(8, 1, 28, 28));
        // Per-dimension spread across the batch; a constant output (e.g. broken initialisation) gives 0.
        Assert.True(f.std(0).mean().item<float>() > 1e-3);
    }

    [Fact]
    public void InputsThatAreNotMultiplesOfThePatchAreRejectedWithTheFix()
    {
        using var vit = Tiny(patch: 7);
        using var x = randn(2, 1, 12, 12);
        var e = Assert.Throws<ArgumentException>(() => vit.forward(x));
        Assert.Contains("multiples of 7", e.Message);
        using var rgb = randn(2, 3, 28, 28);
        Assert.Throws<ArgumentException>(() => vit.forward(rgb));
    }

    [Fact]
    public void BadOptionsNameTheSetting()
    {
        var e = Assert.Throws<ArgumentException>(() => new VisionTransformer(new VitOptions { Dim = 10, Heads = 4 }));
        Assert.Contains("encoder.embed_dim", e.Message);
        Assert.Throws<ArgumentException>(() => new VisionTransformer(new VitOptions { ImageSize = 28, PatchSize = 5 }));
        Assert.Throws<ArgumentException>(() => new VisionTransformer(new VitOptions { Depth = 0 }));
    }

    [Fact]
    public void ForwardIsThePublicStepsInOrder()
    {
        using var vit = Tiny(pooling: VitPooling.Mean);
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 28, 28);
        var tokens = vit.EmbedPatches(x);
        Assert.Equal(new long[] { 2, 49, 16 }, tokens.shape);
        var manual = vit.Pool(vit.RunBlocks(vit.PrependCls(tokens)));
        Assert.True(TestData.Same(vit.forward(x), manual));
        // A subset of tokens (what MAE's encoder sees) runs through the same blocks.
        var subset = tokens.index_select(1, tensor(new long[] { 0, 5, 9, 48 }));
        var latent = vit.RunBlocks(vit.PrependCls(subset));
        Assert.Equal(new long[] { 2, 5, 16 }, latent.shape);
    }

    [Fact]
    public void PatchifyMatchesLoopsAndUnpatchifyInvertsIt()
    {
        manual_seed(3);
        using var vit = new VisionTransformer(new VitOptions { InChannels = 3, ImageSize = 12, PatchSize = 4, Dim = 8, Depth = 1, Heads = 2 });
        using var x = randn(2, 3, 12, 8);
        using var p = vit.Patchify(x);
        Assert.Equal(new long[] { 2, 6, 48 }, p.shape);
        var xs = x.data<float>().ToArray(); var ps = p.data<float>().ToArray();
        for (int b = 0; b < 2; b++)
            for (int gy = 0; gy < 3; gy++)
                for (int gx = 0; gx < 2; gx++)
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 4; j++)
                            for (int c = 0; c < 3; c++)
                            {
                                float expected = xs[((b * 3 + c) * 12 + gy * 4 + i) * 8 + gx * 4 + j];
                                float actual = ps[(b * 6 + gy * 2 + gx) * 48 + (i * 4 + j) * 3 + c];
                                Assert.Equal(expected, actual);
                            }
        using var back = vit.Unpatchify(p, 3, 2);
        Assert.True(TestData.Same(x, back));
    }

    [Fact]
    public void PositionsAreTheLearntOnesAtTheTrainingGridAndBilinearElsewhere()
    {
        using var vit = Tiny(patch: 7);   // 4x4 grid
        var learnt = vit.named_parameters().Single(p => p.name == "pos_embed").parameter;
        using var same = vit.PatchPositions(4, 4);
        using var expectedSame = learnt.narrow(1, 1, 16);
        Assert.True(TestData.Same(same, expectedSame));

        // Slow reference: bilinear resampling with half-pixel centres (align_corners=false), edges clamped.
        var grid = learnt.detach().narrow(1, 1, 16).reshape(4, 4, 16).data<float>().ToArray();
        const int rows = 6, cols = 3;
        using var resized = vit.PatchPositions(rows, cols);
        Assert.Equal(new long[] { 1, rows * cols, 16 }, resized.shape);
        var actual = resized.detach().data<float>().ToArray();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double sy = Math.Max(0, (r + 0.5) * 4 / rows - 0.5), sx = Math.Max(0, (c + 0.5) * 4 / cols - 0.5);
                int y0 = (int)sy, x0 = (int)sx, y1 = Math.Min(y0 + 1, 3), x1 = Math.Min(x0 + 1, 3);
                double wy = sy - y0, wx = sx - x0;
                for (int d = 0; d < 16; d++)
                {
                    double v = (1 - wy) * ((1 - wx) * grid[(y0 * 4 + x0) * 16 + d] + wx * grid[(y0 * 4 + x1) * 16 + d])
                             + wy * ((1 - wx) * grid[(y1 * 4 + x0) * 16 + d] + wx * grid[(y1 * 4 + x1) * 16 + d]);
                    Assert.Equal(v, actual[(r * cols + c) * 16 + d], 1e-6);
                }
            }
    }

    /// <summary>Slow reference: per head softmax(q k^T / sqrt(d)) v with explicit loops in double precision, then the output projection.</summary>
    [Fact]
    public void AttentionMatchesSlowReference()
    {
        manual_seed(5);
        const int b = 2, t = 5, dim = 6, heads = 3, hd = dim / heads;
        using var attn = new MultiHeadSelfAttention(dim, heads);
        var p = attn.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach().data<float>().ToArray());
        var wqkv = p["qkv.weight"]; var bqkv = p["qkv.bias"]; var wo = p["proj.weight"]; var bo = p["proj.bias"];
        using var x = randn(b, t, dim);
        using var y = attn.forward(x);
        var xs = x.data<float>().ToArray(); var ys = y.detach().data<float>().ToArray();
        for (int n = 0; n < b; n++)
        {
            var qkv = new double[t, 3 * dim];
            for (int i = 0; i < t; i++)
                for (int o = 0; o < 3 * dim; o++)
                {
                    double s = bqkv[o];
                    for (int k = 0; k < dim; k++) s += wqkv[o * dim + k] * xs[(n * t + i) * dim + k];
                    qkv[i, o] = s;
                }
            var heads_out = new double[t, dim];
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < t; i++)
                {
                    var scores = new double[t];
                    for (int j = 0; j < t; j++)
                    {
                        double s = 0;
                        for (int k = 0; k < hd; k++) s += qkv[i, h * hd + k] * qkv[j, dim + h * hd + k];
                        scores[j] = s / Math.Sqrt(hd);
                    }
                    double max = scores.Max(), z = scores.Sum(s => Math.Exp(s - max));
                    for (int k = 0; k < hd; k++)
                        heads_out[i, h * hd + k] = Enumerable.Range(0, t).Sum(j => Math.Exp(scores[j] - max) / z * qkv[j, 2 * dim + h * hd + k]);
                }
            for (int i = 0; i < t; i++)
                for (int o = 0; o < dim; o++)
                {
                    double s = bo[o];
                    for (int k = 0; k < dim; k++) s += wo[o * dim + k] * heads_out[i, k];
                    Assert.Equal(s, ys[(n * t + i) * dim + o], 1e-5);
                }
        }
    }

    [Fact]
    public void MixedPrecisionStaysCloseToFp32AndTrainsFp32Weights()
    {
        using var full = Tiny(seed: 9);
        using var mixed = Tiny(precision: Precision.BFloat16, seed: 9);
        Pretext.Evaluation.SupervisedTraining.CopyWeights(full, mixed); // the same weights, whatever else drew from the global generator
        using var x = randn(4, 1, 28, 28);
        using var a = full.forward(x);
        using var b = mixed.forward(x);
        Assert.Equal(ScalarType.Float32, b.dtype);
        double diff = a.sub(b).abs().max().item<float>();
        Assert.True(diff > 0, "bf16 compute should change the result slightly");
        Assert.True(diff < 0.1, $"bf16 and fp32 features differ by {diff}");
        b.sum().backward();
        foreach (var (name, p) in mixed.named_parameters())
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.isfinite().all().item<bool>(), name);
        }
    }

    [Fact]
    public void TruncatedNormalHasTheRightSpreadAndBounds()
    {
        using var t = empty(200, 500);
        using var g = new Generator(11);
        Initialization.TruncatedNormal(t, 0.02, g);
        // Std of N(0, 1) truncated at +-2 is 0.8796; 100,000 draws estimate it to about 0.3 %.
        Assert.Equal(0.02 * 0.8796, t.std().item<float>(), 0.02 * 0.8796 * 0.01);
        Assert.True(t.abs().max().item<float>() <= 0.04f);
        Assert.Equal(0, t.mean().item<float>(), 2e-4);
    }

    [Fact]
    public void RunConfigBuildsTheVitAndOverridesReachIt()
    {
        var cfg = ConfigOverrides.Apply(new RunConfig(), ["encoder.kind=Vit", "encoder.patch_size=7", "encoder.embed_dim=24", "encoder.depth=1", "encoder.heads=3", "encoder.pooling=Mean"]);
        using var enc = cfg.Encoder.Build();
        var vit = Assert.IsType<VisionTransformer>(enc);
        Assert.Equal(7, vit.PatchSize);
        Assert.Equal(24, vit.FeatureDim);
        Assert.Equal(VitPooling.Mean, vit.Options.Pooling);
        Assert.Equal(cfg.ToJson(), RunConfig.FromJson(cfg.ToJson(), "test").ToJson());
    }
}
