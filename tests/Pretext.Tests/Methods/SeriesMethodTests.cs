using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Tests.Data.Series;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class SeriesMethodTests
{
    public SeriesMethodTests() => set_num_threads(1);

    private static double Loss(ISslMethod method, Tensor x, ulong seed)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(seed);
        return method.ComputeLoss(new Batch([x], [], g), new TrainingProgress(0, 1)).Loss.item<float>();
    }

    [Theory]
    [InlineData("cpc", EncoderKind.Tcn)]
    [InlineData("cpc", EncoderKind.PatchTransformer)]
    [InlineData("ts2vec", EncoderKind.Tcn)]
    [InlineData("ts2vec", EncoderKind.PatchTransformer)]
    [InlineData("maskedpatches", EncoderKind.Tcn)]
    [InlineData("maskedpatches", EncoderKind.PatchTransformer)]
    [InlineData("forecast", EncoderKind.Tcn)]
    [InlineData("forecast", EncoderKind.PatchTransformer)]
    public void TrainsOnEitherSeriesEncoderAndRepeatsAStepFromItsGenerator(string name, EncoderKind encoder)
    {
        var cfg = TestSeries.Tiny(name, encoder);
        using var data = TestSeries.Windows(16);
        using var method = Pretraining.CreateMethod(cfg);
        method.Module.train();
        using var opt = new Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        double first = Loss(method, data.Data, 1);
        Assert.True(double.IsFinite(first) && first > 0);
        // The same step generator draws the same crops and masks: the same loss.
        Assert.Equal(first, Loss(method, data.Data, 1));
        if (name is "ts2vec" or "maskedpatches") Assert.NotEqual(first, Loss(method, data.Data, 2));
        for (int step = 0; step < 20; step++)
        {
            using var scope = NewDisposeScope();
            using var g = new Generator((ulong)step);
            var o = method.ComputeLoss(new Batch([data.Data], [], g), new TrainingProgress(step, 20));
            opt.ZeroGrad(); o.Loss.backward(); opt.Step(3e-3);
        }
        // Twenty steps on one batch lower its loss.
        Assert.True(Loss(method, data.Data, 1) < first, $"{name} with {encoder} did not learn");
    }

    [Fact]
    public void CpcRefusesAnEncoderThatSeesTheFuture()
    {
        var cfg = TestSeries.Tiny("cpc", EncoderKind.PatchTransformer);
        Assert.True(cfg.Encoder.Series.Causal, "CPC's preset makes the patch Transformer causal");
        var open = cfg with { Encoder = cfg.Encoder with { Series = cfg.Encoder.Series with { Causal = false } } };
        var e = Assert.Throws<ArgumentException>(() => Pretraining.CreateMethod(open));
        Assert.Contains("encoder.series.causal=true", e.Message);
        var image = TestSeries.Tiny("cpc") with { Encoder = new EncoderConfig { Kind = EncoderKind.Mlp, Hidden = [8] } };
        Assert.Contains("series encoder", Assert.Throws<ArgumentException>(() => Pretraining.CreateMethod(image)).Message);
    }

    [Theory]
    [InlineData(EncoderKind.Tcn, 2)]
    [InlineData(EncoderKind.PatchTransformer, 3)]
    public void ForecastsTheReadingsAfterEachStep(EncoderKind kind, int horizon)
    {
        var cfg = TestSeries.Tiny("forecast", kind);
        cfg = cfg with { Methods = cfg.Methods with { Forecast = new ForecastOptions { Horizon = horizon } } };
        using var method = (Forecasting)Pretraining.CreateMethod(cfg);
        using var data = TestSeries.Windows(3);
        var x = data.Data;
        int size = kind == EncoderKind.Tcn ? 1 : 4;
        var (forecast, target, _) = method.Forward(x);
        using (forecast) using (target)
        {
            int count = (16 - size - horizon) / size + 1;
            Assert.Equal(new long[] { 3, count, horizon, 2 }, target.shape);
            Assert.Equal(target.shape, forecast.shape);
            for (int b = 0; b < 3; b++)
                for (int t = 0; t < count; t++)
                    for (int h = 0; h < horizon; h++)
                        for (int c = 0; c < 2; c++)
                            Assert.Equal(x[b, c, (t + 1) * size + h].item<float>(), target[b, t, h, c].item<float>());
        }
        Assert.Contains("causal", Assert.Throws<ArgumentException>(() => Pretraining.CreateMethod(cfg with
        {
            Encoder = cfg.Encoder with { Kind = EncoderKind.PatchTransformer, Series = cfg.Encoder.Series with { Causal = false } },
        })).Message);
    }

    [Theory]
    [InlineData(EncoderKind.Tcn, true)]
    [InlineData(EncoderKind.PatchTransformer, true)]
    [InlineData(EncoderKind.Tcn, false)]
    public void ANewResidualForecastIsTheNaiveOneAndAZeroLevelHeadForecastsZero(EncoderKind kind, bool residual)
    {
        var cfg = TestSeries.Tiny("forecast", kind);
        cfg = cfg with { Methods = cfg.Methods with { Forecast = new ForecastOptions { Horizon = 2, Residual = residual } } };
        using var method = (Forecasting)Pretraining.CreateMethod(cfg);
        // The residual head starts at zero by construction (a new model is the naive forecast); the level head is zeroed here.
        if (!residual)
            using (no_grad())
                foreach (var (_, p) in method.named_parameters().Where(n => n.name.StartsWith("head.")))
                    p.zero_();
        using var data = TestSeries.Windows(3);
        var x = data.Data;
        int size = kind == EncoderKind.Tcn ? 1 : 4;
        var (forecast, target, _) = method.Forward(x);
        using (forecast) using (target)
        {
            for (int b = 0; b < 3; b++)
                for (int t = 0; t < forecast.shape[1]; t++)
                    for (int h = 0; h < 2; h++)
                        for (int c = 0; c < 2; c++)
                            Assert.Equal(residual ? x[b, c, (t + 1) * size - 1].item<float>() : 0f, forecast[b, t, h, c].item<float>());
        }
        Assert.True(new ForecastOptions().Residual, "forecasting predicts the change by default");
    }

    [Fact]
    public void MaskedPatchesHideWholePatchesAndScoreOnlyThem()
    {
        using var method = (MaskedPatches)Pretraining.CreateMethod(TestSeries.Tiny("maskedpatches") with
        {
            Methods = new MethodSettings { MaskedPatches = new MaskedPatchesOptions { PatchLength = 4, MaskRatio = 0.5 } },
        });
        using var g = new Generator(9);
        using var mask = method.DrawMask(5, g);
        Assert.Equal(new long[] { 5, 1, 16 }, mask.shape);
        var m = mask.data<float>().ToArray();
        for (int b = 0; b < 5; b++)
        {
            var patches = Enumerable.Range(0, 4).Select(p => m.Skip(b * 16 + p * 4).Take(4).Distinct().ToArray()).ToList();
            Assert.All(patches, p => Assert.Single(p));              // a patch is hidden whole or not at all
            Assert.Equal(2, patches.Count(p => p[0] == 1));          // half of the 4 patches
        }
        // The per-window score is the squared error over hidden readings only, the same for the same seed.
        using var data = TestSeries.Windows(5);
        using var scores = method.ReconstructionError(data.Data, 4);
        using var again = method.ReconstructionError(data.Data, 4);
        Assert.True(TestData.Same(scores, again));
        using var g4 = new Generator(4);
        using var m4 = method.DrawMask(5, g4);
        using var noGrad = no_grad();
        method.eval();
        var (rebuilt, _) = method.Forward(data.Data, m4);
        using (rebuilt)
        {
            for (int b = 0; b < 5; b++)
            {
                double sum = 0; int n = 0;
                for (int c = 0; c < 2; c++)
                    for (int t = 0; t < 16; t++)
                        if (m4[b, 0, t].item<float>() == 1)
                        {
                            double d = rebuilt[b, c, t].item<float>() - data.Data[b, c, t].item<float>();
                            sum += d * d; n++;
                        }
                Assert.Equal(sum / n, scores[b].item<float>(), 4);
            }
        }
    }

    [Fact]
    public void PresetsFollowThePapers()
    {
        Assert.Equal(SeriesPooling.Max, TestSeries.Tiny("ts2vec").Encoder.Series.Pooling);
        foreach (var name in new[] { "cpc", "ts2vec", "maskedpatches", "forecast" })
        {
            var views = TestSeries.Tiny(name).SeriesAugment;
            Assert.Equal((0.0, 0.0, 1.0, 0.0, 0), (views.JitterStd, views.ScaleStd, views.CropMin, views.MaskProbability, views.PermutationSegments));
        }
    }
}
