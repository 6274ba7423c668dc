using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Methods.Shared;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>MAE's options.</summary>
    public MaeOptions Mae { get; init; } = new();
}

/// <summary>Options of <see cref="Mae"/>.</summary>
public sealed record MaeOptions
{
    /// <summary>Fraction of patches masked per image; 0.75 in MAE (section 4, Figure 5).</summary>
    public double MaskRatio { get; init; } = 0.75;
    /// <summary>Decoder width; MAE pairs a 512-wide decoder with a 1024-wide ViT-L, here half the default 128-wide encoder.</summary>
    public int DecoderDim { get; init; } = 64;
    /// <summary>Decoder blocks; MAE uses 8 (Table 1a: deeper helps linear probing), shortened for small images and CPUs.</summary>
    public int DecoderDepth { get; init; } = 4;
    /// <summary>Decoder attention heads.</summary>
    public int DecoderHeads { get; init; } = 4;
    /// <summary>Decoder MLP ratio.</summary>
    public double DecoderMlpRatio { get; init; } = 4.0;
    /// <summary>Reconstruct per-patch normalised pixels (MAE section 3; Table 1c: better representations).</summary>
    public bool NormalizePixelTargets { get; init; } = true;
}

/// <summary>
/// Masked autoencoder (He et al. 2022): each image's patches are masked at random (75 %), the ViT
/// encoder sees only the visible ones, a light Transformer decoder fills the masked positions with a
/// mask token and predicts their pixels, and the loss is the mean squared error on the masked patches
/// (of per-patch normalised pixels by default). Needs the <see cref="VisionTransformer"/> encoder.
/// Masks come from a generator seeded by (run seed, step), so runs and resumes are reproducible.
/// </summary>
public sealed class Mae : nn.Module, ISslMethod, IReconstructionScorer
{
    private readonly VisionTransformer encoder;
    private readonly MaeDecoder decoder;
    private readonly long seed;

    /// <exception cref="ArgumentException">The encoder is not a ViT (the message names the fix), or options are invalid.</exception>
    public Mae(Encoder encoder, MaeOptions? options = null, long seed = 0) : base(nameof(Mae))
    {
        options ??= new MaeOptions();
        this.encoder = encoder as VisionTransformer ?? throw new ArgumentException(
            $"MAE needs the ViT encoder (it encodes only the visible patch tokens), but the run config builds {encoder.GetType().Name}. " +
            "Pass --encoder Vit (or --set encoder.kind=Vit).");
        PatchMasking.MaskedCount(this.encoder.NumPatches, options.MaskRatio);
        decoder = new MaeDecoder(this.encoder.FeatureDim, this.encoder.NumPatches, this.encoder.PatchValues,
            options.DecoderDim, options.DecoderDepth, options.DecoderHeads, options.DecoderMlpRatio, this.encoder.Options.Compute);
        Options = options;
        this.seed = seed;
        RegisterComponents();
    }

    /// <summary>
    /// MAE's defaults on top of a data set's base preset (MAE appendix A.1, main_pretrain.py): the ViT
    /// encoder in fp32; AdamW with betas (0.9, 0.95), weight decay 0.05 and lr = 1.5e-4 * batch / 256; warmup 5 %
    /// of training (40 of 800 epochs there, 0.25 of the image preset's 5 epochs here); light augmentation: random resized
    /// crop (scale 0.2-1) and flips, no colour jitter (MAE needs none, section 4 / Table 1f).
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        // fp32: on the 2-core reference CPU the ViT ran 1.5x slower in bf16 (see docs/encoders/vit.md).
        Encoder = cfg.Encoder with { Kind = EncoderKind.Vit, Precision = Precision.Float32 },
        Augment = cfg.Augment with { CropScaleMin = 0.2, CropScaleMax = 1.0, FlipProbability = 0.5, JitterProbability = 0, BlurProbability = 0, ErasingProbability = 0 },
        Train = cfg.Train with
        {
            LearningRate = 1.5e-4 * cfg.Train.BatchSize / 256, WarmupEpochs = 0.05 * cfg.Train.Epochs,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.05, Beta1 = 0.9, Beta2 = 0.95 },
        },
    };

    public MaeOptions Options { get; }
    public string Name => "mae";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    /// <summary>Weight decay on matrices only: not on biases, norms, the CLS and mask tokens or positional embeddings (timm's ViT set).</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups()
    {
        var all = this.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        return
        [
            new ParameterGroup("decay", all.Where(p => VisionTransformer.DecaysWeight(p.name, p.parameter)).ToList(), true),
            new ParameterGroup("no_decay", all.Where(p => !VisionTransformer.DecaysWeight(p.name, p.parameter)).ToList(), false),
        ];
    }

    /// <summary>What one masked forward pass produces.</summary>
    /// <param name="Prediction">(B, N, p*p*C) predicted pixels of every patch.</param>
    /// <param name="Target">(B, N, p*p*C) the patches' pixels (per-patch normalised when so configured).</param>
    /// <param name="Mask">(B, N) 1 for masked patches.</param>
    /// <param name="Latent">(B, 1+K, D) encoder output on the CLS and visible tokens.</param>
    public sealed record Pass(Tensor Prediction, Tensor Target, Tensor Mask, Tensor Latent);

    /// <summary>Masks <paramref name="images"/> (B, C, H, W) with a mask drawn from <paramref name="generator"/>, encodes the visible patches, decodes all.</summary>
    public Pass Forward(Tensor images, Generator generator)
    {
        var (rows, cols) = encoder.Grid(images.shape[2], images.shape[3]);
        if (rows * cols != encoder.NumPatches)
            throw new ArgumentException($"MAE was built for {encoder.Options.ImageSize}x{encoder.Options.ImageSize} images; got {images.shape[2]}x{images.shape[3]}.");
        using var scope = NewDisposeScope();
        var mask = PatchMasking.Draw(images.shape[0], encoder.NumPatches, Options.MaskRatio, generator, images.device);
        var tokens = encoder.EmbedPatches(images);                                                        // (B, N, D)
        var visible = tokens.gather(1, mask.Keep.unsqueeze(-1).expand(-1, -1, tokens.shape[2]));           // (B, K, D)
        var latent = encoder.RunBlocks(encoder.PrependCls(visible));                                      // (B, 1+K, D)
        var prediction = decoder.Decode(latent, mask.Restore);
        var target = encoder.Patchify(images);
        if (Options.NormalizePixelTargets) target = ReconstructionLoss.NormalizePatches(target);
        return new Pass(prediction.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope(), mask.Mask.MoveToOuterDisposeScope(), latent.MoveToOuterDisposeScope());
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"MAE takes 1 view per sample, got {batch.Views.Count}.");
        using var g = StepRandom.For(seed, progress);
        var pass = Forward(batch.Views[0], g);
        var loss = ReconstructionLoss.MaskedMse(pass.Prediction, pass.Target, pass.Mask.unsqueeze(-1));
        return new StepOutput(loss, encoder.Pool(pass.Latent));
    }

    /// <summary>Per-sample mean squared error on the masked patches (the training loss per sample), with masks drawn from <paramref name="seed"/>.</summary>
    public Tensor ReconstructionError(Tensor x, long seed)
    {
        using var mode = ModeScope.Eval(this);
        using var noGrad = no_grad();
        using var g = new Generator((ulong)seed);
        using var scope = NewDisposeScope();
        var pass = Forward(x, g);
        return ReconstructionLoss.MaskedMsePerSample(pass.Prediction, pass.Target, pass.Mask.unsqueeze(-1)).MoveToOuterDisposeScope();
    }
}
