using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class SwavLossTests
{
    public SwavLossTests() => set_num_threads(1);

    /// <summary>Slow reference of Sinkhorn-Knopp as the paper's Algorithm 1 writes it, double precision loops. Returns (B, K).</summary>
    private static double[,] ReferenceSinkhorn(float[,] scores, double epsilon, int iterations)
    {
        int b = scores.GetLength(0), k = scores.GetLength(1);
        var q = new double[k, b];
        double total = 0;
        for (int j = 0; j < k; j++) for (int i = 0; i < b; i++) { q[j, i] = Math.Exp(scores[i, j] / epsilon); total += q[j, i]; }
        for (int j = 0; j < k; j++) for (int i = 0; i < b; i++) q[j, i] /= total;
        for (int it = 0; it < iterations; it++)
        {
            for (int j = 0; j < k; j++)
            {
                double row = 0;
                for (int i = 0; i < b; i++) row += q[j, i];
                for (int i = 0; i < b; i++) q[j, i] /= row * k;
            }
            for (int i = 0; i < b; i++)
            {
                double col = 0;
                for (int j = 0; j < k; j++) col += q[j, i];
                for (int j = 0; j < k; j++) q[j, i] /= col * b;
            }
        }
        var codes = new double[b, k];
        for (int i = 0; i < b; i++) for (int j = 0; j < k; j++) codes[i, j] = q[j, i] * b;
        return codes;
    }

    /// <summary>Slow reference of the swapped-prediction loss with given codes, double loops.</summary>
    private static double ReferenceLoss(float[][,] scores, float[][,] codes, double tau)
    {
        int b = scores[0].GetLength(0), k = scores[0].GetLength(1);
        double loss = 0;
        for (int i = 0; i < codes.Length; i++)
        {
            double sub = 0;
            for (int v = 0; v < scores.Length; v++)
            {
                if (v == i) continue;
                double ce = 0;
                for (int r = 0; r < b; r++)
                {
                    var logp = ReferenceMath.LogSoftmax(scores[v], r, tau);
                    for (int j = 0; j < k; j++) ce -= codes[i][r, j] * logp[j];
                }
                sub += ce / b;
            }
            loss += sub / (scores.Length - 1);
        }
        return loss / codes.Length;
    }

    [Theory]
    [InlineData(8, 5, 0.05, 3)]
    [InlineData(16, 32, 0.05, 3)]
    [InlineData(6, 4, 0.5, 1)]
    [InlineData(5, 7, 0.1, 10)]
    public void SinkhornMatchesSlowReference(int b, int k, double epsilon, int iterations)
    {
        var s = ReferenceMath.Random(b, k, b * 13 + k);
        using var ts = tensor(s);
        using var codes = SwavLoss.Sinkhorn(ts, epsilon, iterations);
        Assert.Equal(new long[] { b, k }, codes.shape);
        var expected = ReferenceSinkhorn(s, epsilon, iterations);
        var got = codes.data<float>().ToArray();
        for (int i = 0; i < b; i++) for (int j = 0; j < k; j++) ReferenceMath.Near(expected[i, j], got[i * k + j], rel: 1e-4, abs: 1e-7);
    }

    [Fact]
    public void SinkhornSpreadsTheBatchEquallyOverPrototypes()
    {
        // Every sample prefers prototype 0; the codes must still use every prototype about equally.
        var s = ReferenceMath.Random(12, 4, 3, scale: 0.1);
        for (int i = 0; i < 12; i++) s[i, 0] += 0.5f;
        using var ts = tensor(s);
        using var codes = SwavLoss.Sinkhorn(ts, 0.05, 50);
        using var perSample = codes.sum(1);
        using var perPrototype = codes.sum([0L]); // sum(0) would bind to sum(ScalarType)
        foreach (var v in perSample.data<float>()) Assert.Equal(1.0, v, 4);
        foreach (var v in perPrototype.data<float>()) Assert.Equal(12.0 / 4, v, 3);
        Assert.False(codes.requires_grad);
    }

    [Theory]
    [InlineData(2, 1, 4, 6, 0.1)]
    [InlineData(3, 2, 5, 8, 0.1)]
    [InlineData(6, 2, 3, 4, 0.5)]
    public void SwappedPredictionMatchesSlowReference(int crops, int assigned, int b, int k, double tau)
    {
        var scores = Enumerable.Range(0, crops).Select(v => ReferenceMath.Random(b, k, 100 + v)).ToArray();
        var codes = Enumerable.Range(0, assigned).Select(i =>
        {
            var q = ReferenceMath.Random(b, k, 200 + i);
            for (int r = 0; r < b; r++)
            {
                double sum = 0;
                for (int j = 0; j < k; j++) { q[r, j] = Math.Abs(q[r, j]); sum += q[r, j]; }
                for (int j = 0; j < k; j++) q[r, j] = (float)(q[r, j] / sum);
            }
            return q;
        }).ToArray();
        using var scope = NewDisposeScope();
        var loss = new SwavLoss(tau).Compute(scores.Select(s => tensor(s)).ToArray(), codes.Select(q => tensor(q)).ToArray());
        ReferenceMath.Near(ReferenceLoss(scores, codes, tau), loss.item<float>());
        Assert.Equal(0, loss.dim());
    }

    [Fact]
    public void GradientReachesScoresButNotCodes()
    {
        using var scope = NewDisposeScope();
        var s0 = randn(4, 6).requires_grad_();
        var s1 = randn(4, 6).requires_grad_();
        var q = SwavLoss.Sinkhorn(s0, 0.05, 3);
        new SwavLoss().Compute([s0, s1], [q]).backward();
        Assert.True(s1.grad!.abs().sum().item<float>() > 0);
        // s0 only produced the codes (constants): crop 0 is never asked to predict itself.
        Assert.True(s0.grad is null || s0.grad.abs().sum().item<float>() == 0);
    }

    [Fact]
    public void RejectsBadInput()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentOutOfRangeException>(() => new SwavLoss(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SwavLoss.Sinkhorn(randn(4, 3), 0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => SwavLoss.Sinkhorn(randn(4, 3), 0.05, 0));
        Assert.Throws<ArgumentException>(() => SwavLoss.Sinkhorn(randn(4), 0.05, 3));
        var loss = new SwavLoss();
        Assert.Throws<ArgumentException>(() => loss.Compute([randn(4, 3)], [randn(4, 3)]));
        Assert.Throws<ArgumentException>(() => loss.Compute([randn(4, 3), randn(4, 3)], []));
        Assert.Throws<ArgumentException>(() => loss.Compute([randn(4, 3), randn(4, 5)], [randn(4, 3)]));
    }
}
