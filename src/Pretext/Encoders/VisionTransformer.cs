using Pretext.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>How a <see cref="VisionTransformer"/> turns its output tokens into one feature vector.</summary>
public enum VitPooling
{
    /// <summary>The CLS token's output (Dosovitskiy et al. 2021, section 3.1).</summary>
    Cls,
    /// <summary>The mean of the patch tokens' outputs (global average pooling; MAE appendix A.1 reports it works as well).</summary>
    Mean,
}

/// <summary>Options of <see cref="VisionTransformer"/>. Defaults are sized for 28x28 images on a CPU (see docs/encoders/vit.md).</summary>
public sealed record VitOptions
{
    /// <summary>Input channels: 1 for grey, 3 for RGB.</summary>
    public int InChannels { get; init; } = 1;
    /// <summary>Side of the images the positional embeddings are learnt for; other sides interpolate them.</summary>
    public int ImageSize { get; init; } = 28;
    /// <summary>Side of a square patch; 4 on 28x28 gives a 7x7 grid of 49 tokens, 7 gives 4x4 = 16.</summary>
    public int PatchSize { get; init; } = 4;
    /// <summary>Token width D (the feature width).</summary>
    public int Dim { get; init; } = 128;
    /// <summary>Number of Transformer blocks.</summary>
    public int Depth { get; init; } = 6;
    /// <summary>Attention heads; must divide <see cref="Dim"/>.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Hidden width of each block's MLP as a multiple of <see cref="Dim"/> (4 in ViT, Table 1).</summary>
    public double MlpRatio { get; init; } = 4.0;
    /// <summary>CLS token or mean of patch tokens.</summary>
    public VitPooling Pooling { get; init; } = VitPooling.Cls;
    /// <summary>Precision of the matrix products (layout does not apply: tokens are not images).</summary>
    public ComputeOptions Compute { get; init; } = ComputeOptions.Default;

    internal void Validate()
    {
        if (InChannels <= 0 || ImageSize <= 0 || PatchSize <= 0 || Dim <= 0 || Depth <= 0 || Heads <= 0)
            throw new ArgumentException($"ViT sizes must be positive (channels {InChannels}, image {ImageSize}, patch {PatchSize}, dim {Dim}, depth {Depth}, heads {Heads}).");
        if (ImageSize % PatchSize != 0)
            throw new ArgumentException($"ViT patch size {PatchSize} does not divide the image size {ImageSize}; choose a patch size that does (e.g. 4 or 7 for 28x28).");
        if (Dim % Heads != 0)
            throw new ArgumentException($"ViT width {Dim} is not divisible by {Heads} heads; set encoder.embed_dim to a multiple of encoder.heads.");
        if (!(MlpRatio > 0)) throw new ArgumentException($"ViT MLP ratio must be positive, got {MlpRatio}.");
    }
}

/// <summary>
/// Patch embedding: a convolution with kernel = stride = patch size, i.e. one linear map of each
/// non-overlapping patch (ViT, section 3.1). Input (B, C, H, W); output (B, H/p * W/p, D) fp32 in
/// row-major patch order. The fp32 weight is cast to the compute dtype inside forward.
/// </summary>
public sealed class PatchEmbedding : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly int patch;
    private readonly ComputeOptions compute;

    public PatchEmbedding(int inChannels, int dim, int patchSize, ComputeOptions compute) : base(nameof(PatchEmbedding))
    {
        patch = patchSize; this.compute = compute;
        var w = empty(dim, inChannels, patchSize, patchSize);
        // Initialised like a linear layer on the flattened patch (as MAE does).
        using (no_grad()) init.xavier_uniform_(w.view(dim, -1));
        weight = new Parameter(w);
        bias = new Parameter(zeros(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var ct = compute.ComputeType;
        var h = x.dtype == ct ? x : x.to(ct);
        var w = weight.dtype == ct ? weight : weight.to(ct);
        var b = bias.dtype == ct ? bias : bias.to(ct);
        var y = functional.conv2d(h, w, b, strides: [patch, patch]);          // (B, D, H/p, W/p)
        y = y.flatten(2).transpose(1, 2);                                       // (B, N, D)
        return (y.dtype == ScalarType.Float32 ? y.contiguous() : y.to(ScalarType.Float32)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Vision Transformer (Dosovitskiy et al. 2021) for small images: patch embedding, a learnt CLS token,
/// learnt positional embeddings (bilinearly interpolated for input sizes other than
/// <see cref="VitOptions.ImageSize"/>, so multi-crop views work), pre-LN Transformer blocks, a final
/// layer norm, CLS or mean pooling. Input (B, C, H, W) fp32 with H and W multiples of the patch size;
/// output (B, Dim) fp32.
/// The steps are public so masked image modelling can run the encoder on a subset of patch tokens:
/// <c>Pool(RunBlocks(PrependCls(EmbedPatches(x))))</c> is <see cref="forward"/>.
/// </summary>
public sealed class VisionTransformer : Encoder
{
    private readonly PatchEmbedding patch_embed;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly Sequential blocks;
    private readonly LayerNorm norm;
    private readonly VitOptions options;

    public VisionTransformer(VitOptions options) : base(nameof(VisionTransformer))
    {
        options.Validate();
        this.options = options;
        int d = options.Dim;
        patch_embed = new PatchEmbedding(options.InChannels, d, options.PatchSize, options.Compute);
        cls_token = new Parameter(zeros(1, 1, d));
        pos_embed = new Parameter(zeros(1, 1 + NumPatches, d));
        blocks = Sequential(Enumerable.Range(0, options.Depth)
            .Select(i => ($"b{i}", (Module<Tensor, Tensor>)new TransformerBlock(d, options.Heads, options.MlpRatio, options.Compute))).ToList());
        norm = LayerNorm(d, eps: 1e-6);
        RegisterComponents();
        using (no_grad())
        {
            // timm's ViT initialisation: embeddings and linear weights ~ N(0, 0.02) (truncated at 2 std), biases 0.
            Initialization.TruncatedNormal(pos_embed, 0.02);
            Initialization.TruncatedNormal(cls_token, 0.02);
            InitLinears(blocks);
        }
    }

    public VitOptions Options => options;
    public override int FeatureDim => options.Dim;
    public override long[] InputShape => [options.InChannels, options.ImageSize, options.ImageSize];
    public int PatchSize => options.PatchSize;
    /// <summary>Patches per side at <see cref="VitOptions.ImageSize"/>.</summary>
    public int GridSize => options.ImageSize / options.PatchSize;
    /// <summary>Patch tokens at <see cref="VitOptions.ImageSize"/>.</summary>
    public int NumPatches => GridSize * GridSize;
    /// <summary>Values in one patch: PatchSize * PatchSize * InChannels.</summary>
    public int PatchValues => options.PatchSize * options.PatchSize * options.InChannels;

    /// <summary>Re-initialises every <see cref="MixedLinear"/> below <paramref name="root"/>: weights ~ N(0, 0.02) truncated at 2 std, biases 0.</summary>
    public static void InitLinears(nn.Module root)
    {
        using var noGrad = no_grad();
        foreach (var (_, m) in root.named_modules())
        {
            if (m is not MixedLinear) continue;
            foreach (var (name, p) in m.named_parameters(recurse: false))
            {
                if (name == "bias") p.zero_();
                else Initialization.TruncatedNormal(p, 0.02);
            }
        }
    }

    /// <summary>Patch grid (rows, columns) for an input of height <paramref name="h"/> and width <paramref name="w"/>.</summary>
    /// <exception cref="ArgumentException">A side is not a positive multiple of the patch size.</exception>
    public (int Rows, int Cols) Grid(long h, long w)
    {
        int p = options.PatchSize;
        if (h < p || w < p || h % p != 0 || w % p != 0)
            throw new ArgumentException($"ViT with patch size {p} needs image sides that are multiples of {p}, got {h}x{w}; resize or crop to a multiple of {p} (for multi-crop, choose crop sizes accordingly).");
        return ((int)(h / p), (int)(w / p));
    }

    /// <summary>
    /// Pixels of each patch, (B, C, H, W) -> (B, N, p*p*C) in row-major patch order, values within a
    /// patch ordered (row, column, channel) as in MAE's reference code.
    /// </summary>
    public Tensor Patchify(Tensor images)
    {
        CheckImages(images);
        var (gh, gw) = Grid(images.shape[2], images.shape[3]);
        long b = images.shape[0], c = images.shape[1], p = options.PatchSize;
        return images.reshape(b, c, gh, p, gw, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (long)gh * gw, p * p * c);
    }

    /// <summary>Inverse of <see cref="Patchify"/>: (B, rows*cols, p*p*C) -> (B, C, rows*p, cols*p).</summary>
    public Tensor Unpatchify(Tensor patches, int rows, int cols)
    {
        long b = patches.shape[0], p = options.PatchSize, c = options.InChannels;
        if (patches.dim() != 3 || patches.shape[1] != (long)rows * cols || patches.shape[2] != p * p * c)
            throw new ArgumentException($"Unpatchify expects (B, {rows * cols}, {p * p * c}), got [{string.Join(",", patches.shape)}].");
        return patches.reshape(b, rows, cols, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, rows * p, cols * p);
    }

    /// <summary>Patch tokens with their positional embeddings: (B, C, H, W) -> (B, N, D) fp32, no CLS token.</summary>
    public Tensor EmbedPatches(Tensor images)
    {
        CheckImages(images);
        var (gh, gw) = Grid(images.shape[2], images.shape[3]);
        using var scope = NewDisposeScope();
        var tokens = patch_embed.forward(images);
        return tokens.add(PatchPositions(gh, gw)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Positional embeddings of a rows x cols patch grid, (1, rows*cols, D): the learnt ones at the
    /// training grid, otherwise those bilinearly resampled (as timm and DINO do for other resolutions).
    /// </summary>
    public Tensor PatchPositions(int rows, int cols)
    {
        int g = GridSize;
        var grid = pos_embed.narrow(1, 1, NumPatches);
        if (rows == g && cols == g) return grid;
        using var scope = NewDisposeScope();
        var map = grid.reshape(1, g, g, options.Dim).permute(0, 3, 1, 2);
        map = functional.interpolate(map, [rows, cols], mode: InterpolationMode.Bilinear, align_corners: false);
        return map.permute(0, 2, 3, 1).reshape(1, (long)rows * cols, options.Dim).MoveToOuterDisposeScope();
    }

    /// <summary>Prepends the CLS token (with its positional embedding): (B, T, D) -> (B, 1+T, D).</summary>
    public Tensor PrependCls(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var cls = cls_token.add(pos_embed.narrow(1, 0, 1)).expand(tokens.shape[0], -1, -1);
        return cat([cls, tokens], 1).MoveToOuterDisposeScope();
    }

    /// <summary>The Transformer blocks and the final layer norm on any token set: (B, T, D) -> (B, T, D) fp32.</summary>
    public Tensor RunBlocks(Tensor tokens) => norm.forward(blocks.forward(tokens));

    /// <summary>One vector per sample from the output tokens (B, 1+T, D) (CLS first): (B, D).</summary>
    public Tensor Pool(Tensor tokens) => options.Pooling == VitPooling.Cls
        ? tokens.select(1, 0)
        : tokens.narrow(1, 1, tokens.shape[1] - 1).mean([1L]);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Pool(RunBlocks(PrependCls(EmbedPatches(x)))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Parameters split for weight decay: matrices decay; biases, norms, the CLS token and positional
    /// embeddings do not (timm's <c>no_weight_decay</c> set for ViT).
    /// </summary>
    public static bool DecaysWeight(string name, Tensor p) =>
        p.dim() > 1 && !name.EndsWith("pos_embed", StringComparison.Ordinal) && !name.EndsWith("cls_token", StringComparison.Ordinal)
        && !name.EndsWith("mask_token", StringComparison.Ordinal);

    private void CheckImages(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != options.InChannels)
            throw new ArgumentException($"ViT expects images (B, {options.InChannels}, H, W), got [{string.Join(",", images.shape)}].");
    }
}
