using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>CPC's options.</summary>
    public CpcOptions Cpc { get; init; } = new();
}

/// <summary>Options of <see cref="Cpc"/>.</summary>
public sealed record CpcOptions
{
    /// <summary>Width of the autoregressive context c_t (the GRU's hidden state); 0: the encoder's step width.</summary>
    public int ContextDim { get; init; }
    /// <summary>
    /// How many future steps each context predicts, k = 1..K (the paper predicts 12 steps of 10 ms audio frames, section 3.1;
    /// 4 steps of one reading each here, 20 s of 5-second sensor readings: beyond that, the windows' slow drift is predictable
    /// from the context alone and adds little; on audio, 4 tokens of 4 log-mel frames, 160 ms, against the paper's 12 frames of
    /// 10 ms, 120 ms). Capped at the input's steps minus one.
    /// </summary>
    public int PredictionSteps { get; init; } = 4;
}

/// <summary>
/// Contrastive predictive coding (van den Oord, Li and Vinyals 2018): a causal encoder maps the input to per-step latents z_t, an
/// autoregressive GRU summarises z_1..z_t into a context c_t (section 2.2), and one linear map W_k per horizon predicts z_{t+k}
/// from c_t; the InfoNCE loss (<see cref="CpcLoss"/>) picks the true z_{t+k} among those of the other samples in the batch at the
/// same step, averaged over k = 1..K. The encoder must be causal, or z_{t+k} would already be in what c_t was built from.
/// Series windows give their steps through <see cref="ISequenceEncoder"/>; audio clips their log-mel frame tokens through
/// <see cref="IFrameEncoder"/> (the paper's own first task was speech: 12 steps of 10 ms ahead). Evaluation reads the pooled
/// latents (the encoder contract).
/// </summary>
public sealed class Cpc : nn.Module, ISslMethod
{
    /// <summary>
    /// CPC's defaults on top of the series or audio preset: the raw input as the only view (the paper augments nothing), a causal
    /// patch Transformer when that series encoder is chosen, and the causal variant of the audio convolution encoder.
    /// </summary>
    public static MethodSetup Preset(MethodSetup s) => s with
    {
        SeriesAugment = s.SeriesAugment with { JitterStd = 0, ScaleStd = 0, CropMin = 1, MaskProbability = 0, PermutationSegments = 0 },
        Encoder = s.Encoder.Modality == Modality.Audio
            ? s.Encoder with { Kind = EncoderKind.AudioConv, Audio = s.Encoder.Audio with { Causal = true } }
            : s.Encoder with { Series = s.Encoder.Series with { Causal = true } },
    };

    /// <summary>One view: series windows through the (neutral) series augmentation, audio clips as they are.</summary>
    public static IViewGenerator Views(MethodSetup s) => s.Encoder.Modality == Modality.Audio
        ? new IdentityViews()
        : new MultiViewAugmentation(s.SeriesAugment.BuildView(), 1);

    private readonly Encoder encoder;
    private readonly Func<Tensor, Tensor> encodeSteps;
    private readonly Func<Tensor, Tensor> pool;
    private readonly GRU context;
    private readonly ModuleList<Linear> predictors;

    /// <exception cref="ArgumentException">The encoder has no per-step features or is not causal.</exception>
    public Cpc(Encoder encoder, CpcOptions? options = null) : base(nameof(Cpc))
    {
        options ??= new CpcOptions();
        int stepDim;
        switch (encoder)
        {
            case ISequenceEncoder seq:
                if (!seq.Causal)
                    throw new ArgumentException("CPC needs a causal encoder, or the latents it predicts would already be in its context: set --set encoder.series.causal=true.");
                if (seq.MaxLength / seq.StepSize < 2) throw new ArgumentException($"CPC needs windows of at least 2 encoder steps; these have {seq.MaxLength / seq.StepSize}.");
                (encodeSteps, pool, stepDim) = (seq.EncodeSteps, seq.Pool, seq.StepDim);
                break;
            case IFrameEncoder frames:
                if (!frames.Causal)
                    throw new ArgumentException($"CPC needs a causal encoder, or the latents it predicts would already be in its context; the {encoder.GetType().Name} sees the whole clip. " +
                        "Use --encoder AudioConv with --set encoder.audio.causal=true (CPC's audio preset).");
                (encodeSteps, pool, stepDim) = (x => frames.EncodeFrames(x), frames.Pool, frames.TokenDim);
                break;
            default:
                throw new ArgumentException($"CPC predicts per-step latents; the {encoder.GetType().Name} encoder has none. Use a series encoder (--encoder Tcn or PatchTransformer) or the causal audio encoder (--encoder AudioConv).");
        }
        if (options.PredictionSteps < 1) throw new ArgumentException($"methods.cpc.predictionSteps must be at least 1, got {options.PredictionSteps}.");
        this.encoder = encoder;
        int hidden = options.ContextDim > 0 ? options.ContextDim : stepDim;
        context = nn.GRU(stepDim, hidden, batchFirst: true);
        // W_k: one linear map per horizon, without bias (the paper's log-bilinear model z^T W_k c).
        predictors = new ModuleList<Linear>([.. Enumerable.Range(0, options.PredictionSteps).Select(_ => nn.Linear(hidden, stepDim, hasBias: false))]);
        Options = options;
        RegisterComponents();
    }

    public CpcOptions Options { get; }
    public string Name => "cpc";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <exception cref="ArgumentException">Not one view, or input too short for two encoder steps.</exception>
    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"CPC takes 1 view per sample, got {batch.Views.Count}.");
        var z = encodeSteps(batch.Views[0]);                       // (B, T, D)
        long t = z.shape[1];
        if (t < 2) throw new ArgumentException($"CPC needs inputs of at least 2 encoder steps; these give {t}. Use longer windows or clips.");
        var (c, _) = context.forward(z);                            // (B, T, H): c_t has seen z_1..z_t
        int horizons = (int)Math.Min(predictors.Count, t - 1);
        var loss = zeros([], ScalarType.Float32);
        for (int k = 1; k <= horizons; k++)
        {
            var predicted = predictors[k - 1].forward(c.narrow(1, 0, t - k));
            loss = loss.add(CpcLoss.InBatch(predicted, z.narrow(1, k, t - k)));
        }
        return new StepOutput(loss.div(horizons), pool(z));
    }
}
