using System.Globalization;
using Pretext.Data;
using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>
/// Every record of a data set laid out for `pretext score` and `pretext cluster` (table rows, images, documents, audio clips; series
/// have their own windows, <see cref="SeriesScoringData"/>): the run's split (<see cref="IModality.Load"/>: the held-out fifth of a
/// labelled folder or file, the official split of a catalogued set) gives the test part; a validation part is carved from the training
/// part by id hash (<see cref="ValidationSplit.Carve"/>, class-stratified when labelled); the rest is the reference, the training
/// records that distances are measured to and that models are fitted on. Records are in the order training part then test part.
/// </summary>
public sealed class RecordSet : IDisposable
{
    private readonly ModelInputs inputs;
    private readonly IReadOnlyList<IDataset> encoded;
    private readonly ISampleSet train;
    private readonly ISampleSet? test;

    private RecordSet(string name, ISampleSet train, ISampleSet? test, ReadingPart[] parts, ModelInputs inputs, IReadOnlyList<IDataset> encoded, Tensor embeddings)
    {
        Name = name; this.train = train; this.test = test; Parts = parts; this.inputs = inputs; this.encoded = encoded; Embeddings = embeddings;
        Ids = [.. Sets.SelectMany(s => Enumerable.Range(0, s.Count).Select(s.SampleId))];
        Labels = train.Labels is { } a && (test is null || test.Labels is not null) ? [.. a, .. test?.Labels ?? []] : null;
        Rows = train is TableSamples t ? (test is TableSamples u ? Concat(t.Rows, u.Rows) : t.Rows) : null;
    }

    private IEnumerable<ISampleSet> Sets => test is null ? [train] : [train, test];

    /// <summary>The data's name in messages.</summary>
    public string Name { get; }
    /// <summary>Each record's id (a table's id column or line, an image's or document's path).</summary>
    public string[] Ids { get; }
    /// <summary>Class per record when every record is labelled, else null.</summary>
    public int[]? Labels { get; }
    public IReadOnlyList<string> ClassNames => train.ClassNames;
    /// <summary>The records in source form when they are table rows (columns, entities), else null.</summary>
    public TableRows? Rows { get; }
    /// <summary>Each record's entity (tables with an entity column), else null.</summary>
    public string[]? Entities => Rows?.Entities;
    /// <summary>Each record's part.</summary>
    public ReadingPart[] Parts { get; }
    /// <summary>(N, D) the frozen encoder's features of the records.</summary>
    public Tensor Embeddings { get; }
    public int Count => Ids.Length;

    /// <summary>Indices of the records of <paramref name="part"/>, in order.</summary>
    public long[] IndicesOf(ReadingPart part) => [.. Enumerable.Range(0, Parts.Length).Where(i => Parts[i] == part).Select(i => (long)i)];

    /// <summary>
    /// The method's reconstruction error of every record (encoder inputs as evaluation reads them), averaged over <paramref name="draws"/>
    /// corruptions or masks: one draw leaves a record's error to the luck of which cells were hidden. Draw r of split s is seeded by
    /// (<paramref name="seed"/>, s, r), so no two draws share masks.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one draw.</exception>
    public double[] ReconstructionErrors(IReconstructionScorer scorer, TorchSharp.torch.nn.Module module, int seed, int draws = 1)
    {
        if (draws < 1) throw new ArgumentOutOfRangeException(nameof(draws), draws, "At least one draw.");
        var result = new List<double>();
        for (int s = 0; s < encoded.Count; s++)
        {
            var sum = new double[encoded[s].Count];
            for (int r = 0; r < draws; r++)
            {
                var e = OneClass.ReconstructionScores(scorer, module, encoded[s], inputs.Normalization, (int)(Training.Trainer.DeriveSeed(seed, s, r) & int.MaxValue));
                for (int i = 0; i < sum.Length; i++) sum[i] += e[i] / draws;
            }
            result.AddRange(sum);
        }
        return [.. result];
    }

    /// <summary>
    /// Loads <paramref name="dataset"/> (null: the run's) as the checkpoint's <paramref name="config"/> reads it, lays out the parts and
    /// embeds every record. <paramref name="set"/> may change how a table file is read (<c>table.columns.*</c> only); a table file is typed
    /// as the model was, so a stray word in a numeric column is an error at its line.
    /// </summary>
    /// <exception cref="ArgumentException">A series checkpoint (score it as a series), or an override this command does not take.</exception>
    /// <exception cref="InvalidDataException">The data breaks a rule of its reader or does not fit the model; the message names the place and the fix.</exception>
    public static RecordSet Load(ISslMethod method, RunConfig config, string checkpoint, string? dataset, IReadOnlyList<string> set, string? dataDirectory,
        double validationFraction, int seed, IRunObserver? observer = null, Action<string>? log = null)
    {
        observer ??= NullObserver.Instance;
        var kind = config.Encoder.Modality;
        config = ReadingConfig(config, checkpoint, set, validationFraction);
        var modality = ModalityCatalog.Get(kind);
        var (train, test) = modality.Load(dataset ?? config.Dataset, config, dataDirectory, log, needTest: true);
        ModelInputs? inputs = null;
        try
        {
            var labels = train.Labels ?? new int[train.Count];
            var (_, validation) = ValidationSplit.Carve(labels, train.SampleId, validationFraction, seed);
            var parts = Enumerable.Repeat(ReadingPart.Reference, train.Count).ToArray();
            foreach (var i in validation) parts[i] = ReadingPart.Validation;
            if (test is not null) parts = [.. parts, .. Enumerable.Repeat(ReadingPart.Test, test.Count)];
            if (!parts.Contains(ReadingPart.Reference) || !parts.Contains(ReadingPart.Validation))
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"'{train.Name}': {train.Count:N0} training records are too few to carve a validation part from and keep a reference; give at least a few dozen records."));
            inputs = modality.InputsFor(config, checkpoint);
            IDataset[] encoded = test is null ? [inputs.Encode(train)] : [inputs.Encode(train), inputs.Encode(test)];
            long total = encoded.Sum(d => d.Count), done = 0;
            observer.BeginStage($"Embedding {train.Name}", total);
            var features = new List<Tensor>();
            foreach (var d in encoded)
            {
                long offset = done;
                features.Add(Features.Extract(method.Encoder, d, inputs.Normalization, inputs.FeatureBatchSize, (n, _) => observer.Report(offset + n)));
                done += d.Count;
            }
            observer.EndStage();
            var embeddings = features.Count == 1 ? features[0] : cat(features, 0);
            if (features.Count > 1) foreach (var f in features) f.Dispose();
            string name = train.Name.Replace(" (train 80 %)", "", StringComparison.Ordinal).Replace("/train", "", StringComparison.Ordinal);
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {parts.Length:N0} records; reference {parts.Count(p => p == ReadingPart.Reference):N0}, validation {parts.Count(p => p == ReadingPart.Validation):N0}, test {parts.Count(p => p == ReadingPart.Test):N0}."));
            return new RecordSet(name, train, test, parts, inputs, encoded, embeddings);
        }
        catch
        {
            inputs?.Dispose();
            train.Dispose();
            test?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The checkpoint's <paramref name="config"/> as `score` and `cluster` read data with it: <paramref name="set"/> applied (<c>table.columns.*</c>
    /// only) and a table file typed as the model was.
    /// </summary>
    /// <exception cref="ArgumentException">A series checkpoint, an override this command does not take, or a validation fraction outside (0, 1).</exception>
    /// <exception cref="InvalidDataException">A table checkpoint without its encoding.</exception>
    public static RunConfig ReadingConfig(RunConfig config, string checkpoint, IReadOnlyList<string> set, double validationFraction)
    {
        var kind = config.Encoder.Modality;
        if (kind == Modality.Series)
            throw new ArgumentException($"'{checkpoint}' holds a series model; `score` scores its windows and readings, and `cluster` takes table, image, text or audio checkpoints.");
        foreach (var a in set)
            if (kind != Modality.Table || !a.TrimStart().StartsWith("table.columns.", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--set '{a}': only how a table file is read changes here (table.columns.label, .id, .entity, .ignore, .names, .categorical); the rest comes from the checkpoint.");
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentException($"The validation part is a fraction of the training records in (0, 1), got {validationFraction}.");
        config = ConfigOverrides.Apply(config, set);
        return kind == Modality.Table ? TableModality.TypedAsModel(config, checkpoint) : config;
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
        return new TableRows(a.Name, a.NumericNames, a.CategoricalNames, a.DeclaredValues, values, cats,
            a.Labels is null || b.Labels is null ? null : [.. a.Labels, .. b.Labels], a.ClassNames, [.. a.Ids, .. b.Ids],
            a.Entities is null || b.Entities is null ? null : [.. a.Entities, .. b.Entities]);
    }

    public void Dispose()
    {
        Embeddings.Dispose();
        inputs.Dispose();
        train.Dispose();
        test?.Dispose();
    }
}
