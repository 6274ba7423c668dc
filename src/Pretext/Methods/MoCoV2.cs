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
    /// <summary>MoCo v2's options.</summary>
    public MoCoV2Options MoCoV2 { get; init; } = new();
}

/// <summary>Options of <see cref="MoCoV2"/>.</summary>
public sealed record MoCoV2Options
{
    /// <summary>Hidden width of the MLP head; 0 means the encoder's feature width (MoCo v2 note, "MLP head": 2048-d, ResNet-50's width).</summary>
    public int ProjectionHiddenDim { get; init; }
    /// <summary>Width of queries and keys; 128 (MoCo, section 3.3; kept by MoCo v2).</summary>
    public int ProjectionDim { get; init; } = 128;
    /// <summary>InfoNCE temperature; 0.2 (MoCo v2 note, Table 1 and the text beside it).</summary>
    public double Temperature { get; init; } = 0.2;
    /// <summary>
    /// Negatives kept in the queue. The paper's 65,536 is 5 % of ImageNet; on Fashion-MNIST (60,000 images)
    /// it would exceed the data set, so every image's own older keys would be among its negatives and the
    /// oldest keys would come from an encoder hundreds of steps old. 4,096 is the value of the official
    /// CIFAR-10 demo (facebookresearch/moco, colab/moco_cifar10_demo.ipynb, --moco-k): 7 % of the data,
    /// 16 steps of keys at batch 256 (8 with the symmetric loss, which enqueues both views' keys).
    /// </summary>
    public int QueueSize { get; init; } = 4096;
    /// <summary>
    /// Momentum m of the key encoder, constant as in the paper. The paper's 0.999 suits ImageNet-length
    /// runs; 0.99 is the CIFAR-10 demo's value (--moco-m) for short runs on small data.
    /// </summary>
    public double Momentum { get; init; } = 0.99;
    /// <summary>
    /// Both views serve as queries (loss (L(q1, k2) + L(q2, k1)) / 2, both views' keys enqueued) instead
    /// of MoCo v2's one-directional L(q1, k2): the CIFAR-10 demo's --symmetric option and MoCo v3's loss
    /// (Chen, Xie, He 2021, Algorithm 1). Twice the compute per step, the same cost as SimCLR's.
    /// </summary>
    public bool Symmetric { get; init; } = true;
    /// <summary>
    /// Shuffle-BN on one device: the batch is cut into this many groups whose batch-norm statistics are
    /// computed separately, queries in contiguous groups and keys in interleaved ones, so a query and its
    /// positive key are never normalised with the statistics of the same samples (see <see cref="MoCoV2"/>).
    /// 4 keeps the CIFAR-10 demo's 64 samples per group (--bn-splits 8 at batch 512) at batch 256; 1 turns it off.
    /// </summary>
    public int BatchNormSplits { get; init; } = 4;
}

/// <summary>
/// MoCo v2 (He et al. 2020, "Momentum Contrast"; Chen, Fan, Girshick, He 2020, "Improved Baselines with
/// Momentum Contrastive Learning"): a query encoder (encoder + MLP head) and a key encoder that is its
/// exponential moving average (<see cref="MomentumTeacher"/>); each query's positive is the key of the
/// other view of its image, its negatives the keys of earlier batches held in a <see cref="FeatureQueue"/>,
/// and the loss is InfoNCE over them (MoCo, eq. 1).
/// <para>
/// Shuffle-BN. MoCo computes keys on several GPUs with the batch shuffled between them, so that the
/// batch-norm statistics of a query and of its positive key come from different samples; otherwise the
/// model can tell the positive from the queue's keys by the shared statistics and "cheat" (MoCo, section 3.3).
/// On one device there is nothing to shuffle across, so this class does what the authors' single-GPU
/// CIFAR-10 demo does with its split batch norm: it runs the encoders on <see cref="MoCoV2Options.BatchNormSplits"/>
/// groups of the batch, each with its own statistics, with contiguous groups for queries and interleaved
/// groups (samples j, j+g, j+2g, ...) for keys. The sample order is random, so this fixed pattern mixes
/// the groups as a random shuffle would, and it needs no random numbers (resumed runs stay exact).
/// </para>
/// </summary>
public sealed class MoCoV2 : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly MoCoV2ProjectionHead projector;
    private readonly Encoder targetEncoder;
    private readonly MoCoV2ProjectionHead targetProjector;
    private readonly FeatureQueue queue;
    private readonly MomentumTeacher teacher;
    private readonly InfoNceLoss loss;
    private Tensor? pending;

    /// <param name="encoder">The query encoder, the one that is learnt.</param>
    /// <param name="targetEncoder">A second encoder of the same architecture; it becomes the key encoder (its own weights are overwritten).</param>
    /// <exception cref="ArgumentException">The two encoders differ in architecture, or an option is out of range.</exception>
    public MoCoV2(Encoder encoder, Encoder targetEncoder, MoCoV2Options? options = null) : base(nameof(MoCoV2))
    {
        options ??= new MoCoV2Options();
        if (options.BatchNormSplits < 1)
            throw new ArgumentException($"methods.mocov2.batchNormSplits must be at least 1 (1 turns split batch norm off), got {options.BatchNormSplits}.");
        this.encoder = encoder;
        this.targetEncoder = targetEncoder;
        int hidden = options.ProjectionHiddenDim > 0 ? options.ProjectionHiddenDim : encoder.FeatureDim;
        projector = new MoCoV2ProjectionHead(encoder.FeatureDim, hidden, options.ProjectionDim);
        targetProjector = new MoCoV2ProjectionHead(encoder.FeatureDim, hidden, options.ProjectionDim);
        teacher = new MomentumTeacher(options.Momentum, options.Momentum);
        teacher.Track(encoder, targetEncoder);
        teacher.Track(projector, targetProjector);
        queue = new FeatureQueue(options.QueueSize, options.ProjectionDim, QueueStart.RandomUnitVectors, "methods.mocov2.queueSize");
        loss = new InfoNceLoss(options.Temperature);
        Options = options;
        RegisterComponents();
    }

    public MoCoV2Options Options { get; }
    public string Name => "mocov2";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    public MomentumTeacher Teacher => teacher;
    public FeatureQueue Queue => queue;

    /// <summary>Query encoder and head; the key encoder moves only by the EMA.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(teacher.ExcludeTargets(named_parameters()));

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"MoCo v2 needs 2 views per sample, got {batch.Views.Count}.");
        pending = null;
        var groups = GroupSizes(batch.Views[0].shape[0]);
        var h1 = Grouped(encoder, batch.Views[0], groups, interleaved: false);
        var q1 = projector.forward(h1);
        var negatives = queue.Contents();
        Tensor k2;
        Tensor? k1 = null;
        using (no_grad())
        {
            k2 = Keys(batch.Views[1], groups);
            if (Options.Symmetric) k1 = Keys(batch.Views[0], groups);
        }
        Tensor result;
        if (k1 is null)
        {
            result = loss.WithNegatives(q1, k2, negatives);
            pending = k2;
        }
        else
        {
            var q2 = projector.forward(Grouped(encoder, batch.Views[1], groups, interleaved: false));
            result = SymmetricLoss(q1, q2, k1, k2, negatives);
            pending = cat([k2, k1], 0);
        }
        return new StepOutput(result, h1);
    }

    /// <summary>
    /// The symmetric MoCo loss from queries q1, q2 and keys k1, k2 of views 1 and 2 (each (N, D)) and the
    /// queue's negatives (M, D): (InfoNCE(q1, k2; negatives) + InfoNCE(q2, k1; negatives)) / 2.
    /// </summary>
    public Tensor SymmetricLoss(Tensor q1, Tensor q2, Tensor k1, Tensor k2, Tensor negatives) =>
        loss.WithNegatives(q1, k2, negatives).add(loss.WithNegatives(q2, k1, negatives)).div(2);

    /// <summary>Enqueues this step's keys, then moves the key encoder towards the query encoder.</summary>
    public void AfterOptimizerStep(TrainingProgress progress)
    {
        if (pending is not null) queue.Enqueue(pending);
        pending = null;
        teacher.Update(progress);
    }

    /// <summary>L2-normalised keys (B, D) of one view from the key encoder, with interleaved batch-norm groups.</summary>
    private Tensor Keys(Tensor view, long[] groups) =>
        nn.functional.normalize(targetProjector.forward(Grouped(targetEncoder, view, groups, interleaved: true)), dim: 1);

    private long[] GroupSizes(long batch)
    {
        int g = Options.BatchNormSplits;
        if (g > 1 && batch < 2 * g)
            throw new ArgumentException($"methods.mocov2.batchNormSplits is {g}, which needs batches of at least {2 * g} samples (two per batch-norm group); got {batch}. Lower batchNormSplits or raise the batch size.");
        // Group j of the interleaved pattern holds samples j, j+g, j+2g, ...; contiguous groups take the same sizes.
        return Enumerable.Range(0, g).Select(j => (batch - j + g - 1) / g).ToArray();
    }

    /// <summary>
    /// The encoder's features (B, F) of <paramref name="x"/>, computed group by group so that batch norm
    /// uses each group's statistics; output rows in the input's order.
    /// </summary>
    private static Tensor Grouped(Encoder f, Tensor x, long[] sizes, bool interleaved)
    {
        if (sizes.Length == 1) return f.forward(x);
        using var scope = NewDisposeScope();
        if (!interleaved) return cat(x.split(sizes).Select(f.forward).ToArray(), 0).MoveToOuterDisposeScope();
        long b = x.shape[0];
        int g = sizes.Length;
        var order = cat(Enumerable.Range(0, g).Select(j => arange(j, b, g, dtype: ScalarType.Int64, device: x.device)).ToArray(), 0);
        var features = cat(x.index_select(0, order).split(sizes).Select(f.forward).ToArray(), 0);
        return features.index_select(0, order.argsort()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// MoCo v2's defaults on top of a data set's base preset. The papers' optimiser (SGD, momentum 0.9, lr 0.03 x B/256,
    /// weight decay 5e-4 in the CIFAR-10 demo, cosine, no warmup) is made for runs of about 200 epochs; over the
    /// method table's 268 steps it reached 72.1 / 77.7 / 65.9 % (kNN / linear 100 % / linear 1 %). The SimCLR preset's
    /// short-run recipe (LARS, lr 0.15 x sqrt(B) = 2.4 at batch 256, half an epoch of warmup, weight decay 1e-6)
    /// reached 77.8 / 83.8 / 76.5 % at the same step count (docs/benchmarks.md), so it is the default here.
    /// Augmentation: MoCo v2's is SimCLR's; the base preset's, blur off on 28-pixel grey images.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        Train = cfg.Train with
        {
            LearningRate = 0.15 * Math.Sqrt(cfg.Train.BatchSize),
            WarmupEpochs = 0.5,
            Optimizer = cfg.Train.Optimizer with { Kind = OptimizerKind.Lars, WeightDecay = 1e-6, Momentum = 0.9 },
        },
    };
}
