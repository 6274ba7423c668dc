using Pretext.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class EmbeddingMapsTests
{
    public EmbeddingMapsTests() => set_num_threads(1);

    /// <summary>Well separated Gaussian blobs: k centres far apart in d dimensions, unit noise.</summary>
    internal static (double[,] X, int[] Y) Blobs(int n, int k, int d, double spread, int seed)
    {
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => spread * (rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var x = new double[n, d];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % k;
            for (int j = 0; j < d; j++)
                x[i, j] = centres[y[i]][j] + Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        }
        return (x, y);
    }

    private static Tensor ToTensor(double[,] m) =>
        tensor(m.Cast<double>().ToArray(), [m.GetLength(0), m.GetLength(1)], ScalarType.Float64);

    /// <summary>Top eigenpairs of the covariance matrix by power iteration with deflation, in plain double loops.</summary>
    private static (double[][] Vectors, double[] Values, double Trace) PcaReference(double[,] x, int k)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x[i, j] / n;
        var c = new double[d, d];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++) c[a, b] += (x[i, a] - mean[a]) * (x[i, b] - mean[b]);
        double trace = Enumerable.Range(0, d).Sum(a => c[a, a]);
        var vectors = new double[k][];
        var values = new double[k];
        for (int comp = 0; comp < k; comp++)
        {
            var v = Enumerable.Range(0, d).Select(j => 1.0 + j * 0.01).ToArray();
            double lambda = 0;
            for (int it = 0; it < 5000; it++)
            {
                var w = new double[d];
                for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) w[a] += c[a, b] * v[b];
                double norm = Math.Sqrt(w.Sum(t => t * t));
                lambda = norm;
                v = w.Select(t => t / norm).ToArray();
            }
            // Same sign convention as the implementation: largest-magnitude loading positive.
            int arg = Enumerable.Range(0, d).MaxBy(j => Math.Abs(v[j]));
            if (v[arg] < 0) v = v.Select(t => -t).ToArray();
            vectors[comp] = v;
            values[comp] = lambda;
            for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) c[a, b] -= lambda * v[a] * v[b];
        }
        return (vectors, values, trace);
    }

    /// <summary>Share of each point's k nearest neighbours in the 2-D map that carry its label.</summary>
    internal static double KnnPurity(double[] xs, double[] ys, int[] labels, int k)
    {
        int n = xs.Length, same = 0;
        for (int i = 0; i < n; i++)
        {
            var nearest = Enumerable.Range(0, n).Where(j => j != i)
                .OrderBy(j => (xs[i] - xs[j]) * (xs[i] - xs[j]) + (ys[i] - ys[j]) * (ys[i] - ys[j])).Take(k);
            same += nearest.Count(j => labels[j] == labels[i]);
        }
        return (double)same / (n * k);
    }

    [Fact]
    public void PcaMatchesPowerIterationOnTheCovariance()
    {
        var (x, _) = Blobs(60, 3, 6, 4, seed: 1);
        var (vectors, values, trace) = PcaReference(x, 2);
        using var t = ToTensor(x);
        using var pca = EmbeddingMaps.Pca(t, 2);
        var comps = pca.Components.data<double>().ToArray();
        var scores = pca.Scores.data<double>().ToArray();
        for (int k = 0; k < 2; k++)
        {
            for (int j = 0; j < 6; j++) Assert.Equal(vectors[k][j], comps[k * 6 + j], 8);
            Assert.Equal(values[k] / trace, pca.ExplainedVarianceRatio[k], 10);
        }
        // Scores are the centred data projected on the components.
        var mean = Enumerable.Range(0, 6).Select(j => Enumerable.Range(0, 60).Average(i => x[i, j])).ToArray();
        for (int i = 0; i < 60; i++)
            for (int k = 0; k < 2; k++)
                Assert.Equal(Enumerable.Range(0, 6).Sum(j => (x[i, j] - mean[j]) * vectors[k][j]), scores[i * 2 + k], 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingMaps.Pca(t, 7));
        Assert.Throws<ArgumentException>(() => EmbeddingMaps.Pca(t.narrow(0, 0, 1)));
    }

    [Fact]
    public void AffinitiesHitThePerplexityInEveryRow()
    {
        var (x, _) = Blobs(50, 2, 4, 3, seed: 2);
        using var t = ToTensor(x);
        var sq = t.pow(2).sum(1, keepdim: true);
        using var d = sq.add(sq.t()).sub(t.matmul(t.t()).mul(2)).clamp_min(0);
        using var p = EmbeddingMaps.ConditionalAffinities(d, perplexity: 10);
        var rows = p.data<double>().ToArray();
        for (int i = 0; i < 50; i++)
        {
            double sum = 0, h = 0;
            for (int j = 0; j < 50; j++)
            {
                double v = rows[i * 50 + j];
                sum += v;
                if (v > 0) h -= v * Math.Log(v);
            }
            Assert.Equal(0, rows[i * 50 + i]);
            Assert.Equal(1, sum, 9);
            Assert.Equal(10, Math.Exp(h), 3);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingMaps.ConditionalAffinities(d, perplexity: 50));
    }

    [Fact]
    public void TsneKeepsSeparatedClustersSeparatedAndIsSeeded()
    {
        var (x, y) = Blobs(200, 5, 20, 6, seed: 3);
        using var t = ToTensor(x);
        var options = new TsneOptions { Iterations = 500, Perplexity = 20 };
        var map = EmbeddingMaps.TsneMap(t, y, ["a", "b", "c", "d", "e"], options);
        Assert.True(KnnPurity(map.X, map.Y, y, 10) > 0.97, $"kNN purity {KnnPurity(map.X, map.Y, y, 10)}");
        Assert.Contains("KL divergence", map.Note);
        // Deterministic from the PCA start; a random start follows its seed.
        var again = EmbeddingMaps.TsneMap(t, y, [], options);
        Assert.Equal(map.X, again.X);
        var r1 = EmbeddingMaps.Tsne(t, options with { Init = TsneInit.Random, Seed = 1 });
        var r2 = EmbeddingMaps.Tsne(t, options with { Init = TsneInit.Random, Seed = 1 });
        var r3 = EmbeddingMaps.Tsne(t, options with { Init = TsneInit.Random, Seed = 2 });
        Assert.True(TestData.Same(r1.Map, r2.Map));
        Assert.False(TestData.Same(r1.Map, r3.Map));
        var rx = r3.Map.select(1, 0).data<double>().ToArray();
        var ry = r3.Map.select(1, 1).contiguous().data<double>().ToArray();
        Assert.True(KnnPurity(rx, ry, y, 10) > 0.97);
        Assert.Throws<ArgumentException>(() => EmbeddingMaps.Tsne(t.narrow(0, 0, 3)));
    }

    [Fact]
    public void PcaMapSeparatesBlobsAlongItsAxes()
    {
        var (x, y) = Blobs(150, 3, 10, 8, seed: 4);
        using var t = ToTensor(x);
        var map = EmbeddingMaps.PcaMap(t, y, []);
        Assert.Equal(150, map.X.Length);
        Assert.True(KnnPurity(map.X, map.Y, y, 5) > 0.95);
        Assert.StartsWith("PCA: the two axes explain", map.Note);
    }
}
