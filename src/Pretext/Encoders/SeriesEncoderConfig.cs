using Pretext.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Encoders;

/// <summary>How a series encoder turns its per-step features into one vector per window.</summary>
public enum SeriesPooling
{
    /// <summary>Mean over the steps.</summary>
    Mean,
    /// <summary>Maximum over the steps, per feature (TS2Vec's instance-level representation, Yue et al. 2022, section 3.3).</summary>
    Max,
    /// <summary>The last step: with a causal encoder, everything the window says up to its end.</summary>
    Last,
}

/// <summary>
/// The series side of <see cref="EncoderConfig"/>: the input shape (filled in from the data by the series modality) and the
/// shapes of the TCN and the patch Transformer. Both encoders read windows (B, Channels, Length) and return Dim features.
/// </summary>
public sealed record SeriesEncoderConfig
{
    /// <summary>Channels per reading; set from the data when a run starts.</summary>
    public int Channels { get; init; } = 1;
    /// <summary>Readings per window (series.window); set from the data config when a run starts.</summary>
    public int Length { get; init; } = 64;
    /// <summary>Feature width of both encoders (per step and pooled).</summary>
    public int Dim { get; init; } = 64;
    public SeriesPooling Pooling { get; init; } = SeriesPooling.Mean;

    /// <summary>TCN: channels inside the residual blocks.</summary>
    public int Width { get; init; } = 64;
    /// <summary>TCN: residual blocks; block i dilates by 2^i, so 5 blocks of kernel 3 see 1 + 2 (3 - 1)(2^5 - 1) = 125 readings back.</summary>
    public int Blocks { get; init; } = 5;
    /// <summary>TCN: kernel size of each dilated convolution.</summary>
    public int Kernel { get; init; } = 3;

    /// <summary>Patch Transformer: readings per patch (a divisor of <see cref="Length"/>).</summary>
    public int PatchSize { get; init; } = 8;
    /// <summary>Patch Transformer: pre-LN blocks.</summary>
    public int Depth { get; init; } = 3;
    /// <summary>Patch Transformer: attention heads (a divisor of <see cref="Dim"/>).</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Patch Transformer: MLP hidden width as a multiple of <see cref="Dim"/>.</summary>
    public double MlpRatio { get; init; } = 2.0;
    /// <summary>Patch Transformer: each patch attends only to itself and earlier patches (needed by predictive methods such as CPC).</summary>
    public bool Causal { get; init; }
    /// <summary>Patch Transformer: dropout on attention and residual branches while training.</summary>
    public double Dropout { get; init; }

    public Tcn BuildTcn() => new(this);

    public PatchTransformer BuildPatchTransformer(Precision precision) => new(this, new ComputeOptions(precision));

    /// <exception cref="ArgumentException">A shape no encoder can have; the message names the option.</exception>
    internal void ValidateInput()
    {
        if (Channels < 1 || Length < 2) throw new ArgumentException($"A series encoder needs at least 1 channel and 2 readings per window (got encoder.series.channels={Channels}, length={Length}).");
        if (Dim < 1) throw new ArgumentException($"encoder.series.dim must be positive, got {Dim}.");
    }
}

/// <summary>
/// A series encoder with features per step: CPC predicts future steps, TS2Vec contrasts steps across views. Besides the
/// pooled (B, FeatureDim) output of the encoder contract it gives (B, T, StepDim) features, one per <see cref="StepSize"/>
/// readings.
/// </summary>
public interface ISequenceEncoder
{
    /// <summary>Input readings per output step (1 for the TCN, the patch size for the patch Transformer).</summary>
    int StepSize { get; }
    /// <summary>Width of each step's features.</summary>
    int StepDim { get; }
    /// <summary>Longest input the encoder takes, in readings.</summary>
    int MaxLength { get; }
    /// <summary>Whether step t's features depend only on readings up to the end of step t (a predictive method needs this).</summary>
    bool Causal { get; }
    /// <summary>Per-step features (B, L / StepSize, StepDim) fp32 of windows <paramref name="x"/> (B, C, L), L a multiple of StepSize up to MaxLength.</summary>
    /// <exception cref="ArgumentException">Wrong channels, or a length the encoder cannot take.</exception>
    Tensor EncodeSteps(Tensor x);
    /// <summary>Pools per-step features (B, T, StepDim) into (B, StepDim).</summary>
    Tensor Pool(Tensor steps);
}

/// <summary>Checks and pooling shared by the series encoders.</summary>
internal static class SeriesInput
{
    public static void Check(Tensor x, int channels, int stepSize, int maxLength, string encoder)
    {
        if (x.dim() != 3 || x.shape[1] != channels || x.dtype != ScalarType.Float32)
            throw new ArgumentException($"{encoder} takes windows (B, {channels}, L) fp32, got {x.dtype} of shape [{string.Join(",", x.shape)}]. The series modality cuts a file into such windows.");
        long l = x.shape[2];
        if (l < stepSize || l % stepSize != 0 || l > maxLength)
            throw new ArgumentException($"{encoder} takes windows of a multiple of {stepSize} readings up to {maxLength}, got {l}.");
    }

    public static Tensor Pool(Tensor steps, SeriesPooling pooling) => pooling switch
    {
        SeriesPooling.Max => steps.amax([1L]),
        SeriesPooling.Last => steps.select(1, -1),
        _ => steps.mean([1L]),
    };
}
