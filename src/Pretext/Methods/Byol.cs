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
    /// <summary>BYOL's options.</summary>
    public ByolOptions Byol { get; init; } = new();
}

/// <summary>Options of <see cref="Byol"/>.</summary>
public sealed record ByolOptions
{
    /// <summary>Hidden width of the projector and the predictor; 4096 (paper, section 3.3).</summary>
    public int HiddenDim { get; init; } = 4096;
    /// <summary>Width of the projection and the prediction; 256 (paper, section 3.3).</summary>
    public int ProjectionDim { get; init; } = 256;
    /// <summary>
    /// Target momentum tau at the first step. The paper uses 0.996 for 1,000 ImageNet epochs (section 3.3,
    /// hundreds of thousands of steps); a run here is about 1,400 steps, over which 0.996 would leave the
    /// target close to its random start, so this takes solo-learn's CIFAR value 0.99 (scripts/pretrain/cifar/byol.yaml).
    /// </summary>
    public double BaseMomentum { get; init; } = 0.99;
    /// <summary>Target momentum at the last step; 1 (paper, section 3.3: tau rises to 1 on a cosine).</summary>
    public double FinalMomentum { get; init; } = 1.0;
}

/// <summary>
/// BYOL (Grill et al. 2020, "Bootstrap Your Own Latent"): an online network (encoder, projector,
/// predictor) predicts the projection that a slowly moving target network (an EMA of the online encoder
/// and projector, <see cref="MomentumTeacher"/>) gives to the other view. No negatives; the predictor
/// and the moving target keep it from collapsing. Loss: 2 - 2 cos(p, sg(z')), symmetrised over the two
/// views (paper eq. 2, L + L~).
/// </summary>
public sealed class Byol : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly ByolProjectionHead projector;
    private readonly PredictionHead predictor;
    private readonly Encoder targetEncoder;
    private readonly ByolProjectionHead targetProjector;
    private readonly MomentumTeacher teacher;
    private readonly CosineRegressionLoss loss = new(CosineRegressionForm.NormalisedSquaredError);

    /// <param name="encoder">The online encoder, the one that is learnt.</param>
    /// <param name="targetEncoder">A second encoder of the same architecture; it becomes the target (its own weights are overwritten).</param>
    /// <exception cref="ArgumentException">The two encoders differ in architecture.</exception>
    public Byol(Encoder encoder, Encoder targetEncoder, ByolOptions? options = null) : base(nameof(Byol))
    {
        options ??= new ByolOptions();
        this.encoder = encoder;
        this.targetEncoder = targetEncoder;
        projector = new ByolProjectionHead(encoder.FeatureDim, options.HiddenDim, options.ProjectionDim);
        targetProjector = new ByolProjectionHead(encoder.FeatureDim, options.HiddenDim, options.ProjectionDim);
        predictor = new PredictionHead(options.ProjectionDim, options.HiddenDim, options.ProjectionDim);
        teacher = new MomentumTeacher(options.BaseMomentum, options.FinalMomentum);
        teacher.Track(encoder, targetEncoder);
        teacher.Track(projector, targetProjector);
        Options = options;
        RegisterComponents();
    }

    public ByolOptions Options { get; }
    public string Name => "byol";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    public MomentumTeacher Teacher => teacher;

    /// <summary>Online encoder, projector and predictor; the target moves only by the EMA.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(teacher.ExcludeTargets(named_parameters()));

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"BYOL needs 2 views per sample, got {batch.Views.Count}.");
        var h1 = encoder.forward(batch.Views[0]);
        var p1 = predictor.forward(projector.forward(h1));
        var p2 = predictor.forward(projector.forward(encoder.forward(batch.Views[1])));
        Tensor z1, z2;
        using (no_grad())
        {
            z1 = targetProjector.forward(targetEncoder.forward(batch.Views[0]));
            z2 = targetProjector.forward(targetEncoder.forward(batch.Views[1]));
        }
        return new StepOutput(SymmetricLoss(p1, p2, z1, z2), h1);
    }

    /// <summary>
    /// BYOL's symmetrised loss from the online predictions p1, p2 and the target projections z1, z2 of
    /// views 1 and 2 (each (N, D)): (2 - 2 cos(p1, z2)) + (2 - 2 cos(p2, z1)), batch means, in [0, 8].
    /// </summary>
    public Tensor SymmetricLoss(Tensor p1, Tensor p2, Tensor z1, Tensor z2) => loss.Compute(p1, z2).add(loss.Compute(p2, z1));

    /// <summary>Moves the target towards the online network (tau on its cosine schedule).</summary>
    public void AfterOptimizerStep(TrainingProgress progress) => teacher.Update(progress);

    /// <summary>
    /// BYOL's defaults on top of a data set's base preset: LARS and weight decay 1.5e-6, biases and batch-norm
    /// parameters excluded from both (paper, section 3.3), at lr 1.0 x B/256, five times the paper's 0.2, which
    /// is for 300-1,000 epochs: at the method table's 328 steps 1.0 reached 75.9 / 81.6 / 66.6 % (kNN / linear
    /// 100 % / linear 1 %) against 71.3 / 78.9 / 66.4 % (docs/benchmarks.md);
    /// the base preset's warmup (the paper warms up for 10 of 1,000 epochs). The paper's augmentations
    /// are asymmetric (blur always on view 1, 10 % on view 2; solarisation 20 % on view 2): on 28-pixel
    /// grey images blur is off, as SimCLR leaves it off for CIFAR, and there is no solarisation, so both
    /// views use the base preset's pipeline.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        Train = cfg.Train with
        {
            LearningRate = 1.0 * cfg.Train.BatchSize / 256,
            Optimizer = cfg.Train.Optimizer with { Kind = OptimizerKind.Lars, WeightDecay = 1.5e-6, Momentum = 0.9 },
        },
    };
}
