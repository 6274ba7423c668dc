namespace Pretext.Tests.Losses;

/// <summary>Slow double-precision reference implementations of the contrastive and regression losses (plain loops).</summary>
internal static class Reference
{
    public static double[] Unit(float[] v)
    {
        double norm = Math.Sqrt(v.Sum(x => (double)x * x));
        return v.Select(x => x / norm).ToArray();
    }

    public static double Cos(float[] a, float[] b)
    {
        var u = Unit(a); var w = Unit(b);
        double s = 0;
        for (int k = 0; k < u.Length; k++) s += u[k] * w[k];
        return s;
    }

    /// <summary>MoCo eq. 1: mean over i of -log(exp(q_i.k_i/t) / (exp(q_i.k_i/t) + sum_j exp(q_i.n_j/t))).</summary>
    public static double InfoNceWithNegatives(float[][] q, float[][] k, float[][] negatives, double tau)
    {
        double total = 0;
        for (int i = 0; i < q.Length; i++)
        {
            double pos = Cos(q[i], k[i]) / tau;
            double denom = Math.Exp(pos);
            foreach (var n in negatives) denom += Math.Exp(Cos(q[i], n) / tau);
            total += -(pos - Math.Log(denom));
        }
        return total / q.Length;
    }

    /// <summary>Mean over i of -log(exp(q_i.k_i/t) / sum_j exp(q_i.k_j/t)).</summary>
    public static double InfoNceInBatch(float[][] q, float[][] k, double tau)
    {
        double total = 0;
        for (int i = 0; i < q.Length; i++)
        {
            double denom = 0;
            for (int j = 0; j < k.Length; j++) denom += Math.Exp(Cos(q[i], k[j]) / tau);
            total += -(Cos(q[i], k[i]) / tau - Math.Log(denom));
        }
        return total / q.Length;
    }

    /// <summary>Mean cosine similarity of matching rows.</summary>
    public static double MeanCos(float[][] a, float[][] b) => Enumerable.Range(0, a.Length).Sum(i => Cos(a[i], b[i])) / a.Length;

    public static float[][] Random(int n, int d, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    public static TorchSharp.torch.Tensor Tensor(float[][] rows)
    {
        var flat = rows.SelectMany(r => r).ToArray();
        return TorchSharp.torch.tensor(flat, [rows.Length, rows[0].Length]);
    }

    public static float[][] Rows(TorchSharp.torch.Tensor t)
    {
        if (t.shape[0] == 0) return [];
        using var c = t.detach().to(TorchSharp.torch.ScalarType.Float32).contiguous();
        var data = c.data<float>().ToArray();
        int n = (int)t.shape[0], d = (int)t.shape[1];
        return Enumerable.Range(0, n).Select(i => data.AsSpan(i * d, d).ToArray()).ToArray();
    }
}
