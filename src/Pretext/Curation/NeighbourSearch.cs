using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Curation;

/// <summary>What one pass of <see cref="NeighbourSearch.Run"/> finds.</summary>
/// <param name="Pairs">Pairs (i, j), i &lt; j, whose cosine similarity exceeds the threshold, with that similarity.</param>
/// <param name="MeanNeighbourDistance">Per sample, the mean distance to its k nearest other samples (NaN when k is 0).</param>
public sealed record NeighbourResult(IReadOnlyList<(long I, long J, double Similarity)> Pairs, double[] MeanNeighbourDistance);

/// <summary>
/// Exact all-pairs search over L2-normalised embeddings, one block of rows at a time, so memory stays at
/// (block, N) however large N is. Distances are Euclidean between unit vectors, sqrt(2 - 2 cos), which
/// orders neighbours exactly as cosine similarity does.
/// </summary>
public static class NeighbourSearch
{
    /// <summary>Rows per block: a 1024 x 60,000 fp32 similarity block is 245 MB.</summary>
    public const int DefaultBlockSize = 1024;

    /// <summary>
    /// One blockwise pass over <paramref name="embeddings"/> (N, D): the pairs above <paramref name="threshold"/>
    /// cosine similarity, and each sample's mean distance to its <paramref name="k"/> nearest other samples.
    /// </summary>
    /// <exception cref="ArgumentException">Not (N, D), threshold outside (-1, 1], k negative or not below N, block size below 1.</exception>
    public static NeighbourResult Run(Tensor embeddings, double threshold, int k, int blockSize = DefaultBlockSize)
    {
        long n = EmbeddingMatrix.Rows(embeddings);
        if (!(threshold > -1 && threshold <= 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "A cosine-similarity threshold lies in (-1, 1].");
        if (k < 0 || k >= n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in 0..{n - 1} for {n} samples.");
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "Block size must be at least 1.");

        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        var z = nn.functional.normalize(embeddings.detach().to(ScalarType.Float32), dim: 1);
        var pairs = new List<(long, long, double)>();
        var meanDist = new double[n];
        for (long start = 0; start < n; start += blockSize)
        {
            using var scope = NewDisposeScope();
            long b = Math.Min(blockSize, n - start);
            var sim = z.narrow(0, start, b).matmul(z.t());
            // A sample is not its own neighbour or duplicate.
            sim.narrow(1, start, b).diagonal().fill_(-2);

            // Pairs above the threshold; each pair once, from its smaller index.
            var above = sim.gt(threshold);
            var hits = above.nonzero();
            if (hits.shape[0] > 0)
            {
                var rows = hits.select(1, 0).data<long>().ToArray();
                var cols = hits.select(1, 1).data<long>().ToArray();
                // masked_select and nonzero both walk the block in row-major order, so values line up with hits.
                var values = sim.masked_select(above).to(ScalarType.Float64).data<double>().ToArray();
                for (int h = 0; h < rows.Length; h++)
                {
                    long i = start + rows[h], j = cols[h];
                    if (i < j) pairs.Add((i, j, values[h]));
                }
            }

            if (k > 0)
            {
                var (top, _) = sim.topk(k, dim: 1);
                var dist = top.mul(-2).add_(2).clamp_min_(0).sqrt_().mean([1L]).to(ScalarType.Float64).data<double>().ToArray();
                Array.Copy(dist, 0, meanDist, start, b);
            }
            else Array.Fill(meanDist, double.NaN, (int)start, (int)b);
        }
        return new NeighbourResult(pairs, meanDist);
    }
}

/// <summary>Disjoint sets over 0..N-1 with path halving and union by size.</summary>
public sealed class UnionFind
{
    private readonly long[] parent;
    private readonly long[] size;

    public UnionFind(long n)
    {
        parent = new long[n];
        size = new long[n];
        for (long i = 0; i < n; i++) { parent[i] = i; size[i] = 1; }
    }

    public long Find(long x)
    {
        while (parent[x] != x)
        {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }

    /// <summary>Joins the sets of a and b; returns false when they were already one.</summary>
    public bool Union(long a, long b)
    {
        long ra = Find(a), rb = Find(b);
        if (ra == rb) return false;
        if (size[ra] < size[rb]) (ra, rb) = (rb, ra);
        parent[rb] = ra;
        size[ra] += size[rb];
        return true;
    }

    /// <summary>Sets with at least <paramref name="minSize"/> members, each sorted by index, largest set first (ties: smallest first member).</summary>
    public List<long[]> Groups(int minSize = 2)
    {
        var byRoot = new Dictionary<long, List<long>>();
        for (long i = 0; i < parent.Length; i++)
        {
            long r = Find(i);
            if (!byRoot.TryGetValue(r, out var list)) byRoot[r] = list = [];
            list.Add(i);
        }
        return byRoot.Values.Where(g => g.Count >= minSize).Select(g => g.ToArray())
            .OrderByDescending(g => g.Length).ThenBy(g => g[0]).ToList();
    }
}
