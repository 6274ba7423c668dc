using Pretext.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>
/// A Transformer over patches of a series (PatchTST, Nie et al. 2023, without its channel independence): the window
/// (B, C, L) is cut into L / P patches of P consecutive readings of every channel, each flattened and projected to Dim,
/// plus a learned position; then <c>Depth</c> pre-LN blocks (<see cref="TransformerBlock"/>) and a final layer norm give
/// per-patch features (B, L / P, Dim), pooled for the encoder contract. With <c>Causal</c> a patch attends only to itself
/// and earlier patches, so a predictive method cannot read the future it predicts. Takes any multiple of P up to the
/// configured length. Matrices start as normal(0, 0.02) (truncated), biases at zero.
/// </summary>
public sealed class PatchTransformer : Encoder, ISequenceEncoder
{
    private readonly Linear embed;
    private readonly Parameter positions;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm norm;
    private readonly SeriesEncoderConfig options;
    private readonly int patches;

    public PatchTransformer(SeriesEncoderConfig options, ComputeOptions compute) : base(nameof(PatchTransformer))
    {
        options.ValidateInput();
        if (options.PatchSize < 1 || options.Length % options.PatchSize != 0)
            throw new ArgumentException($"encoder.series.patchSize ({options.PatchSize}) must divide the window length ({options.Length}).");
        if (options.Depth < 1 || options.Heads < 1 || options.Dim % options.Heads != 0)
            throw new ArgumentException($"The patch Transformer needs depth >= 1 and heads dividing dim (got encoder.series.depth={options.Depth}, heads={options.Heads}, dim={options.Dim}).");
        this.options = options;
        patches = options.Length / options.PatchSize;
        embed = Linear(options.Channels * options.PatchSize, options.Dim);
        positions = new Parameter(empty(patches, options.Dim));
        blocks = new ModuleList<TransformerBlock>([.. Enumerable.Range(0, options.Depth)
            .Select(_ => new TransformerBlock(options.Dim, options.Heads, options.MlpRatio, compute, options.Dropout))]);
        norm = LayerNorm(options.Dim);
        RegisterComponents();
        using var noGrad = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() >= 2) Initialization.TruncatedNormal(p, 0.02);
            else if (name.EndsWith("bias", StringComparison.Ordinal)) p.zero_();
        }
    }

    public SeriesEncoderConfig Options => options;
    public override int FeatureDim => options.Dim;
    public override long[] InputShape => [options.Channels, options.Length];
    public int StepSize => options.PatchSize;
    public int StepDim => options.Dim;
    public int MaxLength => options.Length;
    public bool Causal => options.Causal;

    public Tensor EncodeSteps(Tensor x)
    {
        SeriesInput.Check(x, options.Channels, options.PatchSize, options.Length, "The patch Transformer");
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[2] / options.PatchSize;
        // (B, C, T, P) -> (B, T, C, P) -> (B, T, C * P): one token per patch of every channel.
        var tokens = x.view(b, options.Channels, t, options.PatchSize).permute(0, 2, 1, 3).reshape(b, t, -1);
        var h = embed.forward(tokens).add(positions.narrow(0, 0, t));
        // (1, 1, T, T), true where a query may attend to a key: on and below the diagonal when causal.
        using var mask = options.Causal ? ones(t, t, ScalarType.Bool).tril().view(1, 1, t, t) : null;
        foreach (var block in blocks) h = block.Forward(h, mask, null);
        return norm.forward(h).MoveToOuterDisposeScope();
    }

    public Tensor Pool(Tensor steps) => SeriesInput.Pool(steps, options.Pooling);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Pool(EncodeSteps(x)).MoveToOuterDisposeScope();
    }
}
