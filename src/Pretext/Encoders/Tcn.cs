using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>
/// One residual block of the TCN: x + conv_b(GELU(conv_a(GELU(x)))), both convolutions dilated by <c>dilation</c> and causal
/// (padded on the left only, so step t sees readings t - (k - 1) dilation .. t). Pre-activation without normalisation, as in
/// TS2Vec's dilated convolution blocks (Yue et al. 2022, section 3.2); causal as in Bai, Kolter and Koltun (2018).
/// Input and output (B, W, L).
/// </summary>
internal sealed class CausalBlock : Module<Tensor, Tensor>
{
    private readonly Conv1d a, b;
    private readonly long pad;

    public CausalBlock(int width, int kernel, int dilation) : base(nameof(CausalBlock))
    {
        pad = (long)(kernel - 1) * dilation;
        a = Conv1d(width, width, kernel, dilation: dilation);
        b = Conv1d(width, width, kernel, dilation: dilation);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = a.forward(functional.pad(functional.gelu(x), [pad, 0]));
        h = b.forward(functional.pad(functional.gelu(h), [pad, 0]));
        return x.add(h).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Temporal convolutional network (Bai, Kolter and Koltun 2018) for windows of a series: a 1x1 input projection to
/// <c>Width</c> channels, <c>Blocks</c> causal residual blocks dilated by 1, 2, 4, ..., and a 1x1 output projection to
/// <c>Dim</c>. Per-step features (B, L, Dim) depend only on the current and earlier readings; the encoder contract's
/// output pools them (<see cref="SeriesEncoderConfig.Pooling"/>). Takes any length up to the configured one. Input
/// (B, C, L) fp32; computes in fp32 (the model is small; mixed precision was not measured to help).
/// </summary>
public sealed class Tcn : Encoder, ISequenceEncoder
{
    private readonly Conv1d input, output;
    private readonly ModuleList<CausalBlock> blocks;
    private readonly SeriesEncoderConfig options;

    public Tcn(SeriesEncoderConfig options) : base(nameof(Tcn))
    {
        options.ValidateInput();
        if (options.Width < 1 || options.Blocks < 1 || options.Kernel < 2)
            throw new ArgumentException($"The TCN needs width >= 1, blocks >= 1 and kernel >= 2 (got encoder.series.width={options.Width}, blocks={options.Blocks}, kernel={options.Kernel}).");
        if (options.Blocks > 20) throw new ArgumentException($"encoder.series.blocks={options.Blocks} would dilate by 2^{options.Blocks - 1}; use at most 20.");
        this.options = options;
        input = Conv1d(options.Channels, options.Width, 1);
        blocks = new ModuleList<CausalBlock>([.. Enumerable.Range(0, options.Blocks).Select(i => new CausalBlock(options.Width, options.Kernel, 1 << i))]);
        output = Conv1d(options.Width, options.Dim, 1);
        RegisterComponents();
    }

    public SeriesEncoderConfig Options => options;
    public override int FeatureDim => options.Dim;
    public override long[] InputShape => [options.Channels, options.Length];
    public int StepSize => 1;
    public int StepDim => options.Dim;
    public int MaxLength => options.Length;
    public bool Causal => true;
    /// <summary>Readings each step's features depend on: 1 + 2 (kernel - 1)(2^blocks - 1).</summary>
    public int ReceptiveField => 1 + 2 * (options.Kernel - 1) * ((1 << options.Blocks) - 1);

    public Tensor EncodeSteps(Tensor x)
    {
        SeriesInput.Check(x, options.Channels, 1, options.Length, "The TCN");
        using var scope = NewDisposeScope();
        var h = input.forward(x);
        foreach (var block in blocks) h = block.forward(h);
        return output.forward(h).transpose(1, 2).MoveToOuterDisposeScope();
    }

    public Tensor Pool(Tensor steps) => SeriesInput.Pool(steps, options.Pooling);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Pool(EncodeSteps(x)).MoveToOuterDisposeScope();
    }
}
