using Pretext.Data.Tables;
using Pretext.Evaluation;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class SegmentationTests
{
    public SegmentationTests() => set_num_threads(1);

    /// <summary>The silhouette by its definition, one pair at a time in double precision.</summary>
    private static double SlowSilhouette(double[][] x, int[] c)
    {
        double Dist(int i, int j) => Math.Sqrt(x[i].Zip(x[j], (a, b) => (a - b) * (a - b)).Sum());
        double total = 0;
        for (int i = 0; i < x.Length; i++)
        {
            var own = Enumerable.Range(0, x.Length).Where(j => j != i && c[j] == c[i]).ToList();
            if (own.Count == 0) continue;
            double a = own.Average(j => Dist(i, j));
            double b = c.Distinct().Where(k => k != c[i]).Min(k => Enumerable.Range(0, x.Length).Where(j => c[j] == k).Average(j => Dist(i, j)));
            total += (b - a) / Math.Max(a, b);
        }
        return total / x.Length;
    }

    [Fact]
    public void SilhouetteMatchesItsDefinition()
    {
        var rng = new Random(3);
        var x = Enumerable.Range(0, 37).Select(i => Enumerable.Range(0, 4).Select(_ => rng.NextDouble() + (i % 3)).ToArray()).ToArray();
        int[] c = [.. Enumerable.Range(0, 37).Select(i => i == 36 ? 3 : i % 3)]; // a singleton cluster too
        using var t = tensor(x.SelectMany(r => r).ToArray(), [37, 4]);
        Assert.Equal(SlowSilhouette(x, c), ClusterMetrics.Silhouette(t, c, chunk: 5), 7);
        int[] mixed = [.. Enumerable.Range(0, 37).Select(i => i % 2)];
        Assert.Equal(SlowSilhouette(x, mixed), ClusterMetrics.Silhouette(t, mixed), 7);
        Assert.True(ClusterMetrics.Silhouette(t, c) > ClusterMetrics.Silhouette(t, mixed));
        Assert.Throws<ArgumentException>(() => ClusterMetrics.Silhouette(t, new int[37]));
    }

    [Fact]
    public void AssignPicksTheNearestCentre()
    {
        using var x = tensor(new float[] { 0, 0, 10, 10, 9, 11, 1, -1 }, [4, 2]);
        using var centres = tensor(new double[] { 0, 0, 10, 10 }, [2, 2]);
        var (a, d) = KMeans.Assign(x, centres);
        Assert.Equal([0, 1, 1, 0], a);
        Assert.Equal(Math.Sqrt(2), d[2], 6);
    }

    [Fact]
    public void ProfilesNameTheColumnsThatSetASegmentApart()
    {
        // Segment 1 has large amounts and lives in Oslo; visits are the same everywhere.
        int n = 40;
        var values = new float[n * 2];
        var cats = new string?[n];
        var segments = new int[n];
        for (int i = 0; i < n; i++)
        {
            bool one = i % 4 == 0;
            segments[i] = one ? 1 : 0;
            values[i * 2] = one ? 100 + i % 3 : 10 + i % 3;
            values[i * 2 + 1] = i % 5;
            cats[i] = one ? "Oslo" : i % 2 == 0 ? "Rome" : "Lima";
        }
        var rows = new TableRows("t", ["amount", "visits"], ["city"], [[]], values, cats, null, [], [.. Enumerable.Range(0, n).Select(i => $"r{i}")], null);
        var profiles = SegmentProfiles.Of(rows, segments, top: 2);
        Assert.Equal(2, profiles.Count);
        var p = profiles[1];
        Assert.Equal(10, p.Size);
        Assert.Equal(0.25, p.Share);
        Assert.Equal(["amount", "city"], p.Columns.Select(col => col.Column).OrderBy(s => s, StringComparer.Ordinal));
        var city = p.Columns.Single(col => col.Column == "city");
        Assert.Equal("Oslo (100 %)", city.SegmentValue);
        Assert.Equal("Oslo (25 %)", city.OverallValue);
        Assert.True(p.Columns.Single(col => col.Column == "amount").Difference > 1);
    }
}
