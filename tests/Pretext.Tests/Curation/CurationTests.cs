using Pretext.Curation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Curation;

public class CurationTests
{
    public CurationTests() => set_num_threads(1);

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static float[][] RandomRows(int n, int d, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => (float)Normal(rng)).ToArray()).ToArray();
    }

    private static Tensor ToTensor(float[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    private static float[] Jitter(float[] row, double scale, Random rng) => row.Select(v => (float)(v + scale * Normal(rng))).ToArray();

    private static double[] Unit(float[] row)
    {
        double norm = Math.Sqrt(row.Sum(v => (double)v * v));
        return row.Select(v => v / norm).ToArray();
    }

    private static double Distance(float[] a, float[] b) => Math.Sqrt(Unit(a).Zip(Unit(b), (x, y) => (x - y) * (x - y)).Sum());

    [Fact]
    public void PlantedDuplicatesAreFoundWhateverTheBlockSize()
    {
        var rows = RandomRows(300, 32, 1);
        var rng = new Random(2);
        rows[100] = (float[])rows[5].Clone();          // an exact copy
        rows[200] = Jitter(rows[7], 0.02, rng);         // a near copy
        rows[20] = Jitter(rows[10], 0.02, rng);         // a chain of three
        rows[30] = Jitter(rows[20], 0.02, rng);
        rows[250] = rows[42].Select(v => 3 * v).ToArray(); // the same direction, another length: cosine 1
        using var z = ToTensor(rows);

        foreach (int block in new[] { 7, 64, 1024 })
        {
            var r = Curator.Run(z, new CurationOptions { Select = 0, Outliers = 0, BlockSize = block });
            var groups = r.Duplicates.Select(g => g.Members).ToList();
            Assert.Equal(4, groups.Count);
            Assert.Equal([10L, 20, 30], groups[0]);      // largest group first
            Assert.Contains([5L, 100], groups);
            Assert.Contains([7L, 200], groups);
            Assert.Contains([42L, 250], groups);
            Assert.All(r.Duplicates, g => Assert.Equal(1, g.SimilarityToFirst[0]));
            Assert.All(r.Duplicates, g => Assert.All(g.SimilarityToFirst, s => Assert.True(s > 0.95)));
        }
        // A threshold of 1 still finds exact copies; one above every random pair finds nothing else.
        var exact = Curator.Run(z, new CurationOptions { Select = 0, Outliers = 0, DuplicateThreshold = 0.99999 });
        Assert.Contains(exact.Duplicates, g => g.Members.SequenceEqual([5L, 100]));
        Assert.DoesNotContain(exact.Duplicates, g => g.Members.Contains(200));
    }

    [Fact]
    public void PlantedOutliersRankFirstAndScoresMatchBruteForce()
    {
        // Three tight clusters around random centres, plus four points off on their own.
        var rng = new Random(3);
        var centres = RandomRows(3, 16, 4);
        var rows = Enumerable.Range(0, 240).Select(i => Jitter(centres[i % 3], 0.15, rng)).ToList();
        var planted = new[] { 17L, 88, 150, 231 };
        foreach (var i in planted) rows[(int)i] = RandomRows(1, 16, 100 + (int)i)[0];
        using var z = ToTensor(rows.ToArray());

        var r = Curator.Run(z, new CurationOptions { Select = 0, Outliers = 4, OutlierNeighbours = 5, BlockSize = 50 });
        Assert.Equal(planted, r.Outliers.Select(o => o.Index).Order().ToArray());
        Assert.Equal([1, 2, 3, 4], r.Outliers.Select(o => o.Rank));
        Assert.True(r.Outliers.Zip(r.Outliers.Skip(1)).All(p => p.First.MeanNeighbourDistance >= p.Second.MeanNeighbourDistance));

        // The score is the mean distance to the 5 nearest others, by plain loops.
        var search = NeighbourSearch.Run(z, 0.95, 5, blockSize: 33);
        foreach (int i in new[] { 0, 17, 100, 231 })
        {
            var nearest = Enumerable.Range(0, rows.Count).Where(j => j != i).Select(j => Distance(rows[i], rows[j])).Order().Take(5).Average();
            Assert.Equal(nearest, search.MeanNeighbourDistance[i], 5);
        }
    }

    /// <summary>Greedy k-center by plain loops in double precision.</summary>
    private static long[] KCenterReference(float[][] rows, int k, long first)
    {
        var picks = new List<long> { first };
        var nearest = rows.Select(r => Distance(r, rows[first])).ToArray();
        nearest[first] = -1;
        while (picks.Count < k)
        {
            long next = Array.IndexOf(nearest, nearest.Max());
            picks.Add(next);
            for (int j = 0; j < rows.Length; j++) nearest[j] = Math.Min(nearest[j], Distance(rows[j], rows[next]));
            nearest[next] = -1;
        }
        return picks.ToArray();
    }

    [Fact]
    public void KCenterGreedyCoversFarClustersFirst()
    {
        // One crowded cluster and four tiny ones, each around its own axis of a 16-d space (far apart on the sphere).
        var rng = new Random(5);
        float[] Axis(int a) => Enumerable.Range(0, 16).Select(j => j == a ? 1f : 0f).ToArray();
        var rows = new List<float[]>();
        var cluster = new List<int>();
        for (int i = 0; i < 400; i++) { rows.Add(Jitter(Axis(0), 0.1, rng)); cluster.Add(0); }
        for (int c = 1; c <= 4; c++)
            for (int i = 0; i < 5; i++) { rows.Add(Jitter(Axis(c), 0.1, rng)); cluster.Add(c); }
        using var z = ToTensor(rows.ToArray());

        foreach (int seed in new[] { 0, 1, 2 })
        {
            var picks = KCenterGreedy.Select(z, 5, seed);
            Assert.Equal(5, picks.Select(p => cluster[(int)p.Index]).Distinct().Count());
            Assert.True(double.IsNaN(picks[0].Distance));
            // Each pick is no farther than the one before: the covering radius shrinks.
            Assert.True(picks.Skip(1).Zip(picks.Skip(2)).All(p => p.First.Distance >= p.Second.Distance - 1e-6));
            var reference = KCenterReference(rows.ToArray(), 12, picks[0].Index);
            Assert.Equal(reference, KCenterGreedy.Select(z, 12, seed).Select(p => p.Index));
        }
        Assert.Equal(KCenterGreedy.Select(z, 8, 7).Select(p => p.Index), KCenterGreedy.Select(z, 8, 7).Select(p => p.Index));
        Assert.Throws<ArgumentOutOfRangeException>(() => KCenterGreedy.Select(z, 421, 0));
    }

    [Fact]
    public void CsvHasOneRowPerFindingWithNamedColumns()
    {
        var rows = RandomRows(40, 8, 6);
        rows[39] = (float[])rows[3].Clone();
        using var z = ToTensor(rows);
        var result = Curator.Run(z, new CurationOptions { Select = 6, Outliers = 3, OutlierNeighbours = 4, Strategy = SelectionStrategy.KCenter });
        using var dir = new TempDirectory();
        var path = dir.File("out/curation.csv");
        var labels = Enumerable.Range(0, 40).Select(i => i % 2).ToArray();
        Curator.WriteCsv(path, result, i => i == 3 ? "cats/a, b.png" : $"img{i}.png", labels, ["cat", "dog"]);

        Assert.Equal("kind,rank,index,sample,label,group,score", File.ReadLines(path).First());
        var back = Curator.ReadCsv(path);
        Assert.Equal(6 + 3 + 2, back.Count);
        Assert.Equal([1, 2, 3, 4, 5, 6], back.Where(r => r.Kind == "select").Select(r => r.Rank));
        Assert.Equal(result.Selection.Select(p => p.Index), back.Where(r => r.Kind == "select").Select(r => r.Index));
        Assert.True(double.IsNaN(back[0].Score), "the seeded first pick has no distance");
        Assert.Equal(3, back.Count(r => r.Kind == "outlier"));
        var dup = back.Where(r => r.Kind == "duplicate").ToList();
        Assert.Equal([3L, 39], dup.Select(r => r.Index));
        Assert.Equal("cats/a, b.png", dup[0].Sample);     // quoted in the file, whole again when read
        Assert.Equal("dog", dup[0].Label);
        Assert.All(dup, r => Assert.Equal(1, r.Group));
        Assert.Equal(1.0, dup[1].Score, 6);

        var bad = dir.File("bad.csv");
        File.WriteAllText(bad, "a,b\n1,2\n");
        Assert.Contains(bad, Assert.Throws<InvalidDataException>(() => Curator.ReadCsv(bad)).Message);
    }

    [Fact]
    public void OptionsOutOfRangeNameTheCliOption()
    {
        using var z = ToTensor(RandomRows(10, 4, 7));
        Assert.Contains("--select", Assert.Throws<ArgumentException>(() => Curator.Run(z, new CurationOptions { Select = 11 })).Message);
        Assert.Contains("--dup-threshold", Assert.Throws<ArgumentException>(() => Curator.Run(z, new CurationOptions { DuplicateThreshold = 1.5 })).Message);
        Assert.Contains("--outliers", Assert.Throws<ArgumentException>(() => Curator.Run(z, new CurationOptions { Select = 2, Outliers = -1 })).Message);
        // k larger than the data is capped at N - 1 rather than refused.
        var r = Curator.Run(z, new CurationOptions { Select = 2, Outliers = 2, OutlierNeighbours = 50 });
        Assert.Equal(2, r.Outliers.Count);
    }
}
