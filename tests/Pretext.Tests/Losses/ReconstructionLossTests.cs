using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class ReconstructionLossTests
{
    public ReconstructionLossTests() => set_num_threads(1);

    private static float[] Random(int n, Random rng) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();

    /// <summary>Slow reference: sum of squared errors over masked elements / number of masked elements, per sample and over the batch.</summary>
    private static (double All, double[] PerSample) Reference(float[] p, float[] t, float[] m, int b, int n, int v, bool maskPerRow)
    {
        double total = 0, count = 0;
        var per = new double[b];
        for (int i = 0; i < b; i++)
        {
            double s = 0, c = 0;
            for (int j = 0; j < n; j++)
                for (int k = 0; k < v; k++)
                {
                    double w = maskPerRow ? m[i * n + j] : m[(i * n + j) * v + k];
                    double e = p[(i * n + j) * v + k] - t[(i * n + j) * v + k];
                    s += w * e * e; c += w;
                }
            per[i] = c > 0 ? s / c : 0;
            total += s; count += c;
        }
        return (total / Math.Max(count, 1), per);
    }

    [Theory]
    [InlineData(3, 16, 12, true)]
    [InlineData(2, 49, 16, true)]
    [InlineData(4, 5, 7, false)]
    public void MaskedMseMatchesSlowReference(int b, int n, int v, bool maskPerRow)
    {
        var rng = new Random(b * 100 + n);
        var p = Random(b * n * v, rng); var t = Random(b * n * v, rng);
        var m = Enumerable.Range(0, maskPerRow ? b * n : b * n * v).Select(_ => rng.NextDouble() < 0.6 ? 1f : 0f).ToArray();
        using var tp = tensor(p, [b, n, v]); using var tt = tensor(t, [b, n, v]);
        using var tm = maskPerRow ? tensor(m, [b, n, 1]) : tensor(m, [b, n, v]);
        var (all, per) = Reference(p, t, m, b, n, v, maskPerRow);
        using var loss = ReconstructionLoss.MaskedMse(tp, tt, tm);
        Assert.Equal(0, loss.dim());
        Assert.Equal(all, loss.item<float>(), 4);
        using var perSample = ReconstructionLoss.MaskedMsePerSample(tp, tt, tm);
        var ps = perSample.data<float>().ToArray();
        for (int i = 0; i < b; i++) Assert.Equal(per[i], ps[i], 4);
    }

    [Fact]
    public void PixelMasksBroadcastOverChannels()
    {
        using var p = ones(2, 3, 4, 4); using var t = zeros(2, 3, 4, 4);
        using var m = zeros(2, 1, 4, 4);
        m[0, 0, 0, 0] = tensor(1f);
        using var loss = ReconstructionLoss.MaskedMse(p, t, m);
        Assert.Equal(1.0, loss.item<float>(), 6);
        using var per = ReconstructionLoss.MaskedMsePerSample(p, t, m);
        Assert.Equal(new[] { 1f, 0f }, per.data<float>().ToArray());
        using var none = ReconstructionLoss.MaskedMse(p, t, zeros(2, 1, 4, 4));
        Assert.Equal(0, none.item<float>());
    }

    [Fact]
    public void NormalizePatchesMatchesSlowReference()
    {
        var rng = new Random(7);
        const int rows = 6, v = 9;
        var x = Random(rows * v, rng);
        using var t = tensor(x, [2, 3, v]);
        using var y = ReconstructionLoss.NormalizePatches(t);
        var ys = y.data<float>().ToArray();
        for (int r = 0; r < rows; r++)
        {
            var row = x.Skip(r * v).Take(v).Select(f => (double)f).ToArray();
            double mean = row.Average();
            double var = row.Sum(a => (a - mean) * (a - mean)) / (v - 1);   // unbiased, as MAE's reference code
            for (int k = 0; k < v; k++) Assert.Equal((row[k] - mean) / Math.Sqrt(var + 1e-6), ys[r * v + k], 4);
        }
    }

    [Fact]
    public void RejectsShapesThatDoNotFit()
    {
        using var a = zeros(2, 3, 4); using var b = zeros(2, 3, 5);
        Assert.Throws<ArgumentException>(() => ReconstructionLoss.MaskedMse(a, b, ones(2, 3, 1)));
        Assert.Throws<ArgumentException>(() => ReconstructionLoss.MaskedMse(a, a, ones(2, 3)));
        Assert.Throws<ArgumentException>(() => ReconstructionLoss.MaskedMse(a, a, ones(2, 2, 1)));
        Assert.Throws<ArgumentException>(() => ReconstructionLoss.NormalizePatches(zeros(3, 1)));
    }

    [Fact]
    public void GradientFlowsOnlyThroughMaskedElements()
    {
        using var p = randn(2, 4, 3).requires_grad_();
        using var t = randn(2, 4, 3);
        using var m = tensor(new float[] { 1, 0, 0, 1, 0, 1, 0, 0 }, [2, 4, 1]);
        ReconstructionLoss.MaskedMse(p, t, m).backward();
        var g = p.grad!.abs().sum(2).data<float>().ToArray();
        var mask = m.data<float>().ToArray();
        for (int i = 0; i < 8; i++) Assert.Equal(mask[i] > 0, g[i] > 0);
    }
}
