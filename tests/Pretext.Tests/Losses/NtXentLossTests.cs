using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class NtXentLossTests
{
    public NtXentLossTests() => set_num_threads(1);

    /// <summary>Slow reference: equation 1 of the SimCLR paper, loops in double precision.</summary>
    private static double Reference(float[,] a, float[,] b, double tau)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        var z = new double[2 * n][];
        for (int i = 0; i < n; i++)
        {
            z[i] = Enumerable.Range(0, d).Select(k => (double)a[i, k]).ToArray();
            z[n + i] = Enumerable.Range(0, d).Select(k => (double)b[i, k]).ToArray();
        }
        foreach (var v in z) { double norm = Math.Sqrt(v.Sum(x => x * x)); for (int k = 0; k < d; k++) v[k] /= norm; }
        double Sim(int i, int j) => Enumerable.Range(0, d).Sum(k => z[i][k] * z[j][k]);
        double total = 0;
        for (int i = 0; i < 2 * n; i++)
        {
            int pos = (i + n) % (2 * n);
            double denom = 0;
            for (int k = 0; k < 2 * n; k++) if (k != i) denom += Math.Exp(Sim(i, k) / tau);
            total += -Math.Log(Math.Exp(Sim(i, pos) / tau) / denom);
        }
        return total / (2 * n);
    }

    [Theory]
    [InlineData(0.1, 4, 3)]
    [InlineData(0.2, 8, 16)]
    [InlineData(0.5, 16, 5)]
    [InlineData(1.0, 2, 2)]
    public void MatchesSlowReference(double tau, int n, int d)
    {
        var rng = new Random(n * 31 + d);
        var a = new float[n, d]; var b = new float[n, d];
        for (int i = 0; i < n; i++) for (int k = 0; k < d; k++) { a[i, k] = (float)(rng.NextDouble() * 2 - 1); b[i, k] = (float)(rng.NextDouble() * 2 - 1); }
        using var ta = tensor(a); using var tb = tensor(b);
        using var loss = new NtXentLoss(tau).Compute(ta, tb);
        Assert.Equal(Reference(a, b, tau), loss.item<float>(), 4);
    }

    /// <summary>Slow reference of SimCSE's eq. 1: anchors from the first view, candidates from the second only.</summary>
    private static double CrossViewReference(float[,] a, float[,] b, double tau)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        double Cos(int i, int j)
        {
            double dot = 0, na = 0, nb = 0;
            for (int k = 0; k < d; k++) { dot += a[i, k] * (double)b[j, k]; na += a[i, k] * (double)a[i, k]; nb += b[j, k] * (double)b[j, k]; }
            return dot / Math.Sqrt(na * nb);
        }
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double denom = 0;
            for (int j = 0; j < n; j++) denom += Math.Exp(Cos(i, j) / tau);
            total += -Math.Log(Math.Exp(Cos(i, i) / tau) / denom);
        }
        return total / n;
    }

    [Theory]
    [InlineData(0.05, 4, 3)]
    [InlineData(0.5, 9, 7)]
    public void CrossViewOnlyMatchesSimCseReference(double tau, int n, int d)
    {
        var rng = new Random(n * 7 + d);
        var a = new float[n, d]; var b = new float[n, d];
        for (int i = 0; i < n; i++) for (int k = 0; k < d; k++) { a[i, k] = (float)(rng.NextDouble() * 2 - 1); b[i, k] = (float)(rng.NextDouble() * 2 - 1); }
        using var ta = tensor(a); using var tb = tensor(b);
        using var loss = new NtXentLoss(tau, crossViewOnly: true).Compute(ta, tb);
        Assert.Equal(CrossViewReference(a, b, tau), loss.item<float>(), 4);
        using var full = new NtXentLoss(tau).Compute(ta, tb);
        Assert.NotEqual(full.item<float>(), loss.item<float>(), 3);
    }

    [Fact]
    public void IdenticalViewsWithOrthogonalSamplesGiveLowLoss()
    {
        using var z = eye(8);
        using var loss = new NtXentLoss(0.1).Compute(z, z);
        // Positive similarity 1, negatives 0: loss = -log(e^10 / (e^10 + 14)).
        Assert.Equal(-Math.Log(Math.Exp(10) / (Math.Exp(10) + 14)), loss.item<float>(), 4);
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtXentLoss(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtXentLoss(double.NaN));
        var loss = new NtXentLoss();
        using var a = randn(4, 3); using var b = randn(4, 5); using var c = randn(1, 3);
        Assert.Throws<ArgumentException>(() => loss.Compute(a, b));
        Assert.Throws<ArgumentException>(() => loss.Compute(c, c));
    }

    [Fact]
    public void GradientFlowsToBothViews()
    {
        using var a = randn(6, 4).requires_grad_(); using var b = randn(6, 4).requires_grad_();
        using var loss = new NtXentLoss(0.5).Compute(a, b);
        loss.backward();
        Assert.True(a.grad!.abs().sum().item<float>() > 0);
        Assert.True(b.grad!.abs().sum().item<float>() > 0);
    }
}
