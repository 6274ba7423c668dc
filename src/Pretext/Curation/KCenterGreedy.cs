using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Curation;

/// <summary>One pick of <see cref="KCenterGreedy.Select"/>.</summary>
/// <param name="Index">Sample index.</param>
/// <param name="Rank">1 for the first pick, 2 for the next, ...</param>
/// <param name="Distance">Its distance to the nearest earlier pick when it was chosen (NaN for the seeded first pick):
/// the radius the selection covered the data with until then, which shrinks pick by pick.</param>
public sealed record Pick(long Index, int Rank, double Distance);

/// <summary>
/// Greedy k-center selection (Gonzalez 1985; the core-set active-learning baseline of Sener and Savarese
/// 2018, algorithm 1): start from one seeded random sample, then repeatedly take the sample farthest from
/// everything taken so far. The picks cover the embedding space evenly, far-off clusters and rare samples
/// first, so labelling them first gives a small labelled set that spans the data. The result is within a
/// factor 2 of the optimal covering radius. Distances are Euclidean between L2-normalised embeddings.
/// </summary>
public static class KCenterGreedy
{
    /// <summary>Picks <paramref name="k"/> samples of <paramref name="embeddings"/> (N, D); O(N k D) time, O(N) memory beyond the input.</summary>
    /// <exception cref="ArgumentException">Not (N, D), or k outside 1..N.</exception>
    public static IReadOnlyList<Pick> Select(Tensor embeddings, int k, int seed)
    {
        long n = EmbeddingMatrix.Rows(embeddings);
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"Select between 1 and {n} samples.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(embeddings.detach().to(ScalarType.Float32), dim: 1);
        long first = new Random(seed).NextInt64(n);
        var picks = new List<Pick> { new(first, 1, double.NaN) };
        var nearest = Distances(z, first);
        nearest[first].fill_(-1); // taken: never the farthest again
        for (int r = 2; r <= k; r++)
        {
            using var step = NewDisposeScope();
            var (best, bestIdx) = nearest.max(0);
            long next = bestIdx.item<long>();
            picks.Add(new Pick(next, r, best.item<float>()));
            nearest.copy_(minimum(nearest, Distances(z, next)));
            nearest[next].fill_(-1);
        }
        return picks;
    }

    /// <summary>(N) distances from sample <paramref name="i"/> to every sample of unit rows <paramref name="z"/>.</summary>
    private static Tensor Distances(Tensor z, long i) =>
        z.matmul(z[i]).mul_(-2).add_(2).clamp_min_(0).sqrt_();
}
