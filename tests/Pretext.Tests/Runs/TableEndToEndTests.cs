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
                foreach (var protocol in new[] { Protocol.Knn, Protocol.LinearProbe, Protocol.Baseline, Protocol.Trees, Protocol.FromScratch, Protocol.FineTune })
                    Assert.NotEmpty(ev.For(protocol));
                // Gradient-boosted trees beside logistic regression learn the rule too; they can be left out.
                Assert.True(ev.For(Protocol.Trees).Max(s => s.Accuracy) > 0.8);
                var noTrees = saved with { Evaluation = saved.Evaluation with { Table = saved.Evaluation.Table with { GradientBoostedTrees = false } } };
                Assert.False(modality.Plan(noTrees.Evaluation).Runs(Protocol.Trees));
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

    /// <summary>The customers CSV with a household column: rows r0-r2 one household, r3-r5 the next, and so on.</summary>
    private static string WriteHouseholds(TempDirectory dir, int n)
    {
        var file = TestTables.WriteCsv(dir.File("plain.csv"), n);
        var lines = File.ReadAllLines(file);
        var withEntity = lines.Select((l, i) => i == 0 ? l + ",household" : l + $",h{(i - 1) / 3}");
        var path = dir.File("households.csv");
        File.WriteAllLines(path, withEntity);
        return path;
    }

    [Fact]
    public void SameEntityPositivesAreOffByDefaultAndGroupTheRowsOfAnEntityWhenOn()
    {
        using var dir = new TempDirectory();
        var file = WriteHouseholds(dir, 90);
        var cfg = Tiny("scarf", file);
        cfg = cfg with { Table = cfg.Table with { Columns = cfg.Table.Columns with { Entity = "household" } } };
        Assert.False(cfg.Table.EntityPositives);
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        var modality = ModalityCatalog.Get(Pretext.Data.Modality.Table);
        using (var off = modality.PrepareRun(cfg, train, dir.Combine("off"), false, NullObserver.Instance, default))
            Assert.Null(off.Data.Entities);

        var on = cfg with { Table = cfg.Table with { EntityPositives = true } };
        using (var prepared = modality.PrepareRun(on, train, dir.Combine("on"), false, NullObserver.Instance, default))
        {
            var groups = prepared.Data.Entities!;
            var rows = TableSamples.Of(train).Rows;
            Assert.Equal(rows.Count, groups.Count);
            for (int i = 0; i < rows.Count; i++)
                for (int j = 0; j < rows.Count; j++)
                    Assert.Equal(rows.Entities![i] == rows.Entities[j], groups.SameEntity(i, j));
        }
        var pre = Pretraining.Run(on with { Train = on.Train with { MaxSteps = 2 } }, train, dir.Combine("run"), resume: false);
        Assert.True(double.IsFinite(pre.FinalLoss));

        // Refused where it cannot work: no entity column, or a method that takes no positives from other rows.
        var noEntity = on with { Table = on.Table with { Columns = on.Table.Columns with { Entity = null } } };
        using (var plain = PretrainRequest.TrainingSamples(noEntity, null, null))
            Assert.Contains("table.columns.entity", Assert.Throws<ArgumentException>(() => modality.PrepareRun(noEntity, plain, dir.Combine("x"), false, NullObserver.Instance, default)).Message);
        var vime = Tiny("vime", file) with { Table = on.Table };
        Assert.Contains("scarf", Assert.Throws<ArgumentException>(() => modality.PrepareRun(vime, train, dir.Combine("y"), false, NullObserver.Instance, default)).Message);
    }
}
