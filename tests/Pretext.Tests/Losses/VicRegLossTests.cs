using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class VicRegLossTests
{
    public VicRegLossTests() => set_num_threads(1);

    /// <summary>Slow reference of the three terms (paper section 3 with the reference code's averaging of the variance term), double loops.</summary>
    private static (double Inv, double Var, double Cov) Reference(float[,] a, float[,] b, double gamma = 1, double eps = 1e-4)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        double inv = 0;
        for (int i = 0; i < n; i++) for (int k = 0; k < d; k++) inv += (a[i, k] - b[i, k]) * (a[i, k] - b[i, k]);
        inv /= n * d;
        (double V, double C) Reg(float[,] z)
        {
            var m = ReferenceMath.ColumnMeans(z);
            var cov = new double[d, d];
            for (int p = 0; p < d; p++)
                for (int q = 0; q < d; q++)
                {
                    for (int i = 0; i < n; i++) cov[p, q] += (z[i, p] - m[p]) * (z[i, q] - m[q]);
                    cov[p, q] /= n - 1;
                }
            double v = 0, c = 0;
            for (int p = 0; p < d; p++) v += Math.Max(0, gamma - Math.Sqrt(cov[p, p] + eps));
            for (int p = 0; p < d; p++) for (int q = 0; q < d; q++) if (p != q) c += cov[p, q] * cov[p, q];
            return (v / d, c / d);
        }
        var (va, ca) = Reg(a);
        var (vb, cb) = Reg(b);
        return (inv, (va + vb) / 2, ca + cb);
    }

    [Theory]
    [InlineData(4, 3, 0.3)]
    [InlineData(16, 8, 1.0)]
    [InlineData(32, 5, 2.0)]
    [InlineData(2, 2, 0.1)]
    public void MatchesSlowReference(int n, int d, double scale)
    {
        // Small scales put the per-dimension std below gamma (the hinge is active), large ones above it.
        var a = ReferenceMath.Random(n, d, n * 3 + d, scale);
        var b = ReferenceMath.Random(n, d, n * 5 + d + 2, scale);
        using var ta = tensor(a); using var tb = tensor(b);
        var loss = new VicRegLoss();
        using var scope = NewDisposeScope();
        var terms = loss.Terms(ta, tb);
        var (inv, var, cov) = Reference(a, b);
        ReferenceMath.Near(inv, terms.Invariance.item<float>());
        ReferenceMath.Near(var, terms.Variance.item<float>());
        ReferenceMath.Near(cov, terms.Covariance.item<float>());
        ReferenceMath.Near(25 * inv + 25 * var + cov, loss.Compute(ta, tb).item<float>());
        ReferenceMath.Near(2 * inv + 3 * var + 4 * cov, new VicRegLoss(2, 3, 4).Compute(ta, tb).item<float>());
    }

    [Fact]
    public void CollapseIsPenalisedByTheVarianceTerm()
    {
        using var same = ones(8, 4);
        using var scope = NewDisposeScope();
        var terms = new VicRegLoss().Terms(same, same);
        Assert.Equal(0, terms.Invariance.item<float>(), 6);
        Assert.Equal(1 - Math.Sqrt(1e-4), terms.Variance.item<float>(), 5);
        Assert.Equal(0, terms.Covariance.item<float>(), 6);
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VicRegLoss(invarianceWeight: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VicRegLoss(gamma: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VicRegLoss(epsilon: 0));
        var loss = new VicRegLoss();
        using var a = randn(4, 3); using var b = randn(4, 5); using var c = randn(1, 3);
        Assert.Throws<ArgumentException>(() => loss.Compute(a, b));
        Assert.Throws<ArgumentException>(() => loss.Compute(c, c));
    }
}
