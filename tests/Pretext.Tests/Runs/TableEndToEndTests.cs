using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Tests.Data.Tables;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>A generated customer table through the one pipeline: load, pretrain (Pretraining.Run), reload the checkpoint, evaluate.</summary>
public class TableEndToEndTests
{
    public TableEndToEndTests() => set_num_threads(1);

    internal static RunConfig Tiny(string method, string file)
    {
        var cfg = Presets.For(method, file, threads: 1);
        return cfg with
        {
            Encoder = cfg.Encoder with { Table = cfg.Encoder.Table with { Hidden = [16, 8] } },
            Table = cfg.Table with { Columns = new TableColumns { Id = "id" } },
            Train = cfg.Train with { BatchSize = 32, MaxSteps = 4, CheckpointEvery = 2, KeepCheckpoints = 2 },
            Evaluation = cfg.Evaluation with
            {
                KnnK = 5, PerClass = [5], TrainedPerClass = [5], Seeds = 1, LinearFractions = [1.0], ScratchFractions = [1.0], FineTuneFractions = [1.0],
                Probe = cfg.Evaluation.Probe with { Iterations = 30 }, Maps = new EmbeddingMapOptions { Samples = 0 },
                Supervised = cfg.Evaluation.Supervised with { Steps = 3, MinEpochs = 1 },
                Table = new TableEvaluationOptions { PositiveClass = "churn" },
            },
        };
    }

    [Theory]
    [InlineData("scarf")]
    [InlineData("vime")]
    [InlineData("dae")]
    public void PretrainsAndEvaluatesAGeneratedTable(string method)
    {
        using var dir = new TempDirectory();
        var file = TestTables.WriteCsv(dir.File("customers.csv"), 200);
        var cfg = Tiny(method, file);
        var modality = ModalityCatalog.Get(Pretext.Data.Modality.Table);
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        Assert.Equal(160, train.Count); // the held-out fifth stays out of pretraining

        var pre = Pretraining.Run(cfg, train, dir.Combine("run"), resume: false);
        Assert.Equal(4, pre.Steps);
        Assert.True(double.IsFinite(pre.FinalLoss));

        var (loaded, saved, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
        using (loaded)
        {
            // The checkpoint carries the encoding fitted on the training rows only, and the encoder's layout.
            var enc = saved.Table.Encoding!;
            Assert.Equal(["amount", "visits"], enc.NumericNames);
            Assert.Equal(["city", "member"], enc.CategoricalNames);
            Assert.Equal(2, saved.Encoder.Table.Numeric);
            Assert.Equal([5, 3], saved.Encoder.Table.Cardinalities); // four cities and yes/no, each with the unknown bucket
            var trainRows = TableSamples.Of(train).Rows;
            Assert.Equal(TableEncoding.Fit(trainRows).Mean, enc.Mean);
            Assert.NotEqual(TableEncoding.Fit(TableFiles.Read(file, cfg.Table.Columns)).Mean, enc.Mean);

            using var inputs = modality.InputsFor(saved, pre.FinalCheckpoint);
            var (evalTrain, evalTest) = modality.Load(file, saved, null, null, needTest: true);
            using (evalTrain)
            using (evalTest)
            {
                Assert.Equal(40, evalTest!.Count);
                Assert.StartsWith("r", evalTest.SampleId(0));
                var ev = Evaluating.Run(loaded, saved, inputs, evalTrain, evalTest);
                Assert.Equal("raw columns", ev.Baseline);
                Assert.Equal("F1 of churn", ev.F1Kind);
                foreach (var protocol in new[] { Protocol.Knn, Protocol.LinearProbe, Protocol.Baseline, Protocol.FromScratch, Protocol.FineTune })
                    Assert.NotEmpty(ev.For(protocol));
                Assert.All(ev.Scores, s => Assert.InRange(s.Accuracy, 0, 1));
                // The rule (no member and fewer than 5 visits) is nearly linear in the one-hot columns: the baseline learns it.
                Assert.True(ev.For(Protocol.Baseline).Max(s => s.Accuracy) > 0.8);
            }
        }
    }

    [Fact]
    public void ATableRunRefusesAnImageEncoder()
    {
        using var dir = new TempDirectory();
        var file = TestTables.WriteCsv(dir.File("customers.csv"), 60);
        var cfg = Tiny("scarf", file);
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        var image = cfg with { Encoder = cfg.Encoder with { Kind = Pretext.Encoders.EncoderKind.ResNet } };
        var e = Assert.Throws<ArgumentException>(() => Pretraining.Run(image, train, dir.Combine("run"), resume: false));
        Assert.Contains("TableMlp", e.Message);
    }
}
