using Pretext.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>Options of <see cref="AudioTransformerEncoder"/>.</summary>
public sealed record AudioTransformerOptions
{
    public int Mels { get; init; } = 64;
    /// <summary>Frames per clip (only reported as the input shape; sinusoidal positions read any length).</summary>
    public int Frames { get; init; } = 301;
    /// <summary>Consecutive frames per token.</summary>
    public int PatchFrames { get; init; } = 4;
    public int Dim { get; init; } = 192;
    public int Depth { get; init; } = 4;
    /// <summary>Attention heads; must divide <see cref="Dim"/>.</summary>
    public int Heads { get; init; } = 4;
    public double MlpRatio { get; init; } = 4;
    public double Dropout { get; init; }
    /// <summary>Precision of the matrix products (the residual stream and layer norms stay fp32).</summary>
    public Precision Precision { get; init; } = Precision.Float32;
}

/// <summary>
/// A Transformer over log-mel frames (as the Audio Spectrogram Transformer's frame-patch variant, Gong et al. 2022): each token
/// is <see cref="AudioTransformerOptions.PatchFrames"/> consecutive frames of every band, linearly embedded, plus fixed sinusoidal
/// positions (Vaswani et al. 2017; fixed, so a model trained on segments reads whole clips), then pre-LN Transformer blocks, a final
/// layer norm and the mean over tokens. Masked tokens are replaced by a learned mask embedding (masked spectrogram modelling).
/// Input (B, mels, frames) fp32, output (B, Dim). Weights start as in BERT: normal(0, 0.02) matrices, zero biases.
/// </summary>
public sealed class AudioTransformerEncoder : Encoder, IFrameEncoder
{
    private readonly Linear embed;
    private readonly Parameter maskToken;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm norm;
    private readonly AudioTransformerOptions options;

    /// <exception cref="ArgumentException">Sizes below 1, or a width the heads do not divide.</exception>
    public AudioTransformerEncoder(AudioTransformerOptions options) : base(nameof(AudioTransformerEncoder))
    {
        if (options.Mels < 1 || options.PatchFrames < 1 || options.Dim < 1 || options.Depth < 1 || options.Heads < 1 || !(options.MlpRatio > 0))
            throw new ArgumentException($"The audio Transformer's mels, patch frames, dim, depth, heads and MLP ratio must be positive (got {options.Mels}, {options.PatchFrames}, {options.Dim}, {options.Depth}, {options.Heads}, {options.MlpRatio}).");
        if (options.Dim % options.Heads != 0) throw new ArgumentException($"encoder.audio.dim {options.Dim} is not divisible by its {options.Heads} heads.");
        this.options = options;
        embed = Linear(options.Mels * options.PatchFrames, options.Dim);
        maskToken = new Parameter(zeros(options.Dim));
        var compute = new ComputeOptions(options.Precision);
        blocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, options.Depth)
            .Select(_ => new TransformerBlock(options.Dim, options.Heads, options.MlpRatio, compute, options.Dropout, layerNormEps: 1e-5)).ToArray());
        norm = LayerNorm(options.Dim);
        RegisterComponents();
        using var noGrad = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() >= 2) init.normal_(p, 0, 0.02);
            else if (name.EndsWith("bias", StringComparison.Ordinal)) p.zero_();
        }
        init.normal_(maskToken, 0, 0.02);
    }

    public AudioTransformerOptions Options => options;
    public override int FeatureDim => options.Dim;
    public override long[] InputShape => [options.Mels, options.Frames];
    public int Mels => options.Mels;
    public int FramesPerToken => options.PatchFrames;
    public int TokenDim => options.Dim;
    /// <summary>False: every token attends to the whole clip.</summary>
    public bool Causal => false;

    public Tensor EncodeFrames(Tensor x, Tensor? tokenMask = null)
    {
        long frames = AudioInput.UsableFrames(x, options.Mels, options.PatchFrames, "The audio Transformer");
        using var scope = NewDisposeScope();
        long b = x.shape[0], tokens = frames / options.PatchFrames;
        var patches = x.narrow(2, 0, frames).transpose(1, 2).reshape(b, tokens, options.PatchFrames * options.Mels);
        var h = embed.forward(patches);
        if (tokenMask is not null) h = where(tokenMask.unsqueeze(-1), maskToken.to(h.dtype).expand_as(h), h);
        h = h.add(Positions(tokens, options.Dim));
        foreach (var block in blocks) h = block.forward(h);
        return norm.forward(h).MoveToOuterDisposeScope();
    }

    public Tensor Pool(Tensor tokens) => tokens.mean([1L]);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Pool(EncodeFrames(x)).MoveToOuterDisposeScope();
    }

    /// <summary>(tokens, dim) sinusoidal positions: sin(p / 10000^(2i/d)) in even columns, cos in odd ones.</summary>
    public static Tensor Positions(long tokens, int dim)
    {
        using var scope = NewDisposeScope();
        var position = arange(tokens, dtype: ScalarType.Float32).unsqueeze(1);
        var rate = exp(arange(0, dim, 2, dtype: ScalarType.Float32).mul_(-Math.Log(10000.0) / dim));
        var angles = position.mul(rate);                           // (tokens, ceil(dim/2))
        var table = stack([sin(angles), cos(angles)], 2).reshape(tokens, -1).narrow(1, 0, dim);
        return table.MoveToOuterDisposeScope();
    }
}
