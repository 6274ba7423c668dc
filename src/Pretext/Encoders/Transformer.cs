using Pretext.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>Options of <see cref="TransformerEncoder"/>.</summary>
public sealed record TransformerOptions
{
    /// <summary>Number of token ids (the tokenizer's vocabulary size).</summary>
    public int VocabSize { get; init; } = 8000;
    /// <summary>Longest sequence, [CLS] and [SEP] included; size of the learned positional table.</summary>
    public int MaxLength { get; init; } = 128;
    /// <summary>Token id of padding.</summary>
    public int PadId { get; init; }
    /// <summary>Model width d.</summary>
    public int Dim { get; init; } = 256;
    /// <summary>Number of blocks.</summary>
    public int Depth { get; init; } = 4;
    /// <summary>Attention heads; must divide <see cref="Dim"/>.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Hidden width of each block's MLP as a multiple of <see cref="Dim"/> (4 in BERT and ViT).</summary>
    public int MlpRatio { get; init; } = 4;
    /// <summary>Dropout on embeddings, attention probabilities and residual branches (0.1 in BERT; SimCSE's noise).</summary>
    public double Dropout { get; init; } = 0.1;
    public TextPooling Pooling { get; init; } = TextPooling.Mean;
    /// <summary>
    /// Causal self-attention (GPT, Radford et al. 2018): position t attends only to positions &lt;= t, so no output
    /// depends on a later token. False: bidirectional, as BERT.
    /// </summary>
    public bool Causal { get; init; }
    /// <summary>Precision of the matrix products (the residual stream and layer norms stay fp32).</summary>
    public Precision Precision { get; init; } = Precision.Float32;
    /// <summary>
    /// BERT's post-LN layout (Devlin et al. 2019; Vaswani et al. 2017) instead of Pretext's pre-LN one: the layer norm (the
    /// <c>norm</c> weights) is applied to the embeddings, each block normalises after its residual additions, and there is no
    /// final norm. Same parameters and checkpoint keys; set by encoders imported from BERT-family models (all-MiniLM-L6-v2).
    /// </summary>
    public bool PostNorm { get; init; }
    /// <summary>Epsilon of every layer norm (torch's 1e-5; BERT's 1e-12).</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    internal void Validate()
    {
        if (VocabSize < 2) throw new ArgumentException($"Transformer vocabulary size must be at least 2, got {VocabSize}.");
        if (MaxLength < 1) throw new ArgumentException($"Transformer max length must be positive, got {MaxLength}.");
        if (PadId < 0 || PadId >= VocabSize) throw new ArgumentException($"Pad id {PadId} is outside the vocabulary of {VocabSize}.");
        if (Dim < 1 || Depth < 1 || Heads < 1 || MlpRatio < 1) throw new ArgumentException($"Transformer dim, depth, heads and MLP ratio must be positive (got {Dim}, {Depth}, {Heads}, {MlpRatio}).");
        if (Dim % Heads != 0) throw new ArgumentException($"Transformer dim {Dim} is not divisible by its {Heads} heads.");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"Dropout must lie in [0, 1), got {Dropout}.");
        if (!(LayerNormEps > 0 && LayerNormEps < 1)) throw new ArgumentException($"Layer norm epsilon must lie in (0, 1), got {LayerNormEps}.");
        // Under a causal mask the first position has seen only itself ([CLS]), so its output says nothing about the text.
        if (Causal && Pooling == TextPooling.Cls) throw new ArgumentException("A causal Transformer cannot pool at [CLS]: the first position sees no other token. Use pooling Last or Mean.");
    }
}

/// <summary>
/// Transformer encoder for token sequences (Vaswani et al. 2017, in BERT's encoder-only form, Devlin et
/// al. 2019): token embeddings plus learned positional embeddings, dropout, <c>Depth</c> pre-LN blocks
/// with multi-head self-attention that masks padded keys, a final layer norm, then mean pooling over
/// non-pad tokens, the [CLS] output or the last non-pad token's output. With <see cref="TransformerOptions.PostNorm"/> it is
/// BERT's post-LN form instead: layer norm on the embeddings, post-LN blocks, no final norm. With <see cref="TransformerOptions.Causal"/> the
/// attention also masks later positions (GPT's decoder-only form). Input (B, L) int64 with L &lt;= MaxLength; output (B, Dim) fp32.
/// Weights start as in BERT: normal(0, 0.02) for matrices and embeddings, zero biases, unit norms.
/// </summary>
public sealed class TransformerEncoder : Encoder, ITokenEncoder
{
    private readonly Embedding tokens;
    private readonly Parameter positions;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm norm;
    private readonly TransformerOptions options;

    public TransformerEncoder(TransformerOptions options) : base(nameof(TransformerEncoder))
    {
        options.Validate();
        this.options = options;
        tokens = Embedding(options.VocabSize, options.Dim);
        positions = new Parameter(empty(options.MaxLength, options.Dim));
        var compute = new ComputeOptions(options.Precision);
        blocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, options.Depth)
            .Select(_ => new TransformerBlock(options.Dim, options.Heads, options.MlpRatio, compute, options.Dropout, options.LayerNormEps, options.PostNorm)).ToArray());
        norm = LayerNorm(options.Dim, eps: options.LayerNormEps);
        RegisterComponents();
        using var noGrad = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() >= 2) init.normal_(p, 0, 0.02);
            else if (name.EndsWith("bias", StringComparison.Ordinal)) p.zero_();
        }
    }

    public TransformerOptions Options => options;
    public override int FeatureDim => options.Dim;
    public override long[] InputShape => [options.MaxLength];
    public int VocabSize => options.VocabSize;
    public int MaxLength => options.MaxLength;
    public int PadId => options.PadId;
    public int TokenDim => options.Dim;
    public Parameter TokenEmbedding => tokens.weight!;

    public Tensor EncodeTokens(Tensor ids, Generator? noise = null)
    {
        TokenInput.Check(ids, options.VocabSize, options.MaxLength, "Transformer encoder");
        using var scope = NewDisposeScope();
        long l = ids.shape[1];
        var keyMask = ids.ne(options.PadId).view(ids.shape[0], 1, 1, l);
        // (B, 1, L, L): query t sees key s when s is not padding and, causally, s <= t.
        if (options.Causal) keyMask = keyMask.logical_and(ones(l, l, ScalarType.Bool, ids.device).tril());
        var x = tokens.forward(ids).add(positions.narrow(0, 0, l));
        if (options.PostNorm) x = norm.forward(x);   // BERT: LayerNorm(word + position + segment), then dropout
        x = TokenInput.Dropout(x, options.Dropout, training, noise);
        foreach (var block in blocks) x = block.Forward(x, keyMask, noise);
        return (options.PostNorm ? x : norm.forward(x)).MoveToOuterDisposeScope();
    }

    public Tensor Pool(Tensor tokenOutputs, Tensor ids) => options.Pooling switch
    {
        TextPooling.Cls => tokenOutputs.select(1, 0),
        TextPooling.Last => TokenInput.LastPool(tokenOutputs, ids, options.PadId),
        _ => TokenInput.MeanPool(tokenOutputs, ids, options.PadId),
    };

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return Pool(EncodeTokens(ids), ids).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Bag of word vectors: the mean of the input embeddings of the non-pad tokens, the sentence vector of
/// word2vec-style models. Input (B, L) int64; output (B, Dim). Initialised as word2vec.c does,
/// uniform in (-0.5/Dim, 0.5/Dim).
/// </summary>
public sealed class WordEmbeddingEncoder : Encoder, ITokenEncoder
{
    private readonly Embedding tokens;
    private readonly int vocab, maxLength, padId, dim;

    public WordEmbeddingEncoder(int vocabSize, int dim, int maxLength, int padId) : base(nameof(WordEmbeddingEncoder))
    {
        if (vocabSize < 2 || dim < 1 || maxLength < 1) throw new ArgumentException($"Word embedding needs vocabulary >= 2, dim >= 1 and max length >= 1 (got {vocabSize}, {dim}, {maxLength}).");
        if (padId < 0 || padId >= vocabSize) throw new ArgumentException($"Pad id {padId} is outside the vocabulary of {vocabSize}.");
        vocab = vocabSize; this.dim = dim; this.maxLength = maxLength; this.padId = padId;
        tokens = Embedding(vocabSize, dim);
        RegisterComponents();
        using var noGrad = no_grad();
        init.uniform_(tokens.weight!, -0.5 / dim, 0.5 / dim);
    }

    public override int FeatureDim => dim;
    public override long[] InputShape => [maxLength];
    public int VocabSize => vocab;
    public int MaxLength => maxLength;
    public int PadId => padId;
    public int TokenDim => dim;
    public Parameter TokenEmbedding => tokens.weight!;

    public Tensor EncodeTokens(Tensor ids, Generator? noise = null)
    {
        TokenInput.Check(ids, vocab, maxLength, "Word embedding encoder");
        return tokens.forward(ids);
    }

    public Tensor Pool(Tensor tokenOutputs, Tensor ids) => TokenInput.MeanPool(tokenOutputs, ids, padId);

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return Pool(EncodeTokens(ids), ids).MoveToOuterDisposeScope();
    }
}
