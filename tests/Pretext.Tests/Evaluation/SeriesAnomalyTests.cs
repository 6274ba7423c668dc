using Pretext.Data.Series;
using Pretext.Evaluation;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

/// <summary>The pieces of series anomaly scoring: reading scores from windows, thresholds, kNN without overlapping windows, the baselines.</summary>
public class SeriesAnomalyTests
{
    public SeriesAnomalyTests() => set_num_threads(1);

    [Fact]
    public void AReadingScoresTheMeanOrMaxOfTheWindowsCoveringIt()
    {
        // Segment 0 has 6 readings, windows of 3 at 0, 2, 3; segment 1 (2 readings) has none.
        WindowPlace[] places = [new(0, 0), new(0, 2), new(0, 3)];
        double[] scores = [1, 4, 10];
        var mean = ReadingScores.FromWindows([6, 2], places, 3, scores, ReadingAggregate.Mean);
        Assert.Equal([1, 1, 2.5, 7, 7, 10], mean[0]);
        Assert.All(mean[1], v => Assert.True(double.IsNaN(v)));
        var max = ReadingScores.FromWindows([6, 2], places, 3, scores, ReadingAggregate.Max);
        Assert.Equal([1, 1, 4, 10, 10, 10], max[0]);
        Assert.Throws<ArgumentException>(() => ReadingScores.FromWindows([4], [new(0, 2)], 3, [1.0], ReadingAggregate.Mean));
    }

    [Fact]
    public void ThresholdsComeFromTheValidationScores()
    {
        double[] scores = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, double.NaN];
        Assert.Equal(8.1, Thresholds.Quantile(scores, 0.9), 9);
        Assert.Equal(0, Thresholds.Quantile(scores, 0));
        // The best F1 flags exactly the two positives 8 and 9: the threshold lies halfway to the next score.
        bool[] positive = [false, false, false, false, false, false, false, false, true, true, false];
        var (t, f1) = Thresholds.BestF1(scores, positive);
        Assert.Equal(7.5, t);
        Assert.Equal(1.0, f1);
        var auto = Thresholds.Choose(scores, positive, ThresholdRule.Auto, 0.1);
        Assert.Equal((ThresholdRule.BestF1, 7.5, 2), (auto.Rule, auto.Value, auto.ValidationPositives));
        // Without labelled anomalies Auto takes the quantile; BestF1 refuses with the fix.
        var unlabelled = Thresholds.Choose(scores, null, ThresholdRule.Auto, 0.1);
        Assert.Equal((ThresholdRule.Quantile, 8.1), (unlabelled.Rule, Math.Round(unlabelled.Value, 9)));
        Assert.True(unlabelled.Flags(9) && !unlabelled.Flags(8));
        Assert.Contains("quantile", Assert.Throws<ArgumentException>(() => Thresholds.Choose(scores, new bool[11], ThresholdRule.BestF1, 0.1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Thresholds.Choose(scores, null, ThresholdRule.Quantile, 0));
        var m = DetectionMetrics.Of(scores, positive, 7.5)!;
        Assert.Equal((10, 2, 1.0, 1.0, 2, 1.0), (m.Count, m.Anomalies, m.Auroc, m.Auprc, m.Flagged, m.F1));
        Assert.Null(DetectionMetrics.Of(scores, new bool[11], 7.5));
    }

    [Fact]
    public void KnnNeverCountsAWindowThatOverlapsTheQuery()
    {
        // Three reference windows; the query equals the first. Overlapping it in time, that one is skipped: the distance is the second's.
        using var bank = tensor(new float[] { 1, 0, 0, 1, -1, 0 }, [3, 2]);
        using var query = tensor(new float[] { 1, 0 }, [1, 2]);
        var bankSpans = new WindowSpans([7, 7, 7], [0, 10, 20], [9, 19, 29]);
        Assert.Equal(0, KnnAnomalyScorer.Score(bank, query, 1)[0], 6);
        Assert.Equal(Math.Sqrt(2), KnnAnomalyScorer.Score(bank, query, 1, bankSpans, new WindowSpans([7], [5], [8]))[0], 5);
        // Another entity at the same time does not overlap.
        Assert.Equal(0, KnnAnomalyScorer.Score(bank, query, 1, bankSpans, new WindowSpans([8], [5], [8]))[0], 6);
        // Should fewer than k remain, a missing neighbour counts at distance 2.
        Assert.Equal((Math.Sqrt(2) + 2 + 2) / 3, KnnAnomalyScorer.Score(bank, query, 3, bankSpans, new WindowSpans([7], [5], [8]))[0], 5);
        // Euclidean distance keeps magnitude: (3, 0) is 2 from (1, 0) though it points the same way; too few left is refused.
        using var far = tensor(new float[] { 3, 0 }, [1, 2]);
        Assert.Equal(0, KnnAnomalyScorer.Score(bank, far, 1, null, null, KnnDistance.UnitLength)[0], 6);
        Assert.Equal(2, KnnAnomalyScorer.Score(bank, far, 1, null, null, KnnDistance.Euclidean)[0], 5);
        Assert.Equal(Math.Sqrt(2), KnnAnomalyScorer.Score(bank, query, 1, bankSpans, new WindowSpans([7], [5], [8]), KnnDistance.Euclidean)[0], 5);
        Assert.Throws<ArgumentException>(() => KnnAnomalyScorer.Score(bank, query, 3, bankSpans, new WindowSpans([7], [5], [8]), KnnDistance.Euclidean));
    }

    [Fact]
    public void BaselinesScoreAPlantedOutlierHighest()
    {
        // 200 points near the line y = 2x (plus a little noise), and one query off it.
        var rng = new Random(3);
        var rows = new float[200 * 2];
        for (int i = 0; i < 200; i++)
        {
            float x = (float)(rng.NextDouble() * 4 - 2);
            rows[2 * i] = x;
            rows[2 * i + 1] = 2 * x + (float)(0.05 * (rng.NextDouble() - 0.5));
        }
        float[] queries = [1, 2, -1, -2, 1, -2];  // on, on, off the line
        using var normal = tensor(rows, [200, 2]);
        using var q = tensor(queries, [3, 2]);
        using var pca = PcaReconstruction.Fit(normal, 0.9);
        Assert.Equal(1, pca.Components);
        var p = pca.Score(q);
        Assert.True(p[2] > 100 * Math.Max(p[0], p[1]), string.Join(", ", p));

        var forest = IsolationForest.Fit(rows, 200, 2, seed: 5, treeCount: 50, sampleSize: 64);
        var f = forest.Score(queries, 3);
        Assert.True(f[2] > f[0] && f[2] > f[1], string.Join(", ", f));
        Assert.Equal(f, IsolationForest.Fit(rows, 200, 2, seed: 5, treeCount: 50, sampleSize: 64).Score(queries, 3));
        Assert.Equal(2 * (Math.Log(255) + 0.5772156649) - 2.0 * 255 / 256, IsolationForest.AveragePath(256), 9);
    }

    [Fact]
    public void ZScoresUseTheirOwnEntitysReferenceReadings()
    {
        // Entity 0 reads 0, 2 (mean 1, std 1) on channel a; entity 1 reads 10, 10 (std 0, counted as 1).
        var reference = new List<SeriesSegment>
        {
            new("e0", 0, [0, 1], [0, 5, 2, 5], null, [1, 2]),
            new("e1", 1, [0, 1], [10, 0, 10, 0], null, [3, 4]),
        };
        var scored = new List<SeriesSegment> { new("e0", 0, [2], [4, 5], null, [5]), new("e1", 1, [2], [7, 0], null, [6]) };
        var z = ReadingZScore.Score(reference, scored, 2);
        Assert.Equal(3, z[0][0], 6);
        Assert.Equal(3, z[1][0], 6);
    }
}
