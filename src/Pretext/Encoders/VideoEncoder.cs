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
    /// <summary>How a frame's last feature map becomes its vector: averaged over positions (the default) or flattened, keeping where things are.</summary>
    public FramePooling Pooling { get; init; } = FramePooling.Mean;
    /// <summary>What <see cref="FrameSequenceEncoder.forward"/> returns for a clip, the embedding probes and exports read.</summary>
    public ClipEmbedding Embedding { get; init; } = ClipEmbedding.MeanFrame;

    public FrameSequenceEncoder Build() => new(this);
}

/// <summary>How the frame encoder turns its last feature map into the frame's vector.</summary>
public enum FramePooling
{
    /// <summary>Global average over positions, then a linear layer: the vector says what is in the frame, hardly where.</summary>
    Mean,
    /// <summary>The whole map flattened, then a linear layer: the vector keeps where things are, which motion needs.</summary>
    Flatten,
}

/// <summary>The clip embedding of <see cref="FrameSequenceEncoder.forward"/>.</summary>
public enum ClipEmbedding
{
    /// <summary>The mean of the frame vectors (D): the same for a clip played backwards, so it carries no direction of motion.</summary>
    MeanFrame,
    /// <summary>The temporal model's state after the last frame (D): it has read the frames in order.</summary>
    LastState,
    /// <summary>Both, concatenated (2 D).</summary>
    MeanFrameAndLastState,
    /// <summary>
    /// The frame encoder's last feature map averaged over its positions and the clip's frames (the last width, before the linear
    /// layer): the same wherever a digit stands, so a probe need not learn each pattern at every place.
    /// </summary>
    MapMean,
    /// <summary>The last feature map's maximum over positions, averaged over the frames (the last width): whether a pattern is anywhere in the frame.</summary>
    MapMax,
}

/// <summary>
/// A clip encoder in two parts. The frame encoder maps each frame on its own to a D-vector: stride-2 3x3 convolutions
/// with ReLU (no batch norm, whose batch statistics would mix frames, the future ones included, while training), global
/// average pooling (or, with <see cref="FramePooling.Flatten"/>, the flattened last map) and a linear layer. The temporal model is a GRU over the frame vectors, causal by construction: its
/// state at t has read frames 0..t only. Input (B, T, C, S, S) fp32 in [0, 1]; <see cref="forward"/> returns the clip embedding
/// that probes and exports use (<see cref="VideoEncoderConfig.Embedding"/>: the mean of the frame vectors, the last GRU state, or both); <see cref="EncodeFrames(Tensor)"/> and <see cref="Context"/> give the
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
        int side = config.Size >> config.Widths.Length;
        project = Linear(config.Pooling == FramePooling.Flatten ? inC * side * side : inC, config.Dim);
        temporal = GRU(config.Dim, config.Dim, batchFirst: true);
        RegisterComponents();
    }

    public VideoEncoderConfig Config => config;
    public override int FeatureDim => config.Embedding switch
    {
        ClipEmbedding.MeanFrameAndLastState => 2 * config.Dim,
        ClipEmbedding.MapMean or ClipEmbedding.MapMax => config.Widths[^1],
        _ => config.Dim,
    };
    /// <summary>Whether the clip embedding reads the last feature map (pass it to <see cref="Embed"/>).</summary>
    public bool EmbeddingReadsMaps => config.Embedding is ClipEmbedding.MapMean or ClipEmbedding.MapMax;
    public override long[] InputShape => [config.Frames, config.Channels, config.Size, config.Size];
    /// <summary>Channels of the last convolution; a decoder mirrors from there.</summary>
    public int LastWidth => config.Widths[^1];

    private void Check(Tensor x)
    {
        if (x.dim() != 5 || x.shape[2] != config.Channels || x.shape[3] != config.Size || x.shape[4] != config.Size)
            throw new ArgumentException($"The video encoder takes clips (B, T, {config.Channels}, {config.Size}, {config.Size}), got [{string.Join(",", x.shape)}]. Load clips with the video source at the encoder's size.");
    }

    /// <summary>Each frame encoded on its own: (B, T, C, S, S) to (B, T, D).</summary>
    public Tensor EncodeFrames(Tensor x) => EncodeFrames(x, null);

    /// <summary>
    /// Each frame encoded on its own: (B, T, C, S, S) to (B, T, D); when <paramref name="maps"/> is given, the feature map after each
    /// convolution is added to it, (B * T, Widths[i], S / 2^(i+1), S / 2^(i+1)) in order (frames of a clip consecutive), for decoders
    /// that read them.
    /// </summary>
    public Tensor EncodeFrames(Tensor x, List<Tensor>? maps)
    {
        Check(x);
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var h = x.reshape(b * t, config.Channels, config.Size, config.Size);
        foreach (var layer in frames.children().Cast<Module<Tensor, Tensor>>())
        {
            h = layer.forward(h);
            if (maps is not null && layer is ReLU) maps.Add(h);
        }
        var pooled = config.Pooling == FramePooling.Flatten ? h.flatten(1) : h.mean([2, 3]);
        var result = project.forward(pooled).view(b, t, config.Dim).MoveToOuterDisposeScope();
        if (maps is not null)
            for (int i = 0; i < maps.Count; i++) maps[i] = maps[i].MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>The temporal model's state after each frame, (B, T, D) from frame vectors (B, T, D); state t has read frames 0..t.</summary>
    public Tensor Context(Tensor frameVectors)
    {
        using var scope = NewDisposeScope();
        var (output, hidden) = temporal.forward(frameVectors);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The clip embedding (B, <see cref="FeatureDim"/>) of <see cref="VideoEncoderConfig.Embedding"/>.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var maps = EmbeddingReadsMaps ? new List<Tensor>() : null;
        var v = EncodeFrames(x, maps);
        bool needsContext = config.Embedding is ClipEmbedding.LastState or ClipEmbedding.MeanFrameAndLastState;
        return Embed(v, needsContext ? Context(v) : null, maps?[^1]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The clip embedding from the frame vectors (B, T, D), the temporal model's states (B, T, D) over them (<see cref="Context"/>) for the
    /// embeddings that read them, and the last feature map (B * T, C, s, s) of <see cref="EncodeFrames(Tensor, List{Tensor})"/> for those that
    /// read it (<see cref="EmbeddingReadsMaps"/>), for methods that computed them already.
    /// </summary>
    public Tensor Embed(Tensor frameVectors, Tensor? context, Tensor? lastMap = null)
    {
        if (config.Embedding == ClipEmbedding.MeanFrame) return frameVectors.mean([1]);
        if (EmbeddingReadsMaps)
        {
            if (lastMap is null) throw new ArgumentException($"The {config.Embedding} clip embedding needs the frame encoder's last feature map.");
            using var mapScope = NewDisposeScope();
            long b = frameVectors.shape[0], t = frameVectors.shape[1];
            var perFrame = config.Embedding == ClipEmbedding.MapMean ? lastMap.mean([2, 3]) : lastMap.amax([2, 3]);
            return perFrame.view(b, t, lastMap.shape[1]).mean([1]).MoveToOuterDisposeScope();
        }
        if (context is null) throw new ArgumentException($"The {config.Embedding} clip embedding needs the temporal model's states.");
        using var scope = NewDisposeScope();
        var last = context.select(1, context.shape[1] - 1);
        return (config.Embedding == ClipEmbedding.LastState ? last.clone() : cat([frameVectors.mean([1]), last], 1)).MoveToOuterDisposeScope();
    }
}
