using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Options of <see cref="KMeans"/>; defaults follow scikit-learn's KMeans.</summary>
public sealed record KMeansOptions
{
    /// <summary>Independent k-means++ starts; the one with the lowest inertia is kept (scikit-learn's classic n_init = 10).</summary>
    public int Restarts { get; init; } = 10;
    /// <summary>Lloyd iterations per start at most (scikit-learn: 300).</summary>
    public int MaxIterations { get; init; } = 300;
    /// <summary>Stop when the summed squared centroid shift is at most this times the mean per-feature variance (scikit-learn: 1e-4).</summary>
    public double Tolerance { get; init; } = 1e-4;
    /// <summary>Seed of the initialisations; start r draws from a generator derived from (Seed, r).</summary>
    public int Seed { get; init; } = 0;
}

/// <summary>A k-means solution: assignment per sample, centroids (k, D) fp64, inertia (sum of squared distances to the assigned centroid).</summary>
public sealed class KMeansResult(int[] assignments, Tensor centroids, double inertia, int iterations, int restart) : IDisposable
{
    public int[] Assignments { get; } = assignments;
    public Tensor Centroids { get; } = centroids;
    public double Inertia { get; } = inertia;
    /// <summary>Lloyd iterations the kept start took.</summary>
    public int Iterations { get; } = iterations;
    /// <summary>Which start (0-based) was kept.</summary>
    public int Restart { get; } = restart;
    public void Dispose() => Centroids.Dispose();
}

/// <summary>
/// k-means clustering: k-means++ seeding (Arthur and Vassilvitskii 2007: the first centroid uniformly,
/// each next one with probability proportional to the squared distance to the nearest chosen one), then
/// Lloyd iterations, several seeded starts, the lowest inertia kept. Computes in fp64 so results do not
/// depend on summation order at the precision that matters.
/// </summary>
public static class KMeans
{
    /// <summary>Clusters the rows of <paramref name="x"/> (N, D) into <paramref name="k"/> groups.</summary>
    /// <param name="restartDone">Called after each start with the number of starts done.</param>
    /// <exception cref="ArgumentException">x is not 2-D, k is not in [1, N], or an option is out of range.</exception>
    public static KMeansResult Fit(Tensor x, int k, KMeansOptions? options = null, Action<int>? restartDone = null)
    {
        options ??= new KMeansOptions();
        if (x.dim() != 2) throw new ArgumentException($"k-means takes a (N, D) matrix; got shape [{string.Join(",", x.shape)}].");
        if (k < 1 || k > x.shape[0]) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {x.shape[0]}] (the number of samples).");
        if (options.Restarts < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Restarts, "k-means needs at least one start (Restarts >= 1).");
        if (options.MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxIterations, "MaxIterations must be >= 1.");
        if (!(options.Tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(options), options.Tolerance, "Tolerance must be >= 0.");
        using var x64 = x.to(ScalarType.Float64).contiguous();
        KMeansResult? best = null;
        for (int r = 0; r < options.Restarts; r++)
        {
            using var g = new Generator((ulong)Trainer.DeriveSeed(options.Seed, RandomStreams.KMeansRestarts, r));
            using var init = PlusPlusInit(x64, k, g);
            var result = Lloyd(x64, init, options.MaxIterations, options.Tolerance, r);
            if (best is null || result.Inertia < best.Inertia) { best?.Dispose(); best = result; }
            else result.Dispose();
            restartDone?.Invoke(r + 1);
        }
        return best!;
    }

    /// <summary>k-means++ seeding: (k, D) fp64 initial centroids drawn from the rows of <paramref name="x"/>.</summary>
    public static Tensor PlusPlusInit(Tensor x, int k, Generator generator)
    {
        using var scope = NewDisposeScope();
        var data = x.to(ScalarType.Float64);
        long n = data.shape[0];
        var centroids = empty(k, data.shape[1], ScalarType.Float64);
        long first = randint(n, [1], generator: generator).item<long>();
        centroids[0].copy_(data[first]);
        var nearest = data.sub(data[first]).pow(2).sum(1);
        for (int j = 1; j < k; j++)
        {
            // One scope per pick: each pick makes an (N, D) temporary, and k of them must not pile up (k = 1000 on 60k rows is 120 GB).
            using var pick = NewDisposeScope();
            // All points coincide with chosen centroids (fewer distinct points than k): any point will do.
            long next = nearest.sum().item<double>() > 0
                ? nearest.multinomial(1, generator: generator).item<long>()
                : randint(n, [1], generator: generator).item<long>();
            centroids[j].copy_(data[next]);
            nearest.copy_(nearest.minimum(data.sub(data[next]).pow(2).sum(1)));
        }
        return centroids.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Lloyd's algorithm from <paramref name="initialCentroids"/> (k, D): assign each row to its nearest
    /// centroid, move each centroid to the mean of its rows, until the assignment no longer changes, the
    /// summed squared shift is at most <paramref name="tolerance"/> times the mean per-feature variance,
    /// or <paramref name="maxIterations"/>. A centroid left without rows moves to the row farthest from
    /// its own centroid (each empty centroid to a different row), as scikit-learn does. The returned
    /// assignment and inertia are those of the final centroids.
    /// </summary>
    public static KMeansResult Lloyd(Tensor x, Tensor initialCentroids, int maxIterations, double tolerance, int restart = 0)
    {
        using var scope = NewDisposeScope();
        var data = x.to(ScalarType.Float64);
        int k = (int)initialCentroids.shape[0];
        var centroids = initialCentroids.to(ScalarType.Float64).clone();
        var squaredNorms = data.pow(2).sum(1, keepdim: true);
        double threshold = tolerance * data.var(0, unbiased: false).mean().item<double>();
        long[]? previous = null;
        int iteration = 0;
        while (iteration < maxIterations)
        {
            iteration++;
            using var step = NewDisposeScope();
            var (distance, assignment) = Nearest(data, squaredNorms, centroids);
            var labels = assignment.data<long>().ToArray();
            var sums = zeros(k, data.shape[1], ScalarType.Float64).index_add_(0, assignment, data, 1.0);
            var counts = assignment.bincount(null, k).to(ScalarType.Float64);
            var updated = sums.div(counts.clamp_min(1).unsqueeze(1));
            var countArray = counts.data<double>().ToArray();
            if (countArray.Any(c => c == 0))
            {
                var farthest = distance.argsort(descending: true).data<long>().ToArray();
                int next = 0;
                for (int j = 0; j < k; j++)
                    if (countArray[j] == 0) updated[j].copy_(data[farthest[next++]]);
            }
            double shift = updated.sub(centroids).pow(2).sum().item<double>();
            centroids.copy_(updated);
            bool unchanged = previous is not null && labels.AsSpan().SequenceEqual(previous);
            previous = labels;
            if (unchanged || shift <= threshold) break;
        }
        var (finalDistance, finalAssignment) = Nearest(data, squaredNorms, centroids);
        double inertia = finalDistance.sum().item<double>();
        var assignments = finalAssignment.data<long>().Select(v => (int)v).ToArray();
        return new KMeansResult(assignments, centroids.MoveToOuterDisposeScope(), inertia, iteration, restart);
    }

    /// <summary>The nearest of <paramref name="centroids"/> (k, D) for each row of <paramref name="x"/> (N, D), and its Euclidean distance (records a fit never saw).</summary>
    /// <exception cref="ArgumentException">The widths differ.</exception>
    public static (int[] Assignments, double[] Distances) Assign(Tensor x, Tensor centroids)
    {
        if (x.dim() != 2 || centroids.dim() != 2 || x.shape[1] != centroids.shape[1])
            throw new ArgumentException($"Rows [{string.Join(",", x.shape)}] and centroids [{string.Join(",", centroids.shape)}] must be (N, D) and (k, D).");
        using var scope = NewDisposeScope();
        var data = x.to(ScalarType.Float64);
        var c = centroids.to(ScalarType.Float64);
        var (distance, index) = Nearest(data, data.pow(2).sum(1, keepdim: true), c);
        return ([.. index.data<long>().Select(v => (int)v)], [.. distance.sqrt().data<double>()]);
    }

    /// <summary>Squared distance (N) to, and index (N) of, each row's nearest centroid; ties go to the lower index.</summary>
    private static (Tensor Distance, Tensor Index) Nearest(Tensor data, Tensor squaredNorms, Tensor centroids)
    {
        var d2 = squaredNorms.sub(data.matmul(centroids.t()).mul(2)).add(centroids.pow(2).sum(1).unsqueeze(0)).clamp_min(0);
        var (distance, index) = d2.min(1);
        return (distance, index);
    }
}
