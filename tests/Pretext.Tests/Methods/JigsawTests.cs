using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class JigsawTests
{
    public JigsawTests() => set_num_threads(1);

    private static int Hamming(int[] a, int[] b) => a.Zip(b).Count(p => p.First != p.Second);

    /// <summary>All permutations of 0..8 in lexicographic order, by depth-first recursion (a different route than the library's next-permutation loop).</summary>
    private static List<int[]> Lexicographic()
    {
        var result = new List<int[]>(362_880);
        var current = new int[9];
        var used = new bool[9];
        void Fill(int depth)
        {
            if (depth == 9) { result.Add((int[])current.Clone()); return; }
            for (int v = 0; v < 9; v++)
            {
                if (used[v]) continue;
                used[v] = true; current[depth] = v;
                Fill(depth + 1);
                used[v] = false;
            }
        }
        Fill(0);
        return result;
    }

    [Fact]
    public void PermutationSetIsTheGreedyMaximalHammingSetOfTheSlowReference()
    {
        // Slow reference: Algorithm 1 of Noroozi and Favaro, recomputing every candidate's summed
        // distance to the chosen set from scratch, first candidate in lexicographic order on ties.
        var all = Lexicographic();
        Assert.Equal(362_880, all.Count);
        var chosen = new List<int> { 0 };
        while (chosen.Count < 5)
        {
            int best = -1; long bestSum = -1;
            for (int k = 0; k < all.Count; k++)
            {
                if (chosen.Contains(k)) continue;
                long sum = 0;
                foreach (var c in chosen)
                    for (int t = 0; t < 9; t++)
                        if (all[c][t] != all[k][t]) sum++;
                if (sum > bestSum) { bestSum = sum; best = k; }
            }
            chosen.Add(best);
        }
        var set = JigsawPermutations.MaximalHamming(5);
        Assert.Equal(chosen.Select(k => all[k]).ToArray(), set);
    }

    [Fact]
    public void PermutationSetIsDeterministicDistinctAndFarApart()
    {
        var a = JigsawPermutations.MaximalHamming(100);
        var b = JigsawPermutations.MaximalHamming(100);
        Assert.Equal(a, b);
        Assert.Equal(Enumerable.Range(0, 9).ToArray(), a[0]);
        Assert.All(a, p => Assert.Equal(Enumerable.Range(0, 9), p.OrderBy(v => v)));
        Assert.Equal(100, a.Select(p => string.Join(",", p)).Distinct().Count());
        double total = 0; int pairs = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = i + 1; j < a.Length; j++) { total += Hamming(a[i], a[j]); pairs++; }
        // Random permutations of 9 tiles average a Hamming distance of 9 * 8/9 = 8 (one fixed point on
        // average); the greedy maximal set lies above that (8.08 here), the paper's "average" and
        // "minimal" selections far below (Table 1).
        Assert.True(total / pairs > 8.05, $"average pairwise Hamming distance {total / pairs}");
        // A prefix of a larger set is the smaller set (the greedy choice does not depend on the target size).
        Assert.Equal(a.Take(10).ToArray(), JigsawPermutations.MaximalHamming(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => JigsawPermutations.MaximalHamming(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => JigsawPermutations.MaximalHamming(JigsawPermutations.MaxCount + 1));
    }

    [Fact]
    public void ExtractTilesMatchesLoops()
    {
        using var x = randn(2, 3, 10, 12);
        using var tops = tensor(new long[] { 0, 3, 6, 1, 2, 5 }, [2, 3]);
        using var lefts = tensor(new long[] { 0, 8, 4, 9, 1, 0 }, [2, 3]);
        using var tiles = Jigsaw.ExtractTiles(x, tops, lefts, 3);
        Assert.Equal(new long[] { 2, 3, 3, 3, 3 }, tiles.shape);
        var xs = x.data<float>().ToArray(); var ts = tiles.data<float>().ToArray();
        var t = tops.data<long>().ToArray(); var l = lefts.data<long>().ToArray();
        for (int b = 0; b < 2; b++)
            for (int n = 0; n < 3; n++)
                for (int c = 0; c < 3; c++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++)
                            Assert.Equal(xs[((b * 3 + c) * 10 + t[b * 3 + n] + i) * 12 + l[b * 3 + n] + j], ts[(((b * 3 + n) * 3 + c) * 3 + i) * 3 + j]);
    }

    private static Jigsaw TinyJigsaw(JigsawOptions? options = null)
    {
        manual_seed(4);
        var encoder = new ResNet(new ResNetOptions { Widths = [8, 16], Blocks = [1, 1] });
        return new Jigsaw(encoder, options ?? new JigsawOptions { Permutations = 24, HeadHiddenDim = 32 }, seed: 3);
    }

    [Fact]
    public void PuzzleLabelsNameThePermutationThatShuffledTheTiles()
    {
        using var jigsaw = TinyJigsaw();
        Assert.Equal(9, jigsaw.CellSize);
        Assert.Equal(7, jigsaw.TileSize);   // floor(9 * 64 / 75)
        // Each 9x9 cell of the 27x27 grid holds its own index; the 28th row and column hold -1.
        const int b = 16;
        var pixels = new float[b * 28 * 28];
        for (int n = 0; n < b; n++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    pixels[n * 784 + y * 28 + x] = -1;
        using var scope = NewDisposeScope();
        using var g = new Generator(21);
        // Where each tile lands depends on the grid offset; fill cells relative to it after drawing.
        var probe = zeros(b, 1, 28, 28);
        var puzzle = jigsaw.MakePuzzles(probe, g);
        var tops = puzzle.Tops.data<long>().ToArray(); var lefts = puzzle.Lefts.data<long>().ToArray();
        for (int n = 0; n < b; n++)
            for (int cell = 0; cell < 9; cell++)
            {
                long top = tops[n * 9 + cell], left = lefts[n * 9 + cell];
                // The tile lies inside its own cell: grid offset (0 or 1) plus jitter (0 to 9 - 7).
                Assert.InRange(top - cell / 3 * 9, 0, 3);
                Assert.InRange(left - cell % 3 * 9, 0, 3);
                for (int i = 0; i < 7; i++)
                    for (int j = 0; j < 7; j++)
                        pixels[n * 784 + (top + i) * 28 + left + j] = cell;
            }
        var image = tensor(pixels, [b, 1, 28, 28]);
        using var g2 = new Generator(21);
        var shuffled = jigsaw.MakePuzzles(image, g2);
        Assert.True(TestData.Same(puzzle.Labels, shuffled.Labels));
        var perms = jigsaw.Permutations.data<long>().ToArray();
        var labels = shuffled.Labels.data<long>().ToArray();
        var tiles = shuffled.Tiles.data<float>().ToArray();
        for (int n = 0; n < b; n++)
        {
            Assert.InRange(labels[n], 0, 23);
            for (int pos = 0; pos < 9; pos++)
                for (int k = 0; k < 49; k++)
                    Assert.Equal(perms[labels[n] * 9 + pos], tiles[(n * 9 + pos) * 49 + k]);
        }
    }

    [Fact]
    public void SameSeedSamePuzzles()
    {
        using var jigsaw = TinyJigsaw();
        using var scope = NewDisposeScope();
        var x = randn(4, 1, 28, 28);
        using var g1 = new Generator(9); using var g2 = new Generator(9); using var g3 = new Generator(10);
        var a = jigsaw.MakePuzzles(x, g1); var b = jigsaw.MakePuzzles(x, g2); var c = jigsaw.MakePuzzles(x, g3);
        Assert.True(TestData.Same(a.Tiles, b.Tiles));
        Assert.True(TestData.Same(a.Labels, b.Labels));
        Assert.False(TestData.Same(a.Tiles, c.Tiles));
    }

    [Fact]
    public void EveryEncoderGetsTilesAtItsInputSize()
    {
        using var scope = NewDisposeScope();
        var mlp = new MlpEncoder(new MlpOptions { InputShape = [1, 28, 28], Hidden = [32] });
        using var jigsaw = new Jigsaw(mlp, new JigsawOptions { Permutations = 10, HeadHiddenDim = 16 });
        var x = randn(4, 1, 28, 28);
        var o = jigsaw.ComputeLoss(new Batch([x], []), new TrainingProgress(0, 1));
        Assert.Equal(new long[] { 4, 32 }, o.Embedding.shape);
        Assert.InRange(o.Loss.item<float>(), 0.5 * Math.Log(10), 2 * Math.Log(10));
        var vit = new VisionTransformer(new VitOptions { PatchSize = 7, Dim = 8, Depth = 1, Heads = 2 });
        using var onVit = new Jigsaw(vit, new JigsawOptions { Permutations = 10, HeadHiddenDim = 16 });
        Assert.True(double.IsFinite(onVit.ComputeLoss(new Batch([x], []), new TrainingProgress(0, 1)).Loss.item<float>()));
    }

    [Fact]
    public void BadOptionsNameTheSetting()
    {
        var encoder = new ResNet(new ResNetOptions { Widths = [8], Blocks = [1] });
        var e = Assert.Throws<ArgumentException>(() => new Jigsaw(encoder, new JigsawOptions { TileSize = 10 }));
        Assert.Contains("methods.jigsaw.tile_size", e.Message);
        var flat = new MlpEncoder(new MlpOptions { InputShape = [784], Hidden = [8] });
        Assert.Throws<ArgumentException>(() => new Jigsaw(flat));
    }

    [Fact]
    public void TheCheckpointCarriesThePermutationSet()
    {
        using var jigsaw = TinyJigsaw();
        var state = jigsaw.state_dict();
        Assert.True(state.ContainsKey("permutations"));
        Assert.Equal(new long[] { 24, 9 }, state["permutations"].shape);
    }
}
