using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>Options of <see cref="AudioConvEncoder"/>.</summary>
public sealed record AudioConvOptions
{
    public int Mels { get; init; } = 64;
    /// <summary>Frames per clip (only reported as the input shape; any length of at least the total stride is read).</summary>
    public int Frames { get; init; } = 301;
    public int[] Widths { get; init; } = [128, 128, 256, 256];
    public int[] Strides { get; init; } = [1, 2, 2, 1];
    /// <summary>Convolutions padded on the left only and no batch norm, so token t reads no frame after its start (for CPC).</summary>
    public bool Causal { get; init; }
}

/// <summary>
/// 1-D convolutions over time with the mel bands as input channels (a TDNN, as the x-vector speaker encoders of Snyder et
/// al. 2018 use): each layer a kernel-3 convolution with its stride, batch norm and ReLU; then statistics pooling, the mean
/// and the standard deviation of each channel over time, concatenated. Much cheaper on a CPU than a 2-D CNN over the
/// spectrogram (COLA's EfficientNet), and it reads clips of any length. Input (B, mels, frames) fp32, output (B, 2 x last width).
/// The causal variant pads each convolution with 2 frames on the left instead of 1 on each side (the same number of tokens; token
/// t of a layer of stride s reads inputs up to t x s) and leaves batch norm out: in training its batch statistics mix later
/// frames into earlier tokens, which CPC would learn to read (the series TCN leaves normalisation out for the same reason).
/// </summary>
public sealed class AudioConvEncoder : Encoder, IFrameEncoder
{
    private readonly ModuleList<Sequential> layers;
    private readonly AudioConvOptions options;

    /// <exception cref="ArgumentException">No layers, widths and strides of different lengths, or values below 1.</exception>
    public AudioConvEncoder(AudioConvOptions options) : base(nameof(AudioConvEncoder))
    {
        if (options.Widths.Length == 0 || options.Widths.Length != options.Strides.Length)
            throw new ArgumentException($"encoder.audio.convWidths and convStrides need one entry per layer (got {options.Widths.Length} and {options.Strides.Length}).");
        if (options.Mels < 1 || options.Widths.Any(w => w < 1) || options.Strides.Any(s => s < 1))
            throw new ArgumentException("Audio convolution widths, strides and mel bands must be positive.");
        this.options = options;
        var list = new List<Sequential>();
        long inChannels = options.Mels;
        for (int i = 0; i < options.Widths.Length; i++)
        {
            list.Add(options.Causal
                ? Sequential(
                    ("pad", ConstantPad1d((2, 0), 0)),
                    ("conv", Conv1d(inChannels, options.Widths[i], 3, stride: options.Strides[i], padding: 0L)),
                    ("relu", ReLU()))
                : Sequential(
                    ("conv", Conv1d(inChannels, options.Widths[i], 3, stride: options.Strides[i], padding: 1, bias: false)),
                    ("bn", BatchNorm1d(options.Widths[i])),
                    ("relu", ReLU())));
            inChannels = options.Widths[i];
        }
        layers = new ModuleList<Sequential>(list.ToArray());
        RegisterComponents();
    }

    public AudioConvOptions Options => options;
    public override int FeatureDim => 2 * options.Widths[^1];
    public override long[] InputShape => [options.Mels, options.Frames];
    public int Mels => options.Mels;
    public int FramesPerToken => options.Strides.Aggregate(1, (a, b) => a * b);
    public int TokenDim => options.Widths[^1];
    public bool Causal => options.Causal;

    public Tensor EncodeFrames(Tensor x, Tensor? tokenMask = null)
    {
        long frames = AudioInput.UsableFrames(x, options.Mels, FramesPerToken, "The audio convolution encoder");
        using var scope = NewDisposeScope();
        var h = x.narrow(2, 0, frames);
        // Hidden frames become 0, the mean of standardised log-mel frames.
        if (tokenMask is not null) h = h.masked_fill(AudioInput.FrameMask(tokenMask, FramesPerToken), 0);
        foreach (var layer in layers) h = layer.forward(h);
        return h.transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Statistics pooling: per channel, the mean and the standard deviation (sqrt(var + 1e-5)) over the tokens.</summary>
    public Tensor Pool(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var mean = tokens.mean([1L]);
        var std = tokens.var(1, unbiased: false).add_(1e-5).sqrt_();
        return cat([mean, std], 1).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Pool(EncodeFrames(x)).MoveToOuterDisposeScope();
    }
}
