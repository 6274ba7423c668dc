using System.Globalization;
using System.Text;
using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Tests.Data.Tables;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>`pretext score` on table checkpoints: planted anomalies rank on top, every record gets a score with its id, thresholds come from validation.</summary>
public class RecordScoringTests
{
    public RecordScoringTests() => set_num_threads(1);

    /// <summary>
    /// <paramref name="n"/> records: x ~ N(0, 1), y = 2x + small noise, a shop of three, label "normal"; every 25th record (from the 7th)
    /// is planted: y = -2x + 6 (off the line, far out) and the shop "Elsewhere" seen nowhere else, label "anomaly".
    /// </summary>
    internal static string WritePlanted(string path, int n, bool labelled = true, int seed = 0)
    {
        var rng = new Random(seed);
        var c = CultureInfo.InvariantCulture;
        string[] shops = ["North", "South", "East"];
        var sb = new StringBuilder(labelled ? "id,x,y,shop,label\n" : "id,x,y,shop\n");
        for (int i = 0; i < n; i++)
        {
            double x = Gaussian(rng);
            bool planted = i % 25 == 7;
            double y = planted ? -2 * x + 6 : 2 * x + 0.1 * Gaussian(rng);
            string shop = planted ? "Elsewhere" : shops[rng.Next(3)];
            sb.Append(c, $"t{i},{x:F4},{y:F4},{shop}");
            sb.Append(labelled ? (planted ? ",anomaly\n" : ",normal\n") : "\n");
        }
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    internal static string Pretrain(TempDirectory dir, string file, string method, int steps = 20)
    {
        var cfg = Presets.For(method, file, threads: 1);
        cfg = cfg with
        {
            Encoder = cfg.Encoder with { Table = cfg.Encoder.Table with { Hidden = [32, 16] } },
            Table = cfg.Table with { Columns = new TableColumns { Id = "id" } },
            Train = cfg.Train with { BatchSize = 64, MaxSteps = steps, CheckpointEvery = 0, KeepCheckpoints = 1 },
        };
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        return Pretraining.Run(cfg, train, dir.Combine("run-" + method), resume: false).FinalCheckpoint;
    }

    private static readonly string[] IdColumn = ["table.columns.id=id"];

    [Fact]
    public void PlantedAnomaliesScoreHighestAndEveryRecordGetsItsId()
    {
        using var dir = new TempDirectory();
        var file = WritePlanted(dir.File("shop.csv"), 500);
        var ckpt = Pretrain(dir, file, "scarf");
        var scores = RecordScoring.Run(ckpt, null, IdColumn, null, new RecordScoreOptions());
        using (scores)
        {
            Assert.Equal(500, scores.Scores.Length);
            Assert.Equal(500, scores.Records.Ids.Distinct().Count());
            Assert.Equal("anomaly", scores.AnomalyClass); // the rarer class
            Assert.Null(scores.Reconstruction); // SCARF rebuilds nothing
            Assert.Equal(scores.Knn, scores.Scores);
            var parts = scores.Records.Parts;
            Assert.Equal(100, parts.Count(p => p == ReadingPart.Test)); // the held-out fifth
            Assert.InRange(parts.Count(p => p == ReadingPart.Validation), 60, 75); // a sixth of the 400 training records
            Assert.Equal(ThresholdRule.BestF1, scores.Threshold.Rule); // the validation part holds labelled anomalies
            var anomalous = scores.Anomalous!;
            Assert.Equal(20, anomalous.Count(a => a));
            Assert.True(scores.Test!.Auroc > 0.95, $"test AUROC {scores.Test.Auroc}");
            // The planted records are the highest scores of all.
            var top = Enumerable.Range(0, 500).OrderByDescending(i => scores.Scores[i]).Take(20).Count(i => anomalous[i]);
            Assert.True(top >= 16, $"{top} of the 20 highest scores are planted");

            var table = scores.Table();
            Assert.Equal(["id", "part", "score", "flagged", "knn", "label"], table.Names);
            var csv = dir.File("scores.csv");
            table.Write(csv);
            var lines = File.ReadAllLines(csv);
            Assert.Equal(501, lines.Length);
            Assert.StartsWith("t", lines[1]);
        }
    }

    [Fact]
    public void DaeAddsReconstructionErrorsThatAlsoFindThePlantedRecords()
    {
        using var dir = new TempDirectory();
        var file = WritePlanted(dir.File("shop.csv"), 500);
        var ckpt = Pretrain(dir, file, "dae", steps: 40);
        var scores = RecordScoring.Run(ckpt, null, IdColumn, null, new RecordScoreOptions { Scorer = Pretext.Runs.SeriesScorer.Reconstruction });
        using (scores)
        {
            Assert.NotNull(scores.Reconstruction);
            Assert.Equal(scores.Reconstruction, scores.Scores);
            Assert.Contains("reconstruction", scores.Table().Names);
            Assert.True(scores.Test!.Auroc > 0.9, $"test AUROC {scores.Test.Auroc}");
            // Seeded: the same call gives the same errors.
            var again = RecordScoring.Run(ckpt, null, IdColumn, null, new RecordScoreOptions { Scorer = Pretext.Runs.SeriesScorer.Reconstruction });
            using (again) Assert.Equal(scores.Reconstruction, again.Reconstruction);
        }
    }

    [Fact]
    public void UnlabelledRecordsGetTheQuantileThresholdAndNoMetrics()
    {
        using var dir = new TempDirectory();
        var file = WritePlanted(dir.File("shop.csv"), 300, labelled: false);
        var ckpt = Pretrain(dir, file, "scarf", steps: 5);
        var scores = RecordScoring.Run(ckpt, null, IdColumn, null, new RecordScoreOptions { Contamination = 0.05 });
        using (scores)
        {
            Assert.Equal(ThresholdRule.Quantile, scores.Threshold.Rule);
            Assert.Null(scores.Test);
            Assert.Null(scores.AnomalyClass);
            Assert.DoesNotContain(ReadingPart.Test, scores.Records.Parts); // unlabelled: no held-out part
            Assert.DoesNotContain("label", scores.Table().Names);
            var validation = scores.Records.IndicesOf(ReadingPart.Validation);
            double flagged = validation.Count(i => scores.Threshold.Flags(scores.Scores[i])) / (double)validation.Length;
            Assert.InRange(flagged, 0.0, 0.1); // about the contamination of the validation records
        }
    }

    [Fact]
    public void BadInputIsRefusedWithTheFix()
    {
        using var dir = new TempDirectory();
        var file = WritePlanted(dir.File("shop.csv"), 200);
        var ckpt = Pretrain(dir, file, "scarf", steps: 2);
        // Another table: the model's column it lacks is named, with the file's columns.
        var other = TestTables.WriteCsv(dir.File("customers.csv"), 60);
        var e = Assert.Throws<InvalidDataException>(() => RecordScoring.Run(ckpt, other, IdColumn, null, new RecordScoreOptions()));
        Assert.Matches("customers.csv' has no (numeric|categorical) column '(x|y|shop)'; its columns are id, amount", e.Message);
        Assert.Contains("vime or dae", Assert.Throws<ArgumentException>(() =>
            RecordScoring.Run(ckpt, null, IdColumn, null, new RecordScoreOptions { Scorer = Pretext.Runs.SeriesScorer.Reconstruction })).Message);
        Assert.Contains("table.columns", Assert.Throws<ArgumentException>(() =>
            RecordScoring.Run(ckpt, null, ["train.batchSize=3"], null, new RecordScoreOptions())).Message);
        Assert.Contains("its classes are anomaly, normal", Assert.Throws<ArgumentException>(() =>
            RecordScoring.Run(ckpt, null, IdColumn, null, new RecordScoreOptions { AnomalyClass = "fraud" })).Message);
        // A word in a column the model reads as numbers names its line and column (the file is typed as the model was).
        var bad = dir.File("bad.csv");
        File.WriteAllText(bad, File.ReadAllText(file).Replace("t3,", "t3,oops", StringComparison.Ordinal));
        var cell = Assert.Throws<InvalidDataException>(() => RecordScoring.Run(ckpt, bad, IdColumn, null, new RecordScoreOptions()));
        Assert.Contains("line 5, column 'x': 'oops", cell.Message);
        Assert.Contains("not a number", cell.Message);
    }
}
