namespace Pretext.Encoders;

/// <summary>
/// The table side of <see cref="EncoderConfig"/>: the input layout (filled in from the fitted encoding of the training rows when a
/// run starts) and the MLP's shape. Input (B, 2 Numeric + Cardinalities.Length): standardised numbers, their missing indicators,
/// then one code per categorical column (0: unknown or missing). See the data layer's TableEncoding.
/// </summary>
public sealed record TableEncoderConfig
{
    /// <summary>Numeric columns (each gives a value and a missing indicator).</summary>
    public int Numeric { get; init; } = 1;
    /// <summary>Codes per categorical column, the unknown bucket included.</summary>
    public int[] Cardinalities { get; init; } = [];
    /// <summary>Width of each category's embedding; 0: min(16, (cardinality + 1) / 2), the usual rule of thumb for small vocabularies.</summary>
    public int EmbeddingDim { get; init; }
    /// <summary>
    /// Hidden widths of the MLP; the last is the feature width. SCARF's encoder is a 4-layer ReLU MLP of width 256 (Bahri et al. 2022,
    /// section 4); three layers of 256 here, the pretraining head adds the rest.
    /// </summary>
    public int[] Hidden { get; init; } = [256, 256, 256];
    /// <summary>Dropout after each hidden layer while training (0: none).</summary>
    public double Dropout { get; init; }

    /// <summary>Input width F.</summary>
    public int Width => 2 * Numeric + Cardinalities.Length;
    /// <summary>Columns of the original table: numeric, then categorical.</summary>
    public int Columns => Numeric + Cardinalities.Length;

    /// <summary>The column each input feature belongs to (a number and its missing indicator share one), (F).</summary>
    public int[] FeatureColumns() => [.. Enumerable.Range(0, Numeric), .. Enumerable.Range(0, Numeric), .. Enumerable.Range(Numeric, Cardinalities.Length)];

    public int EmbeddingWidth(int cardinality) => EmbeddingDim > 0 ? EmbeddingDim : Math.Min(16, (cardinality + 1) / 2);

    /// <exception cref="ArgumentException">A shape no encoder can have; the message names the option.</exception>
    public void Validate()
    {
        if (Numeric < 0 || Columns == 0) throw new ArgumentException($"A table encoder needs at least one column (encoder.table.numeric={Numeric}, {Cardinalities.Length} categorical).");
        if (Cardinalities.Any(c => c < 1)) throw new ArgumentException("encoder.table.cardinalities must all be at least 1 (the unknown bucket).");
        if (Hidden.Length == 0 || Hidden.Any(h => h < 1)) throw new ArgumentException("encoder.table.hidden needs at least one positive width.");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"encoder.table.dropout must lie in [0, 1), got {Dropout}.");
    }

    public TableMlp BuildMlp() => new(this);
}
