using Pretext.Losses;
using Pretext.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class SkipGramLossTests
{
    public SkipGramLossTests() => set_num_threads(1);

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Slow reference of eq. 4 of Mikolov et al. 2013, negated and averaged over pairs, in double precision.</summary>
    private static double Reference(float[,] v, float[,] u, float[,,] neg)
    {
        int p = v.GetLength(0), d = v.GetLength(1), k = neg.GetLength(1);
        double total = 0;
        for (int i = 0; i < p; i++)
        {
            double dot = 0;
            for (int j = 0; j < d; j++) dot += v[i, j] * (double)u[i, j];
            double l = -Math.Log(Sigmoid(dot));
            for (int n = 0; n < k; n++)
            {
                double dn = 0;
                for (int j = 0; j < d; j++) dn += v[i, j] * (double)neg[i, n, j];
                l -= Math.Log(Sigmoid(-dn));
            }
            total += l;
        }
        return total / p;
    }

    [Theory]
    [InlineData(1, 3, 1)]
    [InlineData(7, 5, 4)]
    [InlineData(20, 16, 10)]
    public void MatchesSlowReference(int p, int d, int k)
    {
        var rng = new Random(p + 10 * d + 100 * k);
        float R() => (float)(rng.NextDouble() * 2 - 1);
        var v = new float[p, d]; var u = new float[p, d]; var neg = new float[p, k, d];
        for (int i = 0; i < p; i++) for (int j = 0; j < d; j++) { v[i, j] = R(); u[i, j] = R(); for (int n = 0; n < k; n++) neg[i, n, j] = R(); }
        using var tv = tensor(v); using var tu = tensor(u); using var tn = tensor(neg);
        using var loss = SkipGramLoss.Compute(tv, tu, tn);
        Assert.Equal(Reference(v, u, neg), loss.item<float>(), 4);
    }

    [Fact]
    public void RejectsMismatchedShapesAndNoPairs()
    {
        using var a = randn(3, 4); using var b = randn(3, 5); using var n = randn(3, 2, 4); using var none = randn(0, 4); using var noneN = randn(0, 2, 4);
        Assert.Throws<ArgumentException>(() => SkipGramLoss.Compute(a, b, n));
        Assert.Throws<ArgumentException>(() => SkipGramLoss.Compute(none, none, noneN));
    }

    /// <summary>Slow reference of the pairs: drop unkept tokens, then pair each kept token with those within its window.</summary>
    private static List<(long, long)> ReferencePairs(long[,] ids, bool[,] keep, long[,] windows)
    {
        var pairs = new List<(long, long)>();
        for (int r = 0; r < ids.GetLength(0); r++)
        {
            var kept = Enumerable.Range(0, ids.GetLength(1)).Where(j => keep[r, j]).Select(j => ids[r, j]).ToList();
            for (int i = 0; i < kept.Count; i++)
                for (int j = Math.Max(0, i - (int)windows[r, i]); j <= Math.Min(kept.Count - 1, i + (int)windows[r, i]); j++)
                    if (j != i) pairs.Add((kept[i], kept[j]));
        }
        return pairs.Order().ToList();
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(5, 5)]
    public void PairsMatchSlowReference(int seed, int maxWindow)
    {
        var rng = new Random(seed);
        int b = 4, l = 12;
        var ids = new long[b, l]; var keep = new bool[b, l]; var win = new long[b, l];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < l; j++) { ids[i, j] = rng.Next(5, 40); keep[i, j] = rng.NextDouble() < 0.7; win[i, j] = rng.Next(1, maxWindow + 1); }
        using var tIds = tensor(ids); using var tKeep = tensor(keep); using var tWin = tensor(win);
        var (c, o) = SkipGramPairs.Make(tIds, tKeep, tWin, maxWindow);
        var got = c.data<long>().Zip(o.data<long>().ToArray()).Select(p => (p.First, p.Second)).Order().ToList();
        c.Dispose(); o.Dispose();
        Assert.Equal(ReferencePairs(ids, keep, win), got);
    }

    [Fact]
    public void KeepProbabilityIsTheSquareRootRule()
    {
        using var counts = tensor(new long[] { 0, 1000, 10, 1, 0 });
        using var p = Word2Vec.KeepProbabilities(counts, 1e-3);
        var got = p.data<float>().ToArray();
        double total = 1011;
        Assert.Equal(Math.Sqrt(1e-3 / (1000 / total)), got[1], 5);
        Assert.Equal(Math.Min(1, Math.Sqrt(1e-3 / (10 / total))), got[2], 5);
        Assert.Equal(1f, got[0]);
    }
}
