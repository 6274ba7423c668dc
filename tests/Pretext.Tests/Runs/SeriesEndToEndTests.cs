using Pretext.Data.Series;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Tests.Data.Series;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>A generated sensor file through the one pipeline: load, pretrain (Pretraining.Run), reload the checkpoint, evaluate.</summary>
public class SeriesEndToEndTests
{
    public SeriesEndToEndTests() => set_num_threads(1);

    /// <summary>A method's series preset shrunk to windows of 16 and a tiny encoder, on the columns of <see cref="TestSeries"/>.</summary>
    internal static RunConfig Tiny(string method, string file)
    {
        var cfg = Presets.For(method, file, threads: 1);
        return cfg with
        {
            Encoder = cfg.Encoder with { Series = cfg.Encoder.Series with { Dim = 8, Width = 8, Blocks = 2, PatchSize = 4, Depth = 1, Heads = 2 } },
            Series = cfg.Series with { Columns = TestSeries.Columns, Window = 16, Stride = 4, BlockLength = 100 },
            Train = cfg.Train with { BatchSize = 16, MaxSteps = 4, CheckpointEvery = 2, KeepCheckpoints = 2 },
            Evaluation = cfg.Evaluation with
            {
                KnnK = 5, PerClass = [5], Seeds = 1, Probe = cfg.Evaluation.Probe with { Iterations = 30 }, Maps = new EmbeddingMapOptions { Samples = 0 },
                Series = cfg.Evaluation.Series with { FromScratch = true, Supervised = cfg.Evaluation.Series.Supervised with { Steps = 3, MinEpochs = 1 } },
            },
        };
    }

    [Theory]
    [InlineData("cpc")]
    [InlineData("ts2vec")]
    [InlineData("maskedpatches")]
    [InlineData("forecast")]
    public void PretrainsAndEvaluatesAGeneratedSensorFile(string method)
    {
        using var dir = new TempDirectory();
        // Unit 0's burst (readings 300..319) trains, unit 1's (337..356) is in its test block.
        var file = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 500, burst: 20, burstAt: 300);
        var cfg = Tiny(method, file);
        var modality = ModalityCatalog.Get(Pretext.Data.Modality.Series);
        var log = new List<string>();
        using var train = PretrainRequest.TrainingSamples(cfg, null, log.Add);
        // Blocks of 100: unit 0 holds out block 4, unit 1 block 3, so 800 of the 1,000 readings train, in parts of 400, 300 and 100.
        Assert.Contains(log, l => l.Contains("train part 800 readings"));
        Assert.Equal((400 - 16) / 4 + 1 + (300 - 16) / 4 + 1 + (100 - 16) / 4 + 1, train.Count);

        var run = dir.Combine("run");
        var pre = Pretraining.Run(cfg, train, run, resume: false);
        Assert.Equal(4, pre.Steps);
        Assert.True(double.IsFinite(pre.FinalLoss));

        var (method2, saved, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
        using (method2)
        {
            // The checkpoint carries the data's shape and the normalisation of the training readings only.
            Assert.Equal((2, 16), (saved.Encoder.Series.Channels, saved.Encoder.Series.Length));
            var table = SeriesFiles.Read(file, TestSeries.Columns);
            var (trainSegments, _) = SeriesSplit.Blocks(table.Segments, 2, 100, 5);
            var fitted = ChannelStats.Fit(trainSegments, 2);
            Assert.Equal(fitted.Mean, saved.Series.Normalization!.Mean);
            Assert.Equal(fitted.Std, saved.Series.Normalization!.Std);
            Assert.NotEqual(ChannelStats.Fit(table.Segments, 2).Mean, saved.Series.Normalization!.Mean);

            using var inputs = modality.InputsFor(saved, pre.FinalCheckpoint);
            var (evalTrain, evalTest) = modality.Load(file, saved, null, null, needTest: true);
            using (evalTrain)
            using (evalTest)
            {
                Assert.NotNull(evalTest);
                Assert.Equal(2 * ((100 - 16) / 4 + 1), evalTest.Count);
                Assert.Contains(1, evalTest.Labels!);
                Assert.Contains(1, evalTrain.Labels!);
                // Reconstruction and forecast errors are anomaly scores too (one class normal, the other anomalous).
                bool scorer = method2 is Pretext.Methods.IReconstructionScorer;
                var withExtras = scorer ? saved with { Evaluation = saved.Evaluation with { Extras = EvaluationExtras.Anomaly } } : saved;
                var ev = Evaluating.Run(method2, withExtras, inputs, evalTrain, evalTest);
                Assert.Equal(scorer, ev.Anomaly?.MeanReconstruction is not null);
                Assert.Equal("raw windows", ev.Baseline);
                Assert.Equal("F1 of anomaly", ev.F1Kind);
                foreach (var protocol in new[] { Protocol.Knn, Protocol.LinearProbe, Protocol.Baseline, Protocol.FromScratch })
                    Assert.NotEmpty(ev.For(protocol));
                Assert.All(ev.Scores, s => Assert.InRange(s.Accuracy, 0, 1));
            }
        }
    }

    [Fact]
    public void ASeriesRunRefusesAnImageEncoderAndANonSeriesMethod()
    {
        using var dir = new TempDirectory();
        var file = TestSeries.Write(dir.File("sensors.csv"), readings: 300);
        var cfg = Tiny("ts2vec", file);
        // 300 readings per unit in blocks of 100: unit 0's test block would be its fifth, which it does not have; unit 1's its fourth.
        var e1 = Assert.Throws<InvalidDataException>(() => PretrainRequest.TrainingSamples(cfg, null, null));
        Assert.Contains("series.blockLength", e1.Message);
        Assert.Contains("--transductive", e1.Message);
        using var train = PretrainRequest.TrainingSamples(cfg with { Transductive = true }, null, null);
        var image = cfg with { Encoder = cfg.Encoder with { Kind = EncoderKind.ResNet } };
        var e = Assert.Throws<ArgumentException>(() => Pretraining.Run(image, train, dir.Combine("run"), resume: false));
        Assert.Contains("series encoder", e.Message);
    }
}

internal static class SeriesTestConfigs
{
    /// <summary>
    /// <paramref name="cfg"/> with forecasting predicting the level rather than the change (the default): the scoring and stream tests
    /// plant level bursts and pretrain 4 steps, where the level forecaster's error and features separate a burst throughout while
    /// a residual one (its head starting at zero) flags the burst's edges.
    /// </summary>
    internal static RunConfig LevelForecast(this RunConfig cfg) =>
        cfg with { Methods = cfg.Methods with { Forecast = cfg.Methods.Forecast with { Residual = false } } };
}
