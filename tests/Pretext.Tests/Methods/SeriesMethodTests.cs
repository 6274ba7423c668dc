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
        if (name == "ts2vec") Assert.NotEqual(first, Loss(method, data.Data, 2));
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

    [Fact]
    public void PresetsFollowThePapers()
    {
        Assert.Equal(SeriesPooling.Max, TestSeries.Tiny("ts2vec").Encoder.Series.Pooling);
        foreach (var name in new[] { "cpc", "ts2vec" })
        {
            var views = TestSeries.Tiny(name).SeriesAugment;
            Assert.Equal((0.0, 0.0, 1.0, 0.0, 0), (views.JitterStd, views.ScaleStd, views.CropMin, views.MaskProbability, views.PermutationSegments));
        }
    }
}
