using Pretext.Compute;
using Pretext.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Options of the one-class anomaly-detection evaluation.</summary>
public sealed record AnomalyOptions
{
    /// <summary>Neighbours whose distances are averaged (DN2, Bergman, Cohen and Hoshen 2020, uses k = 2).</summary>
    public int K { get; init; } = 2;
    /// <summary>Seed of the reconstruction scorer's masks (methods that implement <see cref="IReconstructionScorer"/>).</summary>
    public int Seed { get; init; } = 0;
}

/// <summary>AUROC and AUPRC (average precision) of one anomaly score, anomalies as positives.</summary>
public sealed record AnomalyScore(double Auroc, double Auprc);

/// <summary>
/// Nearest-neighbour anomaly scoring (DN2, Bergman, Cohen and Hoshen 2020): a sample is as anomalous
/// as its mean distance to the k nearest samples of the normal training set, in a space where every
/// vector is first scaled to unit L2 norm (so embeddings and raw pixels are treated alike and distance
/// reflects direction, which is what contrastive training shapes).
/// </summary>
public static class KnnAnomalyScorer
{
    /// <summary>Scores (M) of the rows of <paramref name="queries"/> (M, D) against <paramref name="normal"/> (N, D); higher = more anomalous.</summary>
    /// <exception cref="ArgumentException">Widths differ, or k is not in [1, N].</exception>
    public static double[] Score(Tensor normal, Tensor queries, int k, int chunk = 1024) => Score(normal, queries, k, null, null, chunk);

    /// <summary>
    /// As <see cref="Score(Tensor, Tensor, int, int)"/>, but a query never counts a normal sample whose span overlaps its own
    /// (<paramref name="normalSpans"/>, <paramref name="querySpans"/>): a window of a series is not its own neighbour, nor is a window
    /// sharing readings with it, so windows of the reference itself can be scored too. Should fewer than k samples remain, the missing
    /// neighbours count at the largest distance between unit vectors, 2.
    /// </summary>
    /// <exception cref="ArgumentException">Widths differ, k is not in [1, N], or the spans do not match the rows.</exception>
    public static double[] Score(Tensor normal, Tensor queries, int k, WindowSpans? normalSpans, WindowSpans? querySpans, int chunk = 1024) =>
        Score(normal, queries, k, normalSpans, querySpans, KnnDistance.UnitLength, chunk);

    /// <summary>
    /// As <see cref="Score(Tensor, Tensor, int, WindowSpans?, WindowSpans?, int)"/> with a choice of <paramref name="distance"/>. Under
    /// <see cref="KnnDistance.Euclidean"/> a query with fewer than k normal samples that do not overlap it is refused.
    /// </summary>
    /// <exception cref="ArgumentException">As above; or, Euclidean, a query with fewer than k samples left.</exception>
    public static double[] Score(Tensor normal, Tensor queries, int k, WindowSpans? normalSpans, WindowSpans? querySpans, KnnDistance distance, int chunk = 1024)
    {
        if (normal.dim() != 2 || queries.dim() != 2 || normal.shape[1] != queries.shape[1])
            throw new ArgumentException($"Normal samples [{string.Join(",", normal.shape)}] and queries [{string.Join(",", queries.shape)}] must be (N, D) and (M, D) with the same D.");
        if (k < 1 || k > normal.shape[0]) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {normal.shape[0]}] (the number of normal samples).");
        if ((normalSpans is null) != (querySpans is null)) throw new ArgumentException("Give spans for both the normal samples and the queries, or for neither.");
        if (normalSpans is not null && (normalSpans.Count != normal.shape[0] || querySpans!.Count != queries.shape[0]))
            throw new ArgumentException($"{normalSpans.Count} spans for {normal.shape[0]} normal samples and {querySpans!.Count} for {queries.shape[0]} queries.");
        normalSpans?.Validate();
        querySpans?.Validate();
        using var outer = NewDisposeScope();
        bool unit = distance == KnnDistance.UnitLength;
        var bank = unit ? nn.functional.normalize(normal.to(ScalarType.Float32), dim: 1) : normal.to(ScalarType.Float32);
        var bankSquares = unit ? null : bank.square().sum(1).unsqueeze(0);
        Tensor? bankEntity = null, bankStart = null, bankEnd = null;
        if (normalSpans is not null)
        {
            bankEntity = tensor(normalSpans.Entity).unsqueeze(0);
            bankStart = tensor(normalSpans.Start).unsqueeze(0);
            bankEnd = tensor(normalSpans.End).unsqueeze(0);
        }
        var scores = new double[queries.shape[0]];
        for (long start = 0; start < queries.shape[0]; start += chunk)
        {
            long n = Math.Min(chunk, queries.shape[0] - start);
            using var scope = NewDisposeScope();
            var q = queries.narrow(0, start, n).to(ScalarType.Float32);
            if (unit) q = nn.functional.normalize(q, dim: 1);
            // Unit vectors: |q - b|^2 = 2 - 2 q.b, so the k nearest are the k most similar; otherwise rank by -|q - b|^2.
            var similarity = unit ? q.matmul(bank.t()) : q.matmul(bank.t()).mul_(2).sub_(bankSquares!).sub_(q.square().sum(1, keepdim: true));
            if (querySpans is not null)
            {
                var range = new Range((int)start, (int)(start + n));
                var entity = tensor(querySpans.Entity[range]).unsqueeze(1);
                var from = tensor(querySpans.Start[range]).unsqueeze(1);
                var to = tensor(querySpans.End[range]).unsqueeze(1);
                var overlap = entity.eq(bankEntity!).logical_and_(from.le(bankEnd!)).logical_and_(bankStart!.le(to));
                if (!unit && overlap.logical_not().sum(1).min().item<long>() < k)
                    throw new ArgumentException($"A query has fewer than k = {k} normal samples that do not overlap it; lower k or give a longer reference.");
                similarity = similarity.masked_fill(overlap, unit ? -2f : float.NegativeInfinity);
            }
            var (topSim, _) = similarity.topk(k, dim: 1);
            var distances = unit ? topSim.clamp_min(-1).neg_().add_(1).mul_(2) : topSim.neg();
            var mean = distances.clamp_min_(0).sqrt_().mean([1L]).to(ScalarType.Float64);
            mean.data<double>().CopyTo(scores.AsSpan((int)start, (int)n));
        }
        return scores;
    }
}

/// <summary>How <see cref="KnnAnomalyScorer"/> measures distance.</summary>
public enum KnnDistance
{
    /// <summary>Between vectors scaled to unit length (direction only; DN2's choice for embeddings).</summary>
    UnitLength,
    /// <summary>Plain Euclidean distance (magnitude counts: a window far from the channel means is far from normal ones).</summary>
    Euclidean,
}

/// <summary>
/// Where windows of series lie in time: per window its entity (any integer id) and the time stamps of its first and last
/// reading. Two windows overlap when they share an entity and their spans intersect.
/// </summary>
public sealed record WindowSpans(long[] Entity, double[] Start, double[] End)
{
    public int Count => Entity.Length;

    /// <exception cref="ArgumentException">The arrays differ in length.</exception>
    public void Validate()
    {
        if (Start.Length != Entity.Length || End.Length != Entity.Length)
            throw new ArgumentException($"Window spans need one entity, start and end per window; got {Entity.Length}, {Start.Length} and {End.Length}.");
    }
}

/// <summary>The one-class protocol: one class is normal, every other class is anomalous.</summary>
public static class OneClass
{
    /// <summary>AUROC and AUPRC of <paramref name="scores"/> over the test set, anomalies (label != <paramref name="normalClass"/>) as positives.</summary>
    public static AnomalyScore Evaluate(IReadOnlyList<double> scores, int[] testLabels, int normalClass)
    {
        var anomalous = testLabels.Select(l => l != normalClass).ToArray();
        return new AnomalyScore(RankingMetrics.Auroc(scores, anomalous), RankingMetrics.AveragePrecision(scores, anomalous));
    }

    /// <summary>Row indices (sorted) of <paramref name="labels"/> equal to <paramref name="normalClass"/>.</summary>
    public static long[] IndicesOf(int[] labels, int normalClass) =>
        Enumerable.Range(0, labels.Length).Where(i => labels[i] == normalClass).Select(i => (long)i).ToArray();

    /// <summary>
    /// Reconstruction errors (N) of every sample of <paramref name="data"/>, preprocessed by
    /// <paramref name="preprocess"/>, in batches; batch b uses seed (seed, <paramref name="firstBatch"/> + b), so results are reproducible,
    /// and a long sequence scored a slice at a time (slices of whole batches, <paramref name="firstBatch"/> counting the batches before)
    /// gets the errors it would get scored at once.
    /// </summary>
    public static double[] ReconstructionScores(IReconstructionScorer scorer, nn.Module module, Data.IDataset data, Augmentations.Normalize? preprocess,
        int seed, int batchSize = 256, Action<long>? progress = null, long firstBatch = 0)
    {
        using var mode = ModeScope.Eval(module);
        using var noGrad = no_grad();
        var scores = new double[data.Count];
        for (long start = 0, b = 0; start < data.Count; start += batchSize, b++)
        {
            long n = Math.Min(batchSize, data.Count - start);
            using var scope = NewDisposeScope();
            var x = Features.Batch(data, start, n, preprocess);
            var e = scorer.ReconstructionError(x, Training.Trainer.DeriveSeed(seed, Training.RandomStreams.ReconstructionScoring, firstBatch + b)).to(ScalarType.Float64).flatten();
            if (e.shape[0] != n) throw new InvalidOperationException($"{scorer.GetType().Name}.ReconstructionError returned {e.shape[0]} errors for a batch of {n}.");
            e.data<double>().CopyTo(scores.AsSpan((int)start, (int)n));
            progress?.Invoke(start + n);
        }
        return scores;
    }
}
