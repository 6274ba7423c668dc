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
    /// <summary>NNCLR's options.</summary>
    public NnclrOptions Nnclr { get; init; } = new();
}

/// <summary>Options of <see cref="Nnclr"/>.</summary>
public sealed record NnclrOptions
{
    /// <summary>Hidden width of the 3-layer projector; 2048 (paper, implementation details).</summary>
    public int ProjectionHiddenDim { get; init; } = 2048;
    /// <summary>Width d of projections and predictions; 256 (paper, implementation details).</summary>
    public int ProjectionDim { get; init; } = 256;
    /// <summary>Hidden width of the predictor; 4096 (paper, implementation details).</summary>
    public int PredictionHiddenDim { get; init; } = 4096;
    /// <summary>Temperature tau; 0.1 (paper, implementation details).</summary>
    public double Temperature { get; init; } = 0.1;
    /// <summary>
    /// Support-set size. The paper keeps 98,304 projections (24 batches of 4,096) for ImageNet's 1.28 M
    /// images; 4,096 here, lightly's value for its CIFAR-10 benchmark, 7 % of Fashion-MNIST's 60,000 images
    /// (16 batches of 256): a support set near the data set's size would return stale copies of the same
    /// images, and one filled over many steps holds projections of an older encoder.
    /// </summary>
    public int SupportSetSize { get; init; } = 4096;
    /// <summary>
    /// Fraction of the run (0 to 1) during which a view's positive is its own projection rather than its nearest
    /// neighbour in the support set, while the support set fills as usual. The paper uses 0 (neighbours from the
    /// first step). Early in a short run the embedding is poor and the neighbours are often of another class; this
    /// starts with SimCLR's cleaner positives and switches once the support set holds better projections. Default
    /// 0.3: on Fashion-MNIST at the method table's 312 steps it beat 0 on kNN, both probes (docs/methods/nnclr.md).
    /// </summary>
    public double OwnPositiveFraction { get; init; } = 0.3;
}

/// <summary>
/// NNCLR (Dwibedi et al. 2021, "With a Little Help from My Friends"): SimCLR-style contrastive learning
/// in which the positive of a view is not the other view itself but the nearest neighbour of this
/// view's projection in a support set of projections from earlier batches (a <see cref="FeatureQueue"/>).
/// With z the L2-normalised projections and p the predictions of the two views, the loss is
/// InfoNCE(NN(z1), p2) / 2 + InfoNCE(NN(z2), p1) / 2 with in-batch negatives (paper, eq. 2;
/// symmetrised over the views as in solo-learn and lightly). The support set receives view 1's
/// projections after each step, as solo-learn and lightly do.
/// </summary>
public sealed class Nnclr : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly NnclrProjectionHead projector;
    private readonly PredictionHead predictor;
    private readonly FeatureQueue supportSet;
    private readonly InfoNceLoss loss;
    private Tensor? pending;

    public Nnclr(Encoder encoder, NnclrOptions? options = null) : base(nameof(Nnclr))
    {
        options ??= new NnclrOptions();
        this.encoder = encoder;
        projector = new NnclrProjectionHead(encoder.FeatureDim, options.ProjectionHiddenDim, options.ProjectionDim);
        predictor = new PredictionHead(options.ProjectionDim, options.PredictionHiddenDim, options.ProjectionDim);
        // Starts empty: nearest neighbours among random vectors would be meaningless positives.
        supportSet = new FeatureQueue(options.SupportSetSize, options.ProjectionDim, QueueStart.Empty, "methods.nnclr.supportSetSize");
        loss = new InfoNceLoss(options.Temperature);
        if (!(options.OwnPositiveFraction is >= 0 and <= 1))
            throw new ArgumentException($"methods.nnclr.ownPositiveFraction must be between 0 and 1, got {options.OwnPositiveFraction}.");
        Options = options;
        RegisterComponents();
    }

    public NnclrOptions Options { get; }
    public string Name => "nnclr";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    public FeatureQueue SupportSet => supportSet;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(named_parameters());

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"NNCLR needs 2 views per sample, got {batch.Views.Count}.");
        pending = null;
        var h1 = encoder.forward(batch.Views[0]);
        var z1 = projector.forward(h1);
        var z2 = projector.forward(encoder.forward(batch.Views[1]));
        var p1 = predictor.forward(z1);
        var p2 = predictor.forward(z2);
        Tensor nn1, nn2;
        using (no_grad())
        {
            var u1 = nn.functional.normalize(z1.detach(), dim: 1);
            var u2 = nn.functional.normalize(z2.detach(), dim: 1);
            // Before the switch the support set is left out, which makes each view its own neighbour.
            var support = progress.Fraction < Options.OwnPositiveFraction ? u1.narrow(0, 0, 0) : supportSet.Contents();
            nn1 = NearestNeighbours(u1, support);
            nn2 = NearestNeighbours(u2, support);
            pending = u1;
        }
        return new StepOutput(SymmetricLoss(p1, p2, nn1, nn2), h1);
    }

    /// <summary>
    /// For each row of <paramref name="queries"/> (N, D, L2-normalised) the row of <paramref name="support"/>
    /// (M, D, L2-normalised) with the largest cosine similarity (the first one on ties). With an empty
    /// support set (the very first step) each query is its own neighbour, so that step is plain
    /// contrastive learning between the two views.
    /// </summary>
    public static Tensor NearestNeighbours(Tensor queries, Tensor support)
    {
        if (support.shape[0] == 0) return queries.clone();
        using var scope = NewDisposeScope();
        var index = queries.matmul(support.t()).argmax(1);
        return support.index_select(0, index).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// NNCLR's loss from the predictions p1, p2 and the support-set neighbours nn1, nn2 of the two views'
    /// projections (each (N, D)): InfoNCE with nn1 as anchors and p2 as the in-batch candidates, and the
    /// same with the views swapped, averaged.
    /// </summary>
    public Tensor SymmetricLoss(Tensor p1, Tensor p2, Tensor nn1, Tensor nn2) =>
        loss.InBatch(nn1, p2).add(loss.InBatch(nn2, p1)).div(2);

    /// <summary>Adds this step's view-1 projections to the support set.</summary>
    public void AfterOptimizerStep(TrainingProgress progress)
    {
        if (pending is null) return;
        supportSet.Enqueue(pending);
        pending = null;
    }

    /// <summary>
    /// NNCLR trains with SimCLR's recipe (LARS, small weight decay, warmup then cosine; paper, implementation details),
    /// so the preset keeps the base preset's optimiser as measured for SimCLR here. Augmentation: the
    /// base preset's (SimCLR's, blur off on 28-pixel grey images).
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg;
}
