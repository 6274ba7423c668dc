using Pretext.Evaluation;
using Pretext.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class DiagnosticsTests
{
    public DiagnosticsTests() => set_num_threads(1);

    private static double[,] Gaussian(int n, int d, int seed)
    {
        var rng = new Random(seed);
        var m = new double[n, d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                m[i, j] = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return m;
    }

    private static Tensor ToTensor(double[,] m) =>
        tensor(m.Cast<double>().ToArray(), [m.GetLength(0), m.GetLength(1)], ScalarType.Float64);

    /// <summary>Applies the Householder reflection I - 2 v v^T / v^T v to the rows (left) or columns (right) of m.</summary>
    private static void Reflect(double[,] m, double[] v, bool left)
    {
        double vv = v.Sum(x => x * x);
        int rows = m.GetLength(0), cols = m.GetLength(1);
        if (left)
            for (int j = 0; j < cols; j++)
            {
                double dot = 0;
                for (int i = 0; i < rows; i++) dot += v[i] * m[i, j];
                for (int i = 0; i < rows; i++) m[i, j] -= 2 * v[i] * dot / vv;
            }
        else
            for (int i = 0; i < rows; i++)
            {
                double dot = 0;
                for (int j = 0; j < cols; j++) dot += m[i, j] * v[j];
                for (int j = 0; j < cols; j++) m[i, j] -= 2 * dot * v[j] / vv;
            }
    }

    /// <summary>A (n, d) matrix with exactly the singular values s: diag(s) rotated on both sides by products of reflections.</summary>
    private static double[,] WithSingularValues(int n, int d, double[] s, int seed)
    {
        var m = new double[n, d];
        for (int k = 0; k < s.Length; k++) m[k, k] = s[k];
        var rng = new Random(seed);
        for (int r = 0; r < 3; r++)
        {
            Reflect(m, Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray(), left: true);
            Reflect(m, Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5).ToArray(), left: false);
        }
        return m;
    }

    /// <summary>RankMe straight from the paper's formula, given the singular values.</summary>
    private static double RankMeReference(double[] s)
    {
        double total = s.Sum();
        double h = 0;
        foreach (var v in s)
        {
            double p = v / total + Diagnostics.RankMeEpsilon;
            h -= p * Math.Log(p);
        }
        return Math.Exp(h);
    }

    [Fact]
    public void RankMeMatchesTheFormulaOnKnownSingularValues()
    {
        double[] s = [5, 3, 2, 1, 0.5, 0.25, 0, 0];
        var m = WithSingularValues(20, 8, s, seed: 3);
        using var z = ToTensor(m);
        Assert.Equal(RankMeReference(s), Diagnostics.RankMe(z), 6);
        // Scale-free, and fp32 input gives the same value to fp32 precision.
        using var scaled = z.mul(1000).to(ScalarType.Float32);
        Assert.Equal(RankMeReference(s), Diagnostics.RankMe(scaled), 3);
        // Equal singular values: full rank. One direction: rank one.
        Assert.Equal(8, Diagnostics.RankMe(ToTensor(WithSingularValues(20, 8, Enumerable.Repeat(2.0, 8).ToArray(), 4))), 4);
        Assert.Equal(1, Diagnostics.RankMe(ToTensor(WithSingularValues(20, 8, [3.0], 5))), 4);
        using var zeros = torch.zeros(4, 3);
        Assert.Equal(1, Diagnostics.RankMe(zeros));
        Assert.Throws<ArgumentException>(() => Diagnostics.RankMe(torch.zeros(5)));
    }

    [Fact]
    public void AlignmentAndUniformityMatchPlainLoops()
    {
        var a = Gaussian(12, 5, 1);
        var b = Gaussian(12, 5, 2);
        static double[] Unit(double[,] m, int i)
        {
            var row = Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j]).ToArray();
            double norm = Math.Sqrt(row.Sum(x => x * x));
            return row.Select(x => x / norm).ToArray();
        }
        static double Sq(double[] x, double[] y) => x.Zip(y, (p, q) => (p - q) * (p - q)).Sum();
        double align = Enumerable.Range(0, 12).Average(i => Sq(Unit(a, i), Unit(b, i)));
        double potential = 0; int pairs = 0;
        for (int i = 0; i < 12; i++)
            for (int j = i + 1; j < 12; j++) { potential += Math.Exp(-2 * Sq(Unit(a, i), Unit(a, j))); pairs++; }
        double uniform = Math.Log(potential / pairs);

        using var ta = ToTensor(a);
        using var tb = ToTensor(b);
        Assert.Equal(align, Diagnostics.Alignment(ta, tb), 10);
        Assert.Equal(uniform, Diagnostics.Uniformity(ta), 10);
        Assert.Equal(0, Diagnostics.Alignment(ta, ta), 12);
        Assert.Throws<ArgumentException>(() => Diagnostics.Alignment(ta, tb.narrow(0, 0, 5)));
        Assert.Throws<ArgumentException>(() => Diagnostics.Uniformity(ta.narrow(0, 0, 1)));
    }

    [Fact]
    public void CollapsedEmbeddingsAreFlaggedAndSpreadOnesAreNot()
    {
        var criteria = new CollapseCriteria();

        // Every sample mapped to the same point (plus float noise far below any real spread).
        using var constant = ones(64, 32).mul(0.3).add(randn(64, 32).mul(1e-6));
        var c = Diagnostics.Measure(constant, constant);
        Assert.True(c.CollapseStd < 1e-3);
        Assert.Equal(1, c.RankMe, 1);
        Assert.Equal(0, c.Uniformity, 4);
        Assert.Equal(0, c.Alignment, 6);
        Assert.Contains("collapsed to a point", criteria.Reason(c));

        // Spread over a plane only: not a point, but two directions out of 200.
        var plane = new double[256, 200];
        for (int i = 0; i < 256; i++) { plane[i, 0] = Math.Cos(i); plane[i, 1] = Math.Sin(i); }
        var p = Diagnostics.Measure(ToTensor(plane));
        Assert.True(p.CollapseStd > criteria.MinCollapseStd);
        Assert.True(p.RankMe < 2.01);
        Assert.True(double.IsNaN(p.Alignment), "no second view, no alignment");
        Assert.Contains("dimensional collapse", criteria.Reason(p));

        // Isotropic Gaussian embeddings: spread, high rank, uniformity near -2t = -4.
        using var g = ToTensor(Gaussian(256, 128, 7));
        var h = Diagnostics.Measure(g, g.add(randn(256, 128, ScalarType.Float64).mul(0.1)));
        Assert.InRange(h.CollapseStd, 0.9, 1.1);
        Assert.True(h.RankMe > 100, $"RankMe {h.RankMe}");
        Assert.InRange(h.Uniformity, -4.1, -3.7);
        Assert.InRange(h.Alignment, 0.005, 0.03);
        Assert.Null(criteria.Reason(h));
        Assert.Equal(128, h.MaxRank);
        Assert.Equal(Math.Max(1.5, 0.02 * 128), criteria.RankThreshold(128));
    }

    [Fact]
    public void WatchNeedsConsecutiveCollapsedReadingsAndClearsOnRecovery()
    {
        var bad = new DiagnosticReadings(0.01, 1.02, 0, 0, 32, 64);
        var good = new DiagnosticReadings(0.8, 20, 0.5, -3, 32, 64);
        var watch = new CollapseWatch(new CollapseCriteria { Patience = 2 });
        Assert.False(watch.Verdict.Collapsed);
        Assert.False(watch.Observe(10, bad));
        Assert.False(watch.Verdict.Collapsed);     // one bad batch is not a collapse
        Assert.False(watch.Observe(20, good));
        Assert.False(watch.Observe(30, bad));
        Assert.True(watch.Observe(40, bad));         // says so once, when it happens
        Assert.False(watch.Observe(50, bad));
        var v = watch.Verdict;
        Assert.True(v.Collapsed);
        Assert.Equal(30, v.Step);
        Assert.Equal(50, v.ReadingStep);
        Assert.Contains("step 30", v.Warning);
        Assert.Contains("collapsed to a point", v.Reason);
        Assert.False(watch.Recovered);
        Assert.False(watch.Observe(60, good));
        Assert.True(watch.Recovered);               // said once, when the embeddings spread out again
        Assert.False(watch.Verdict.Collapsed);
        Assert.Null(watch.Verdict.Warning);
        Assert.False(watch.Observe(70, good));
        Assert.False(watch.Recovered);
    }

    [Fact]
    public void ACollapseInsideTheWarmUpIsAnnouncedOnlyIfItOutlastsIt()
    {
        var bad = new DiagnosticReadings(0.01, 1.02, 0, 0, 32, 64);
        var good = new DiagnosticReadings(0.8, 20, 0.5, -3, 32, 64);
        CollapseAnnouncer New() => new(new CollapseWatch(new CollapseCriteria { Patience = 2 }), quietThrough: 60);

        // Bunched up early and spread out again, inside the warm-up or at the first reading after it: nothing said, nothing kept.
        var a = New();
        Assert.All(new long[] { 10, 20, 30, 40 }, step => Assert.Null(a.Observe(step, step < 20 ? good : bad)));
        Assert.Null(a.Observe(70, good));
        Assert.Null(a.Observe(80, good));
        Assert.False(a.Watch.Verdict.Collapsed);

        // Still collapsed after the warm-up: the warning, once, naming the step the collapse began; then the recovery is said.
        var b = New();
        Assert.Null(b.Observe(30, bad));
        Assert.Null(b.Observe(40, bad));
        Assert.Null(b.Observe(60, bad));
        var warning = b.Observe(70, bad);
        Assert.NotNull(warning);
        Assert.Contains("collapsed at step 30", warning);
        Assert.Null(b.Observe(80, bad));
        Assert.StartsWith("Recovered: at step 90", b.Observe(90, good));

        // After the warm-up nothing is held back.
        var c = New();
        Assert.Null(c.Observe(70, bad));
        Assert.Contains("collapsed at step 70", c.Observe(80, bad));
        Assert.StartsWith("Recovered: at step 90", c.Observe(90, good));

        // A run that ends inside its warm-up keeps the verdict (the end of pretraining says it).
        var d = New();
        Assert.Null(d.Observe(10, bad));
        Assert.Null(d.Observe(20, bad));
        Assert.True(d.Watch.Verdict.Collapsed);
    }

    [Fact]
    public void VerdictRoundTripsThroughTheRunFolder()
    {
        using var dir = new TempDirectory();
        var watch = new CollapseWatch();
        var bad = new DiagnosticReadings(0.01, 1.02, double.NaN, -0.001, 16, 16);
        watch.Observe(5, bad);
        watch.Observe(10, bad);
        JsonFile.WriteAtomic(Path.Combine(dir.Path, Pretext.Runs.Pretraining.DiagnosticsFile), watch.Verdict);
        var back = Pretext.Runs.Pretraining.ReadVerdict(dir.Path)!;
        Assert.True(back.Collapsed);
        Assert.Equal(5, back.Step);
        Assert.Equal(watch.Verdict.Reason, back.Reason);
        Assert.Equal(bad.RankMe, back.Readings!.RankMe);
        Assert.True(double.IsNaN(back.Readings.Alignment));
        Assert.Contains("\"rankme\"", File.ReadAllText(Path.Combine(dir.Path, Pretext.Runs.Pretraining.DiagnosticsFile)));
        Assert.Null(Pretext.Runs.Pretraining.ReadVerdict(dir.File("elsewhere")));
    }
}
