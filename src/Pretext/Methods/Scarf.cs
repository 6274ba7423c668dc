using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>SCARF's options.</summary>
    public ScarfOptions Scarf { get; init; } = new();
}

/// <summary>Options of <see cref="Scarf"/>; defaults from Bahri et al. 2022.</summary>
public sealed record ScarfOptions
{
    /// <summary>Fraction of a row's columns replaced by draws from their marginals (section 4: c = 0.6, the best of their sweep).</summary>
    public double CorruptionRate { get; init; } = 0.6;
    /// <summary>Temperature of InfoNCE (section 4: tau = 1).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Hidden width of the pretraining head g (section 4: a 2-layer ReLU MLP of width 256).</summary>
    public int HeadHiddenDim { get; init; } = 256;
    /// <summary>Output width of the pretraining head g (section 4: 256).</summary>
    public int HeadDim { get; init; } = 256;
}

/// <summary>
/// SCARF (Bahri, Jiang, Tay, Metzler 2022): each row is paired with a corrupted copy in which a random subset of its columns, a fixed
/// fraction of them, takes values drawn from those columns' empirical marginals (<see cref="TableCorruption"/>, drawn from the batch);
/// encoder and head map both, and InfoNCE makes each clean row pick its own corrupted copy among the batch's (eq. 1, cosine similarity,
/// the other rows' corrupted copies as negatives). One view: the encoded rows; the corruption is drawn from the step's generator.
/// With same-entity positives (<see cref="Batch.Partners"/>, <c>table.entityPositives</c>) the corrupted copy is made from another
/// row of the same entity instead of the row itself, so rows of one customer or patient are pulled together (Azizi et al. 2021).
/// </summary>
public sealed class Scarf : nn.Module, ISslMethod
{
    /// <summary>
    /// SCARF's optimiser on top of the table base preset: Adam at lr 1e-3, batch 128 (section 4), no weight decay.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        Train = cfg.Train with { BatchSize = 128, LearningRate = 1e-3, Optimizer = cfg.Train.Optimizer with { WeightDecay = 0 } },
    };

    private readonly Encoder encoder;
    private readonly MlpHead head;
    private readonly InfoNceLoss loss;
    private readonly int[] featureColumns;
    private readonly int columns;

    /// <exception cref="ArgumentException">The encoder is not a table encoder, or an option is out of range.</exception>
    public Scarf(Encoder encoder, TableEncoderConfig table, ScarfOptions? options = null) : base(nameof(Scarf))
    {
        options ??= new ScarfOptions();
        if (encoder.InputShape.Length != 1 || encoder.InputShape[0] != table.Width)
            throw new ArgumentException($"SCARF needs a table encoder reading {table.Width} features, got input [{string.Join(",", encoder.InputShape)}]. Pretrain it on a table.");
        if (!(options.CorruptionRate > 0 && options.CorruptionRate < 1)) throw new ArgumentException($"methods.scarf.corruptionRate must lie in (0, 1), got {options.CorruptionRate}.");
        if (options.HeadHiddenDim < 1 || options.HeadDim < 1) throw new ArgumentException($"methods.scarf.headHiddenDim and headDim must be positive, got {options.HeadHiddenDim} and {options.HeadDim}.");
        this.encoder = encoder;
        head = new MlpHead(encoder.FeatureDim, [options.HeadHiddenDim], options.HeadDim, name: "head", hiddenBatchNorm: false);
        loss = new InfoNceLoss(options.Temperature);
        featureColumns = table.FeatureColumns();
        columns = table.Columns;
        Options = options;
        RegisterComponents();
    }

    public ScarfOptions Options { get; }
    public string Name => "scarf";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>The corrupted copies of <paramref name="x"/> (B, F) for one step (marginals drawn from <paramref name="x"/> itself): SCARF's mask and marginal draws from <paramref name="generator"/>.</summary>
    public Tensor Corrupt(Tensor x, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var mask = TableCorruption.FixedCountMask(x.shape[0], columns, Options.CorruptionRate, generator);
        return TableCorruption.FromMarginals(x, mask, featureColumns, generator).MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"SCARF takes one view (the encoded rows), got {batch.Views.Count}.");
        var x = batch.Views[0];
        var positive = batch.Partners is { Count: > 0 } partners ? partners[0] : x;
        if (!positive.shape.SequenceEqual(x.shape)) throw new ArgumentException($"SCARF's partner rows have shape [{string.Join(",", positive.shape)}], the rows [{string.Join(",", x.shape)}].");
        var corrupted = Corrupt(positive, batch.Random);
        long n = x.shape[0];
        // One forward of both halves: batch norm sees clean and corrupted rows together, as a shared encoder would over a step.
        var h = encoder.forward(cat([x, corrupted], 0));
        var z = head.forward(h);
        return new StepOutput(loss.InBatch(z.narrow(0, 0, n), z.narrow(0, n, n)), h.narrow(0, 0, n), h.narrow(0, n, n));
    }
}
