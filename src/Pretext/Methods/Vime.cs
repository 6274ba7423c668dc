using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>VIME self-supervision's options.</summary>
    public VimeOptions Vime { get; init; } = new();
}

/// <summary>Options of <see cref="Vime"/>; defaults from the authors' code (Yoon et al. 2020).</summary>
public sealed record VimeOptions
{
    /// <summary>Probability p_m that a cell is masked and replaced by a draw from its column's marginal (the authors' default 0.3).</summary>
    public double MaskProbability { get; init; } = 0.3;
    /// <summary>Weight alpha of feature reconstruction against mask estimation (eq. 5; the authors' default 2.0).</summary>
    public double Alpha { get; init; } = 2.0;
}

/// <summary>
/// VIME self-supervised learning (Yoon, Zhang, Jordon, van der Schaar 2020, section 4.1): a mask m ~ Bernoulli(p_m) per cell picks cells
/// to replace with draws from their columns' marginals (<see cref="TableCorruption"/>); from the corrupted row's features a mask
/// estimator predicts m (binary cross entropy) and a feature estimator reconstructs the clean row (squared error on numbers, cross entropy
/// on categories: <see cref="TableReconstructionLoss"/>); loss = mask loss + alpha * reconstruction loss (eq. 5). Both estimators are
/// single linear maps on the encoder's features, as in the authors' code.
/// </summary>
public sealed class Vime : nn.Module, ISslMethod, IReconstructionScorer
{
    /// <summary>The table base preset as it is (Adam-style AdamW at 1e-3; the authors train with Adam, batch 128).</summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with { Train = cfg.Train with { BatchSize = 128 } };

    private readonly Encoder encoder;
    private readonly Linear maskHead;
    private readonly TableReconstructionHead featureHead;
    private readonly int[] featureColumns;
    private readonly int columns;

    /// <exception cref="ArgumentException">The encoder is not a table encoder, or an option is out of range.</exception>
    public Vime(Encoder encoder, TableEncoderConfig table, VimeOptions? options = null) : base(nameof(Vime))
    {
        options ??= new VimeOptions();
        if (encoder.InputShape.Length != 1 || encoder.InputShape[0] != table.Width)
            throw new ArgumentException($"VIME needs a table encoder reading {table.Width} features, got input [{string.Join(",", encoder.InputShape)}]. Pretrain it on a table.");
        if (!(options.MaskProbability > 0 && options.MaskProbability < 1)) throw new ArgumentException($"methods.vime.maskProbability must lie in (0, 1), got {options.MaskProbability}.");
        if (!(options.Alpha >= 0)) throw new ArgumentException($"methods.vime.alpha must be >= 0, got {options.Alpha}.");
        this.encoder = encoder;
        maskHead = Linear(encoder.FeatureDim, table.Columns);
        featureHead = new TableReconstructionHead(encoder.FeatureDim, table, hidden: false);
        featureColumns = table.FeatureColumns();
        columns = table.Columns;
        Options = options;
        RegisterComponents();
    }

    public VimeOptions Options { get; }
    public string Name => "vime";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>VIME's mask (B, C) bool and the corrupted rows (B, F) of <paramref name="x"/>, drawn from <paramref name="generator"/>.</summary>
    public (Tensor Mask, Tensor Corrupted) Corrupt(Tensor x, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var mask = TableCorruption.BernoulliMask(x.shape[0], columns, Options.MaskProbability, generator);
        var corrupted = TableCorruption.FromMarginals(x, mask, featureColumns, generator);
        return (mask.MoveToOuterDisposeScope(), corrupted.MoveToOuterDisposeScope());
    }

    /// <summary>How badly each row (B, F) is rebuilt from a VIME corruption of it (seeded by <paramref name="seed"/>): <see cref="TableReconstructionLoss.PerRow"/>.</summary>
    public Tensor ReconstructionError(Tensor x, long seed)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed);
        var (_, corrupted) = Corrupt(x, g);
        var (numeric, categorical) = featureHead.forward(encoder.forward(corrupted));
        return TableReconstructionLoss.PerRow(numeric, categorical, x).MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"VIME takes one view (the encoded rows), got {batch.Views.Count}.");
        var x = batch.Views[0];
        var (mask, corrupted) = Corrupt(x, batch.Random);
        var h = encoder.forward(corrupted);
        var maskLoss = functional.binary_cross_entropy_with_logits(maskHead.forward(h), mask.to(ScalarType.Float32));
        var (numeric, categorical) = featureHead.forward(h);
        var loss = maskLoss.add(TableReconstructionLoss.Compute(numeric, categorical, x).mul(Options.Alpha));
        return new StepOutput(loss, h);
    }
}
