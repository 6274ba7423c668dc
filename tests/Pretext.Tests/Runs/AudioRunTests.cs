using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Tests.Data.Audio;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>
/// The audio modality through the shared pipeline: a folder of generated clips loaded, pretrained with each audio method through
/// <see cref="Pretraining.Run(RunConfig, ISampleSet, string, bool, IRunObserver?, double?, string?, CancellationToken)"/>, evaluated through
/// <see cref="Evaluating.Run"/> from the checkpoint, and resumed exactly.
/// </summary>
[Collection(SeededRunsCollection.Name)]
public class AudioRunTests
{
    public AudioRunTests() => set_num_threads(1);

    internal static EvaluationConfig TinyEvaluation { get; } = new()
    {
        LinearFractions = [1.0], ScratchFractions = [1.0], PerClass = [2], TrainedPerClass = [2], Seeds = 1, KnnK = 5,
        Probe = new LinearProbeOptions { Iterations = 30, WeightDecays = [0, 1e-2] },
        Supervised = new SupervisedOptions { Steps = 3, MinEpochs = 1, BatchSize = 8 },
        Maps = new EmbeddingMapOptions { Samples = 0 },
    };

    [Theory]
    [InlineData("cola")]
    [InlineData("msm")]
    public void PretrainThenEvaluateOnAFolderOfGeneratedClips(string method)
    {
        using var dir = new TempDirectory();
        var clips = dir.Combine("clips");
        TestAudio.WriteClassFolder(clips, perClass: 15);
        var cfg = TestAudio.TinyRun(method, TinyEvaluation) with { Dataset = clips };
        var audio = ModalityCatalog.Get(Modality.Audio);
        var (train, test) = audio.Load(clips, cfg, dir.Combine("data"), null, needTest: true);
        using (train)
        using (test)
        {
            Assert.Equal((24, 6), (train.Count, test!.Count));
            Assert.Equal(["high", "low"], train.ClassNames);
            var run = dir.Combine("run");
            var result = Pretraining.Run(cfg, train, run, resume: false);
            Assert.Equal(6, result.Steps);
            Assert.True(double.IsFinite(result.FinalLoss));
            var recorded = Pretraining.Recorded(run)!.Encoder.Audio;
            Assert.Equal(16, recorded.Mean.Length);
            Assert.All(recorded.Std, s => Assert.True(s > 0));

            var (loaded, loadedCfg, _) = Pretraining.LoadMethod(result.FinalCheckpoint);
            using (loaded)
            {
                using var inputs = audio.InputsFor(loadedCfg, result.FinalCheckpoint);
                var r = Evaluating.Run(loaded, loadedCfg, inputs, train, test);
                Assert.Equal("MFCC statistics", r.Baseline);
                Assert.Equal("F1 of low", r.F1Kind); // two classes: F1 of the second (three or more: macro F1)
                foreach (var protocol in new[] { Protocol.Knn, Protocol.LinearProbe, Protocol.FromScratch, Protocol.Baseline })
                    Assert.NotEmpty(r.For(protocol));
                Assert.All(r.Scores, s => Assert.InRange(s.Accuracy, 0, 1));
                // Pitch separates the generated classes: MFCC statistics find it without any learning.
                Assert.True(r.Find(Protocol.Baseline, 1.0)!.Accuracy >= 0.8, $"baseline {r.Find(Protocol.Baseline, 1.0)!.Accuracy}");
            }
        }
    }

    [Fact]
    public void ResumeContinuesExactly()
    {
        using var data = TestAudio.LogMels(48);
        using var dir = new TempDirectory();
        var cfg = TestAudio.TinyRun("cola") with { Encoder = TestAudio.TinyRun("cola").Encoder with { Audio = TestAudio.TinyEncoder with { Mean = new float[16], Std = Enumerable.Repeat(1f, 16).ToArray() } } };
        var full = dir.Combine("full");
        Pretraining.Run(cfg, data, full, resume: false);
        var part = dir.Combine("part");
        Pretraining.Run(cfg, data, part, resume: false);
        var ckpts = new Pretext.Training.CheckpointFolder(Path.Combine(part, "checkpoints"), 10).List();
        File.Delete(ckpts[^1].Path);
        Pretraining.Run(cfg, data, part, resume: true);
        double[] Losses(string run) => Pretext.Reporting.MetricsLog.Read(Path.Combine(run, "metrics.csv")).Select(r => r["loss"]).ToArray();
        Assert.Equal(Losses(full), Losses(part));
    }

    [Fact]
    public void TheCatalogueAndPresetsKnowTheAudioSets()
    {
        var audio = ModalityCatalog.Catalogued("fillets-language");
        Assert.NotNull(audio);
        Assert.Equal(Modality.Audio, audio!.Kind);
        var cfg = Presets.For("cola", "fillets-speaker");
        Assert.Equal(Pretext.Encoders.EncoderKind.AudioConv, cfg.Encoder.Kind);
        Assert.Equal(new long[] { 64, 301 }, cfg.Encoder.Audio.InputShape);
        Assert.Equal(96, cfg.Methods.Cola.SegmentFrames(cfg.Encoder.Audio));
        Assert.Equal(Pretext.Encoders.EncoderKind.AudioTransformer, Presets.For("msm", "fillets-speaker").Encoder.Kind);
        Assert.Equal("cola", new PretrainRequest { Dataset = "fillets-language" }.MethodEntry().Name);
        Assert.Equal([5, 20], cfg.Evaluation.PerClass);
        var e = Assert.Throws<ArgumentException>(() => new PretrainRequest { Dataset = "fillets-speaker", Encoder = Pretext.Encoders.EncoderKind.ResNet }.Resolve());
        Assert.Contains("AudioConv or AudioTransformer", e.Message);
        Assert.Equal(Pretext.Encoders.EncoderKind.AudioTransformer, new PretrainRequest { Dataset = "fillets-speaker", Encoder = Pretext.Encoders.EncoderKind.AudioTransformer }.Resolve().Encoder.Kind);
        Assert.Contains("--set encoder.audio.", Assert.Throws<ArgumentException>(() => new PretrainRequest { Dataset = "fillets-speaker", Widths = [8] }.Resolve()).Message);
        using var dir = new TempDirectory();
        TestAudio.WriteClassFolder(dir.Path, 1);
        Assert.Equal("cola", new PretrainRequest { Dataset = dir.Path }.MethodEntry().Name);
    }
}
