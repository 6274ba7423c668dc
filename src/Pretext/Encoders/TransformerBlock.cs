using Pretext.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>
/// Multi-head self-attention (Vaswani et al. 2017): one fused qkv projection, heads of width D/heads,
/// softmax(Q K^T / sqrt(d)) V, output projection. Input and output (B, T, D) in the input's dtype;
/// weights fp32, cast inside forward. Optionally masks keys (padding) and drops attention probabilities.
/// </summary>
public sealed class MultiHeadSelfAttention : Module<Tensor, Tensor>
{
    private readonly MixedLinear qkv;
    private readonly MixedLinear proj;
    private readonly int heads;

    public MultiHeadSelfAttention(int dim, int heads) : base(nameof(MultiHeadSelfAttention))
    {
        if (heads <= 0 || dim % heads != 0) throw new ArgumentException($"Width {dim} must be a positive multiple of the head count {heads}.");
        this.heads = heads;
        qkv = new MixedLinear(dim, 3 * dim);
        proj = new MixedLinear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null, 0, null);

    /// <param name="x">(B, T, D) tokens.</param>
    /// <param name="keyMask">(B, 1, 1, T) bool, true at keys that may be attended to; null attends to all.</param>
    /// <param name="dropout">Dropout on the attention probabilities while training.</param>
    /// <param name="noise">Generator of the dropout masks (torch's global one when null).</param>
    public Tensor Forward(Tensor x, Tensor? keyMask, double dropout, Generator? noise)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var parts = qkv.forward(x).view(b, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4);   // (3, B, H, T, d/H)
        var o = Attend(parts[0], parts[1], parts[2], keyMask, dropout, noise);                 // (B, H, T, d/H)
        o = o.transpose(1, 2).reshape(b, t, d);
        return proj.forward(o).MoveToOuterDisposeScope();
    }

    /// <summary>The fused kernel unless probabilities are dropped; then it is spelt out so the mask comes from <paramref name="noise"/>.</summary>
    private Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? keyMask, double dropout, Generator? noise)
    {
        if (!training || dropout == 0) return functional.scaled_dot_product_attention(q, k, v, keyMask);
        using var scope = NewDisposeScope();
        var scores = q.matmul(k.transpose(-2, -1)).mul_(1.0 / Math.Sqrt(q.shape[^1]));
        if (keyMask is not null) scores = scores.masked_fill(keyMask.logical_not(), float.NegativeInfinity);
        var p = TokenInput.Dropout(scores.softmax(-1, ScalarType.Float32).to(q.dtype), dropout, true, noise);
        return p.matmul(v).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The one pre-LN Transformer block of Pretext (ViT, eq. 2-3; Xiong et al. 2020): x + Drop(MSA(LN(x))), then
/// x + Drop(MLP(LN(x))) with a GELU MLP. With <c>postNorm</c> it is BERT's post-LN block instead (the original Transformer's):
/// LN(x + Drop(MSA(x))), then LN(x + Drop(MLP(x))), with the same parameters (norm1 after attention, norm2 after the MLP). The residual stream and layer norms stay fp32; attention and MLP
/// matrix products run in the compute dtype (mixed precision). Input and output (B, T, D) fp32.
/// The Vision Transformer, MAE's decoder and the text <see cref="TransformerEncoder"/> (with padding masks
/// and dropout) all use it.
/// </summary>
public sealed class TransformerBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly MultiHeadSelfAttention attn;
    private readonly MixedLinear fc1, fc2;
    private readonly ScalarType compute;
    private readonly double dropout;
    private readonly bool postNorm;

    /// <param name="mlpRatio">Hidden width of the MLP as a multiple of <paramref name="dim"/>.</param>
    /// <param name="dropout">Dropout on attention probabilities and on both residual branches while training (0.1 in BERT; 0 in ViT).</param>
    /// <param name="layerNormEps">1e-6 as in ViT's reference code; 1e-5 (torch's default) in the text encoder; 1e-12 in BERT.</param>
    /// <param name="postNorm">BERT's post-LN order instead of pre-LN.</param>
    public TransformerBlock(int dim, int heads, double mlpRatio, ComputeOptions compute, double dropout = 0, double layerNormEps = 1e-6, bool postNorm = false) : base(nameof(TransformerBlock))
    {
        this.postNorm = postNorm;
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentException($"Dropout must lie in [0, 1), got {dropout}.");
        this.compute = compute.ComputeType;
        this.dropout = dropout;
        int hidden = Math.Max(1, (int)Math.Round(dim * mlpRatio));
        norm1 = LayerNorm(dim, eps: layerNormEps);
        attn = new MultiHeadSelfAttention(dim, heads);
        norm2 = LayerNorm(dim, eps: layerNormEps);
        fc1 = new MixedLinear(dim, hidden);
        fc2 = new MixedLinear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null, null);

    /// <param name="x">(B, T, D) fp32 residual stream.</param>
    /// <param name="keyMask">(B, 1, 1, T) bool, true at keys that may be attended to (non-padding); null attends to all.</param>
    /// <param name="noise">Generator of the dropout masks while training.</param>
    public Tensor Forward(Tensor x, Tensor? keyMask, Generator? noise)
    {
        using var scope = NewDisposeScope();
        if (postNorm)
        {
            var a = attn.Forward(x.to(compute), keyMask, dropout, noise).to(ScalarType.Float32);
            x = norm1.forward(x.add(TokenInput.Dropout(a, dropout, training, noise)));
            var m = fc2.forward(functional.gelu(fc1.forward(x.to(compute)))).to(ScalarType.Float32);
            return norm2.forward(x.add(TokenInput.Dropout(m, dropout, training, noise))).MoveToOuterDisposeScope();
        }
        var h = attn.Forward(norm1.forward(x).to(compute), keyMask, dropout, noise).to(ScalarType.Float32);
        x = x.add(TokenInput.Dropout(h, dropout, training, noise));
        h = fc2.forward(functional.gelu(fc1.forward(norm2.forward(x).to(compute)))).to(ScalarType.Float32);
        return x.add(TokenInput.Dropout(h, dropout, training, noise)).MoveToOuterDisposeScope();
    }
}
