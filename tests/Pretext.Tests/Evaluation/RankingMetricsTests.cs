using Pretext.Evaluation;

namespace Pretext.Tests.Evaluation;

public class RankingMetricsTests
{
    /// <summary>AUROC by definition: over every (positive, negative) pair, 1 if the positive scores higher, 1/2 if tied.</summary>
    private static double SlowAuroc(double[] s, bool[] y)
    {
        double wins = 0; long pairs = 0;
        for (int i = 0; i < s.Length; i++)
            for (int j = 0; j < s.Length; j++)
            {
                if (!y[i] || y[j]) continue;
                pairs++;
                wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
        return wins / pairs;
    }

    /// <summary>Average precision by definition: at each distinct threshold t (descending), count predictions score >= t.</summary>
    private static double SlowAveragePrecision(double[] s, bool[] y)
    {
        int positives = y.Count(v => v);
        double ap = 0, previousRecall = 0;
        foreach (var t in s.Distinct().OrderByDescending(v => v))
        {
            int tp = 0, predicted = 0;
            for (int i = 0; i < s.Length; i++)
                if (s[i] >= t) { predicted++; if (y[i]) tp++; }
            double recall = (double)tp / positives, precision = (double)tp / predicted;
            ap += (recall - previousRecall) * precision;
            previousRecall = recall;
        }
        return ap;
    }

    [Fact]
    public void HandComputedValues()
    {
        // Positives score 0.35 and 0.8, negatives 0.1 and 0.4: 3 of 4 pairs ordered right.
        double[] s = [0.1, 0.4, 0.35, 0.8];
        bool[] y = [false, false, true, true];
        Assert.Equal(0.75, RankingMetrics.Auroc(s, y), 12);
        // Thresholds 0.8 (P 1, R 1/2), 0.4 (P 1/2, R 1/2), 0.35 (P 2/3, R 1): 1/2 * 1 + 1/2 * 2/3.
        Assert.Equal(5.0 / 6, RankingMetrics.AveragePrecision(s, y), 12);
    }

    [Fact]
    public void TiesCountHalfAndFormOneThreshold()
    {
        // Pairs (pos 2 vs neg 1) 1, (2 vs 2) 1/2, (3 vs 1) 1, (3 vs 2) 1.
        double[] s = [1, 2, 2, 3];
        bool[] y = [false, true, false, true];
        Assert.Equal(3.5 / 4, RankingMetrics.Auroc(s, y), 12);
        // Threshold 3: P 1, R 1/2; threshold 2 (two samples at once): P 2/3, R 1.
        Assert.Equal(0.5 + 0.5 * 2 / 3.0, RankingMetrics.AveragePrecision(s, y), 12);
        // A constant score ranks nothing: AUROC 1/2, AP the positive rate.
        double[] flat = [5, 5, 5, 5, 5];
        bool[] y2 = [true, false, false, true, false];
        Assert.Equal(0.5, RankingMetrics.Auroc(flat, y2), 12);
        Assert.Equal(0.4, RankingMetrics.AveragePrecision(flat, y2), 12);
    }

    [Fact]
    public void PerfectAndReversedRankings()
    {
        double[] s = [0.1, 0.2, 0.8, 0.9];
        Assert.Equal(1.0, RankingMetrics.Auroc(s, [false, false, true, true]), 12);
        Assert.Equal(1.0, RankingMetrics.AveragePrecision(s, [false, false, true, true]), 12);
        Assert.Equal(0.0, RankingMetrics.Auroc(s, [true, true, false, false]), 12);
    }

    [Theory]
    [InlineData(1, 6)]     // coarse integer scores: many ties
    [InlineData(2, 1000)]  // almost no ties
    [InlineData(3, 2)]
    public void MatchSlowReferencesOnRandomScores(int seed, int levels)
    {
        var rng = new Random(seed);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = rng.Next(2, 80);
            var s = Enumerable.Range(0, n).Select(_ => (double)rng.Next(levels)).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.3).ToArray();
            y[0] = true; y[1] = false;
            Assert.Equal(SlowAuroc(s, y), RankingMetrics.Auroc(s, y), 12);
            Assert.Equal(SlowAveragePrecision(s, y), RankingMetrics.AveragePrecision(s, y), 12);
        }
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Contains("both positives and negatives", Assert.Throws<ArgumentException>(() => RankingMetrics.Auroc([1.0, 2.0], [true, true])).Message);
        Assert.Throws<ArgumentException>(() => RankingMetrics.AveragePrecision([1.0, 2.0], [false, false]));
        Assert.Contains("Score 1", Assert.Throws<ArgumentException>(() => RankingMetrics.Auroc([1.0, double.NaN], [true, false])).Message);
        Assert.Throws<ArgumentException>(() => RankingMetrics.Auroc([1.0, 2.0, 3.0], [true, false]));
    }
}
