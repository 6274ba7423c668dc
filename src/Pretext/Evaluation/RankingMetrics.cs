namespace Pretext.Evaluation;

/// <summary>
/// Threshold-free metrics of a score that should rank positives (anomalies) above negatives. Higher
/// score means "more likely positive". Ties are handled exactly: a tied (positive, negative) pair counts
/// one half for AUROC, and tied scores form a single threshold for average precision.
/// </summary>
public static class RankingMetrics
{
    /// <summary>
    /// Area under the ROC curve: the probability that a random positive scores above a random negative,
    /// ties counting one half (the Mann-Whitney U statistic over n_pos * n_neg, from average ranks).
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a score is not finite, or a class is missing.</exception>
    public static double Auroc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var (nPos, nNeg) = Check(scores, positive);
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double rankSumPos = 0;
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            double averageRank = (start + end) / 2.0 + 1;   // 1-based ranks start+1 .. end+1
            for (int i = start; i <= end; i++) if (positive[order[i]]) rankSumPos += averageRank;
            start = end + 1;
        }
        double u = rankSumPos - nPos * (nPos + 1.0) / 2;
        return u / ((double)nPos * nNeg);
    }

    /// <summary>
    /// Area under the precision-recall curve as average precision: sum over thresholds t (distinct scores,
    /// descending) of (R(t) - R(previous t)) * P(t), without interpolation (scikit-learn's definition).
    /// Chance level is the positive rate.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a score is not finite, or a class is missing.</exception>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var (nPos, _) = Check(scores, positive);
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        long tp = 0, fp = 0;
        double ap = 0, previousRecall = 0;
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            for (int i = start; i <= end; i++) { if (positive[order[i]]) tp++; else fp++; }
            double recall = (double)tp / nPos;
            ap += (recall - previousRecall) * tp / (tp + fp);
            previousRecall = recall;
            start = end + 1;
        }
        return ap;
    }

    private static (long Pos, long Neg) Check(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores but {positive.Count} labels.");
        long nPos = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            if (!double.IsFinite(scores[i])) throw new ArgumentException($"Score {i} is {scores[i]}; ranking metrics need finite scores.");
            if (positive[i]) nPos++;
        }
        long nNeg = scores.Count - nPos;
        if (nPos == 0 || nNeg == 0)
            throw new ArgumentException($"Ranking metrics need both positives and negatives (got {nPos} positives and {nNeg} negatives).");
        return (nPos, nNeg);
    }
}
