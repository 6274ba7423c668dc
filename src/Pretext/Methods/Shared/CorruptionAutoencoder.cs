using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods.Shared;

/// <summary>A corrupted input and where the reconstruction loss looks.</summary>
/// <param name="Input">(B, C, S, S) what the encoder sees.</param>
/// <param name="LossMask">(B, 1 or C, S, S) fp32, 1 where the reconstruction is scored.</param>
public sealed record Corruption(Tensor Input, Tensor LossMask);

/// <summary>
/// The autoencoder pretext tasks (context encoder, denoising autoencoder): corrupt the image, encode
/// the corrupted image to one feature vector, decode it with the shared <see cref="ConvDecoder"/>,
/// and score the squared error against the clean image where the corruption says. The subclasses only
/// say how they corrupt. The corruption's randomness comes from a generator seeded by (run seed, step).
/// </summary>
public abstract class CorruptionAutoencoder : nn.Module, ISslMethod, IReconstructionScorer
{
    /// <summary>
    /// The reconstruction methods' shared recipe on top of a data set's base preset: Adam at
    /// <paramref name="learningRate"/> with betas (<paramref name="beta1"/>, 0.999), no weight decay (the corruption is the
    /// regulariser), batch 128, a short warmup (0.1 epoch), light augmentation: random resized crop (scale 0.6-1) and flips.
    /// </summary>
    protected static MethodSetup ReconstructionPreset(MethodSetup cfg, double learningRate, double beta1) => cfg with
    {
        Augment = cfg.Augment with { CropScaleMin = 0.6, CropScaleMax = 1.0, FlipProbability = 0.5, JitterProbability = 0, BlurProbability = 0, ErasingProbability = 0 },
        Train = cfg.Train with
        {
            BatchSize = 128, LearningRate = learningRate, WarmupEpochs = 0.1,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0, Beta1 = beta1, Beta2 = 0.999 },
        },
    };

    private readonly Encoder encoder;
    private readonly ConvDecoder decoder;
    private readonly long seed;

    /// <exception cref="ArgumentException">The encoder does not take square images whose side is a multiple of 4.</exception>
    protected CorruptionAutoencoder(string name, Encoder encoder, int decoderWidth, ComputeOptions compute, long seed) : base(name)
    {
        var shape = encoder.InputShape;
        if (shape.Length != 3 || shape[1] != shape[2])
            throw new ArgumentException($"{name} reconstructs square images, but the encoder takes inputs of shape [{string.Join(",", shape)}]; use an image encoder (ResNet, Vit, Mlp over C x S x S).");
        this.encoder = encoder;
        decoder = new ConvDecoder(encoder.FeatureDim, (int)shape[0], (int)shape[1], decoderWidth, compute);
        this.seed = seed;
        // Registered by name here because reflection in a subclass's RegisterComponents does not see these private fields.
        register_module("encoder", encoder);
        register_module("decoder", decoder);
    }

    public abstract string Name { get; }
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    /// <summary>Side of the square images.</summary>
    public int ImageSize => decoder.ImageSize;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>Corrupts a batch (B, C, S, S); every random choice comes from <paramref name="generator"/>.</summary>
    public abstract Corruption Corrupt(Tensor x, Generator generator);

    /// <summary>Encoder then decoder: (B, C, S, S) -> ((B, C, S, S) reconstruction, (B, D) features).</summary>
    public (Tensor Reconstruction, Tensor Features) Reconstruct(Tensor input)
    {
        var features = encoder.forward(input);
        return (decoder.forward(features), features);
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"{Name} takes 1 view per sample, got {batch.Views.Count}.");
        var x = batch.Views[0];
        using var g = StepRandom.For(seed, progress);
        var c = Corrupt(x, g);
        var (reconstruction, features) = Reconstruct(c.Input);
        return new StepOutput(ReconstructionLoss.MaskedMse(reconstruction, x, c.LossMask), features);
    }

    /// <summary>Per-sample squared error where the loss looks (the training loss per sample), corruption drawn from <paramref name="seed"/>; eval mode, no gradients.</summary>
    public Tensor ReconstructionError(Tensor x, long seed)
    {
        using var mode = ModeScope.Eval(this);
        using var noGrad = no_grad();
        using var g = new Generator((ulong)seed);
        using var scope = NewDisposeScope();
        var c = Corrupt(x, g);
        var (reconstruction, _) = Reconstruct(c.Input);
        return ReconstructionLoss.MaskedMsePerSample(reconstruction, x, c.LossMask).MoveToOuterDisposeScope();
    }

    /// <exception cref="ArgumentException"><paramref name="x"/> is not a batch of this method's images.</exception>
    protected void CheckImages(Tensor x)
    {
        if (x.dim() != 4 || x.shape[2] != ImageSize || x.shape[3] != ImageSize)
            throw new ArgumentException($"{Name} was set up for {ImageSize}x{ImageSize} images, got [{string.Join(",", x.shape)}].");
    }
}
