namespace Pretext.Export;

/// <summary>
/// N embeddings of width D with their ids and optional integer labels, as written and read by
/// <see cref="EmbeddingWriter"/>.
/// </summary>
public sealed class EmbeddingTable
{
    /// <summary>Row-major values, shape (N, D): row <c>i</c> is <c>Data[i*D .. (i+1)*D)</c>.</summary>
    public float[] Data { get; }

    /// <summary>Number of rows N.</summary>
    public int Count { get; }

    /// <summary>Embedding width D.</summary>
    public int Dim { get; }

    /// <summary>One id per row.</summary>
    public string[] Ids { get; }

    /// <summary>One label per row, or null when the data set has no labels.</summary>
    public int[]? Labels { get; }

    /// <summary>Wraps the arrays (no copy) after checking that their shapes agree.</summary>
    /// <exception cref="ArgumentException">Lengths disagree with (<paramref name="n"/>, <paramref name="d"/>),
    /// <paramref name="d"/> is not positive, or an id is null.</exception>
    public EmbeddingTable(float[] data, int n, int d, string[] ids, int[]? labels = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(d);
        if ((long)n * d != data.Length)
            throw new ArgumentException($"Embedding data has {data.Length} values but shape ({n}, {d}) needs {(long)n * d}.", nameof(data));
        if (ids.Length != n) throw new ArgumentException($"Got {ids.Length} ids for {n} embeddings.", nameof(ids));
        if (labels is not null && labels.Length != n) throw new ArgumentException($"Got {labels.Length} labels for {n} embeddings.", nameof(labels));
        int nullId = Array.IndexOf(ids, null);
        if (nullId >= 0) throw new ArgumentException($"Id of row {nullId} is null; every embedding needs an id.", nameof(ids));
        Data = data;
        Count = n;
        Dim = d;
        Ids = ids;
        Labels = labels;
    }

    /// <summary>Row <paramref name="i"/> as a span of length <see cref="Dim"/>.</summary>
    public ReadOnlySpan<float> Row(int i) => Data.AsSpan(i * Dim, Dim);
}
