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
    /// <summary>Masked spectrogram modelling's options.</summary>
    public MaskedSpectrogramOptions Msm { get; init; } = new();
}

/// <summary>Options of <see cref="MaskedSpectrogram"/>.</summary>
public sealed record MaskedSpectrogramOptions
{
    /// <summary>
    /// Share of spans masked per clip. Mockingjay masks 15 % of frames, MAE-AST 75 % of patches; half is between the two (not tuned
    /// here).
    /// </summary>
    public double MaskRatio { get; init; } = 0.5;
    /// <summary>Consecutive tokens per masked span: 2 tokens of 4 frames hide 80 ms, longer than one phone, so a span cannot be filled in from
    /// its neighbours' frames alone (Mockingjay masks 7 consecutive frames for the same reason).</summary>
    public int SpanTokens { get; init; } = 2;
}

/// <summary>
/// Masked spectrogram modelling (Mockingjay, Liu et al. 2020; the masked-patch objective of SSAST, Gong et al. 2022, and MAE-AST,
/// Baade et al. 2022, on frame patches): spans of tokens of each clip's standardised log-mels are hidden from the encoder (a mask
/// embedding for the Transformer, zeros for the convolutional encoder), a head predicts the hidden frames from the encoding, and the loss
/// is the mean squared error on the hidden frames only (<see cref="MaskedFrameLoss"/>). Works with any <see cref="IFrameEncoder"/>.
/// Masks come from a generator seeded by (run seed, step), so runs and resumes repeat them.
/// </summary>
public sealed class MaskedSpectrogram : nn.Module, ISslMethod
{
    /// <summary>
    /// The audio base preset with the Transformer over frames, the encoder masked modelling was designed for (the convolutional one works
    /// too: --set encoder.kind=AudioConv).
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with { Encoder = cfg.Encoder with { Kind = EncoderKind.AudioTransformer } };

    private readonly Encoder encoder;
    private readonly IFrameEncoder frames;
    private readonly FramePredictionHead head;
    private readonly long seed;

    /// <exception cref="ArgumentException">An encoder without frame tokens, or a ratio that would mask nothing or everything.</exception>
    public MaskedSpectrogram(Encoder encoder, MaskedSpectrogramOptions? options = null, long seed = 0) : base(nameof(MaskedSpectrogram))
    {
        options ??= new MaskedSpectrogramOptions();
        if (options.SpanTokens < 1) throw new ArgumentException($"methods.msm.spanTokens must be at least 1, got {options.SpanTokens}.");
        this.encoder = encoder;
        frames = encoder as IFrameEncoder ?? throw new ArgumentException(
            $"Masked spectrogram modelling needs an audio encoder over log-mel frames (AudioTransformer or AudioConv), got {encoder.GetType().Name}. Pretrain it on audio.");
        head = new FramePredictionHead(frames.TokenDim, frames.FramesPerToken * frames.Mels);
        Options = options;
        this.seed = seed;
        RegisterComponents();
    }

    public MaskedSpectrogramOptions Options { get; }
    public string Name => "msm";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>
    /// (B, tokens) bool: the tokens cut into spans of <see cref="MaskedSpectrogramOptions.SpanTokens"/>, round(ratio x spans) of them
    /// chosen per clip (<see cref="PatchMasking"/>), drawn from <paramref name="generator"/>.
    /// </summary>
    public Tensor DrawMask(long batch, long tokens, Generator generator)
    {
        using var scope = NewDisposeScope();
        int span = Options.SpanTokens;
        int spans = (int)((tokens + span - 1) / span);
        var chosen = PatchMasking.Draw(batch, spans, Options.MaskRatio, generator).Mask.to(ScalarType.Bool);
        return chosen.repeat_interleave(span, 1).narrow(1, 0, tokens).MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"Masked spectrogram modelling takes 1 view per clip, got {batch.Views.Count}.");
        var x = batch.Views[0];
        long tokens = x.shape[2] / frames.FramesPerToken;
        using var g = StepRandom.For(seed, progress);
        var mask = DrawMask(x.shape[0], tokens, g);
        var h = frames.EncodeFrames(x, mask);
        var loss = MaskedFrameLoss.Compute(head.forward(h), x, mask, frames.FramesPerToken);
        return new StepOutput(loss, frames.Pool(h));
    }
}
