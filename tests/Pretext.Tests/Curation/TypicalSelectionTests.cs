using Pretext.Curation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Curation;

public class TypicalSelectionTests
{
    /// <summary>Blobs of different sizes around far-apart directions, plus a few stray points.</summary>
    private static (Tensor X, int[] Blob, Tensor Centres) Blobs()
    {
        using var g = new Generator(3);
        var centres = nn.functional.normalize(randn(4, 8, generator: g), dim: 1).mul(10);
        var sizes = new[] { 80, 40, 20, 10 };
        var rows = new List<Tensor>();
        var blob = new List<int>();
        for (int c = 0; c < 4; c++)
        {
            rows.Add(centres[c].unsqueeze(0).add(randn(sizes[c], 8, generator: g).mul(0.3)));
            blob.AddRange(Enumerable.Repeat(c, sizes[c]));
        }
        return (cat(rows, 0), blob.ToArray(), centres);
    }

    [Fact]
    public void PicksOneTypicalSamplePerClusterLargestFirst()
    {
        torch.set_num_threads(1);
        var (x, blob, _) = Blobs();
        var picks = TypicalSelection.Select(x, 4, seed: 0);
        Assert.Equal(4, picks.Count);
        Assert.Equal([0, 1, 2, 3], picks.Select(p => blob[p.Index]).ToArray()); // one per blob, largest blob first
        Assert.Equal([1, 2, 3, 4], picks.Select(p => p.Rank).ToArray());
        // Each pick is the member nearest its blob's mean direction among the unit vectors (a slow check).
        var z = nn.functional.normalize(x, dim: 1);
        foreach (var p in picks)
        {
            var members = Enumerable.Range(0, blob.Length).Where(i => blob[i] == blob[p.Index]).ToArray();
            var mean = z.index_select(0, tensor(members.Select(i => (long)i).ToArray())).mean([0L]);
            long nearest = members.OrderBy(i => z[i].sub(mean).norm().item<float>()).First();
            Assert.Equal(nearest, p.Index);
        }
    }

    [Fact]
    public void SelectionIsSeededDistinctAndChecked()
    {
        torch.set_num_threads(1);
        var (x, _, _) = Blobs();
        var a = TypicalSelection.Select(x, 12, seed: 5).Select(p => p.Index).ToArray();
        var b = TypicalSelection.Select(x, 12, seed: 5).Select(p => p.Index).ToArray();
        Assert.Equal(a, b);
        Assert.Equal(12, a.Distinct().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => TypicalSelection.Select(x, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TypicalSelection.Select(x, 1000, 0));
    }
}
