using System.Collections.Concurrent;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Methods.Shared;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Jigsaw's options.</summary>
    public JigsawOptions Jigsaw { get; init; } = new();
}

/// <summary>Options of <see cref="Jigsaw"/>.</summary>
public sealed record JigsawOptions
{
    /// <summary>
    /// Size of the permutation set = number of classes. Noroozi and Favaro use 1000 (section 3.2,
    /// Table 3: more permutations, harder task, better features); 100 suits small images and short runs.
    /// </summary>
    public int Permutations { get; init; } = 100;
    /// <summary>
    /// Tile side in pixels; 0 derives it from the cell side c = S/3 as floor(c * 64/75), the paper's
    /// 64-pixel tiles in 75-pixel cells: 7-pixel tiles in 9-pixel cells for 28x28 images. The gap
    /// between tiles (random per tile) stops the network from matching edges (section 3.1).
    /// </summary>
    public int TileSize { get; init; }
    /// <summary>
    /// Side the tiles are resized to (bilinearly) before the encoder; 0 means the encoder's input size,
    /// which every encoder accepts and keeps batch-norm statistics those of full-size inputs. Smaller
    /// values are faster with encoders that take any size (ResNet).
    /// </summary>
    public int TileInputSize { get; init; }
    /// <summary>Hidden width of the classifier on the 9 concatenated tile features (the paper's fc7 has 4096 for AlexNet).</summary>
    public int HeadHiddenDim { get; init; } = 512;
    /// <summary>Standardise each tile by its own mean and std (section 3.1, against low-level statistics shortcuts).</summary>
    public bool NormalizeTiles { get; init; } = true;
}

/// <summary>
/// A permutation set for the jigsaw puzzle: permutations of the 9 tiles chosen greedily for maximal
/// Hamming distance (Noroozi and Favaro 2016, Algorithm 1 "maximal"): starting from the identity,
/// repeatedly add the permutation whose summed Hamming distance to the permutations already chosen is
/// largest (ties: the lexicographically first). Deterministic, so a checkpoint's set can always be
/// derived again from its size; the set is also stored in the checkpoint as a buffer.
/// </summary>
public static class JigsawPermutations
{
    /// <summary>Tiles per puzzle (3 x 3).</summary>
    public const int Tiles = 9;
    /// <summary>Largest set size accepted (the greedy search costs about 3 ms per permutation).</summary>
    public const int MaxCount = 2000;

    private static readonly ConcurrentDictionary<int, int[][]> Cache = new();

    /// <summary>The first <paramref name="count"/> permutations of the greedy maximal-Hamming-distance set; each is an array of 9 tile indices.</summary>
    /// <exception cref="ArgumentOutOfRangeException">count outside [2, <see cref="MaxCount"/>].</exception>
    public static int[][] MaximalHamming(int count)
    {
        if (count < 2 || count > MaxCount)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"methods.jigsaw.permutations must lie in [2, {MaxCount}].");
        var set = Cache.GetOrAdd(count, Generate);
        return set.Select(p => (int[])p.Clone()).ToArray();
    }

    /// <summary>All 9! permutations in lexicographic order, flattened (9 bytes each).</summary>
    private static byte[] AllPermutations()
    {
        var all = new byte[362_880 * Tiles];
        var p = Enumerable.Range(0, Tiles).Select(i => (byte)i).ToArray();
        int n = 0;
        while (true)
        {
            Array.Copy(p, 0, all, n++ * Tiles, Tiles);
            // Next lexicographic permutation (Narayana Pandita).
            int i = Tiles - 2;
            while (i >= 0 && p[i] >= p[i + 1]) i--;
            if (i < 0) break;
            int j = Tiles - 1;
            while (p[j] <= p[i]) j--;
            (p[i], p[j]) = (p[j], p[i]);
            Array.Reverse(p, i + 1, Tiles - i - 1);
        }
        return all;
    }

    private static int[][] Generate(int count)
    {
        var all = AllPermutations();
        int total = all.Length / Tiles;
        var sum = new int[total];
        var taken = new bool[total];
        var chosen = new List<int> { 0 };   // the identity is first in lexicographic order
        taken[0] = true;
        while (chosen.Count < count)
        {
            int last = chosen[^1] * Tiles;
            int best = -1, bestSum = -1;
            for (int k = 0; k < total; k++)
            {
                int o = k * Tiles, d = 0;
                for (int t = 0; t < Tiles; t++) if (all[o + t] != all[last + t]) d++;
                sum[k] += d;
                if (!taken[k] && sum[k] > bestSum) { bestSum = sum[k]; best = k; }
            }
            taken[best] = true;
            chosen.Add(best);
        }
        return chosen.Select(k => Enumerable.Range(0, Tiles).Select(t => (int)all[k * Tiles + t]).ToArray()).ToArray();
    }
}

/// <summary>
/// Jigsaw puzzles (Noroozi and Favaro 2016, "context-free network"): each image is cut into a 3x3 grid
/// of tiles, the tiles are shuffled by one of a fixed set of permutations, every tile goes through the
/// same encoder, and a classifier on the concatenated tile features predicts which permutation was
/// used. Solving it needs the parts of objects and how they fit together.
/// For 28x28 images the grid covers 27x27 pixels at a random offset, with 9-pixel cells holding a
/// 7-pixel tile at a random position (see <see cref="JigsawOptions.TileSize"/>). Images must be square.
/// </summary>
public sealed class Jigsaw : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly MlpHead classifier;
    private readonly Tensor permutations;
    private readonly long seed;
    private readonly int imageSize, cell, tile, tileInput;

    /// <exception cref="ArgumentException">The encoder's input is not a square image, or the options do not fit it.</exception>
    public Jigsaw(Encoder encoder, JigsawOptions? options = null, long seed = 0) : base(nameof(Jigsaw))
    {
        options ??= new JigsawOptions();
        var shape = encoder.InputShape;
        if (shape.Length != 3 || shape[1] != shape[2])
            throw new ArgumentException($"Jigsaw cuts square images into tiles, but the encoder takes inputs of shape [{string.Join(",", shape)}]; use an image encoder (ResNet, Vit, Mlp over C x S x S).");
        imageSize = (int)shape[1];
        cell = imageSize / 3;
        tile = options.TileSize > 0 ? options.TileSize : Math.Max(1, cell * 64 / 75);
        if (tile > cell) throw new ArgumentException($"methods.jigsaw.tile_size {tile} exceeds the {cell}-pixel cell of a {imageSize}-pixel image; use at most {cell} (0 picks {Math.Max(1, cell * 64 / 75)}).");
        tileInput = options.TileInputSize > 0 ? options.TileInputSize : imageSize;
        if (options.HeadHiddenDim <= 0) throw new ArgumentException($"methods.jigsaw.head_hidden_dim must be positive, got {options.HeadHiddenDim}.");
        this.encoder = encoder;
        this.seed = seed;
        var set = JigsawPermutations.MaximalHamming(options.Permutations);
        permutations = tensor(set.SelectMany(p => p.Select(i => (long)i)).ToArray(), [set.Length, JigsawPermutations.Tiles]).DetachFromDisposeScope();
        classifier = new MlpHead(JigsawPermutations.Tiles * encoder.FeatureDim, [options.HeadHiddenDim], set.Length, name: "PermutationClassifier");
        Options = options;
        RegisterComponents();   // registers the permutation set as a buffer, so checkpoints carry it
    }

    /// <summary>
    /// Jigsaw's defaults on top of a data set's base preset: RotNet's small-image SGD recipe (Nesterov
    /// momentum 0.9, lr 0.1, weight decay 5e-4, batch 128 puzzles = 1152 tiles), because the paper's
    /// Caffe recipe was for an AlexNet without batch norm; a short warmup (0.1 epoch); light
    /// augmentation of the whole image before cutting: random resized crop (scale 0.6-1) and flips.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => RotNet.Preset(cfg);

    public JigsawOptions Options { get; }
    public string Name => "jigsaw";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    /// <summary>Tile side in pixels.</summary>
    public int TileSize => tile;
    /// <summary>Cell side in pixels (S / 3).</summary>
    public int CellSize => cell;
    /// <summary>(P, 9) int64 permutation set; row p lists, for each shuffled position, the original tile placed there.</summary>
    public Tensor Permutations => permutations;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>A batch of puzzles.</summary>
    /// <param name="Tiles">(B, 9, C, T, T) shuffled tiles: position i holds original tile Permutations[label][i] (row-major cells).</param>
    /// <param name="Labels">(B) int64 permutation indices.</param>
    /// <param name="Tops">(B, 9) int64 top row of each original tile.</param>
    /// <param name="Lefts">(B, 9) int64 left column of each original tile.</param>
    public sealed record Puzzle(Tensor Tiles, Tensor Labels, Tensor Tops, Tensor Lefts);

    /// <summary>Cuts and shuffles <paramref name="x"/> (B, C, S, S); every random choice comes from <paramref name="generator"/>.</summary>
    public Puzzle MakePuzzles(Tensor x, Generator generator)
    {
        if (x.dim() != 4 || x.shape[2] != imageSize || x.shape[3] != imageSize)
            throw new ArgumentException($"Jigsaw was set up for {imageSize}x{imageSize} images, got [{string.Join(",", x.shape)}].");
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        const int n = JigsawPermutations.Tiles;
        var gridY = randint(0, imageSize - 3 * cell + 1, [b, 1], generator: generator);
        var gridX = randint(0, imageSize - 3 * cell + 1, [b, 1], generator: generator);
        var jitterY = randint(0, cell - tile + 1, [b, n], generator: generator);
        var jitterX = randint(0, cell - tile + 1, [b, n], generator: generator);
        var labels = randint(0, permutations.shape[0], [b], generator: generator);
        var cellIndex = arange(n, dtype: ScalarType.Int64);
        var tops = gridY.add(cellIndex.div(3, RoundingMode.floor).mul(cell)).add_(jitterY);
        var lefts = gridX.add(cellIndex.remainder(3).mul(cell)).add_(jitterX);
        var device = x.device;
        if (device.type != DeviceType.CPU) { tops = tops.to(device); lefts = lefts.to(device); labels = labels.to(device); }
        var tiles = Shuffle(ExtractTiles(x, tops, lefts, tile), permutations.to(device), labels);
        return new Puzzle(tiles.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), tops.MoveToOuterDisposeScope(), lefts.MoveToOuterDisposeScope());
    }

    /// <summary>Square tiles at the given corners: x (B, C, H, W), tops and lefts (B, n) int64 -> (B, n, C, size, size).</summary>
    public static Tensor ExtractTiles(Tensor x, Tensor tops, Tensor lefts, int size)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], w = x.shape[3], n = tops.shape[1];
        var offsets = arange(size, dtype: ScalarType.Int64, device: x.device);
        var rows = tops.unsqueeze(-1).add(offsets);                                    // (B, n, T)
        var cols = lefts.unsqueeze(-1).add(offsets);                                   // (B, n, T)
        var linear = rows.unsqueeze(-1).mul(w).add(cols.unsqueeze(-2)).view(b, 1, -1); // (B, 1, n*T*T)
        var picked = x.reshape(b, c, -1).gather(2, linear.expand(b, c, linear.shape[2]));
        return picked.view(b, c, n, size, size).permute(0, 2, 1, 3, 4).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Reorders tiles (B, n, ...) so that position i of sample b holds tile permutations[labels[b], i].</summary>
    public static Tensor Shuffle(Tensor tiles, Tensor permutations, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var order = permutations.index_select(0, labels);                             // (B, n)
        var shape = tiles.shape.ToArray();
        var index = order.view([order.shape[0], order.shape[1], .. Enumerable.Repeat(1L, shape.Length - 2)]).expand(shape);
        return tiles.gather(1, index).MoveToOuterDisposeScope();
    }

    /// <summary>Logits (B, P) over the permutation set for shuffled tiles (B, 9, C, T, T), and the per-tile features (B, 9, D).</summary>
    public (Tensor Logits, Tensor TileFeatures) Classify(Tensor tiles)
    {
        using var scope = NewDisposeScope();
        long b = tiles.shape[0], n = tiles.shape[1];
        var flat = tiles.flatten(0, 1);                                                // (B*9, C, T, T)
        if (Options.NormalizeTiles)
        {
            var mean = flat.mean([1L, 2L, 3L], keepdim: true);
            // var + 0.01 keeps near-blank tiles (image background) from blowing noise up to unit variance.
            var variance = flat.var([1L, 2L, 3L], unbiased: false, keepdim: true);
            flat = flat.sub(mean).div_(variance.add_(0.01).sqrt_());
        }
        if (flat.shape[2] != tileInput)
            flat = nn.functional.interpolate(flat, [tileInput, tileInput], mode: InterpolationMode.Bilinear, align_corners: false);
        var features = encoder.forward(flat).view(b, n, -1);
        var logits = classifier.forward(features.flatten(1));
        return (logits.MoveToOuterDisposeScope(), features.MoveToOuterDisposeScope());
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"Jigsaw takes 1 view per sample, got {batch.Views.Count}.");
        using var g = StepRandom.For(seed, progress);
        var puzzle = MakePuzzles(batch.Views[0], g);
        var (logits, features) = Classify(puzzle.Tiles);
        return new StepOutput(nn.functional.cross_entropy(logits, puzzle.Labels), features.mean([1L]));
    }
}
