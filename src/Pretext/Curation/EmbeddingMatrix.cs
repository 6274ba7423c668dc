using static TorchSharp.torch;

namespace Pretext.Curation;

/// <summary>The input check every curation step shares.</summary>
internal static class EmbeddingMatrix
{
    /// <summary>N of <paramref name="embeddings"/> (N, D), N >= 1.</summary>
    /// <exception cref="ArgumentException">Not a non-empty (N, D) matrix.</exception>
    public static long Rows(Tensor embeddings)
    {
        if (embeddings.dim() != 2 || embeddings.shape[0] < 1)
            throw new ArgumentException($"Expected embeddings (N, D), got [{string.Join(",", embeddings.shape)}].", nameof(embeddings));
        return embeddings.shape[0];
    }
}
