using System.Text.Json.Serialization;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Barlow Twins' options.</summary>
    public BarlowTwinsOptions BarlowTwins { get; init; } = new();
}

/// <summary>Options of <see cref="BarlowTwins"/>.</summary>
public sealed record BarlowTwinsOptions
{
    /// <summary>Width of the projector's two hidden layers (paper 8192; solo-learn's CIFAR setting 2048).</summary>
    public int ProjectorHiddenDim { get; init; } = 2048;
    /// <summary>Width of the embedding the loss correlates (paper 8192; here 2048).</summary>
    public int ProjectorDim { get; init; } = 2048;
    /// <summary>Off-diagonal weight lambda; 0 means the paper's 5e-3 scaled to the projector width,
    /// 5e-3 * 8192 / ProjectorDim (0.02 at 2048; see <see cref="BarlowTwinsLoss.ScaledLambda"/>).</summary>
    public double Lambda { get; init; }
    /// <summary>Learning-rate multiplier of biases and batch-norm parameters: the paper trains them at
    /// 0.0048 against 0.2 for weights (section 3, "optimization"), i.e. 0.024 of the scheduled rate.</summary>
    public double BiasLrScale { get; init; } = 0.024;

    /// <summary>The lambda the loss uses.</summary>
    [JsonIgnore] public double EffectiveLambda => Lambda > 0 ? Lambda : BarlowTwinsLoss.ScaledLambda(ProjectorDim);
}

/// <summary>
/// Barlow Twins (Zbontar, Jing, Misra, LeCun, Deny 2021): two augmented views through one encoder and a
/// wide BN-ReLU projector; the loss drives the cross-correlation of the batch-standardised embeddings of
/// the two views towards the identity (<see cref="BarlowTwinsLoss"/>). No negatives, no momentum
/// encoder, no predictor: redundancy reduction alone prevents collapse.
/// </summary>
public sealed class BarlowTwins : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly BarlowTwinsProjectionHead projector;
    private readonly BarlowTwinsLoss loss;

    public BarlowTwins(Encoder encoder, BarlowTwinsOptions? options = null) : base(nameof(BarlowTwins))
    {
        options ??= new BarlowTwinsOptions();
        if (options.Lambda < 0) throw new ArgumentException($"methods.barlowTwins.lambda is {options.Lambda}; use a positive value, or 0 for 5e-3 * 8192 / projectorDim.");
        if (!(options.BiasLrScale > 0)) throw new ArgumentException($"methods.barlowTwins.biasLrScale is {options.BiasLrScale}; it must be positive.");
        this.encoder = encoder;
        projector = new BarlowTwinsProjectionHead(encoder.FeatureDim, options.ProjectorHiddenDim, options.ProjectorDim);
        loss = new BarlowTwinsLoss(options.EffectiveLambda);
        Options = options;
        RegisterComponents();
    }

    public BarlowTwinsOptions Options { get; }
    public string Name => "barlowtwins";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    /// <summary>Weights decay and adapt (LARS); biases and batch-norm parameters train at <see cref="BarlowTwinsOptions.BiasLrScale"/> of the rate.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups() =>
        ParameterGroup.SplitDecay(this.named_parameters()).Select(g => g.WeightDecay ? g : g with { LrScale = Options.BiasLrScale }).ToList();

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"Barlow Twins needs 2 views per sample, got {batch.Views.Count}.");
        var h1 = encoder.forward(batch.Views[0]);
        var z1 = projector.forward(h1);
        var z2 = projector.forward(encoder.forward(batch.Views[1]));
        // The collapse monitor watches the encoder's features: the projector's batch norms would amplify a
        // nearly collapsed encoder back to full spread.
        return new StepOutput(loss.Compute(z1, z2), h1);
    }

    /// <summary>
    /// The Barlow Twins defaults on top of a data set's base preset (the image base preset, Runs/Presets.cs):
    /// LARS with weight decay 1.5e-6 (paper section 3, "optimization") at lr 0.2, the paper's rule
    /// 0.2 x batch / 256 at the preset's batch of 256; biases and batch-norm at 0.024 of it
    /// (<see cref="BarlowTwinsOptions.BiasLrScale"/>). Augmentation and two views are the base preset's
    /// (the paper uses BYOL's augmentations, which on grey images reduce to crop, flip and
    /// brightness/contrast jitter; blur and solarisation stay off as for SimCLR on small images).
    /// </summary>
    public static MethodSetup Preset(MethodSetup config) => config with
    {
        Train = config.Train with
        {
            LearningRate = 0.2,
            Optimizer = config.Train.Optimizer with { Kind = OptimizerKind.Lars, WeightDecay = 1.5e-6 },
        },
    };
}
