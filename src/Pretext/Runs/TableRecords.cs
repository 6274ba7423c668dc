using System.Globalization;
using Pretext.Data;
using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>
/// Every record of a table laid out for `pretext score` and `pretext cluster`: the run's split (<see cref="TableModality.Load"/>: the
/// held-out fifth of a labelled file, the official split of a catalogued set) gives the test part; a validation part is carved from the
/// training part by id hash (<see cref="ValidationSplit.Carve"/>, class-stratified when labelled); the rest is the reference, the
/// training records that distances are measured to and that models are fitted on. Records are in the order training part then test part.
/// </summary>
public sealed class TableRecords : IDisposable
{
    private TableRecords(TableRows rows, ReadingPart[] parts, Tensor inputs, Tensor embeddings)
    {
        Rows = rows; Parts = parts; Inputs = inputs; Embeddings = embeddings;
    }

    /// <summary>The records in source form (ids, entities, labels), training part first.</summary>
    public TableRows Rows { get; }
    /// <summary>Each record's part.</summary>
    public ReadingPart[] Parts { get; }
    /// <summary>(N, F) the records encoded with the checkpoint's encoding.</summary>
    public Tensor Inputs { get; }
    /// <summary>(N, D) the frozen encoder's features of the records.</summary>
    public Tensor Embeddings { get; }
    public int Count => Rows.Count;

    /// <summary>Indices of the records of <paramref name="part"/>, in order.</summary>
    public long[] IndicesOf(ReadingPart part) => [.. Enumerable.Range(0, Parts.Length).Where(i => Parts[i] == part).Select(i => (long)i)];

    /// <summary>
    /// Loads <paramref name="dataset"/> (null: the run's) as the table checkpoint <paramref name="config"/> reads it, with
    /// <paramref name="set"/> (<c>table.columns.*</c> only) changing how the file is read, lays out the parts and embeds every record.
    /// </summary>
    /// <exception cref="ArgumentException">Not a table checkpoint, or an override outside <c>table.columns.*</c>.</exception>
    /// <exception cref="InvalidDataException">The file breaks a rule of <see cref="TableFiles"/> or has other columns than the model; the message names the place and the fix.</exception>
    public static TableRecords Load(ISslMethod method, RunConfig config, string checkpoint, string? dataset, IReadOnlyList<string> set, string? dataDirectory,
        double validationFraction, int seed, IRunObserver? observer = null, Action<string>? log = null)
    {
        observer ??= NullObserver.Instance;
        if (config.Encoder.Modality != Modality.Table)
            throw new ArgumentException($"'{checkpoint}' holds a {config.Encoder.Modality.ToString().ToLowerInvariant()} model; this command takes a table checkpoint here (pretrained with scarf, vime or dae).");
        foreach (var a in set)
            if (!a.TrimStart().StartsWith("table.columns.", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--set '{a}': only how the file is read changes here (table.columns.label, .id, .entity, .ignore, .names, .categorical); the encoding comes from the checkpoint.");
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentException($"The validation part is a fraction of the training records in (0, 1), got {validationFraction}.");
        config = ConfigOverrides.Apply(config, set);
        var encoding = config.Table.Encoding
            ?? throw new InvalidDataException($"Checkpoint '{checkpoint}' has no table encoding (table.encoding is empty); it was not written by a table pretraining run.");
        // The file is typed as the model was: a stray word in a numeric column is then an error at its line, not a new categorical column.
        config = config with { Table = config.Table with { Columns = config.Table.Columns with { Numeric = encoding.NumericNames, Categorical = encoding.CategoricalNames } } };
        var modality = ModalityCatalog.Get(Modality.Table);
        var (train, test) = modality.Load(dataset ?? config.Dataset, config, dataDirectory, log, needTest: true);
        using (train)
        using (test)
        {
            var trainRows = TableSamples.Of(train).Rows;
            var labels = trainRows.Labels ?? new int[trainRows.Count];
            var (_, validation) = ValidationSplit.Carve(labels, i => trainRows.Ids[i], validationFraction, seed);
            var parts = Enumerable.Repeat(ReadingPart.Reference, trainRows.Count).ToArray();
            foreach (var i in validation) parts[i] = ReadingPart.Validation;
            var rows = trainRows;
            if (test is not null)
            {
                var testRows = TableSamples.Of(test).Rows;
                rows = Concat(trainRows, testRows);
                parts = [.. parts, .. Enumerable.Repeat(ReadingPart.Test, testRows.Count)];
            }
            if (!parts.Contains(ReadingPart.Reference) || !parts.Contains(ReadingPart.Validation))
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"'{rows.Name}': {trainRows.Count:N0} training records are too few to carve a validation part from and keep a reference; give at least a few dozen records."));
            var inputs = encoding.Apply(rows);
            try
            {
                using var data = new TensorDataset(rows.Name, inputs.alias(), sampleIds: rows.Ids);
                observer.BeginStage($"Embedding {rows.Name}", data.Count);
                var embeddings = Features.Extract(method.Encoder, data, null, 1024, (d, _) => observer.Report(d));
                observer.EndStage();
                log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"{rows.Name}: {rows.Count:N0} records; reference {parts.Count(p => p == ReadingPart.Reference):N0}, validation {parts.Count(p => p == ReadingPart.Validation):N0}, test {parts.Count(p => p == ReadingPart.Test):N0}."));
                return new TableRecords(rows, parts, inputs, embeddings);
            }
            catch
            {
                inputs.Dispose();
                throw;
            }
        }
    }

    private static TableRows Concat(TableRows a, TableRows b)
    {
        int nn = a.NumericNames.Length, nc = a.CategoricalNames.Length, n = a.Count + b.Count;
        var values = new float[n * nn];
        var cats = new string?[n * nc];
        for (int i = 0; i < n; i++)
        {
            var (src, r) = i < a.Count ? (a, i) : (b, i - a.Count);
            for (int k = 0; k < nn; k++) values[i * nn + k] = src.Numeric(r, k);
            for (int k = 0; k < nc; k++) cats[i * nc + k] = src.Category(r, k);
        }
        string name = a.Name.Replace(" (train 80 %)", "", StringComparison.Ordinal).Replace("/train", "", StringComparison.Ordinal);
        return new TableRows(name, a.NumericNames, a.CategoricalNames, a.DeclaredValues, values, cats,
            a.Labels is null || b.Labels is null ? null : [.. a.Labels, .. b.Labels], a.ClassNames, [.. a.Ids, .. b.Ids],
            a.Entities is null || b.Entities is null ? null : [.. a.Entities, .. b.Entities]);
    }

    public void Dispose()
    {
        Inputs.Dispose();
        Embeddings.Dispose();
    }
}
