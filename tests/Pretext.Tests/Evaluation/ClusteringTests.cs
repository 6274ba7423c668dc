using Pretext.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class ClusteringTests
{
    public ClusteringTests() => set_num_threads(1);

    /// <summary>NMI from the joint and marginal entropies, I = H(Y) + H(C) - H(Y, C), by counting.</summary>
    private static double SlowNmi(int[] a, int[] b)
    {
        double H(IEnumerable<string> keys)
        {
            var counts = keys.GroupBy(k => k).Select(g => (double)g.Count()).ToArray();
            double n = counts.Sum();
            return -counts.Sum(c => c / n * Math.Log(c / n));
        }
        double ha = H(a.Select(v => $"{v}")), hb = H(b.Select(v => $"{v}"));
        double hab = H(a.Zip(b, (u, v) => $"{u},{v}"));
        if (ha == 0 && hb == 0) return 1;
        return (ha + hb - hab) / ((ha + hb) / 2);
    }

    /// <summary>ARI from pair counts over all n(n-1)/2 pairs: 2(ad - bc) / ((a+b)(b+d) + (a+c)(c+d)).</summary>
    private static double SlowAri(int[] x, int[] y)
    {
        double a = 0, b = 0, c = 0, d = 0;
        for (int i = 0; i < x.Length; i++)
            for (int j = i + 1; j < x.Length; j++)
            {
                bool sameX = x[i] == x[j], sameY = y[i] == y[j];
                if (sameX && sameY) a++; else if (sameX) b++; else if (sameY) c++; else d++;
            }
        double den = (a + b) * (b + d) + (a + c) * (c + d);
        return den == 0 ? 1 : 2 * (a * d - b * c) / den;
    }

    [Fact]
    public void ClusterMetricsHandComputedValues()
    {
        int[] truth = [0, 0, 1, 1];
        // H(Y) = ln 2, H(C) = 1.5 ln 2, I = ln 2 (the cluster determines the class): NMI = 1 / 1.25.
        Assert.Equal(0.8, ClusterMetrics.NormalizedMutualInformation(truth, [0, 0, 1, 2]), 12);
        // Pairs: index 1, expected 2 * 1 / 6, max 1.5: ARI = (2/3) / (7/6) = 4/7.
        Assert.Equal(4.0 / 7, ClusterMetrics.AdjustedRandIndex(truth, [0, 0, 1, 2]), 12);
        // Renumbered clusters are the same partition.
        Assert.Equal(1.0, ClusterMetrics.NormalizedMutualInformation(truth, [7, 7, 3, 3]), 12);
        Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex(truth, [7, 7, 3, 3]), 12);
        // Crossed partitions: no information, and fewer agreeing pairs than chance.
        Assert.Equal(0.0, ClusterMetrics.NormalizedMutualInformation(truth, [0, 1, 0, 1]), 12);
        Assert.Equal(-0.5, ClusterMetrics.AdjustedRandIndex(truth, [0, 1, 0, 1]), 12);
        // Degenerate partitions.
        Assert.Equal(0.0, ClusterMetrics.AdjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]), 12);
        Assert.Equal(0.0, ClusterMetrics.NormalizedMutualInformation([0, 0, 0, 0], [0, 1, 2, 3]), 12);
        Assert.Equal(1.0, ClusterMetrics.NormalizedMutualInformation([2, 2, 2], [5, 5, 5]), 12);
        Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex([2, 2, 2], [5, 5, 5]), 12);
        Assert.Throws<ArgumentException>(() => ClusterMetrics.AdjustedRandIndex([0, 1], [0]));
    }

    [Fact]
    public void ClusterMetricsMatchSlowReferences()
    {
        var rng = new Random(4);
        for (int trial = 0; trial < 30; trial++)
        {
            int n = rng.Next(2, 60);
            int ka = rng.Next(1, 5), kb = rng.Next(1, 6);
            var a = Enumerable.Range(0, n).Select(_ => rng.Next(ka)).ToArray();
            // Half the time correlated with a, half independent.
            var b = a.Select(v => trial % 2 == 0 && rng.NextDouble() < 0.7 ? v : rng.Next(kb)).ToArray();
            Assert.Equal(SlowNmi(a, b), ClusterMetrics.NormalizedMutualInformation(a, b), 10);
            Assert.Equal(SlowAri(a, b), ClusterMetrics.AdjustedRandIndex(a, b), 10);
        }
    }

    private static Tensor Rows(params double[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    [Fact]
    public void KMeansHandComputedSolutions()
    {
        using var x = Rows([0], [1], [10], [11]);
        using var r = KMeans.Fit(x, 2, new KMeansOptions { Restarts = 3 });
        Assert.Equal(1.0, r.Inertia, 12);   // four points each 0.5 from the centroid 0.5 or 10.5
        Assert.Equal(r.Assignments[0], r.Assignments[1]);
        Assert.Equal(r.Assignments[2], r.Assignments[3]);
        Assert.NotEqual(r.Assignments[0], r.Assignments[2]);
        var c = r.Centroids.data<double>().Order().ToArray();
        Assert.Equal([0.5, 10.5], c);

        // Two identical starting centroids: the second gets no point, moves to the farthest point (10),
        // then Lloyd settles at {0.5, 10} with inertia 0.5.
        using var y = Rows([0], [1], [10]);
        using var init = Rows([0], [0]);
        using var e = KMeans.Lloyd(y, init, maxIterations: 50, tolerance: 0);
        Assert.Equal([0.5, 10.0], e.Centroids.data<double>().ToArray());
        Assert.Equal([0, 0, 1], e.Assignments);
        Assert.Equal(0.5, e.Inertia, 12);
    }

    /// <summary>Lloyd's algorithm in plain loops: nearest centroid (ties to the lower index), means, empty centroid to the farthest point, stop when nothing changes.</summary>
    private static (int[] Labels, double[][] Centroids, double Inertia) SlowLloyd(double[][] x, double[][] init, int maxIterations)
    {
        int k = init.Length, d = x[0].Length;
        var c = init.Select(r => r.ToArray()).ToArray();
        (int, double) Nearest(double[] p)
        {
            int best = 0; double bestD = double.PositiveInfinity;
            for (int j = 0; j < k; j++)
            {
                double s = 0;
                for (int t = 0; t < d; t++) s += (p[t] - c[j][t]) * (p[t] - c[j][t]);
                if (s < bestD) { bestD = s; best = j; }
            }
            return (best, bestD);
        }
        int[]? previous = null;
        for (int it = 0; it < maxIterations; it++)
        {
            var near = x.Select(Nearest).ToArray();
            var labels = near.Select(v => v.Item1).ToArray();
            var sums = new double[k][]; var counts = new int[k];
            for (int j = 0; j < k; j++) sums[j] = new double[d];
            for (int i = 0; i < x.Length; i++) { counts[labels[i]]++; for (int t = 0; t < d; t++) sums[labels[i]][t] += x[i][t]; }
            var farthest = Enumerable.Range(0, x.Length).OrderByDescending(i => near[i].Item2).ToArray();
            int next = 0;
            for (int j = 0; j < k; j++)
                c[j] = counts[j] > 0 ? sums[j].Select(v => v / counts[j]).ToArray() : x[farthest[next++]].ToArray();
            bool same = previous is not null && previous.SequenceEqual(labels);
            previous = labels;
            if (same) break;
        }
        var final = x.Select(Nearest).ToArray();
        return (final.Select(v => v.Item1).ToArray(), c, final.Sum(v => v.Item2));
    }

    [Fact]
    public void LloydMatchesSlowReference()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 5; trial++)
        {
            int n = 60, d = 3, k = 4;
            var x = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, d).Select(t => (i % k) * 2.0 * (t == i % d ? 1 : 0.3) + rng.NextDouble() * 1.5).ToArray()).ToArray();
            var initRows = Enumerable.Range(0, k).Select(_ => x[rng.Next(n)]).ToArray();
            using var xt = Rows(x);
            using var it = Rows(initRows);
            using var fast = KMeans.Lloyd(xt, it, maxIterations: 100, tolerance: 0);
            var slow = SlowLloyd(x, initRows, 100);
            Assert.Equal(slow.Labels, fast.Assignments);
            Assert.Equal(slow.Inertia, fast.Inertia, 9);
            var fc = fast.Centroids.data<double>().ToArray();
            for (int j = 0; j < k; j++)
                for (int t = 0; t < d; t++)
                    Assert.Equal(slow.Centroids[j][t], fc[j * d + t], 9);
        }
    }

    private static (Tensor X, int[] Y) Blobs(int perCluster, int clusters, int seed, double spread = 0.05)
    {
        var rng = new Random(seed);
        var x = new List<double>(); var y = new List<int>();
        for (int c = 0; c < clusters; c++)
            for (int i = 0; i < perCluster; i++)
            {
                x.Add(10 * c + spread * rng.NextDouble()); x.Add(-7 * c + spread * rng.NextDouble());
                y.Add(c);
            }
        return (tensor(x.ToArray(), [clusters * perCluster, 2]), y.ToArray());
    }

    [Fact]
    public void PlusPlusSeedingPicksOneCentroidPerFarApartCluster()
    {
        var (x, y) = Blobs(20, 3, 1);
        using (x)
        {
            for (int seed = 0; seed < 20; seed++)
            {
                using var g = new Generator((ulong)seed);
                using var c = KMeans.PlusPlusInit(x, 3, g);
                // Cluster c sits at x = 10c: the three seeds must land in three different clusters.
                var which = c.select(1, 0).data<double>().Select(v => (int)Math.Round(v / 10)).Order().ToArray();
                Assert.Equal([0, 1, 2], which);
            }
            // Fewer distinct points than k: no failure, zero inertia.
            using var same = ones(5, 2);
            using var r = KMeans.Fit(same, 3, new KMeansOptions { Restarts = 2 });
            Assert.Equal(0.0, r.Inertia);
        }
    }

    [Fact]
    public void FitIsSeededAndKeepsTheBestStart()
    {
        // Uniform points have no clusters: starts end in different local optima.
        var rng = new Random(2);
        using (var x = tensor(Enumerable.Range(0, 240).Select(_ => rng.NextDouble()).ToArray(), [120, 2]))
        {
            using var a = KMeans.Fit(x, 4, new KMeansOptions { Restarts = 4, Seed = 3 });
            using var b = KMeans.Fit(x, 4, new KMeansOptions { Restarts = 4, Seed = 3 });
            Assert.Equal(a.Assignments, b.Assignments);
            Assert.Equal(a.Inertia, b.Inertia);
            // Start 0 is the same with one or many starts (seeds derive from (Seed, start)), so more starts are never worse.
            using var one = KMeans.Fit(x, 4, new KMeansOptions { Restarts = 1, Seed = 3 });
            using var many = KMeans.Fit(x, 4, new KMeansOptions { Restarts = 8, Seed = 3 });
            Assert.True(many.Inertia <= one.Inertia, $"{many.Inertia} > {one.Inertia}");
            var inertias = Enumerable.Range(0, 6).Select(s => { using var r = KMeans.Fit(x, 4, new KMeansOptions { Restarts = 1, Seed = s }); return r.Inertia; }).ToArray();
            Assert.True(inertias.Distinct().Count() > 1, "different seeds should reach different local optima on structureless data");
        }
        var (sep, labels) = Blobs(25, 5, 5);   // far apart: every start finds them
        using (sep)
        {
            using var r = KMeans.Fit(sep, 5);
            Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex(labels, r.Assignments), 12);
            Assert.Equal(1.0, ClusterMetrics.NormalizedMutualInformation(labels, r.Assignments), 12);
            Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Fit(sep, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Fit(sep, 126));
        }
    }
}
