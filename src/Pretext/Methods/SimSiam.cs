using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>SimSiam's options.</summary>
    public SimSiamOptions SimSiam { get; init; } = new();
}

/// <summary>Options of <see cref="SimSiam"/>.</summary>
public sealed record SimSiamOptions
{
    /// <summary>Hidden width of the 3-layer projector; 2048 (paper, "Baseline settings").</summary>
    public int ProjectionHiddenDim { get; init; } = 2048;
    /// <summary>Width of z and p; 2048 (paper, "Baseline settings").</summary>
    public int ProjectionDim { get; init; } = 2048;
    /// <summary>Bottleneck width of the predictor; 512 (paper, "Baseline settings": h is a bottleneck).</summary>
    public int PredictionHiddenDim { get; init; } = 512;
    /// <summary>
    /// Keep the predictor's learning rate at its peak instead of decaying it with the schedule
    /// (paper, section 4.2 and Table 1: a fixed-lr predictor is slightly better).
    /// </summary>
    public bool FixedPredictorLr { get; init; } = true;
}

/// <summary>
/// SimSiam (Chen and He 2021, "Exploring Simple Siamese Representation Learning"): one encoder and
/// projector f applied to both views, a predictor h on top, and the loss
/// D(p1, sg(z2))/2 + D(p2, sg(z1))/2 with D the negative cosine similarity. No negatives, no momentum
/// encoder: the stop-gradient alone prevents collapse (paper, section 4.1).
/// </summary>
public sealed class SimSiam : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly SimSiamProjectionHead projector;
    private readonly PredictionHead predictor;
    private readonly CosineRegressionLoss loss = new(CosineRegressionForm.NegativeCosine);

    public SimSiam(Encoder encoder, SimSiamOptions? options = null) : base(nameof(SimSiam))
    {
        options ??= new SimSiamOptions();
        this.encoder = encoder;
        projector = new SimSiamProjectionHead(encoder.FeatureDim, options.ProjectionHiddenDim, options.ProjectionDim);
        predictor = new PredictionHead(options.ProjectionDim, options.PredictionHiddenDim, options.ProjectionDim);
        Options = options;
        RegisterComponents();
    }

    public SimSiamOptions Options { get; }
    public string Name => "simsiam";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    /// <summary>Encoder and projector on the schedule; the predictor in its own groups, with a fixed learning rate unless turned off.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups()
    {
        var all = named_parameters().ToList();
        bool IsPredictor((string name, TorchSharp.Modules.Parameter) p) => p.name.StartsWith(nameof(predictor) + ".", StringComparison.Ordinal);
        return
        [
            .. ParameterGroup.SplitDecay(all.Where(p => !IsPredictor(p))),
            .. ParameterGroup.SplitDecay(all.Where(IsPredictor), prefix: "predictor_", decayLr: !Options.FixedPredictorLr),
        ];
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"SimSiam needs 2 views per sample, got {batch.Views.Count}.");
        var h1 = encoder.forward(batch.Views[0]);
        var z1 = projector.forward(h1);
        var z2 = projector.forward(encoder.forward(batch.Views[1]));
        var p1 = predictor.forward(z1);
        var p2 = predictor.forward(z2);
        return new StepOutput(SymmetricLoss(p1, p2, z1, z2), h1);
    }

    /// <summary>
    /// SimSiam's loss from predictions p1, p2 and projections z1, z2 of views 1 and 2 (each (N, D)):
    /// -cos(p1, sg(z2))/2 - cos(p2, sg(z1))/2, batch means, in [-1, 1] (paper, eq. 2).
    /// </summary>
    public Tensor SymmetricLoss(Tensor p1, Tensor p2, Tensor z1, Tensor z2) => loss.Compute(p1, z2).add(loss.Compute(p2, z1)).div(2);

    /// <summary>
    /// SimSiam's defaults on top of a data set's base preset: SGD with momentum 0.9 (paper, "Baseline settings"),
    /// the predictor's lr fixed (<see cref="SimSiamOptions.FixedPredictorLr"/>). The paper's CIFAR-10 rate and decay
    /// (lr 0.03 x B/256, weight decay 5e-4, no warmup) are for 800 epochs; at the method table's 326 steps they
    /// reached 66.5 / 72.8 / 58.7 % (kNN / linear 100 % / linear 1 %), and lr 0.5 x B/256 with half an epoch of warmup
    /// and weight decay 1e-5 reached 76.6 / 81.5 / 71.3 % (docs/benchmarks.md), so those are the defaults here.
    /// The paper's augmentations (SimCLR's, with blur) are the base preset's, blur off on 28-pixel images.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        Train = cfg.Train with
        {
            LearningRate = 0.5 * cfg.Train.BatchSize / 256,
            WarmupEpochs = 0.5,
            Optimizer = cfg.Train.Optimizer with { Kind = OptimizerKind.Sgd, WeightDecay = 1e-5, Momentum = 0.9 },
        },
    };
}
