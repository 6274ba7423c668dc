using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class InfoNceLossTests
{
    public InfoNceLossTests() => set_num_threads(1);

    [Theory]
    [InlineData(0.07, 4, 3, 5)]
    [InlineData(0.2, 8, 16, 32)]
    [InlineData(1.0, 1, 4, 1)]
    public void WithNegativesMatchesSlowReference(double tau, int n, int d, int m)
    {
        var q = Reference.Random(n, d, 1 + n); var k = Reference.Random(n, d, 2 + n); var neg = Reference.Random(m, d, 3 + m);
        using var tq = Reference.Tensor(q); using var tk = Reference.Tensor(k); using var tn = Reference.Tensor(neg);
        using var loss = new InfoNceLoss(tau).WithNegatives(tq, tk, tn);
        Assert.Equal(0, loss.dim());
        Assert.Equal(Reference.InfoNceWithNegatives(q, k, neg, tau), loss.item<float>(), 4);
    }

    [Theory]
    [InlineData(0.1, 4, 3)]
    [InlineData(0.2, 16, 8)]
    [InlineData(1.0, 2, 2)]
    public void InBatchMatchesSlowReference(double tau, int n, int d)
    {
        var q = Reference.Random(n, d, 10 + n); var k = Reference.Random(n, d, 20 + d);
        using var tq = Reference.Tensor(q); using var tk = Reference.Tensor(k);
        using var loss = new InfoNceLoss(tau).InBatch(tq, tk);
        Assert.Equal(Reference.InfoNceInBatch(q, k, tau), loss.item<float>(), 4);
    }

    [Fact]
    public void ScaleOfInputsDoesNotMatter()
    {
        // Cosine similarities: multiplying queries and keys by positive factors leaves the loss unchanged.
        using var g = new Generator(7);
        using var q = randn(6, 5, generator: g); using var k = randn(6, 5, generator: g); using var n = randn(9, 5, generator: g);
        var loss = new InfoNceLoss(0.2);
        using var a = loss.WithNegatives(q, k, n); using var b = loss.WithNegatives(q.mul(3), k.mul(0.5), n.mul(7));
        // fp32 normalisation rounds differently at other scales: equal to a relative 1e-5, not to 5 decimals.
        Assert.Equal(a.item<float>(), b.item<float>(), a.item<float>() * 1e-5 + 1e-6);
    }

    [Fact]
    public void GradientReachesOnlyWhatRequiresIt()
    {
        using var q = randn(6, 4).requires_grad_(); using var k = randn(6, 4).requires_grad_(); using var n = randn(5, 4);
        using var loss = new InfoNceLoss(0.5).WithNegatives(q, k.detach(), n);
        loss.backward();
        Assert.True(q.grad!.abs().sum().item<float>() > 0);
        Assert.Null(k.grad);
        using var q2 = randn(6, 4).requires_grad_(); using var k2 = randn(6, 4).requires_grad_();
        using var l2 = new InfoNceLoss(0.5).InBatch(q2.detach(), k2);
        l2.backward();
        Assert.True(k2.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new InfoNceLoss(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InfoNceLoss(double.PositiveInfinity));
        var loss = new InfoNceLoss(0.2);
        using var a = randn(4, 3); using var b = randn(4, 5); using var one = randn(1, 3); using var wide = randn(7, 5); using var none = randn(0, 3);
        Assert.Throws<ArgumentException>(() => loss.InBatch(a, b));
        Assert.Throws<ArgumentException>(() => loss.InBatch(one, one));
        Assert.Throws<ArgumentException>(() => loss.WithNegatives(a, a, wide));
        Assert.Throws<ArgumentException>(() => loss.WithNegatives(a, a, none));
    }
}
