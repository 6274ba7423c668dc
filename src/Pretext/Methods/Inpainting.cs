using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Methods.Shared;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Context encoder (inpainting) options.</summary>
    public InpaintingOptions Inpainting { get; init; } = new();
}

/// <summary>Where the context encoder's hole goes.</summary>
public enum InpaintingHole
{
    /// <summary>A square in the centre of every image (Pathak et al. 2016, "central region").</summary>
    Central,
    /// <summary>A square at a uniformly random position per image; the paper's random masks give better features because the network cannot latch onto one fixed boundary (section 3.3).</summary>
    RandomSquare,
}

/// <summary>Options of <see cref="Inpainting"/>.</summary>
public sealed record InpaintingOptions
{
    /// <summary>Hole placement.</summary>
    public InpaintingHole Hole { get; init; } = InpaintingHole.RandomSquare;
    /// <summary>Hole side as a fraction of the image side: 0.5 (a quarter of the area) as the paper's 64x64 hole in 128x128 images; 14 pixels on 28x28.</summary>
    public double HoleFraction { get; init; } = 0.5;
    /// <summary>Channels of the decoder's first 7x7 map.</summary>
    public int DecoderWidth { get; init; } = 64;
}

/// <summary>
/// Context encoder (Pathak, Krähenbühl, Donahue, Darrell, Efros 2016): a square region of each image
/// is dropped (filled with 0, the data set's mean after normalisation, as the paper fills the mean
/// pixel), the encoder sees the rest, and the shared convolutional decoder must paint the region back;
/// the loss is the squared error on the dropped region only (the paper's masked L2 reconstruction loss).
/// Not included: the paper's adversarial loss (it sharpens inpaintings, not features; section 5.2 uses
/// the reconstruction loss for feature learning) and its 10x weight on a 7-pixel overlap band.
/// </summary>
public sealed class Inpainting : CorruptionAutoencoder
{
    private readonly int side;

    /// <exception cref="ArgumentException">The hole fraction is outside (0, 1) or the encoder does not take square images.</exception>
    public Inpainting(Encoder encoder, InpaintingOptions? options = null, ComputeOptions? compute = null, long seed = 0)
        : base(nameof(Inpainting), encoder, (options ?? new()).DecoderWidth, compute ?? ComputeOptions.Default, seed)
    {
        options ??= new InpaintingOptions();
        if (!(options.HoleFraction > 0 && options.HoleFraction < 1))
            throw new ArgumentException($"methods.inpainting.hole_fraction must lie strictly between 0 and 1, got {options.HoleFraction}.");
        side = Math.Clamp((int)Math.Round(options.HoleFraction * ImageSize, MidpointRounding.AwayFromZero), 1, ImageSize - 1);
        Options = options;
        RegisterComponents();
    }

    /// <summary>
    /// Context-encoder defaults on top of a data set's base preset: Adam with lr 2e-4 and beta1 0.5, no
    /// weight decay, as the authors' code (context-encoder train.lua); batch 128 (theirs: 64); a short
    /// warmup (0.1 epoch); light augmentation: random resized crop (scale 0.6-1) and flips.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => ReconstructionPreset(cfg, learningRate: 2e-4, beta1: 0.5);

    public InpaintingOptions Options { get; }
    public override string Name => "inpainting";
    /// <summary>Hole side in pixels.</summary>
    public int HoleSide => side;

    public override Corruption Corrupt(Tensor x, Generator generator)
    {
        CheckImages(x);
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        Tensor tops, lefts;
        if (Options.Hole == InpaintingHole.Central)
        {
            tops = full(b, (ImageSize - side) / 2, dtype: ScalarType.Int64);
            lefts = tops.clone();
        }
        else
        {
            tops = randint(0, ImageSize - side + 1, [b], generator: generator);
            lefts = randint(0, ImageSize - side + 1, [b], generator: generator);
        }
        var mask = SquareMasks(ImageSize, side, tops.to(x.device), lefts.to(x.device));
        var input = x.masked_fill(mask.to(ScalarType.Bool), 0);
        return new Corruption(input.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    /// <summary>(B, 1, S, S) fp32 masks: 1 inside the side x side square at (tops[b], lefts[b]) (B int64), 0 elsewhere.</summary>
    public static Tensor SquareMasks(int size, int side, Tensor tops, Tensor lefts)
    {
        using var scope = NewDisposeScope();
        long b = tops.shape[0];
        var idx = arange(size, dtype: ScalarType.Int64, device: tops.device).view(1, size);
        var inRows = idx.ge(tops.view(b, 1)).logical_and_(idx.lt(tops.add(side).view(b, 1)));     // (B, S)
        var inCols = idx.ge(lefts.view(b, 1)).logical_and_(idx.lt(lefts.add(side).view(b, 1)));   // (B, S)
        return inRows.unsqueeze(2).logical_and(inCols.unsqueeze(1)).unsqueeze(1).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
