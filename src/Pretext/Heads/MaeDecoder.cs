using Pretext.Compute;
using Pretext.Encoders;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Heads;

/// <summary>
/// MAE's light decoder (He et al. 2022, section 3 "MAE decoder"): the encoder's visible tokens are
/// projected to the decoder width, a shared learnt mask token fills every masked position, the full
/// set is put back in patch order, gets the decoder's own learnt positional embeddings, passes a few
/// Transformer blocks, and a linear layer predicts each patch's pixel values.
/// Only used during pretraining; the encoder alone is kept.
/// </summary>
public sealed class MaeDecoder : nn.Module
{
    private readonly MixedLinear decoder_embed;
    private readonly Parameter mask_token;
    private readonly Parameter decoder_pos_embed;
    private readonly Sequential decoder_blocks;
    private readonly LayerNorm decoder_norm;
    private readonly MixedLinear decoder_pred;

    /// <param name="encoderDim">Width of the encoder's tokens.</param>
    /// <param name="patches">Patch tokens of a full image (N).</param>
    /// <param name="patchValues">Pixel values per patch (p * p * C), the prediction width.</param>
    /// <param name="dim">Decoder width (MAE default 512 for a 1024-wide encoder).</param>
    /// <param name="depth">Decoder blocks (MAE default 8; 1 already works for fine-tuning, Table 1a).</param>
    /// <param name="heads">Decoder attention heads.</param>
    /// <param name="mlpRatio">Decoder MLP ratio.</param>
    /// <param name="compute">Precision of the matrix products in the blocks.</param>
    public MaeDecoder(int encoderDim, int patches, int patchValues, int dim, int depth, int heads, double mlpRatio, ComputeOptions compute)
        : base(nameof(MaeDecoder))
    {
        if (encoderDim <= 0 || patches <= 0 || patchValues <= 0 || dim <= 0 || depth <= 0 || heads <= 0)
            throw new ArgumentException($"MAE decoder sizes must be positive (encoder {encoderDim}, patches {patches}, values {patchValues}, dim {dim}, depth {depth}, heads {heads}).");
        if (dim % heads != 0) throw new ArgumentException($"MAE decoder width {dim} is not divisible by {heads} heads; set methods.mae.decoder_dim to a multiple of methods.mae.decoder_heads.");
        Patches = patches;
        decoder_embed = new MixedLinear(encoderDim, dim);
        mask_token = new Parameter(zeros(1, 1, dim));
        decoder_pos_embed = new Parameter(zeros(1, 1 + patches, dim));
        decoder_blocks = Sequential(Enumerable.Range(0, depth)
            .Select(i => ($"b{i}", (Module<Tensor, Tensor>)new TransformerBlock(dim, heads, mlpRatio, compute))).ToList());
        decoder_norm = LayerNorm(dim, eps: 1e-6);
        decoder_pred = new MixedLinear(dim, patchValues);
        RegisterComponents();
        using (no_grad())
        {
            Initialization.TruncatedNormal(decoder_pos_embed, 0.02);
            init.normal_(mask_token, std: 0.02);
            VisionTransformer.InitLinears(this);
        }
    }

    /// <summary>Patch tokens of a full image.</summary>
    public int Patches { get; }

    /// <summary>
    /// Predicted pixels of every patch.
    /// </summary>
    /// <param name="latent">(B, 1+K, D) encoder output: CLS first, then the K visible patches in keep order.</param>
    /// <param name="restore">(B, N) int64 from <see cref="Methods.Shared.PatchMask.Restore"/>.</param>
    /// <returns>(B, N, patchValues) fp32 in patch order (CLS dropped).</returns>
    public Tensor Decode(Tensor latent, Tensor restore)
    {
        if (restore.dim() != 2 || restore.shape[1] != Patches || restore.shape[0] != latent.shape[0])
            throw new ArgumentException($"MAE decoder was built for {Patches} patches; restore indices have shape [{string.Join(",", restore.shape)}] for a batch of {latent.shape[0]}.");
        using var scope = NewDisposeScope();
        long b = latent.shape[0], visible = latent.shape[1] - 1;
        var x = decoder_embed.forward(latent);                                        // (B, 1+K, Dd)
        long d = x.shape[2];
        var filled = cat([x.narrow(1, 1, visible), mask_token.expand(b, Patches - visible, d)], 1);
        filled = filled.gather(1, restore.unsqueeze(-1).expand(b, Patches, d));     // back to patch order
        var seq = cat([x.narrow(1, 0, 1), filled], 1).add_(decoder_pos_embed);
        seq = decoder_norm.forward(decoder_blocks.forward(seq));
        return decoder_pred.forward(seq.narrow(1, 1, Patches)).MoveToOuterDisposeScope();
    }
}
