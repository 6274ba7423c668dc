using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Encoders;

/// <summary>How a text encoder turns its per-token outputs into one vector per sequence.</summary>
public enum TextPooling
{
    /// <summary>Mean over the non-pad tokens (Sentence-BERT's default; Reimers and Gurevych 2019).</summary>
    Mean,
    /// <summary>The output at the first position, the [CLS] token (BERT, Devlin et al. 2019).</summary>
    Cls,
    /// <summary>
    /// The output at the last non-pad token: under a causal mask the only position that has read the whole sequence
    /// (GPT-style sentence vectors, e.g. Neelakantan et al. 2022). In a bidirectional encoder it is one more token.
    /// </summary>
    Last,
}

/// <summary>
/// An <see cref="Encoder"/> whose input is token ids (B, L) int64 padded with <see cref="PadId"/>.
/// Besides the pooled (B, FeatureDim) output of the encoder contract it exposes the per-token outputs
/// (masked language modelling predicts from them) and its input embedding table (tied MLM decoder,
/// nearest-neighbour words).
/// </summary>
public interface ITokenEncoder
{
    int VocabSize { get; }
    /// <summary>Longest sequence the encoder takes (positional table size).</summary>
    int MaxLength { get; }
    /// <summary>Token id of padding; padded positions never influence other positions or the pooled output.</summary>
    int PadId { get; }
    /// <summary>Width of the per-token outputs and of the embedding table.</summary>
    int TokenDim { get; }
    /// <summary>Input token embeddings (VocabSize, TokenDim).</summary>
    Parameter TokenEmbedding { get; }

    /// <summary>Per-token outputs (B, L, TokenDim) fp32 of <paramref name="ids"/> (B, L) int64.</summary>
    /// <param name="noise">Generator of the dropout masks in training mode (the step's, so resumed runs repeat them); null: torch's global generator.</param>
    /// <exception cref="ArgumentException">Not a (B, L) int64 tensor, L &gt; <see cref="MaxLength"/>, or an id outside the vocabulary.</exception>
    Tensor EncodeTokens(Tensor ids, Generator? noise = null);

    /// <summary>Pools per-token outputs (B, L, TokenDim) of <paramref name="ids"/> into (B, TokenDim), ignoring padding.</summary>
    Tensor Pool(Tensor tokens, Tensor ids);
}

/// <summary>Checks and pooling shared by the token encoders.</summary>
internal static class TokenInput
{
    public static void Check(Tensor ids, int vocabSize, int maxLength, string encoder)
    {
        if (ids.dim() != 2 || ids.dtype != ScalarType.Int64)
            throw new ArgumentException($"{encoder} takes token ids (B, L) int64, got {ids.dtype} of shape [{string.Join(",", ids.shape)}]. Text goes through a tokenizer first (TokenizedDataset).");
        if (ids.shape[1] > maxLength)
            throw new ArgumentException($"{encoder} takes at most {maxLength} tokens per sequence, got {ids.shape[1]}. Truncate to the encoder's max length.");
        if (ids.numel() > 0)
        {
            long lo = ids.min().item<long>(), hi = ids.max().item<long>();
            if (lo < 0 || hi >= vocabSize)
                throw new ArgumentException($"{encoder}: token id {(lo < 0 ? lo : hi)} is outside the vocabulary of {vocabSize}. The data was tokenized with another tokenizer than the encoder's.");
        }
    }

    /// <summary>Inverted dropout whose mask comes from <paramref name="noise"/> (torch's global generator when null).</summary>
    public static Tensor Dropout(Tensor x, double p, bool training, Generator? noise)
    {
        if (!training || p == 0) return x.alias();
        if (noise is null) return nn.functional.dropout(x, p, training);
        using var scope = NewDisposeScope();
        var keep = rand(x.shape, generator: noise).ge_(p).to(x.dtype);
        return x.mul(keep).div_(1 - p).MoveToOuterDisposeScope();
    }

    /// <summary>(B, L) float mask, 1 at non-pad tokens.</summary>
    public static Tensor Mask(Tensor ids, int padId) => ids.ne(padId).to(ScalarType.Float32);

    /// <summary>Outputs (B, D) of <paramref name="tokens"/> (B, L, D) at each row's last non-pad position; position 0 for a row of only padding.</summary>
    public static Tensor LastPool(Tensor tokens, Tensor ids, int padId)
    {
        using var scope = NewDisposeScope();
        long l = ids.shape[1];
        // The largest index holding a non-pad token (works for any padding pattern, not only right padding).
        var positions = arange(l, device: ids.device).view(1, l).expand(ids.shape[0], l);
        var last = positions.mul(ids.ne(padId).to(ScalarType.Int64)).amax([1]);
        var index = last.view(-1, 1, 1).expand(-1, 1, tokens.shape[2]);
        return tokens.gather(1, index).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Mean of <paramref name="tokens"/> (B, L, D) over non-pad positions; a row of only padding gives zeros.</summary>
    public static Tensor MeanPool(Tensor tokens, Tensor ids, int padId)
    {
        using var scope = NewDisposeScope();
        var m = Mask(ids, padId).unsqueeze(-1);
        var sum = tokens.mul(m).sum(1);
        return sum.div(m.sum(1).clamp_min(1)).MoveToOuterDisposeScope();
    }
}
