using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Tests.Data.Series;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>`pretext score` as a library call on generated sensor files with planted anomalies.</summary>
public class SeriesScoringTests
{
    public SeriesScoringTests() => set_num_threads(1);

    /// <summary>A tiny forecasting model pretrained for 4 steps on <paramref name="file"/> (labelled: its test blocks stay out).</summary>
    private static string Pretrain(TempDirectory dir, string file)
    {
        var cfg = SeriesEndToEndTests.Tiny("forecast", file).LevelForecast();
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        return Pretraining.Run(cfg, train, dir.Combine("run"), resume: false).FinalCheckpoint;
    }

    /// <summary>Indices of the <paramref name="n"/> highest finite scores.</summary>
    private static int[] Top(double[] scores, int n) =>
        [.. Enumerable.Range(0, scores.Length).Where(i => double.IsFinite(scores[i])).OrderByDescending(i => scores[i]).Take(n)];

    [Theory]
    [InlineData(SeriesScorer.Knn)]
    [InlineData(SeriesScorer.Reconstruction)]
    public void PlantedAnomaliesScoreHighestAndTheThresholdComesFromValidation(SeriesScorer scorer)
    {
        using var dir = new TempDirectory();
        // Blocks of 100, a fifth test: unit 0's burst (readings 300..319) lies in its training part, unit 1's (337..356) in its test block 3.
        var file = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 600, burst: 20, burstAt: 300, jump: 8);
        var checkpoint = Pretrain(dir, file);
        var scores = SeriesScoring.Run(new ScoreRequest { Checkpoint = checkpoint, Options = new SeriesScoreOptions { Scorer = scorer } });
        using (scores)
        {
            var data = scores.Data;
            Assert.Equal(1200, data.Parts.Sum(p => p.Length));
            Assert.Equal(200, data.TestSegments.Sum(s => s.Count));
            // Validation: unit 0's blocks 0 and 3 (its burst), unit 1's last training block; the reference holds no labelled anomaly.
            Assert.Equal(300, data.ValidationSegments.Sum(s => s.Count));
            Assert.Contains(data.ValidationSegments, s => s.Entity == "u0" && s.Times[0] == 300);
            Assert.DoesNotContain(data.ReferenceSegments, s => s.Labels!.Any(y => y != 0));
            // Every reading has a score (stride 1), and the validation burst chose the threshold by F1.
            Assert.All(scores.ReadingScores.SelectMany(s => s), v => Assert.True(double.IsFinite(v)));
            Assert.Equal(ThresholdRule.BestF1, scores.ReadingThreshold.Rule);

            // The planted anomalies of the test part score highest.
            var (test, anomalous) = data.ReadingsOf(scores.ReadingScores, ReadingPart.Test);
            Assert.All(Top(test, 10), i => Assert.True(anomalous[i], $"test reading {i} of the top 10 is not planted"));
            Assert.True(scores.TestReadings!.Auroc > 0.95, scores.TestReadings.Describe());

            var table = scores.ReadingTable();
            Assert.Equal(["entity", "time", "score", "flagged", "part", "label"], table.Names);
            Assert.Equal(1200, table.Rows);
            Assert.Equal(data.Scored.Count, scores.WindowTable().Rows);
        }
    }

    [Fact]
    public void UnlabelledDataIsScoredAgainstItselfWithoutOverlapAndThresholdedByQuantile()
    {
        using var dir = new TempDirectory();
        var labelled = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 600, burst: 20, burstAt: 300, jump: 8);
        var checkpoint = Pretrain(dir, labelled);
        // The same readings without their label column: nothing is held out as test, a fifth of the blocks is validation.
        var lines = File.ReadAllLines(labelled).Select(l => l[..l.LastIndexOf(',')]);
        var file = dir.File("unlabelled.csv");
        File.WriteAllLines(file, lines);
        var missing = Assert.Throws<InvalidDataException>(() => SeriesScoring.Run(new ScoreRequest { Checkpoint = checkpoint, Dataset = file }));
        Assert.Contains("--set series.columns.label=null", missing.Message);
        var scores = SeriesScoring.Run(new ScoreRequest
        {
            Checkpoint = checkpoint, Dataset = file, Set = ["series.columns.label=null"], Options = new SeriesScoreOptions { Contamination = 0.05 },
        });
        using (scores)
        {
            Assert.Empty(scores.Data.TestSegments);
            Assert.Null(scores.Data.Anomalous);
            Assert.Equal(ThresholdRule.Quantile, scores.ReadingThreshold.Rule);
            Assert.Null(scores.TestReadings);
            // The highest readings of each unit lie in its planted burst.
            int[] starts = [300, 337];
            for (int u = 0; u < 2; u++)
            {
                var segment = scores.Data.Table.Segments.Single(s => s.Entity == $"u{u}");
                int i = scores.Data.Table.Segments.ToList().IndexOf(segment);
                Assert.All(Top(scores.ReadingScores[i], 5), t => Assert.InRange(segment.Times[t], starts[u], starts[u] + 19));
            }
            Assert.DoesNotContain("label", scores.ReadingTable().Names);
        }
    }

    [Fact]
    public void DataTheModelCannotReadIsRefusedWithTheFix()
    {
        using var dir = new TempDirectory();
        var file = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 600, burst: 20, burstAt: 300, jump: 8);
        var checkpoint = Pretrain(dir, file);
        var one = dir.File("one-channel.csv");
        File.WriteAllLines(one, ["time,unit,temp,label", .. Enumerable.Range(0, 300).Select(t => $"{t},u0,{20 + Math.Sin(t / 9.0):F3},0")]);
        var e = Assert.Throws<InvalidDataException>(() => SeriesScoring.Run(new ScoreRequest { Checkpoint = checkpoint, Dataset = one }));
        Assert.Contains(one, e.Message);
        Assert.Contains("no channel column 'hum'", e.Message);
        var fewer = Assert.Throws<InvalidDataException>(() => SeriesScoring.Run(new ScoreRequest { Checkpoint = checkpoint, Dataset = one, Set = ["series.columns.channels=[\"temp\"]"] }));
        Assert.Contains($"'{one}' gives 1 channel(s) (temp); the model reads 2", fewer.Message);
        Assert.Contains("series.columns.channels", fewer.Message);
        var set = Assert.Throws<ArgumentException>(() => SeriesScoring.Run(new ScoreRequest { Checkpoint = checkpoint, Set = ["series.window=32"] }));
        Assert.Contains("from the checkpoint", set.Message);
    }
}
