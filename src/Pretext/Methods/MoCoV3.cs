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
    /// <summary>MoCo v3's options.</summary>
    public MoCoV3Options MoCoV3 { get; init; } = new();
}

/// <summary>Options of <see cref="MoCoV3"/>.</summary>
public sealed record MoCoV3Options
{
    /// <summary>Hidden width of the projector and the predictor; 4096 (reference code facebookresearch/moco-v3, main_moco.py --moco-mlp-dim).</summary>
    public int HiddenDim { get; init; } = 4096;
    /// <summary>Output width of the projector and the predictor; 256 (reference code --moco-dim).</summary>
    public int ProjectionDim { get; init; } = 256;
    /// <summary>
    /// Temperature tau; 0.2, the reference code's ViT recipes (CONFIG.md, --moco-t=.2) and solo-learn's
    /// CIFAR config (scripts/pretrain/cifar/mocov3.yaml). The code's ResNet-50 default is 1.0, with 4,095
    /// in-batch negatives; with a few hundred negatives a sharper softmax is the usual choice.
    /// </summary>
    public double Temperature { get; init; } = 0.2;
    /// <summary>Momentum of the momentum encoder at the first step; 0.99 (reference code --moco-m).</summary>
    public double BaseMomentum { get; init; } = 0.99;
    /// <summary>Momentum at the last step; 1, rising on a cosine (reference code --moco-m-cos, used by all its ResNet recipes).</summary>
    public double FinalMomentum { get; init; } = 1.0;
}

/// <summary>
/// MoCo v3 (Chen, Xie, He 2021, "An Empirical Study of Training Self-Supervised Vision Transformers"):
/// the online branch (encoder, projector, predictor) gives queries q1, q2; a momentum encoder with its
/// own projector (an EMA of the online ones, <see cref="MomentumTeacher"/>) gives keys k1, k2. No
/// queue: each query's negatives are the other keys of the batch. Loss (paper, Algorithm 1):
/// ctr(q1, k2) + ctr(q2, k1), where ctr is InfoNCE with in-batch keys scaled by 2 tau, which makes
/// the gradient's size independent of tau.
/// </summary>
public sealed class MoCoV3 : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly MoCoV3ProjectionHead projector;
    private readonly PredictionHead predictor;
    private readonly Encoder targetEncoder;
    private readonly MoCoV3ProjectionHead targetProjector;
    private readonly MomentumTeacher teacher;
    private readonly InfoNceLoss loss;

    /// <param name="encoder">The online encoder, the one that is learnt.</param>
    /// <param name="targetEncoder">A second encoder of the same architecture; it becomes the momentum encoder (its own weights are overwritten).</param>
    /// <exception cref="ArgumentException">The two encoders differ in architecture.</exception>
    public MoCoV3(Encoder encoder, Encoder targetEncoder, MoCoV3Options? options = null) : base(nameof(MoCoV3))
    {
        options ??= new MoCoV3Options();
        this.encoder = encoder;
        this.targetEncoder = targetEncoder;
        projector = new MoCoV3ProjectionHead(encoder.FeatureDim, options.HiddenDim, options.ProjectionDim);
        targetProjector = new MoCoV3ProjectionHead(encoder.FeatureDim, options.HiddenDim, options.ProjectionDim);
        predictor = new PredictionHead(options.ProjectionDim, options.HiddenDim, options.ProjectionDim, batchNormLast: true);
        teacher = new MomentumTeacher(options.BaseMomentum, options.FinalMomentum);
        teacher.Track(encoder, targetEncoder);
        teacher.Track(projector, targetProjector);
        loss = new InfoNceLoss(options.Temperature);
        Options = options;
        RegisterComponents();
    }

    public MoCoV3Options Options { get; }
    public string Name => "mocov3";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    public MomentumTeacher Teacher => teacher;

    /// <summary>Online encoder, projector and predictor; the momentum branch moves only by the EMA.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(teacher.ExcludeTargets(named_parameters()));

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"MoCo v3 needs 2 views per sample, got {batch.Views.Count}.");
        var h1 = encoder.forward(batch.Views[0]);
        var q1 = predictor.forward(projector.forward(h1));
        var q2 = predictor.forward(projector.forward(encoder.forward(batch.Views[1])));
        Tensor k1, k2;
        using (no_grad())
        {
            k1 = targetProjector.forward(targetEncoder.forward(batch.Views[0]));
            k2 = targetProjector.forward(targetEncoder.forward(batch.Views[1]));
        }
        return new StepOutput(SymmetricLoss(q1, q2, k1, k2), h1);
    }

    /// <summary>
    /// MoCo v3's loss from queries q1, q2 and keys k1, k2 of views 1 and 2 (each (N, D)):
    /// 2 tau CE(q1 k2^T / tau, diag) + 2 tau CE(q2 k1^T / tau, diag) on L2-normalised vectors.
    /// </summary>
    public Tensor SymmetricLoss(Tensor q1, Tensor q2, Tensor k1, Tensor k2) =>
        loss.InBatch(q1, k2).add(loss.InBatch(q2, k1)).mul(2 * Options.Temperature);

    /// <summary>Moves the momentum encoder and projector towards the online ones.</summary>
    public void AfterOptimizerStep(TrainingProgress progress) => teacher.Update(progress);

    /// <summary>
    /// MoCo v3's ResNet defaults on top of a data set's base preset: LARS with momentum 0.9 and weight decay 1e-6,
    /// biases and batch-norm parameters excluded (reference code main_moco.py and its 100-epoch ResNet-50 recipe,
    /// CONFIG.md); the base preset's warmup (the recipe warms up for 10 of 100 epochs). The learning rate is three
    /// times the recipe's 0.6 x B/256: 1.8 reached 78.3 / 83.8 / 75.0 % (kNN / linear 100 % / linear 1 %) at the
    /// method table's 248 steps, against 76.7 / 82.1 / 72.2 % with 0.6 (docs/benchmarks.md).
    /// Augmentation: the base preset's, blur off on 28-pixel grey images.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        Train = cfg.Train with
        {
            LearningRate = 1.8 * cfg.Train.BatchSize / 256,
            Optimizer = cfg.Train.Optimizer with { Kind = OptimizerKind.Lars, WeightDecay = 1e-6, Momentum = 0.9 },
        },
    };
}
