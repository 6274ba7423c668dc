using System.Globalization;
using Pretext.Data.Series;

namespace Pretext.Evaluation;

/// <summary>How the scores of the windows covering a reading become the reading's score.</summary>
public enum ReadingAggregate
{
    /// <summary>The mean over every window that covers the reading: a reading deep inside an event scores higher than one at its edge,
    /// where only some covering windows see the event (the default: it localises an event better than the maximum).</summary>
    Mean,
    /// <summary>The largest score of a covering window: every reading of an anomalous window is as anomalous as the window, so an
    /// event's flags spread a window's length before and after it.</summary>
    Max,
}

/// <summary>Window scores spread over the readings they cover.</summary>
public static class ReadingScores
{
    /// <summary>
    /// Per segment, per reading: the <paramref name="aggregate"/> of the scores of the windows (<paramref name="places"/>, each
    /// <paramref name="length"/> readings) that cover it; NaN for a reading no window covers (a segment shorter than a window).
    /// </summary>
    /// <exception cref="ArgumentException">Scores and places differ in number, or a window does not fit its segment.</exception>
    public static double[][] FromWindows(IReadOnlyList<int> segmentLengths, IReadOnlyList<WindowPlace> places, int length, IReadOnlyList<double> windowScores,
        ReadingAggregate aggregate)
    {
        if (places.Count != windowScores.Count) throw new ArgumentException($"{windowScores.Count} window scores for {places.Count} windows.");
        var value = segmentLengths.Select(n => new double[n]).ToArray();
        var count = segmentLengths.Select(n => new int[n]).ToArray();
        for (int w = 0; w < places.Count; w++)
        {
            var (s, start) = places[w];
            if (s < 0 || s >= value.Length || start < 0 || start + length > value[s].Length)
                throw new ArgumentException($"Window {w} (segment {s}, reading {start}, {length} readings) does not fit the segments given.");
            double score = windowScores[w];
            for (int t = start; t < start + length; t++)
            {
                value[s][t] = count[s][t] == 0 ? score : aggregate == ReadingAggregate.Max ? Math.Max(value[s][t], score) : value[s][t] + score;
                count[s][t]++;
            }
        }
        for (int s = 0; s < value.Length; s++)
            for (int t = 0; t < value[s].Length; t++)
                value[s][t] = count[s][t] == 0 ? double.NaN : aggregate == ReadingAggregate.Mean ? value[s][t] / count[s][t] : value[s][t];
        return value;
    }
}

/// <summary>How the score above which a reading or window is flagged is chosen on validation data.</summary>
public enum ThresholdRule
{
    /// <summary><see cref="BestF1"/> when the validation part holds labelled anomalies, else <see cref="Quantile"/>.</summary>
    Auto,
    /// <summary>The (1 - contamination) quantile of the validation scores: about the expected share of anomalies is flagged there.</summary>
    Quantile,
    /// <summary>The threshold with the best F1 of the validation labels (anomalies as positives).</summary>
    BestF1,
}

/// <summary>A chosen threshold: flagged means score &gt; <see cref="Value"/>.</summary>
/// <param name="Rule">The rule that chose it (never <see cref="ThresholdRule.Auto"/>).</param>
/// <param name="ValidationF1">F1 on the validation labels at this threshold, when they hold anomalies.</param>
/// <param name="ValidationCount">Validation scores it was chosen on.</param>
/// <param name="ValidationPositives">Labelled anomalies among them (0 when unlabelled).</param>
public sealed record ThresholdChoice(double Value, ThresholdRule Rule, double Contamination, double? ValidationF1, int ValidationCount, int ValidationPositives)
{
    public bool Flags(double score) => score > Value;

    /// <summary>One line: the value and how it was chosen.</summary>
    public string Describe() => Rule == ThresholdRule.BestF1
        ? string.Create(CultureInfo.InvariantCulture, $"{Value:G5} (best F1 {ValidationF1:F3} on {ValidationCount:N0} validation scores, {ValidationPositives:N0} labelled anomalies)")
        : string.Create(CultureInfo.InvariantCulture, $"{Value:G5} (the {100 * (1 - Contamination):0.##} % quantile of {ValidationCount:N0} validation scores: contamination {Contamination:0.####})");
}

/// <summary>Thresholds for anomaly scores, chosen on validation scores.</summary>
public static class Thresholds
{
    /// <summary>The <paramref name="q"/> quantile of the finite <paramref name="values"/> (linear interpolation between order statistics).</summary>
    /// <exception cref="ArgumentException">No finite value, or q outside [0, 1].</exception>
    public static double Quantile(IEnumerable<double> values, double q)
    {
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "A quantile lies in [0, 1].");
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("A quantile needs at least one finite value.");
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }

    /// <summary>
    /// The threshold (flagged: score &gt; threshold) with the best F1 of <paramref name="positive"/>, and that F1. Candidates lie
    /// halfway between consecutive distinct scores, so the threshold does not sit on a validation score. Non-finite scores are skipped.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, or no finite score is a positive.</exception>
    public static (double Threshold, double F1) BestF1(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores but {positive.Count} labels.");
        var order = Enumerable.Range(0, scores.Count).Where(i => double.IsFinite(scores[i])).OrderByDescending(i => scores[i]).ToArray();
        int totalPositive = order.Count(i => positive[i]);
        if (totalPositive == 0) throw new ArgumentException("The best-F1 threshold needs at least one labelled anomaly among the scores.");
        double best = -1, threshold = double.NaN;
        int tp = 0, flagged = 0;
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            for (int i = start; i <= end; i++) { flagged++; if (positive[order[i]]) tp++; }
            double f1 = 2.0 * tp / (flagged + totalPositive);
            if (f1 > best)
            {
                best = f1;
                double here = scores[order[start]];
                threshold = end + 1 < order.Length ? (here + scores[order[end + 1]]) / 2 : here - Math.Max(1e-12, Math.Abs(here) * 1e-9);
            }
            start = end + 1;
        }
        return (threshold, best);
    }

    /// <summary>
    /// A threshold chosen on <paramref name="validation"/> scores by <paramref name="rule"/>; <paramref name="positive"/> are their labels
    /// (null: unlabelled). <see cref="ThresholdRule.Auto"/> takes the best F1 when the labels hold an anomaly, else the quantile.
    /// </summary>
    /// <exception cref="ArgumentException">No finite validation score; a contamination outside (0, 1); best F1 asked without labelled anomalies.</exception>
    public static ThresholdChoice Choose(IReadOnlyList<double> validation, IReadOnlyList<bool>? positive, ThresholdRule rule, double contamination)
    {
        if (!(contamination > 0 && contamination < 1))
            throw new ArgumentOutOfRangeException(nameof(contamination), contamination, "The contamination (expected share of anomalies) lies in (0, 1), e.g. 0.01.");
        int count = validation.Count(double.IsFinite);
        if (count == 0) throw new ArgumentException("No finite validation score to choose a threshold on: the validation part is empty or shorter than a window.");
        int positives = positive is null ? 0 : Enumerable.Range(0, validation.Count).Count(i => positive[i] && double.IsFinite(validation[i]));
        if (rule == ThresholdRule.BestF1 && positives == 0)
            throw new ArgumentException("The best-F1 threshold needs labelled anomalies in the validation part, and it has none; use the quantile rule with an expected contamination.");
        if (rule == ThresholdRule.BestF1 || (rule == ThresholdRule.Auto && positives > 0))
        {
            var (t, f1) = BestF1(validation, positive!);
            return new ThresholdChoice(t, ThresholdRule.BestF1, contamination, f1, count, positives);
        }
        return new ThresholdChoice(Quantile(validation, 1 - contamination), ThresholdRule.Quantile, contamination, null, count, positives);
    }

    /// <summary>Precision, recall and F1 of flagging the finite <paramref name="scores"/> above <paramref name="threshold"/>.</summary>
    public static (double Precision, double Recall, double F1) Flagging(IReadOnlyList<double> scores, IReadOnlyList<bool> positive, double threshold)
    {
        long tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            if (!double.IsFinite(scores[i])) continue;
            bool flagged = scores[i] > threshold;
            if (flagged && positive[i]) tp++;
            else if (flagged) fp++;
            else if (positive[i]) fn++;
        }
        double p = tp + fp == 0 ? 0 : (double)tp / (tp + fp), r = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        return (p, r, p + r == 0 ? 0 : 2 * p * r / (p + r));
    }
}

/// <summary>How well anomaly scores rank and, at a threshold, flag a labelled set (anomalies as positives).</summary>
/// <param name="Count">Scored samples (non-finite scores left out).</param>
/// <param name="Anomalies">Labelled anomalies among them.</param>
public sealed record DetectionMetrics(int Count, int Anomalies, double Auroc, double Auprc, int Flagged, double Precision, double Recall, double F1)
{
    /// <summary>The metrics of the finite <paramref name="scores"/>; null when they do not hold both an anomaly and a normal sample.</summary>
    public static DetectionMetrics? Of(IReadOnlyList<double> scores, IReadOnlyList<bool> anomalous, double threshold)
    {
        var keep = Enumerable.Range(0, scores.Count).Where(i => double.IsFinite(scores[i])).ToArray();
        var s = keep.Select(i => scores[i]).ToArray();
        var a = keep.Select(i => anomalous[i]).ToArray();
        int positives = a.Count(x => x);
        if (positives == 0 || positives == a.Length) return null;
        var (p, r, f1) = Thresholds.Flagging(s, a, threshold);
        return new DetectionMetrics(s.Length, positives, RankingMetrics.Auroc(s, a), RankingMetrics.AveragePrecision(s, a), s.Count(x => x > threshold), p, r, f1);
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"AUROC {Auroc:F3}, AUPRC {Auprc:F3} (chance {(double)Anomalies / Count:F3}); flagged {Flagged:N0} of {Count:N0}: precision {Precision:F3}, recall {Recall:F3}, F1 {F1:F3}");
}
