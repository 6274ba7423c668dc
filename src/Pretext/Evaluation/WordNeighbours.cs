using Pretext.Encoders;
using Pretext.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Nearest-neighbour words in a text encoder's input embedding table (word2vec's word similarity).</summary>
public static class WordNeighbours
{
    /// <summary>One neighbour: the token's text, its id and its cosine similarity to the query.</summary>
    public sealed record Neighbour(string Token, int Id, double Cosine);

    /// <summary>
    /// The <paramref name="k"/> tokens whose input vectors have the highest cosine similarity to
    /// <paramref name="word"/>'s vector (the mean of its subword pieces' vectors when the tokenizer splits
    /// it). The word is encoded with a leading space, the form a word takes inside a sentence for byte-level BPE
    /// (GPT-2's convention; whitespace tokenizers ignore it). The query's own pieces and <paramref name="excluded"/>
    /// ids (special tokens) are left out; tokens are shown without surrounding white space.
    /// </summary>
    /// <exception cref="ArgumentException">The word is empty or the tokenizer only knows it as the unknown token.</exception>
    public static IReadOnlyList<Neighbour> Nearest(ITokenEncoder encoder, ITextTokenizer tokenizer, string word, int k, IReadOnlyCollection<int> excluded)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "Ask for at least one neighbour.");
        if (string.IsNullOrWhiteSpace(word)) throw new ArgumentException("Give a word to look up.");
        var pieces = tokenizer.Encode(" " + word.Trim()).ToArray();
        if (pieces.Length == 0 || pieces.All(p => p == tokenizer.UnknownId))
            throw new ArgumentException($"'{word}' is not in the model's vocabulary (the tokenizer maps it to the unknown token).");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var table = nn.functional.normalize(encoder.TokenEmbedding.detach().to(ScalarType.Float32), dim: 1);
        var query = nn.functional.normalize(table.index_select(0, tensor(pieces.Select(p => (long)p).ToArray())).mean([0L]), dim: 0);
        var sims = table.matmul(query);
        var skip = excluded.Concat(pieces).Concat([tokenizer.UnknownId]).Distinct().Where(i => i >= 0 && i < sims.shape[0]).Select(i => (long)i).ToArray();
        sims.index_fill_(0, tensor(skip), float.NegativeInfinity);
        int take = (int)Math.Min(k, sims.shape[0] - skip.Length);
        var (values, ids) = sims.topk(take);
        var v = values.data<float>().ToArray();
        var id = ids.data<long>().ToArray();
        return Enumerable.Range(0, take).Select(i => new Neighbour(tokenizer.Decode([(int)id[i]]).Trim(), (int)id[i], v[i])).ToList();
    }
}
