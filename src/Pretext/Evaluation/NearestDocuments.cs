using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Nearest-neighbour search over document embeddings by cosine similarity.</summary>
public static class NearestDocuments
{
    /// <summary>The <paramref name="k"/> rows of <paramref name="corpus"/> (N, D) most similar to <paramref name="query"/> (1, D) or (D), best first.</summary>
    /// <exception cref="ArgumentException">Widths differ or k is not positive.</exception>
    public static IReadOnlyList<(int Index, double Cosine)> Find(Tensor query, Tensor corpus, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "Ask for at least one result.");
        if (corpus.dim() != 2 || query.shape[^1] != corpus.shape[1])
            throw new ArgumentException($"Query width {query.shape[^1]} does not match the corpus embeddings [{string.Join(",", corpus.shape)}].");
        using var scope = NewDisposeScope();
        var q = nn.functional.normalize(query.reshape(-1).to(ScalarType.Float32), dim: 0);
        var c = nn.functional.normalize(corpus.to(ScalarType.Float32), dim: 1);
        var (values, idx) = c.matmul(q).topk((int)Math.Min(k, corpus.shape[0]));
        var v = values.data<float>().ToArray();
        var i = idx.data<long>().ToArray();
        return Enumerable.Range(0, v.Length).Select(j => ((int)i[j], (double)v[j])).ToList();
    }

    /// <summary>The first <paramref name="length"/> characters of <paramref name="text"/> on one line (runs of white space become one space).</summary>
    public static string Snippet(string text, int length)
    {
        var flat = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return flat.Length <= length ? flat : flat[..length] + "...";
    }
}
