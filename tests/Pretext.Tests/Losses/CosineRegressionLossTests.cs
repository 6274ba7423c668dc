using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class CosineRegressionLossTests
{
    public CosineRegressionLossTests() => set_num_threads(1);

    [Theory]
    [InlineData(CosineRegressionForm.NegativeCosine, 5, 3)]
    [InlineData(CosineRegressionForm.NegativeCosine, 1, 8)]
    [InlineData(CosineRegressionForm.NormalisedSquaredError, 5, 3)]
    [InlineData(CosineRegressionForm.NormalisedSquaredError, 16, 32)]
    public void MatchesSlowReference(CosineRegressionForm form, int n, int d)
    {
        var p = Reference.Random(n, d, 7 * n); var z = Reference.Random(n, d, 11 * d);
        using var tp = Reference.Tensor(p); using var tz = Reference.Tensor(z);
        using var loss = new CosineRegressionLoss(form).Compute(tp, tz);
        double expected = form == CosineRegressionForm.NegativeCosine
            ? -Reference.MeanCos(p, z)
            // BYOL eq. 2 literally: the squared distance of the normalised vectors.
            : Enumerable.Range(0, n).Sum(i =>
              {
                  var a = Reference.Unit(p[i]); var b = Reference.Unit(z[i]);
                  return a.Zip(b).Sum(x => (x.First - x.Second) * (x.First - x.Second));
              }) / n;
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void TargetIsAConstant()
    {
        using var p = randn(4, 6).requires_grad_(); using var z = randn(4, 6).requires_grad_();
        using var loss = new CosineRegressionLoss(CosineRegressionForm.NegativeCosine).Compute(p, z);
        loss.backward();
        Assert.True(p.grad!.abs().sum().item<float>() > 0);
        Assert.Null(z.grad);
    }

    [Fact]
    public void EqualDirectionsGiveTheMinimum()
    {
        using var p = randn(3, 4);
        using var a = new CosineRegressionLoss(CosineRegressionForm.NegativeCosine).Compute(p, p.mul(2));
        using var b = new CosineRegressionLoss(CosineRegressionForm.NormalisedSquaredError).Compute(p, p.mul(2));
        Assert.Equal(-1.0, a.item<float>(), 5);
        Assert.Equal(0.0, b.item<float>(), 5);
    }

    [Fact]
    public void RejectsBadInput()
    {
        var loss = new CosineRegressionLoss(CosineRegressionForm.NegativeCosine);
        using var a = randn(4, 3); using var b = randn(4, 5); using var c = randn(3); using var e = randn(0, 3);
        Assert.Throws<ArgumentException>(() => loss.Compute(a, b));
        Assert.Throws<ArgumentException>(() => loss.Compute(c, c));
        Assert.Throws<ArgumentException>(() => loss.Compute(e, e));
    }
}
