using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>Shape of <see cref="FrameSequenceEncoder"/>; travels in config.json as <c>encoder.video</c>.</summary>
public sealed record VideoEncoderConfig
{
    /// <summary>Frames per clip (Moving MNIST: 20).</summary>
    public int Frames { get; init; } = 20;
    /// <summary>Frame side; a multiple of 2^(number of widths), so the decoder of next-frame prediction can mirror the encoder.</summary>
    public int Size { get; init; } = 64;
    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int Channels { get; init; } = 1;
    /// <summary>Channels of the frame encoder's stride-2 convolutions, one per halving of the frame.</summary>
    public int[] Widths { get; init; } = [32, 64, 128];
    /// <summary>Width of a frame's feature and of the temporal model's state (the encoder's feature width).</summary>
    public int Dim { get; init; } = 128;

    public FrameSequenceEncoder Build() => new(this);
}

/// <summary>
/// A clip encoder in two parts. The frame encoder maps each frame on its own to a D-vector: stride-2 3x3 convolutions
/// with ReLU (no batch norm, whose batch statistics would mix frames, the future ones included, while training), global
/// average pooling and a linear layer. The temporal model is a GRU over the frame vectors, causal by construction: its
/// state at t has read frames 0..t only. Input (B, T, C, S, S) fp32 in [0, 1]; <see cref="forward"/> returns the mean of
/// the frame vectors (B, D), which probes and exports use; <see cref="EncodeFrames"/> and <see cref="Context"/> give the
/// per-frame (B, T, D) outputs the video methods train on.
/// </summary>
public sealed class FrameSequenceEncoder : Encoder
{
    private readonly Sequential frames;
    private readonly Linear project;
    private readonly GRU temporal;
    private readonly VideoEncoderConfig config;

    public FrameSequenceEncoder(VideoEncoderConfig config) : base(nameof(FrameSequenceEncoder))
    {
        if (config.Frames < 2 || config.Channels is not (1 or 3) || config.Widths.Length == 0 || config.Dim < 1 || config.Widths.Any(w => w < 1))
            throw new ArgumentException($"A video encoder needs at least 2 frames, 1 or 3 channels, at least one positive width and a positive dim (got {config.Frames} frames, {config.Channels} channels, widths [{string.Join(",", config.Widths)}], dim {config.Dim}).");
        int scale = 1 << config.Widths.Length;
        if (config.Size < scale || config.Size % scale != 0)
            throw new ArgumentException($"Frame side {config.Size} must be a multiple of {scale} (2 to the number of widths, {config.Widths.Length}).");
        this.config = config;
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        int inC = config.Channels;
        for (int i = 0; i < config.Widths.Length; i++)
        {
            layers.Add(($"conv{i}", Conv2d(inC, config.Widths[i], 3, stride: 2, padding: 1)));
            layers.Add(($"relu{i}", ReLU()));
            inC = config.Widths[i];
        }
        frames = Sequential(layers);
        project = Linear(inC, config.Dim);
        temporal = GRU(config.Dim, config.Dim, batchFirst: true);
        RegisterComponents();
    }

    public VideoEncoderConfig Config => config;
    public override int FeatureDim => config.Dim;
    public override long[] InputShape => [config.Frames, config.Channels, config.Size, config.Size];
    /// <summary>Channels of the last convolution; a decoder mirrors from there.</summary>
    public int LastWidth => config.Widths[^1];

    private void Check(Tensor x)
    {
        if (x.dim() != 5 || x.shape[2] != config.Channels || x.shape[3] != config.Size || x.shape[4] != config.Size)
            throw new ArgumentException($"The video encoder takes clips (B, T, {config.Channels}, {config.Size}, {config.Size}), got [{string.Join(",", x.shape)}]. Load clips with the video source at the encoder's size.");
    }

    /// <summary>Each frame encoded on its own: (B, T, C, S, S) to (B, T, D).</summary>
    public Tensor EncodeFrames(Tensor x)
    {
        Check(x);
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var h = frames.forward(x.reshape(b * t, config.Channels, config.Size, config.Size)).mean([2, 3]);
        return project.forward(h).view(b, t, config.Dim).MoveToOuterDisposeScope();
    }

    /// <summary>The temporal model's state after each frame, (B, T, D) from frame vectors (B, T, D); state t has read frames 0..t.</summary>
    public Tensor Context(Tensor frameVectors)
    {
        using var scope = NewDisposeScope();
        var (output, hidden) = temporal.forward(frameVectors);
        return output.MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return EncodeFrames(x).mean([1]).MoveToOuterDisposeScope();
    }
}
