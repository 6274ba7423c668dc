using Pretext.Evaluation;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class LabelPropagationTests
{
    public LabelPropagationTests() => set_num_threads(1);

    /// <summary>The dense symmetric affinity W = A + Aᵀ by loops: each row's k most cosine-similar other rows, weight max(0, cos)^γ.</summary>
    private static double[,] SlowAffinity(float[][] x, int k, double gamma)
    {
        int n = x.Length;
        double Cos(float[] a, float[] b)
        {
            double dot = 0, na = 0, nb = 0;
            for (int d = 0; d < a.Length; d++) { dot += a[d] * b[d]; na += a[d] * a[d]; nb += b[d] * b[d]; }
            return dot / Math.Sqrt(na * nb);
        }
        var w = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            var nearest = Enumerable.Range(0, n).Where(j => j != i).OrderByDescending(j => Cos(x[i], x[j])).Take(k);
            foreach (var j in nearest)
            {
                double a = Math.Pow(Math.Max(0, Cos(x[i], x[j])), gamma);
                w[i, j] += a;
                w[j, i] += a;
            }
        }
        return w;
    }

    /// <summary>Zhou et al.'s iteration with the dense matrix: F ← α D^-1/2 W D^-1/2 F + (1 − α) Y, then rows normalised.</summary>
    private static double[,] SlowPropagate(double[,] w, long[] labelled, int[] labels, int classes, double alpha, int iterations)
    {
        int n = w.GetLength(0);
        var deg = new double[n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) deg[i] += w[i, j];
        var y = new double[n, classes];
        var perClass = new int[classes];
        foreach (var l in labels) perClass[l]++;
        for (int t = 0; t < labelled.Length; t++) y[labelled[t], labels[t]] = 1.0 / perClass[labels[t]];
        var f = (double[,])y.Clone();
        for (int it = 0; it < iterations; it++)
        {
            var next = new double[n, classes];
            for (int i = 0; i < n; i++)
            for (int c = 0; c < classes; c++)
            {
                double s = 0;
                for (int j = 0; j < n; j++) s += w[i, j] / Math.Sqrt(deg[i] * deg[j]) * f[j, c];
                next[i, c] = alpha * s + (1 - alpha) * y[i, c];
            }
            f = next;
        }
        for (int i = 0; i < n; i++)
        {
            double total = 0;
            for (int c = 0; c < classes; c++) total += f[i, c];
            for (int c = 0; c < classes; c++) f[i, c] /= total;
        }
        return f;
    }

    private static float[][] RandomPoints(int n, int d, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    [Fact]
    public void Graph_product_matches_the_dense_symmetric_affinity()
    {
        var x = RandomPoints(40, 6, 1);
        using var features = tensor(x.SelectMany(r => r).ToArray(), 40, 6);
        using var graph = AffinityGraph.Build(features, k: 5, gamma: 3, chunk: 7);
        var w = SlowAffinity(x, 5, 3);
        var f = RandomPoints(40, 3, 2);
        using var ft = tensor(f.SelectMany(r => r).ToArray(), 40, 3);
        using var product = graph.Multiply(ft);
        var got = product.data<float>().ToArray();
        for (int i = 0; i < 40; i++)
        for (int c = 0; c < 3; c++)
        {
            double want = 0;
            for (int j = 0; j < 40; j++) want += w[i, j] * f[j][c];
            Assert.Equal(want, got[i * 3 + c], 1e-4);
        }
    }

    [Fact]
    public void Propagation_matches_the_slow_dense_iteration()
    {
        var x = RandomPoints(30, 4, 3);
        using var features = tensor(x.SelectMany(r => r).ToArray(), 30, 4);
        using var graph = AffinityGraph.Build(features, k: 4, gamma: 2);
        long[] labelled = [0, 5, 9, 17, 22];
        int[] labels = [0, 1, 2, 1, 0];
        var options = new PropagationOptions { Neighbours = 4, Gamma = 2, Alpha = 0.9, Iterations = 25 };
        using var scores = LabelPropagation.Propagate(graph, labelled, labels, 3, options);
        var want = SlowPropagate(SlowAffinity(x, 4, 2), labelled, labels, 3, 0.9, 25);
        var got = scores.data<float>().ToArray();
        for (int i = 0; i < 30; i++)
        for (int c = 0; c < 3; c++)
            Assert.Equal(want[i, c], got[i * 3 + c], 1e-4);
    }

    [Fact]
    public void One_label_per_cluster_reaches_the_whole_cluster()
    {
        // Two tight clusters around orthogonal directions, one labelled point each.
        var rng = new Random(5);
        var rows = new List<float[]>();
        var truth = new List<int>();
        for (int i = 0; i < 60; i++)
        {
            int c = i % 2;
            rows.Add([(float)(c == 0 ? 1 : 0.05 * rng.NextDouble()), (float)(c == 1 ? 1 : 0.05 * rng.NextDouble()), (float)(0.05 * rng.NextDouble())]);
            truth.Add(c);
        }
        using var features = tensor(rows.SelectMany(r => r).ToArray(), 60, 3);
        using var graph = AffinityGraph.Build(features, k: 5, gamma: 3);
        long[] labelled = [0, 1];
        int[] labels = [0, 1];
        using var scores = LabelPropagation.Propagate(graph, labelled, labels, 2, new PropagationOptions());
        var (pseudo, confidence) = LabelPropagation.PseudoLabels(scores, labelled, labels);
        Assert.Equal(truth, pseudo);
        Assert.Equal(1f, confidence[0]);
        Assert.All(confidence, c => Assert.InRange(c, 0f, 1f));
    }

    [Fact]
    public void Bad_input_is_refused_with_the_reason()
    {
        using var features = rand(10, 3);
        Assert.Throws<ArgumentException>(() => AffinityGraph.Build(rand(1, 3), 5, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => AffinityGraph.Build(features, 0, 3));
        using var graph = AffinityGraph.Build(features, 3, 3);
        Assert.Throws<ArgumentException>(() => LabelPropagation.Propagate(graph, [], [], 2, new PropagationOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => LabelPropagation.Propagate(graph, [10], [0], 2, new PropagationOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => LabelPropagation.Propagate(graph, [1], [2], 2, new PropagationOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => LabelPropagation.Propagate(graph, [1], [0], 2, new PropagationOptions { Alpha = 1 }));
    }
}
