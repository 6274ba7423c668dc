namespace Pretext.Tests.Losses;

/// <summary>Plain-loop double-precision helpers for the slow reference implementations of the losses.</summary>
internal static class ReferenceMath
{
    public static float[,] Random(int n, int d, int seed, double scale = 1)
    {
        var rng = new Random(seed);
        var a = new float[n, d];
        for (int i = 0; i < n; i++) for (int k = 0; k < d; k++) a[i, k] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    /// <summary>Column means of an (N, D) matrix.</summary>
    public static double[] ColumnMeans(float[,] z)
    {
        int n = z.GetLength(0), d = z.GetLength(1);
        var m = new double[d];
        for (int k = 0; k < d; k++) { for (int i = 0; i < n; i++) m[k] += z[i, k]; m[k] /= n; }
        return m;
    }

    /// <summary>log softmax of row <paramref name="row"/> of <paramref name="x"/> divided by <paramref name="temperature"/>.</summary>
    public static double[] LogSoftmax(float[,] x, int row, double temperature, double[]? shift = null)
    {
        int k = x.GetLength(1);
        var v = new double[k];
        for (int j = 0; j < k; j++) v[j] = (x[row, j] - (shift?[j] ?? 0)) / temperature;
        double max = v.Max();
        double lse = max + Math.Log(v.Sum(t => Math.Exp(t - max)));
        return v.Select(t => t - lse).ToArray();
    }

    /// <summary>Asserts |expected - actual| &lt;= abs + rel * |expected| (fp32 results against double references).</summary>
    public static void Near(double expected, double actual, double rel = 2e-5, double abs = 2e-6) =>
        Assert.True(Math.Abs(expected - actual) <= abs + rel * Math.Abs(expected), $"expected {expected:R}, got {actual:R}");
}
