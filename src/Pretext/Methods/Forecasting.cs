using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Forecasting's options.</summary>
    public ForecastOptions Forecast { get; init; } = new();
}

/// <summary>Options of <see cref="Forecasting"/>.</summary>
public sealed record ForecastOptions
{
    /// <summary>Readings predicted after each step (1: next-step forecasting).</summary>
    public int Horizon { get; init; } = 1;

    /// <summary>
    /// Forecast the change from the last reading each step has seen rather than the level: the forecast is that reading plus
    /// the head's output, and the head starts at zero, so an untrained model is the naive forecast. Sensor readings a few seconds apart barely move; the
    /// level forecast (false) lost 17-31x to the naive one on the Suthaharan sets (docs/series.md).
    /// </summary>
    public bool Residual { get; init; } = true;
}

/// <summary>
/// Forecasting as a pretext task: a causal encoder's features at each step predict, through one linear map, the next
/// <see cref="ForecastOptions.Horizon"/> readings of every channel after that step (by default as a change from the last
/// reading the step has seen, <see cref="ForecastOptions.Residual"/>); the loss is their mean squared error
/// on the normalised readings. The classic self-supervised signal of a series (its own future as the label), and the
/// from-scratch reference of a pretrained scorer. Its per-window forecast error is an anomaly score
/// (<see cref="IReconstructionScorer"/>).
/// </summary>
public sealed class Forecasting : nn.Module, ISslMethod, IReconstructionScorer
{
    /// <summary>No augmentation (the task is the raw future), and a causal encoder.</summary>
    public static MethodSetup Preset(MethodSetup s) => s with
    {
        SeriesAugment = s.SeriesAugment with { JitterStd = 0, ScaleStd = 0, CropMin = 1, MaskProbability = 0, PermutationSegments = 0 },
        Encoder = s.Encoder with { Series = s.Encoder.Series with { Causal = true } },
    };

    private readonly Encoder encoder;
    private readonly ISequenceEncoder steps;
    private readonly Linear head;
    private readonly int channels;

    /// <exception cref="ArgumentException">The encoder has no per-step features, is not causal, or the horizon does not fit a window.</exception>
    public Forecasting(Encoder encoder, ForecastOptions? options = null) : base(nameof(Forecasting))
    {
        options ??= new ForecastOptions();
        if (encoder is not ISequenceEncoder seq)
            throw new ArgumentException($"Forecasting predicts from per-step features; the {encoder.GetType().Name} encoder has none. Use a series encoder (--encoder Tcn or PatchTransformer).");
        if (!seq.Causal)
            throw new ArgumentException("Forecasting needs a causal encoder, or each step would already see the readings it forecasts: set --set encoder.series.causal=true.");
        if (options.Horizon < 1 || seq.StepSize + options.Horizon > seq.MaxLength)
            throw new ArgumentException($"methods.forecast.horizon must be at least 1 and leave a step of context in a window of {seq.MaxLength} readings, got {options.Horizon}.");
        this.encoder = encoder;
        steps = seq;
        channels = (int)encoder.InputShape[0];
        head = nn.Linear(seq.StepDim, options.Horizon * channels);
        if (options.Residual)
        {
            // Start at the naive forecast (no change): training then moves away from it only where that lowers the error.
            using var noGrad = no_grad();
            head.weight!.zero_();
            head.bias!.zero_();
        }
        Options = options;
        RegisterComponents();
    }

    public ForecastOptions Options { get; }
    public string Name => "forecast";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>
    /// Forecasts and what they forecast for windows <paramref name="x"/> (B, C, L): (B, T', H, C) each, for the T' steps whose
    /// next H readings lie inside the window; step t covers readings [tS, (t + 1)S) and forecasts [(t + 1)S, (t + 1)S + H).
    /// </summary>
    public (Tensor Forecast, Tensor Target, Tensor Features) Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long size = steps.StepSize, h = Options.Horizon;
        var z = steps.EncodeSteps(x);                                                    // (B, T, D)
        var future = x.transpose(1, 2).narrow(1, size, x.shape[2] - size).unfold(1, h, size);   // (B, T', C, H)
        long count = future.shape[1];
        var target = future.permute(0, 1, 3, 2);                                          // (B, T', H, C)
        var forecast = head.forward(z.narrow(1, 0, count)).view(x.shape[0], count, h, channels);
        if (Options.Residual)
        {
            // The last reading of steps 0..T'-1: reading (t + 1)S - 1, per channel, broadcast over the horizon.
            var last = x.transpose(1, 2).narrow(1, 0, count * size).reshape(x.shape[0], count, size, channels).select(2, size - 1);
            forecast = forecast + last.unsqueeze(2).to(forecast.dtype);
        }
        return (forecast.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope(), z.MoveToOuterDisposeScope());
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"Forecasting takes 1 view per sample, got {batch.Views.Count}.");
        var (forecast, target, z) = Forward(batch.Views[0]);
        using var all = ones(1, 1, 1, 1);
        return new StepOutput(ReconstructionLoss.MaskedMse(forecast, target, all), steps.Pool(z));
    }

    /// <summary>Per-window mean squared forecast error (no randomness: <paramref name="seed"/> is not used).</summary>
    public Tensor ReconstructionError(Tensor x, long seed)
    {
        using var mode = ModeScope.Eval(this);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (forecast, target, _) = Forward(x);
        using var all = ones(1, 1, 1, 1);
        return ReconstructionLoss.MaskedMsePerSample(forecast, target, all).MoveToOuterDisposeScope();
    }
}
