using Pretext.Augmentations;
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
    /// <summary>SwAV's options.</summary>
    public SwavOptions Swav { get; init; } = new();
}

/// <summary>Options of <see cref="Swav"/>. Sources: Caron et al. 2020 (implementation details) and the authors'
/// batch-256 scripts (facebookresearch/swav, e.g. swav_400ep_bs256_pretrain.sh).</summary>
public sealed record SwavOptions
{
    /// <summary>Hidden width of the projection head (paper 2048).</summary>
    public int ProjectionHiddenDim { get; init; } = 2048;
    /// <summary>Width of the L2-normalised embedding z (paper 128).</summary>
    public int ProjectionDim { get; init; } = 128;
    /// <summary>Number of prototypes K. The paper uses 3000 for ImageNet and reports that the number matters
    /// little as long as there are enough; 512 is lightly's default for small data sets (about 50 per class
    /// on 10-class data, two per sample of a 256 batch for Sinkhorn to spread over).</summary>
    public int Prototypes { get; init; } = 512;
    /// <summary>Softmax temperature tau of the swapped prediction (paper 0.1).</summary>
    public double Temperature { get; init; } = 0.1;
    /// <summary>Sinkhorn entropy regularisation epsilon (paper 0.05).</summary>
    public double SinkhornEpsilon { get; init; } = 0.05;
    /// <summary>Sinkhorn-Knopp iterations (paper 3).</summary>
    public int SinkhornIterations { get; init; } = 3;
    /// <summary>Fraction of training during which the prototypes get no updates. The paper freezes them for the
    /// first epoch (5005 iterations at batch 256), 1 % of its shortest schedule; in runs of a few epochs one epoch
    /// is a sixth of training, so the freeze is a fraction: 5 %, 70 steps of the 6-epoch preset.</summary>
    public double FreezePrototypesFraction { get; init; } = 0.05;
    /// <summary>Length of the queue of past global-crop embeddings that Sinkhorn also spreads over (0: no queue).
    /// The paper adds a 3840-long queue from epoch 15 when batches are small (256); off by default here, because
    /// in runs of a few epochs the encoder changes too fast for stored embeddings to stay comparable.</summary>
    public int QueueLength { get; init; }
    /// <summary>Fraction of training after which the queue starts filling (paper: epoch 15 of 100-800); it takes
    /// part in Sinkhorn once full.</summary>
    public double QueueStartFraction { get; init; } = 0.15;
    /// <summary>The crops: 2 global views plus 4 local 12-pixel crops (<see cref="MultiCropOptions"/>).</summary>
    public MultiCropOptions MultiCrop { get; init; } = new();
}

/// <summary>
/// SwAV (Caron, Misra, Mairal, Goyal, Bojanowski, Joulin 2020): online clustering with swapped
/// prediction. Every crop is encoded and projected to a unit vector z, scored against K unit
/// prototypes; the codes of each global crop are computed without gradient by Sinkhorn-Knopp, which
/// forces an equal split of the batch over the prototypes (this is what prevents collapse); every
/// other crop, global or local, must predict those codes (<see cref="SwavLoss"/>). Prototypes are
/// renormalised before every step and frozen at the start of training.
/// </summary>
public sealed class Swav : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly SwavProjectionHead projector;
    private readonly SwavPrototypes prototypes;
    private readonly SwavLoss loss;
    // (GlobalCount, QueueLength, ProjectionDim) past embeddings, newest first, and how many rows are filled;
    // buffers so that checkpoints carry them and a resumed run continues exactly. Null without a queue.
    private readonly Tensor? queue;
    private readonly Tensor? queueFilled;

    public Swav(Encoder encoder, SwavOptions? options = null) : base(nameof(Swav))
    {
        options ??= new SwavOptions();
        Validate(options);
        MultiCropCheck.CheckEncoder(encoder, options.MultiCrop, "methods.swav.multiCrop");
        this.encoder = encoder;
        projector = new SwavProjectionHead(encoder.FeatureDim, options.ProjectionHiddenDim, options.ProjectionDim);
        prototypes = new SwavPrototypes(options.ProjectionDim, options.Prototypes);
        loss = new SwavLoss(options.Temperature);
        if (options.QueueLength > 0)
        {
            queue = zeros(options.MultiCrop.GlobalCount, options.QueueLength, options.ProjectionDim);
            queueFilled = zeros(1, dtype: ScalarType.Int64);
        }
        Options = options;
        RegisterComponents();
    }

    public SwavOptions Options { get; }
    public string Name => "swav";
    public int ViewCount => Options.MultiCrop.ViewCount;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    /// <summary>The prototypes (for inspection and tests).</summary>
    public SwavPrototypes Prototypes => prototypes;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        int globals = Options.MultiCrop.GlobalCount;
        if (batch.Views.Count != ViewCount)
            throw new ArgumentException($"SwAV is set up for {ViewCount} crops per sample ({globals} global + {Options.MultiCrop.LocalCount} local), got {batch.Views.Count}.");
        prototypes.Normalize();
        bool learnPrototypes = progress.Fraction >= Options.FreezePrototypesFraction;
        // Crops go through the encoder one view at a time (batch-norm statistics per crop size; see SimCLR).
        var h = batch.Views.Select(v => encoder.forward(v)).ToArray();
        var z = h.Select(hi => nn.functional.normalize(projector.forward(hi), p: 2, dim: 1)).ToArray();
        var scores = z.Select(zi => prototypes.Scores(zi, learnPrototypes)).ToArray();
        var codes = new Tensor[globals];
        using (no_grad())
        {
            bool useQueue = queue is not null && progress.Fraction >= Options.QueueStartFraction;
            bool queueFull = useQueue && queueFilled!.item<long>() >= Options.QueueLength;
            for (int i = 0; i < globals; i++)
            {
                var s = scores[i].detach();
                long b = s.shape[0];
                if (queueFull) s = cat([prototypes.Scores(queue![i], learn: false), s], 0);
                codes[i] = SwavLoss.Sinkhorn(s, Options.SinkhornEpsilon, Options.SinkhornIterations).narrow(0, s.shape[0] - b, b);
            }
            if (useQueue) Enqueue(z.Take(globals).ToArray());
        }
        // The collapse monitor watches the encoder's features of the first global crop (the projector's batch norm
        // would amplify a nearly collapsed encoder).
        return new StepOutput(loss.Compute(scores, codes), h[0]);
    }

    /// <summary>Pushes the newest global-crop embeddings to the front of the queue, dropping the oldest.</summary>
    private void Enqueue(Tensor[] newest)
    {
        using var scope = NewDisposeScope();
        long length = Options.QueueLength, b = newest[0].shape[0];
        for (int i = 0; i < newest.Length; i++)
        {
            var q = queue![i];
            var fresh = newest[i].detach().to(ScalarType.Float32);
            if (b >= length) { q.copy_(fresh.narrow(0, 0, length)); continue; }
            q.narrow(0, b, length - b).copy_(q.narrow(0, 0, length - b).clone());
            q.narrow(0, 0, b).copy_(fresh);
        }
        queueFilled!.add_(b).clamp_(max: length);
    }

    private static void Validate(SwavOptions o)
    {
        const string at = "methods.swav";
        if (o.ProjectionHiddenDim <= 0 || o.ProjectionDim <= 0 || o.Prototypes <= 0)
            throw new ArgumentException($"{at}: projectionHiddenDim ({o.ProjectionHiddenDim}), projectionDim ({o.ProjectionDim}) and prototypes ({o.Prototypes}) must be positive.");
        if (!(o.FreezePrototypesFraction >= 0 && o.FreezePrototypesFraction <= 1))
            throw new ArgumentException($"{at}.freezePrototypesFraction is {o.FreezePrototypesFraction}; use a fraction of training in [0, 1].");
        if (o.QueueLength < 0) throw new ArgumentException($"{at}.queueLength is {o.QueueLength}; use 0 for no queue.");
        if (!(o.QueueStartFraction >= 0 && o.QueueStartFraction <= 1))
            throw new ArgumentException($"{at}.queueStartFraction is {o.QueueStartFraction}; use a fraction of training in [0, 1].");
        o.MultiCrop.Validate($"{at}.multiCrop");
    }

    /// <summary>
    /// The SwAV defaults on top of a data set's base preset (the image base preset, Runs/Presets.cs), from the
    /// authors' batch-256 recipe: LARS at lr 0.6 decaying (cosine) to 0.0006 (final fraction 0.001), weight decay
    /// 1e-6. Views: multi-crop; global crops take area 0.35-1, where the local crops' range ends
    /// (<see cref="MultiCropOptions"/> explains the split for 28-pixel images). Other augmentations are the base
    /// preset's (SwAV's colour jitter reduced to brightness/contrast on grey images; blur off on small images).
    /// </summary>
    public static MethodSetup Preset(MethodSetup config) => config with
    {
        Augment = config.Augment with { CropScaleMin = config.Methods.Swav.MultiCrop.LocalScaleMax, CropScaleMax = 1.0 },
        Train = config.Train with
        {
            LearningRate = 0.6,
            FinalLrFraction = 0.001,
            Optimizer = config.Train.Optimizer with { Kind = OptimizerKind.Lars, WeightDecay = 1e-6 },
        },
    };
}
