using System.Globalization;
using Pretext.Data;
using Pretext.Data.Tables;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.MLNet;

/// <summary>
/// A checkpoint's frozen encoder and the reader of its modality, embedding one column value at a time exactly as `pretext embed` and
/// `pretext serve` do: the value becomes the modality's own <see cref="ISampleSet"/> (decoded pixels, a document, a typed table row),
/// then <see cref="Embeddings.Extract"/> reads it through the checkpoint's <see cref="ModelInputs"/> and runs the encoder in eval mode
/// under no_grad. ML.NET's CustomMapping hands the mapping one row at a time, so each value is one encoder pass of batch 1; calls are
/// serialised (one encoder pass at a time), since ML.NET may read a data view from several threads.
/// </summary>
internal sealed class CheckpointEmbedder
{
    private readonly ISslMethod method;
    private readonly ModelInputs inputs;
    private readonly RunConfig config;
    private readonly Lock encoderLock = new();

    private CheckpointEmbedder(ModelReference reference, ISslMethod method, RunConfig config, ModelInputs inputs)
    {
        Reference = reference; this.method = method; this.config = config; this.inputs = inputs;
    }

    public ModelReference Reference { get; }
    /// <summary>The embedding's width: the encoder's feature dimension.</summary>
    public int Dimension => method.Encoder.FeatureDim;
    public Modality Modality => config.Encoder.Modality;
    /// <summary>A table checkpoint's feature columns in the order a <see cref="PretextInput.TableRow"/> line gives them (numeric, then categorical); empty otherwise.</summary>
    public IReadOnlyList<string> TableColumns => config.Table.Encoding is { } e && Modality == Modality.Table ? [.. e.NumericNames, .. e.CategoricalNames] : [];

    /// <summary>Loads the checkpoint <paramref name="r"/> refers to, after checking it is the file the reference recorded.</summary>
    /// <exception cref="FileNotFoundException">The checkpoint is not where the reference says; the message says how to fix it.</exception>
    /// <exception cref="InvalidDataException">The file there is not the checkpoint the reference recorded, or not a Pretext checkpoint.</exception>
    /// <exception cref="ArgumentException">The checkpoint's modality does not read the reference's kind of input.</exception>
    public static CheckpointEmbedder Load(ModelReference r)
    {
        if (!File.Exists(r.Checkpoint))
            throw new FileNotFoundException(
                $"This ML.NET model embeds with the Pretext checkpoint '{r.Checkpoint}', which does not exist. Put that file back there " +
                $"(SHA-256 {r.Sha256}), or build the pipeline again with PretextEmbedding on the checkpoint's new path and save it again.", r.Checkpoint);
        var sha = ModelReference.HashOf(r.Checkpoint);
        if (sha != r.Sha256)
            throw new InvalidDataException(
                $"'{r.Checkpoint}' is not the checkpoint this ML.NET model was built with: its SHA-256 is {sha}, the model recorded {r.Sha256}, " +
                "so its embeddings would differ from the ones the model's trainer learned from. Put the original checkpoint back, or build, " +
                "train and save the pipeline again with this one.");
        torch.set_num_threads(r.Threads);
        var (method, config, _) = Pretraining.LoadMethod(r.Checkpoint);
        try
        {
            CheckModality(config.Encoder.Modality, r.Input, r.Checkpoint);
            var inputs = ModalityCatalog.Get(config.Encoder.Modality).InputsFor(config, r.Checkpoint);
            return new CheckpointEmbedder(r, method, config, inputs);
        }
        catch
        {
            method.Dispose();
            throw;
        }
    }

    /// <exception cref="ArgumentException"><paramref name="input"/> is not what a model of <paramref name="modality"/> reads.</exception>
    public static void CheckModality(Modality modality, PretextInput input, string checkpoint)
    {
        var needed = input switch
        {
            PretextInput.ImagePath => Modality.Image,
            PretextInput.Text => Modality.Text,
            PretextInput.TableRow => Modality.Table,
            _ => throw new ArgumentOutOfRangeException(nameof(input), input, "Not a kind of Pretext input."),
        };
        if (modality == needed) return;
        var right = modality switch
        {
            Modality.Image => $"{nameof(PretextInput)}.{nameof(PretextInput.ImagePath)} (a column of image file paths)",
            Modality.Text => $"{nameof(PretextInput)}.{nameof(PretextInput.Text)} (a column of documents)",
            Modality.Table => $"{nameof(PretextInput)}.{nameof(PretextInput.TableRow)} (a column of CSV rows)",
            _ => "`pretext embed` (the ML.NET featurizer takes image, text and table checkpoints)",
        };
        throw new ArgumentException(
            $"Checkpoint '{checkpoint}' holds a model of {Name(modality)}, but the featurizer was asked for {nameof(PretextInput)}.{input}, which needs a model of " +
            $"{Name(needed)}. Use {right}, or a checkpoint of {Name(needed)}.", nameof(input));
    }

    private static string Name(Modality m) => m.ToString().ToLowerInvariant() switch { "image" => "images", "table" => "tables", var s => s };

    /// <summary>The embedding of one value of the input column, (D) fp32.</summary>
    /// <exception cref="FileNotFoundException">An image path that does not exist.</exception>
    /// <exception cref="InvalidDataException">A value the model cannot read (an undecodable image, empty text, a malformed row); the message names the column and the value.</exception>
    public float[] Embed(string? value)
    {
        using var samples = Samples(value ?? "", Reference.Column);
        lock (encoderLock)
        {
            using var features = Embeddings.Extract(method, inputs, samples);
            return features.data<float>().ToArray();
        }
    }

    private ISampleSet Samples(string value, string column) => Reference.Input switch
    {
        PretextInput.ImagePath => Image(value, column),
        PretextInput.Text => string.IsNullOrWhiteSpace(value)
            ? throw new InvalidDataException($"Column '{column}' holds an empty document; the text featurizer needs some text in every row (filter empty rows out first).")
            : new TextSamples(new TextDataset("ML.NET column " + column, [value])),
        PretextInput.TableRow => Row(value, column),
        _ => throw new InvalidOperationException($"Unknown input kind {Reference.Input}."),
    };

    private ImageSamples Image(string path, string column)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new InvalidDataException($"Column '{column}' holds an empty image path; give every row the path of an image file.");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"Column '{column}': image file '{path}' does not exist (relative paths are read from {Directory.GetCurrentDirectory()}).", path, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Column '{column}': image file '{path}' cannot be read: {e.Message}", e);
        }
        int c = config.Encoder.InChannels, s = config.Encoder.ImageSize;
        var pixels = new byte[c * s * s];
        try
        {
            ImageFolderDataset.Decode(bytes, c, s, pixels, (long)(ImageDataConfig.DefaultMaxMegapixels * 1e6));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Column '{column}': image file '{path}' cannot be used: {e.Message}. Fix or leave out that row.", e);
        }
        return new ImageSamples(new TensorDataset("ML.NET column " + column, tensor(pixels, [1, c, s, s], ScalarType.Byte)));
    }

    private TableSamples Row(string line, string column)
    {
        var names = TableColumns.ToArray();
        var encoding = config.Table.Encoding!;
        string where = $"ML.NET column '{column}'";
        List<string>? fields;
        using (var reader = new StringReader(line))
            fields = CsvRecords.Read(reader, where).FirstOrDefault();
        if (fields is null || fields.Count != names.Length)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Column '{column}' holds a row of {fields?.Count ?? 0} values ('{Excerpt(line)}'); the checkpoint reads {names.Length} columns, as one CSV line in this order: {string.Join(", ", names)}."));
        var raw = new RawTable(where, "row", names, new DeclaredType?[names.Length], [new RawRow(1, [.. fields])]);
        var typed = new Pretext.Data.Tables.TableColumns { Numeric = encoding.NumericNames, Categorical = encoding.CategoricalNames };
        return new TableSamples(TableFiles.Infer(raw, typed, where));
    }

    private static string Excerpt(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
