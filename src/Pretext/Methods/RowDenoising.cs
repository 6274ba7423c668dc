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
    /// <summary>The row denoising autoencoder's options.</summary>
    public RowDenoisingOptions Dae { get; init; } = new();
}

/// <summary>Options of <see cref="RowDenoising"/>.</summary>
public sealed record RowDenoisingOptions
{
    /// <summary>
    /// Probability that a cell is swapped for a draw from its column's marginal ("swap noise"). 0.15 is the rate of the denoising
    /// autoencoder that won Kaggle's Porto Seguro competition (Jahrer 2018), the usual starting point for rows; a choice, not a paper default.
    /// </summary>
    public double SwapProbability { get; init; } = 0.15;
}

/// <summary>
/// Denoising autoencoder for table rows (Vincent et al. 2008 with swap noise): cells are swapped for draws from their columns' marginals
/// (<see cref="TableCorruption.BernoulliMask"/>), and a one-hidden-layer decoder rebuilds the whole clean row from the encoder's features
/// (<see cref="TableReconstructionLoss"/>: squared error on numbers, cross entropy on categories). VIME without the mask estimator, with
/// a deeper decoder.
/// </summary>
public sealed class RowDenoising : nn.Module, ISslMethod, IReconstructionScorer
{
    /// <summary>The table base preset at batch 128.</summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with { Train = cfg.Train with { BatchSize = 128 } };

    private readonly Encoder encoder;
    private readonly TableReconstructionHead decoder;
    private readonly int[] featureColumns;
    private readonly int columns;

    /// <exception cref="ArgumentException">The encoder is not a table encoder, or the swap probability is out of range.</exception>
    public RowDenoising(Encoder encoder, TableEncoderConfig table, RowDenoisingOptions? options = null) : base(nameof(RowDenoising))
    {
        options ??= new RowDenoisingOptions();
        if (encoder.InputShape.Length != 1 || encoder.InputShape[0] != table.Width)
            throw new ArgumentException($"The row denoising autoencoder needs a table encoder reading {table.Width} features, got input [{string.Join(",", encoder.InputShape)}]. Pretrain it on a table.");
        if (!(options.SwapProbability > 0 && options.SwapProbability < 1)) throw new ArgumentException($"methods.dae.swapProbability must lie in (0, 1), got {options.SwapProbability}.");
        this.encoder = encoder;
        decoder = new TableReconstructionHead(encoder.FeatureDim, table, hidden: true);
        featureColumns = table.FeatureColumns();
        columns = table.Columns;
        Options = options;
        RegisterComponents();
    }

    public RowDenoisingOptions Options { get; }
    public string Name => "dae";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>How badly each row (B, F) is rebuilt from a swap-noise corruption of it (seeded by <paramref name="seed"/>): <see cref="TableReconstructionLoss.PerRow"/>.</summary>
    public Tensor ReconstructionError(Tensor x, long seed)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed);
        var mask = TableCorruption.BernoulliMask(x.shape[0], columns, Options.SwapProbability, g);
        var (numeric, categorical) = decoder.forward(encoder.forward(TableCorruption.FromMarginals(x, mask, featureColumns, g)));
        return TableReconstructionLoss.PerRow(numeric, categorical, x).MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"The row denoising autoencoder takes one view (the encoded rows), got {batch.Views.Count}.");
        var x = batch.Views[0];
        var mask = TableCorruption.BernoulliMask(x.shape[0], columns, Options.SwapProbability, batch.Random);
        var h = encoder.forward(TableCorruption.FromMarginals(x, mask, featureColumns, batch.Random));
        var (numeric, categorical) = decoder.forward(h);
        return new StepOutput(TableReconstructionLoss.Compute(numeric, categorical, x), h);
    }
}
