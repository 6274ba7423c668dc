using Pretext.Data.Series;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>
/// PCA reconstruction error, a no-learning anomaly score: the normal samples' principal subspace is fitted, and a sample scores the
/// mean squared distance to it (what the leading components do not explain). Fitted in double precision.
/// </summary>
public sealed class PcaReconstruction : IDisposable
{
    private readonly Tensor mean;        // (1, D)
    private readonly Tensor components;  // (D, c), orthonormal columns

    private PcaReconstruction(Tensor mean, Tensor components)
    {
        this.mean = mean.DetachFromDisposeScope();
        this.components = components.DetachFromDisposeScope();
    }

    /// <summary>Number of principal components kept.</summary>
    public int Components => (int)components.shape[1];

    /// <summary>
    /// Fits the leading components of <paramref name="normal"/> (N, D) that explain at least <paramref name="varianceKept"/> of its
    /// variance (at least 1, at most D - 1, so something is left to measure).
    /// </summary>
    /// <exception cref="ArgumentException">Not (N, D) with N &gt;= 2 and D &gt;= 2, or a share outside (0, 1).</exception>
    public static PcaReconstruction Fit(Tensor normal, double varianceKept)
    {
        if (normal.dim() != 2 || normal.shape[0] < 2 || normal.shape[1] < 2)
            throw new ArgumentException($"PCA needs (N, D) samples with N and D at least 2, got [{string.Join(",", normal.shape)}].");
        if (!(varianceKept > 0 && varianceKept < 1)) throw new ArgumentOutOfRangeException(nameof(varianceKept), varianceKept, "The share of variance kept lies in (0, 1).");
        using var scope = NewDisposeScope();
        var x = normal.to(ScalarType.Float64);
        var mu = x.mean([0L], keepdim: true);
        var centred = x - mu;
        var covariance = centred.t().matmul(centred).div_(x.shape[0] - 1);
        var (values, vectors) = linalg.eigh(covariance);                 // ascending
        var descending = values.flip(0).clamp_min(0);
        var share = descending.cumsum(0).div(descending.sum().clamp_min(1e-300));
        long keep = Math.Clamp(share.lt(varianceKept).sum().item<long>() + 1, 1, x.shape[1] - 1);
        var top = vectors.flip(1).narrow(1, 0, keep).contiguous();
        return new PcaReconstruction(mu.MoveToOuterDisposeScope(), top.MoveToOuterDisposeScope());
    }

    /// <summary>Mean squared residual of each row of <paramref name="x"/> (M, D) off the fitted subspace; higher is more anomalous.</summary>
    public double[] Score(Tensor x)
    {
        if (x.dim() != 2 || x.shape[1] != mean.shape[1]) throw new ArgumentException($"PCA was fitted on {mean.shape[1]} features; got [{string.Join(",", x.shape)}].");
        using var scope = NewDisposeScope();
        var centred = x.to(ScalarType.Float64) - mean;
        var residual = centred - centred.matmul(components).matmul(components.t());
        return residual.square().mean([1L]).data<double>().ToArray();
    }

    public void Dispose()
    {
        mean.Dispose();
        components.Dispose();
    }
}

/// <summary>
/// Isolation forest (Liu, Ting and Zhou 2008), a no-learning anomaly score: random trees split random features at random values
/// between the node's minimum and maximum; anomalies are isolated in few splits. Score 2^(-E[h(x)] / c(psi)) with psi samples per tree
/// (256) and 100 trees as in the paper (section 4), the depth limit ceil(log2 psi), and c(n) the average path length of an
/// unsuccessful binary-search-tree search. Seeded: the same seed gives the same forest.
/// </summary>
public sealed class IsolationForest
{
    private readonly Tree[] trees;
    private readonly int dims;
    private readonly double normaliser;

    private sealed class Tree(int[] feature, float[] split, int[] left, int[] right, int[] size)
    {
        public double PathLength(ReadOnlySpan<float> x)
        {
            int node = 0, depth = 0;
            while (feature[node] >= 0)
            {
                node = x[feature[node]] < split[node] ? left[node] : right[node];
                depth++;
            }
            return depth + AveragePath(size[node]);
        }
    }

    private IsolationForest(Tree[] trees, int dims, double normaliser)
    {
        this.trees = trees;
        this.dims = dims;
        this.normaliser = normaliser;
    }

    /// <summary>c(n) = 2 H(n - 1) - 2 (n - 1) / n, the average path length of an unsuccessful search in a binary search tree of n keys.</summary>
    public static double AveragePath(int n) => n <= 1 ? 0 : n == 2 ? 1 : 2 * (Math.Log(n - 1) + 0.5772156649) - 2.0 * (n - 1) / n;

    /// <summary>A forest on the rows of <paramref name="rows"/> (N, D) fp32, row-major.</summary>
    /// <exception cref="ArgumentException">No rows, or a tree count or sample size below 1.</exception>
    public static IsolationForest Fit(float[] rows, int count, int dims, int seed, int treeCount = 100, int sampleSize = 256)
    {
        if (count < 1 || dims < 1 || rows.Length != (long)count * dims) throw new ArgumentException($"{rows.Length} values are not {count} rows of {dims}.");
        if (treeCount < 1 || sampleSize < 1) throw new ArgumentOutOfRangeException(nameof(treeCount), "An isolation forest needs at least one tree and one sample per tree.");
        int psi = Math.Min(sampleSize, count);
        int limit = (int)Math.Ceiling(Math.Log2(Math.Max(2, psi)));
        var random = new Random(seed);
        var trees = new Tree[treeCount];
        for (int t = 0; t < treeCount; t++)
        {
            // A sample without replacement (partial Fisher-Yates over the row indices).
            var all = Enumerable.Range(0, count).ToArray();
            for (int i = 0; i < psi; i++) { int j = random.Next(i, count); (all[i], all[j]) = (all[j], all[i]); }
            var feature = new List<int>(); var split = new List<float>(); var left = new List<int>(); var right = new List<int>(); var size = new List<int>();
            Grow(all.AsSpan(0, psi).ToArray(), 0);
            trees[t] = new Tree([.. feature], [.. split], [.. left], [.. right], [.. size]);

            int Grow(int[] members, int depth)
            {
                int node = feature.Count;
                feature.Add(-1); split.Add(0); left.Add(-1); right.Add(-1); size.Add(members.Length);
                if (depth >= limit || members.Length <= 1) return node;
                // A random feature that still varies among the members (a node of identical rows is a leaf).
                var candidates = Enumerable.Range(0, dims).OrderBy(_ => random.Next()).ToArray();
                foreach (int f in candidates)
                {
                    float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
                    foreach (int m in members) { float v = rows[(long)m * dims + f]; lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
                    if (!(hi > lo)) continue;
                    float at = (float)(lo + random.NextDouble() * (hi - lo));
                    if (at <= lo) at = MathF.BitIncrement(lo);
                    var l = members.Where(m => rows[(long)m * dims + f] < at).ToArray();
                    var r = members.Where(m => rows[(long)m * dims + f] >= at).ToArray();
                    feature[node] = f; split[node] = at;
                    left[node] = Grow(l, depth + 1);
                    right[node] = Grow(r, depth + 1);
                    return node;
                }
                return node;
            }
        }
        return new IsolationForest(trees, dims, AveragePath(psi));
    }

    /// <summary>Anomaly score in (0, 1] of each of the <paramref name="count"/> rows of <paramref name="rows"/>; higher is more anomalous.</summary>
    /// <exception cref="ArgumentException">Rows of another width than the forest's.</exception>
    public double[] Score(float[] rows, int count)
    {
        if (rows.Length != (long)count * dims) throw new ArgumentException($"The forest was grown on {dims} features; got {rows.Length} values for {count} rows.");
        var scores = new double[count];
        Parallel.For(0, count, i =>
        {
            var x = rows.AsSpan(i * dims, dims);
            double total = 0;
            foreach (var tree in trees) total += tree.PathLength(x);
            scores[i] = Math.Pow(2, -total / trees.Length / Math.Max(normaliser, 1e-12));
        });
        return scores;
    }
}

/// <summary>
/// The simplest score of a reading: how many standard deviations it lies from its own entity's mean, in the channel where that is
/// largest, with each entity's mean and standard deviation fitted on its reference readings.
/// </summary>
public static class ReadingZScore
{
    /// <summary>
    /// Per segment of <paramref name="scored"/>, per reading: max over channels of |x - mean| / std with the statistics of the same
    /// entity's readings in <paramref name="reference"/> (all reference readings when the entity has none there).
    /// </summary>
    /// <exception cref="ArgumentException">The reference holds no reading.</exception>
    public static double[][] Score(IReadOnlyList<SeriesSegment> reference, IReadOnlyList<SeriesSegment> scored, int channels)
    {
        var all = ChannelStats.Fit(reference, channels);
        var byEntity = reference.GroupBy(s => s.EntityIndex).ToDictionary(g => g.Key, g => ChannelStats.Fit(g, channels));
        return [.. scored.Select(s =>
        {
            var stats = byEntity.GetValueOrDefault(s.EntityIndex, all);
            var z = new double[s.Count];
            for (int t = 0; t < s.Count; t++)
            {
                double worst = 0;
                for (int c = 0; c < channels; c++) worst = Math.Max(worst, Math.Abs(s.Values[t * channels + c] - stats.Mean[c]) / stats.Std[c]);
                z[t] = worst;
            }
            return z;
        })];
    }
}
