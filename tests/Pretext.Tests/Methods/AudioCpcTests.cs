using Pretext.Data;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Tests.Data.Audio;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

/// <summary>CPC over log-mel frame tokens: the series method's loss and GRU, reused on the causal audio convolution encoder.</summary>
public class AudioCpcTests
{
    public AudioCpcTests() => set_num_threads(1);

    private static double Loss(ISslMethod method, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(1);
        return method.ComputeLoss(new Batch([x], [], g), new TrainingProgress(0, 1)).Loss.item<float>();
    }

    [Fact]
    public void TrainsOnLogMelFramesAndItsLossFalls()
    {
        var cfg = TestAudio.TinyRun("cpc");
        Assert.Equal(EncoderKind.AudioConv, cfg.Encoder.Kind);
        Assert.True(cfg.Encoder.Audio.Causal, "CPC's audio preset makes the convolution encoder causal");
        using var data = TestAudio.LogMels(16);
        using var method = Pretraining.CreateMethod(cfg);
        method.Module.train();
        using var opt = new Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        double first = Loss(method, data.Data);
        // 13 tokens, 16 clips: chance is ln 16 at every horizon.
        Assert.InRange(first, 0.5 * Math.Log(16), 2 * Math.Log(16));
        for (int step = 0; step < 30; step++)
        {
            using var scope = NewDisposeScope();
            using var g = new Generator((ulong)step);
            var o = method.ComputeLoss(new Batch([data.Data], [], g), new TrainingProgress(step, 30));
            Assert.Equal(new long[] { 16, method.Encoder.FeatureDim }, o.Embedding.shape);
            opt.ZeroGrad(); o.Loss.backward(); opt.Step(3e-3);
        }
        double last = Loss(method, data.Data);
        Assert.True(last < first - 0.1, $"CPC on log-mels did not learn: {first:0.000} -> {last:0.000}");
    }

    [Fact]
    public void RefusesAnAudioEncoderThatSeesTheFuture()
    {
        var cfg = TestAudio.TinyRun("cpc");
        var open = cfg with { Encoder = cfg.Encoder with { Audio = cfg.Encoder.Audio with { Causal = false } } };
        var e = Assert.Throws<ArgumentException>(() => Pretraining.CreateMethod(open));
        Assert.Contains("causal", e.Message);
        Assert.Contains("encoder.audio.causal=true", e.Message);
        var transformer = cfg with { Encoder = cfg.Encoder with { Kind = EncoderKind.AudioTransformer } };
        e = Assert.Throws<ArgumentException>(() => Pretraining.CreateMethod(transformer));
        Assert.Contains("AudioTransformerEncoder sees the whole clip", e.Message);
    }

    [Fact]
    public void PretrainOnFilletsSpeakerResolvesToTheCausalAudioEncoder()
    {
        var cfg = new PretrainRequest { Dataset = "fillets-speaker", Method = "cpc", Threads = 1 }.Resolve();
        Assert.Equal(Modality.Audio, cfg.Encoder.Modality);
        Assert.Equal(EncoderKind.AudioConv, cfg.Encoder.Kind);
        Assert.True(cfg.Encoder.Audio.Causal);
        Assert.Equal(1, MethodRegistry.Get("cpc").Views(cfg.Setup).ViewCount);
        // The series side is unchanged: a series data set still gets the TCN.
        var series = new PretrainRequest { Dataset = "suthaharan-single-hop", Method = "cpc", Threads = 1 }.Resolve();
        Assert.Equal(Modality.Series, series.Encoder.Modality);
        Assert.False(series.Encoder.Audio.Causal);
        // A non-causal encoder asked for on the command line is refused when the method is built, with the fix.
        var transformer = new PretrainRequest { Dataset = "fillets-speaker", Method = "cpc", Encoder = EncoderKind.AudioTransformer, Threads = 1 }.Resolve();
        Assert.Contains("--encoder AudioConv", Assert.Throws<ArgumentException>(() => Pretraining.CreateMethod(transformer)).Message);
    }

}
