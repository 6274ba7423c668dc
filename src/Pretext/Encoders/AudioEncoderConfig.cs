using System.Text.Json.Serialization;
using Pretext.Augmentations;
using Pretext.Compute;
using Pretext.Data;
using static TorchSharp.torch;

namespace Pretext.Encoders;

/// <summary>
/// The audio side of <see cref="EncoderConfig"/>: how files become clips and clips log-mel frames (the front end), the
/// per-band statistics the frames are standardised with, the light augmentation of supervised training, and the shapes of the
/// two audio encoders. It travels in config.json and in every checkpoint, so evaluation and export read audio exactly as
/// pretraining did.
/// </summary>
public sealed record AudioEncoderConfig
{
    public AudioClipOptions Clip { get; init; } = new();
    public LogMelOptions LogMel { get; init; } = new();
    /// <summary>
    /// Mean of each mel band over the training clips' log-mel frames; empty until pretraining measures it (the audio modality does,
    /// before the first step). Encoders read (log-mel - mean) / std.
    /// </summary>
    public float[] Mean { get; init; } = [];
    /// <summary>Standard deviation of each mel band over the same frames.</summary>
    public float[] Std { get; init; } = [];
    /// <summary>
    /// What is taken out of each clip's own log-mels before the per-band standardisation (<see cref="Mean"/>, <see cref="Std"/> are
    /// then measured on the normalised frames). <see cref="AudioClipNormalization.None"/> by default, as in COLA's front end.
    /// </summary>
    public AudioClipNormalization ClipNormalization { get; init; } = AudioClipNormalization.None;
    /// <summary>SpecAugment masking of fine-tuning and training from scratch (the supervised runs' light augmentation).</summary>
    public SpecAugmentOptions Supervised { get; init; } = new();

    /// <summary>Channels of each 1-D convolution of <see cref="EncoderKind.AudioConv"/> (the feature width is twice the last: mean and std).</summary>
    public int[] ConvWidths { get; init; } = [128, 128, 256, 256];
    /// <summary>Stride in time of each convolution (their product is the frames per output token).</summary>
    public int[] ConvStrides { get; init; } = [1, 2, 2, 1];
    /// <summary>
    /// Whether <see cref="EncoderKind.AudioConv"/>'s token t reads only frames up to its own start (convolutions padded on the left,
    /// no batch norm): what CPC predicts from needs it. False: centred kernels with batch norm, the encoder COLA and MSM train.
    /// </summary>
    public bool Causal { get; init; }

    /// <summary>Log-mel frames per token of <see cref="EncoderKind.AudioTransformer"/> (4: 40 ms at a 10 ms hop).</summary>
    public int PatchFrames { get; init; } = 4;
    /// <summary>Transformer width (the feature width).</summary>
    public int Dim { get; init; } = 192;
    public int Depth { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public double MlpRatio { get; init; } = 4;
    /// <summary>Dropout inside the Transformer while training.</summary>
    public double Dropout { get; init; }

    /// <summary>Log-mel frames per clip.</summary>
    [JsonIgnore]
    public int Frames => LogMel.Frames(Clip.Samples);

    /// <summary>One clip as the encoders read it: (mels, frames).</summary>
    [JsonIgnore]
    public long[] InputShape => [LogMel.Mels, Frames];

    /// <summary>The front end for these settings (the caller disposes it).</summary>
    /// <exception cref="ArgumentException">Invalid clip or log-mel settings.</exception>
    public LogMelSpectrogram FrontEnd()
    {
        Clip.Validate();
        return new LogMelSpectrogram(LogMel, Clip.SampleRate, Clip.Samples);
    }

    public AudioConvEncoder BuildConv() => new(new AudioConvOptions { Mels = LogMel.Mels, Frames = Frames, Widths = ConvWidths, Strides = ConvStrides, Causal = Causal });

    public AudioTransformerEncoder BuildTransformer(Precision precision) => new(new AudioTransformerOptions
    {
        Mels = LogMel.Mels, Frames = Frames, PatchFrames = PatchFrames, Dim = Dim, Depth = Depth, Heads = Heads, MlpRatio = MlpRatio,
        Dropout = Dropout, Precision = precision,
    });
}

/// <summary>Per-clip normalisation of log-mel spectrograms (<see cref="AudioEncoderConfig.ClipNormalization"/>).</summary>
public enum AudioClipNormalization
{
    /// <summary>The log-mels as the front end computes them.</summary>
    None,
    /// <summary>
    /// Each mel band minus its mean over the clip's frames (cepstral mean normalisation, applied to log-mel bands). A gain, or a
    /// channel that scales each band by a fixed factor (a microphone, a codec's spectral tilt), adds a constant per band to the
    /// log-mels and is removed; so is the clip's loudness, which the encoder then cannot lean on.
    /// </summary>
    Mean,
}

/// <summary>
/// An audio encoder whose output, before pooling, is a sequence of tokens each covering <see cref="FramesPerToken"/> log-mel
/// frames: masked spectrogram modelling hides some tokens' frames and predicts them from the rest.
/// </summary>
public interface IFrameEncoder
{
    int Mels { get; }
    /// <summary>Log-mel frames each output token covers (the encoder's stride in time).</summary>
    int FramesPerToken { get; }
    /// <summary>Width of each token.</summary>
    int TokenDim { get; }
    /// <summary>Whether token t depends only on frames up to token t's own (a predictive method such as CPC needs this).</summary>
    bool Causal { get; }
    /// <summary>
    /// (B, tokens, TokenDim) tokens of <paramref name="x"/> (B, mels, frames), the frames cut to a whole number of tokens. Where
    /// <paramref name="tokenMask"/> (B, tokens) is true, the token's frames are hidden from the encoder.
    /// </summary>
    Tensor EncodeFrames(Tensor x, Tensor? tokenMask = null);
    /// <summary>(B, FeatureDim) features of (B, tokens, TokenDim) tokens.</summary>
    Tensor Pool(Tensor tokens);
}

internal static class AudioInput
{
    /// <summary>Checks (B, mels, frames) input and returns the frames kept: a whole number of tokens.</summary>
    public static long UsableFrames(Tensor x, int mels, int framesPerToken, string encoder)
    {
        if (x.dim() != 3 || x.shape[1] != mels)
            throw new ArgumentException($"{encoder} takes log-mel spectrograms (B, {mels}, frames), got shape [{string.Join(",", x.shape)}]. Audio goes through the log-mel front end first.");
        long usable = x.shape[2] / framesPerToken * framesPerToken;
        if (usable == 0) throw new ArgumentException($"{encoder} needs at least {framesPerToken} frames, got {x.shape[2]}.");
        return usable;
    }

    /// <summary>(B, tokens) token mask as (B, 1, tokens x framesPerToken) frame mask.</summary>
    public static Tensor FrameMask(Tensor tokenMask, int framesPerToken) => tokenMask.repeat_interleave(framesPerToken, 1).unsqueeze(1);
}
