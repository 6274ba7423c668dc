using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Masked patch reconstruction's options.</summary>
    public MaskedPatchesOptions MaskedPatches { get; init; } = new();
}

/// <summary>Options of <see cref="MaskedPatches"/>.</summary>
public sealed record MaskedPatchesOptions
{
    /// <summary>Readings per masked patch; the patch Transformer's own patch size when it is larger. 8 as the patch size of the series preset.</summary>
    public int PatchLength { get; init; } = 8;
    /// <summary>Share of each window's patches masked (PatchTST masks 40 %, Nie et al. 2023, section 3.2).</summary>
    public double MaskRatio { get; init; } = 0.4;
}

/// <summary>
/// Masked reconstruction of patches of a series (PatchTST's self-supervised pretraining, Nie et al. 2023; MAE's idea,
/// He et al. 2022, on series): a random share of each window's patches of consecutive readings is set to 0 (the channel mean
/// after normalisation), the whole window goes through the encoder, and a linear map from each step's features rebuilds the
/// readings of that step; the loss is the mean squared error on the masked readings only. With a causal encoder a masked
/// patch is rebuilt from what came before it; a non-causal patch Transformer also sees what follows. The per-window error
/// under a seeded mask is an anomaly score (<see cref="IReconstructionScorer"/>).
/// </summary>
public sealed class MaskedPatches : nn.Module, ISslMethod, IReconstructionScorer
{
    /// <summary>No other augmentation than the masking.</summary>
    public static MethodSetup Preset(MethodSetup s) => s with
    {
        SeriesAugment = s.SeriesAugment with { JitterStd = 0, ScaleStd = 0, CropMin = 1, MaskProbability = 0, PermutationSegments = 0 },
    };

    private readonly Encoder encoder;
    private readonly ISequenceEncoder steps;
    private readonly Linear decoder;
    private readonly int channels, patch, patches;

    /// <exception cref="ArgumentException">The encoder has no per-step features, or the patches do not fit the window.</exception>
    public MaskedPatches(Encoder encoder, MaskedPatchesOptions? options = null) : base(nameof(MaskedPatches))
    {
        options ??= new MaskedPatchesOptions();
        if (encoder is not ISequenceEncoder seq)
            throw new ArgumentException($"Masked patch reconstruction decodes per-step features; the {encoder.GetType().Name} encoder has none. Use a series encoder (--encoder Tcn or PatchTransformer).");
        patch = Math.Max(options.PatchLength, seq.StepSize);
        if (patch % seq.StepSize != 0 || seq.MaxLength % patch != 0 || seq.MaxLength / patch < 2)
            throw new ArgumentException($"methods.maskedPatches.patchLength ({patch}) must be a multiple of the encoder's step ({seq.StepSize}) that cuts the window of {seq.MaxLength} into at least 2 patches.");
        if (!(options.MaskRatio > 0 && options.MaskRatio < 1))
            throw new ArgumentException($"methods.maskedPatches.maskRatio must lie in (0, 1), got {options.MaskRatio}.");
        this.encoder = encoder;
        steps = seq;
        channels = (int)encoder.InputShape[0];
        patches = seq.MaxLength / patch;
        decoder = nn.Linear(seq.StepDim, seq.StepSize * channels);
        Options = options;
        RegisterComponents();
    }

    public MaskedPatchesOptions Options { get; }
    public string Name => "maskedpatches";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    /// <summary>Patches masked per window: round(ratio x patches), at least 1 and leaving at least 1 visible.</summary>
    public int Masked => Math.Clamp((int)Math.Round(Options.MaskRatio * patches), 1, patches - 1);

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>
    /// (B, 1, L) float mask of windows (B, C, L), 1 on the readings of <see cref="Masked"/> patches per window chosen uniformly
    /// from <paramref name="g"/> (torch's global generator when null).
    /// </summary>
    public Tensor DrawMask(long batch, Generator? g)
    {
        using var scope = NewDisposeScope();
        var rank = rand([batch, patches], generator: g).argsort(1).argsort(1);          // a uniform random rank per patch
        var masked = rank.lt(Masked).to(ScalarType.Float32);                             // (B, P)
        return masked.repeat_interleave(patch, 1).unsqueeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Rebuilt windows (B, C, L) from <paramref name="x"/> with <paramref name="mask"/>'s readings hidden, and the per-step features.</summary>
    public (Tensor Rebuilt, Tensor Features) Forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[2];
        var z = steps.EncodeSteps(x.mul(mask.neg().add(1)));                              // (B, T, D)
        // Each step's features give its own StepSize readings of every channel: (B, T, S * C) -> (B, L, C) -> (B, C, L).
        var rebuilt = decoder.forward(z).view(b, l, channels).transpose(1, 2);
        return (rebuilt.MoveToOuterDisposeScope(), z.MoveToOuterDisposeScope());
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"Masked patch reconstruction takes 1 view per sample, got {batch.Views.Count}.");
        var x = batch.Views[0];
        var mask = DrawMask(x.shape[0], batch.Random);
        var (rebuilt, z) = Forward(x, mask);
        return new StepOutput(ReconstructionLoss.MaskedMse(rebuilt, x, mask), steps.Pool(z));
    }

    /// <summary>Per-window mean squared error on the masked readings, masks drawn from <paramref name="seed"/>.</summary>
    public Tensor ReconstructionError(Tensor x, long seed)
    {
        using var mode = ModeScope.Eval(this);
        using var noGrad = no_grad();
        using var g = new Generator((ulong)seed);
        using var scope = NewDisposeScope();
        var mask = DrawMask(x.shape[0], g);
        var (rebuilt, _) = Forward(x, mask);
        return ReconstructionLoss.MaskedMsePerSample(rebuilt, x, mask).MoveToOuterDisposeScope();
    }
}
