using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class BarlowTwinsLossTests
{
    public BarlowTwinsLossTests() => set_num_threads(1);

    /// <summary>Slow reference: eq. 1 of the paper with batch-norm-style standardisation (biased variance + eps), double precision loops.</summary>
    private static double Reference(float[,] a, float[,] b, double lambda, double eps = 1e-5)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        double[,] Std(float[,] z)
        {
            var m = ReferenceMath.ColumnMeans(z);
            var s = new double[n, d];
            for (int k = 0; k < d; k++)
            {
                double v = 0;
                for (int i = 0; i < n; i++) v += (z[i, k] - m[k]) * (z[i, k] - m[k]);
                v /= n;
                for (int i = 0; i < n; i++) s[i, k] = (z[i, k] - m[k]) / Math.Sqrt(v + eps);
            }
            return s;
        }
        var sa = Std(a); var sb = Std(b);
        double loss = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double c = 0;
                for (int r = 0; r < n; r++) c += sa[r, i] * sb[r, j];
                c /= n;
                loss += i == j ? (1 - c) * (1 - c) : lambda * c * c;
            }
        return loss;
    }

    [Theory]
    [InlineData(4, 3, 5e-3)]
    [InlineData(16, 8, 0.02)]
    [InlineData(32, 5, 0.5)]
    [InlineData(2, 2, 1.0)]
    public void MatchesSlowReference(int n, int d, double lambda)
    {
        var a = ReferenceMath.Random(n, d, n * 7 + d, scale: 3);
        var b = ReferenceMath.Random(n, d, n * 11 + d + 1);
        using var ta = tensor(a); using var tb = tensor(b);
        using var loss = new BarlowTwinsLoss(lambda).Compute(ta, tb);
        ReferenceMath.Near(Reference(a, b, lambda), loss.item<float>());
    }

    [Fact]
    public void DecorrelatedIdenticalViewsCostAlmostNothing()
    {
        // Two orthogonal +-1 columns: standardised, each correlates 1 with itself and 0 with the other.
        using var z = tensor(new float[,] { { 1, 1 }, { 1, -1 }, { -1, 1 }, { -1, -1 } });
        using var loss = new BarlowTwinsLoss(0.5).Compute(z, z);
        Assert.True(loss.item<float>() < 1e-4);
        // A collapsed dimension (constant) has C_ii = 0 and costs 1.
        using var flat = tensor(new float[,] { { 1, 3 }, { 1, 3 }, { -1, 3 }, { -1, 3 } });
        using var collapsed = new BarlowTwinsLoss(0.5).Compute(flat, flat);
        Assert.Equal(1.0, collapsed.item<float>(), 4);
    }

    [Fact]
    public void LambdaScalesWithTheProjectorWidth()
    {
        Assert.Equal(5e-3, BarlowTwinsLoss.ScaledLambda(8192), 12);
        Assert.Equal(0.02, BarlowTwinsLoss.ScaledLambda(2048), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => BarlowTwinsLoss.ScaledLambda(0));
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BarlowTwinsLoss(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BarlowTwinsLoss(double.NaN));
        var loss = new BarlowTwinsLoss(5e-3);
        using var a = randn(4, 3); using var b = randn(4, 5); using var c = randn(1, 3);
        Assert.Throws<ArgumentException>(() => loss.Compute(a, b));
        Assert.Throws<ArgumentException>(() => loss.Compute(c, c));
    }

    [Fact]
    public void GradientFlowsToBothViews()
    {
        using var a = randn(6, 4).requires_grad_(); using var b = randn(6, 4).requires_grad_();
        using var loss = new BarlowTwinsLoss(5e-3).Compute(a, b);
        loss.backward();
        Assert.True(a.grad!.abs().sum().item<float>() > 0);
        Assert.True(b.grad!.abs().sum().item<float>() > 0);
    }
}
