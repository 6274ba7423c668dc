using Pretext.Losses;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

/// <summary>CPC's InfoNCE and TS2Vec's hierarchical loss against slow double-precision loops written from the papers' equations.</summary>
public class SeriesLossTests
{
    public SeriesLossTests() => set_num_threads(1);

    /// <summary>(B, T, D) values in [-1, 1) from a seeded generator, as nested arrays [b][t][d].</summary>
    private static double[][][] Random3(int b, int t, int d, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, b).Select(_ => Enumerable.Range(0, t).Select(_ => Enumerable.Range(0, d).Select(_ => rng.NextDouble() * 2 - 1).ToArray()).ToArray())];
    }

    private static Tensor ToTensor(double[][][] x) =>
        tensor(x.SelectMany(r => r.SelectMany(s => s.Select(v => (float)v))).ToArray(), [x.Length, x[0].Length, x[0][0].Length]);

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>-log(exp(score[positive]) / sum_j exp(score[j])), from the scores of every candidate.</summary>
    private static double NegLogSoftmax(IReadOnlyList<double> scores, int positive)
    {
        double max = scores.Max();
        double sum = scores.Sum(s => Math.Exp(s - max));
        return -(scores[positive] - max - Math.Log(sum));
    }

    /// <summary>CPC eq. 4 with the batch as negatives: mean over t, i of -log exp(p_it . z_it) / sum_j exp(p_it . z_jt).</summary>
    private static double CpcReference(double[][][] p, double[][][] z)
    {
        double total = 0; int count = 0;
        for (int t = 0; t < p[0].Length; t++)
            for (int i = 0; i < p.Length; i++)
            {
                var scores = new double[z.Length];
                for (int j = 0; j < z.Length; j++) scores[j] = Dot(p[i][t], z[j][t]);
                total += NegLogSoftmax(scores, i); count++;
            }
        return total / count;
    }

    /// <summary>TS2Vec eq. 2: at each t, each of the 2B representations against its partner in the other view, the other 2B - 2 as negatives.</summary>
    private static double InstanceReference(double[][][] z1, double[][][] z2)
    {
        int b = z1.Length, steps = z1[0].Length;
        if (b < 2) return 0;
        double total = 0; int count = 0;
        for (int t = 0; t < steps; t++)
        {
            var all = z1.Select(r => r[t]).Concat(z2.Select(r => r[t])).ToList();
            for (int r = 0; r < 2 * b; r++)
            {
                int partner = r < b ? r + b : r - b;
                var others = Enumerable.Range(0, 2 * b).Where(j => j != r).ToList();
                total += NegLogSoftmax(others.Select(j => Dot(all[r], all[j])).ToList(), others.IndexOf(partner)); count++;
            }
        }
        return total / count;
    }

    /// <summary>TS2Vec eq. 1: within each sample, each of the 2T representations against the same step of the other view, the other 2T - 2 as negatives.</summary>
    private static double TemporalReference(double[][][] z1, double[][][] z2)
    {
        int b = z1.Length, steps = z1[0].Length;
        if (steps < 2) return 0;
        double total = 0; int count = 0;
        for (int i = 0; i < b; i++)
        {
            var all = z1[i].Concat(z2[i]).ToList();
            for (int r = 0; r < 2 * steps; r++)
            {
                int partner = r < steps ? r + steps : r - steps;
                var others = Enumerable.Range(0, 2 * steps).Where(j => j != r).ToList();
                total += NegLogSoftmax(others.Select(j => Dot(all[r], all[j])).ToList(), others.IndexOf(partner)); count++;
            }
        }
        return total / count;
    }

    /// <summary>Max over steps 2s and 2s + 1 per feature; an odd last step is dropped.</summary>
    private static double[][][] PoolReference(double[][][] z) =>
        [.. z.Select(r => Enumerable.Range(0, r.Length / 2).Select(s => r[2 * s].Zip(r[2 * s + 1], Math.Max).ToArray()).ToArray())];

    /// <summary>TS2Vec algorithm 1.</summary>
    private static double HierarchicalReference(double[][][] z1, double[][][] z2, double alpha, int unit)
    {
        double loss = 0; int depth = 0;
        while (z1[0].Length > 1)
        {
            loss += alpha * InstanceReference(z1, z2);
            if (depth >= unit) loss += (1 - alpha) * TemporalReference(z1, z2);
            depth++;
            z1 = PoolReference(z1); z2 = PoolReference(z2);
        }
        loss += alpha * InstanceReference(z1, z2);
        return loss / (depth + 1);
    }

    [Theory]
    [InlineData(2, 1, 3)]
    [InlineData(5, 4, 6)]
    [InlineData(8, 7, 2)]
    public void CpcInfoNceMatchesTheLoop(int b, int t, int d)
    {
        var p = Random3(b, t, d, 1 + b); var z = Random3(b, t, d, 2 + t);
        using var tp = ToTensor(p); using var tz = ToTensor(z);
        using var loss = CpcLoss.InBatch(tp, tz);
        Assert.Equal(0, loss.dim());
        Assert.Equal(CpcReference(p, z), loss.item<float>(), 4);
    }

    [Theory]
    [InlineData(1, 3, 2)]
    [InlineData(3, 1, 4)]
    [InlineData(4, 6, 5)]
    public void InstanceAndTemporalTermsMatchTheLoops(int b, int t, int d)
    {
        var z1 = Random3(b, t, d, 10 + b); var z2 = Random3(b, t, d, 20 + t);
        using var a = ToTensor(z1); using var c = ToTensor(z2);
        using var instance = Ts2VecLoss.Instance(a, c);
        using var temporal = Ts2VecLoss.Temporal(a, c);
        Assert.Equal(InstanceReference(z1, z2), instance.item<float>(), 4);
        Assert.Equal(TemporalReference(z1, z2), temporal.item<float>(), 4);
    }

    [Theory]
    [InlineData(3, 8, 4, 0.5, 0)]
    [InlineData(4, 7, 3, 0.5, 1)]   // odd lengths drop their last step when pooled
    [InlineData(2, 5, 2, 1.0, 0)]
    [InlineData(5, 1, 3, 0.3, 0)]   // a single step: only the instance term
    public void HierarchicalLossMatchesAlgorithmOne(int b, int t, int d, double alpha, int unit)
    {
        var z1 = Random3(b, t, d, 30 + t); var z2 = Random3(b, t, d, 40 + b);
        using var a = ToTensor(z1); using var c = ToTensor(z2);
        using var loss = Ts2VecLoss.Hierarchical(a, c, alpha, unit);
        Assert.Equal(HierarchicalReference(z1, z2, alpha, unit), loss.item<float>(), 4);
    }

    [Fact]
    public void GradientsReachBothSidesAndBadShapesAreRefused()
    {
        using var p = randn(4, 3, 5).requires_grad_(); using var z = randn(4, 3, 5).requires_grad_();
        using (var l = CpcLoss.InBatch(p, z)) l.backward();
        Assert.True(p.grad!.abs().sum().item<float>() > 0 && z.grad!.abs().sum().item<float>() > 0);
        using var z1 = randn(4, 6, 5).requires_grad_(); using var z2 = randn(4, 6, 5).requires_grad_();
        using (var l = Ts2VecLoss.Hierarchical(z1, z2)) l.backward();
        Assert.True(z1.grad!.abs().sum().item<float>() > 0 && z2.grad!.abs().sum().item<float>() > 0);
        using var one = randn(1, 3, 5); using var other = randn(4, 2, 5);
        Assert.Throws<ArgumentException>(() => CpcLoss.InBatch(one, one));
        Assert.Throws<ArgumentException>(() => CpcLoss.InBatch(z1, other));
        Assert.Throws<ArgumentException>(() => Ts2VecLoss.Hierarchical(z1, other));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ts2VecLoss.Hierarchical(z1, z2, alpha: 1.5));
    }
}
