using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pretext.MLNet;

/// <summary>
/// Maps a text column (image file paths, documents or CSV rows) to a Pretext checkpoint's embedding, a vector of
/// <see cref="Dimension"/> floats, inside an ML.NET pipeline. Fitting learns nothing (the encoder is frozen); the fitted transformer
/// is a chain of ML.NET's own saved transforms: an <c>Expression</c> that writes the <see cref="ModelReference"/> (checkpoint path,
/// SHA-256, input kind, column, threads) into a column, a copy of the input column, the CustomMapping of the embedding width
/// (<see cref="EmbeddingMappings"/>), a copy to the output column, and a drop of the helper columns. So <c>mlContext.Model.Save</c>
/// saves it, and <c>mlContext.Model.Load</c> in any MLContext (or process) loads it back: the checkpoint itself stays outside the
/// zip, where the reference says, and is checked against its hash when first used.
/// </summary>
public sealed class PretextEmbeddingEstimator : IEstimator<ITransformer>
{
    private readonly IEstimator<ITransformer> chain;

    internal PretextEmbeddingEstimator(TransformsCatalog catalog, string checkpoint, PretextInput input, string inputColumnName, string outputColumnName, int threads)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "libtorch needs at least one thread.");
        Reference = ModelReference.For(checkpoint, input, inputColumnName, threads);
        var encoded = Reference.Encode();
        var embedder = CheckpointEmbedder.Load(Reference);
        Input = input;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        Dimension = embedder.Dimension;
        TableColumns = embedder.TableColumns;
        chain = catalog.Expression(EmbeddingColumns.Model, $"x : \"{encoded}\"", inputColumnName)
            .Append(catalog.CopyColumns(EmbeddingColumns.Input, inputColumnName))
            .Append(EmbeddingMappings.For(catalog, embedder))
            .Append(catalog.CopyColumns(outputColumnName, EmbeddingColumns.Embedding))
            .Append(catalog.DropColumns(EmbeddingColumns.Input, EmbeddingColumns.Model, EmbeddingColumns.Embedding));
    }

    /// <summary>The checkpoint (absolute path, SHA-256) and input the saved model records.</summary>
    public ModelReference Reference { get; }
    public PretextInput Input { get; }
    public string InputColumnName { get; }
    public string OutputColumnName { get; }
    /// <summary>The embedding's width, the encoder's feature dimension.</summary>
    public int Dimension { get; }
    /// <summary>For a table checkpoint, the feature columns in the order a <see cref="PretextInput.TableRow"/> line gives them; else empty.</summary>
    public IReadOnlyList<string> TableColumns { get; }

    /// <exception cref="ArgumentException">The input has no such column, or it is not a text column.</exception>
    public ITransformer Fit(IDataView input)
    {
        var column = input.Schema.GetColumnOrNull(InputColumnName);
        Check(column is { } c ? c.Type.ToString() : null, column?.Type is TextDataViewType, input.Schema.Select(c => c.Name));
        return chain.Fit(input);
    }

    /// <exception cref="ArgumentException">The input has no such column, or it is not a text column.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var columns = inputSchema.Where(c => c.Name == InputColumnName).ToList();
        if (columns.Count == 0) Check(null, false, inputSchema.Select(c => c.Name));
        else
        {
            var c = columns[^1];
            bool scalar = c.Kind == SchemaShape.Column.VectorKind.Scalar;
            Check(scalar ? c.ItemType.ToString() : $"a vector of {c.ItemType}", scalar && c.ItemType is TextDataViewType, []);
        }
        return chain.GetOutputSchema(inputSchema);
    }

    private void Check(string? type, bool isText, IEnumerable<string> columns)
    {
        if (type is null)
            throw new ArgumentException($"The data has no column '{InputColumnName}' for the Pretext featurizer; its columns are {string.Join(", ", columns)}.");
        if (isText) return;
        string what = Input switch
        {
            PretextInput.ImagePath => "image file paths",
            PretextInput.Text => "documents",
            _ => $"table rows as CSV lines ({string.Join(", ", TableColumns)})",
        };
        throw new ArgumentException($"Column '{InputColumnName}' is {type}; the Pretext featurizer reads {what} from a text (string) column.");
    }
}

/// <summary>The featurizer in ML.NET's catalogue: <c>mlContext.Transforms.PretextEmbedding(...)</c>.</summary>
public static class PretextCatalog
{
    /// <summary>
    /// Embeds <paramref name="inputColumnName"/> with the frozen encoder of <paramref name="checkpoint"/> into
    /// <paramref name="outputColumnName"/>, a vector of the encoder's width, exactly as `pretext embed` embeds the same images,
    /// documents or rows. Loads the checkpoint now (to learn its width and check its modality); sets libtorch's thread count to
    /// <paramref name="threads"/> whenever it loads a checkpoint. Put <c>AppendCacheCheckpoint</c> after it before a trainer that
    /// reads the data several times, or each pass embeds every row again.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such checkpoint.</exception>
    /// <exception cref="ArgumentException">The checkpoint's modality does not read <paramref name="input"/>.</exception>
    /// <exception cref="NotSupportedException">An embedding width without a mapping (<see cref="EmbeddingMappings.Widths"/>).</exception>
    public static PretextEmbeddingEstimator PretextEmbedding(this TransformsCatalog catalog, string checkpoint, PretextInput input,
        string inputColumnName, string outputColumnName = "Features", int threads = 1) =>
        new(catalog, checkpoint, input, inputColumnName, outputColumnName, threads);
}
