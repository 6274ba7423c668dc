using System.Globalization;
using Pretext.Data;
using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Methods;
using static TorchSharp.torch;

namespace Pretext.Runs.Modalities;

/// <summary>
/// Tables: the catalogued credit-g, unbalanced, diabetes, segment, letter and shuttle sets, or a CSV, Parquet or ARFF file (<see cref="TableFiles"/>; columns from
/// <c>table.columns</c>). A row is one sample. Split: the official one where the data has it (letter: the first 16,000 rows; segment: its training file), else a
/// seeded class-stratified held-out fifth (<see cref="HeldOut"/>), kept out of pretraining. Encoders read rows encoded with
/// <see cref="TableEncoding"/>, fitted on the training rows when pretraining starts and kept in the config and every checkpoint. The
/// no-learning baseline is logistic regression on the encoded raw columns (numbers, missing indicators, categories one-hot).
/// </summary>
public sealed class TableModality : IModality
{
    public Modality Kind => Modality.Table;
    public string DefaultMethod => "scarf";
    public string BaselineName => "raw columns";

    public bool IsCatalogued(string dataset) => DataCatalog.Contains(dataset, Modality.Table);

    public RunConfig BasePreset(string dataset, int threads) => Presets.Table(IsCatalogued(dataset) ? dataset.ToLowerInvariant() : dataset, threads);

    /// <exception cref="FileNotFoundException">Neither a catalogued table nor an existing table file.</exception>
    /// <exception cref="InvalidDataException">The file breaks a rule of <see cref="TableFiles"/>.</exception>
    public (ISampleSet Train, ISampleSet? Test) Load(string dataset, RunConfig config, string? dataDir, Action<string>? log, bool needTest)
    {
        var columns = config.Table.Columns;
        var c = CultureInfo.InvariantCulture;
        if (IsCatalogued(dataset))
        {
            var entry = DataCatalog.Get(dataset);
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            var rows = fetcher.LoadTable(entry.Name, columns);
            Describe(rows, log);
            if (entry.OfficialTrainRows > 0)
            {
                int n = Math.Min(entry.OfficialTrainRows, rows.Count);
                var train = new TableSamples(rows.Subset([.. Enumerable.Range(0, n).Select(i => (long)i)], $"{entry.Name}/train"));
                var test = needTest ? new TableSamples(rows.Subset([.. Enumerable.Range(n, rows.Count - n).Select(i => (long)i)], $"{entry.Name}/test")) : null;
                log?.Invoke(string.Create(c, $"{entry.Name}: official split, first {n:N0} rows train, last {rows.Count - n:N0} test."));
                return (train, test);
            }
            // No official split: the held-out fifth always stays out of pretraining, so the test rows are the same for every run.
            var (tr, te) = HeldOut.Split(new TableSamples(rows), entry.Name, needTest: true);
            if (!needTest) { te?.Dispose(); te = null; }
            return (tr, te);
        }
        if (!TableFiles.IsTableFile(dataset))
            throw new FileNotFoundException(DataPathHints.NotReadable(dataset, Modality.Table, "a .csv, .parquet, .arff or .data file"));
        var all = TableFiles.Read(dataset, columns);
        Describe(all, log);
        return HeldOut.Split(new TableSamples(all), dataset, needTest);
    }

    private static void Describe(TableRows rows, Action<string>? log) => log?.Invoke(string.Create(CultureInfo.InvariantCulture,
        $"{rows.Name}: {rows.Count:N0} rows, {rows.NumericNames.Length} numeric and {rows.CategoricalNames.Length} categorical columns") +
        (rows.Labels is null ? ", unlabelled." : $", {rows.ClassNames.Count} classes ({string.Join(", ", rows.ClassNames.Take(6))}{(rows.ClassNames.Count > 6 ? ", ..." : "")})."));

    /// <summary>
    /// Pretraining reads the training rows encoded with an encoding fitted on them; the config is completed with it and with the encoder's
    /// input layout, so every later reader of the checkpoint encodes rows the same way.
    /// </summary>
    /// <exception cref="ArgumentException">The configured method or encoder is not a table one.</exception>
    public PreparedRun PrepareRun(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel)
    {
        var entry = MethodRegistry.Get(config.Method);
        if (!entry.TrainsOn(Modality.Table) || config.Encoder.Modality != Modality.Table)
            throw new ArgumentException($"Method '{config.Method}' with a {config.Encoder.Kind} encoder does not train on tables; use a table method ({string.Join(", ", MethodRegistry.All.Where(m => m.TrainsOn(Modality.Table)).Select(m => m.Name))}) with the TableMlp encoder.");
        var rows = TableSamples.Of(train).Rows;
        var cfg = Completed(config, rows);
        var enc = cfg.Table.Encoding!;
        var data = new TensorDataset(rows.Name, enc.Apply(rows), sampleIds: rows.Ids) { Entities = EntityPositives(cfg, entry, rows, observer) };
        observer.Message(string.Create(CultureInfo.InvariantCulture,
            $"{rows.Name}: {rows.Count:N0} rows as {enc.Width} inputs ({enc.NumericNames.Length} standardised numbers with missing indicators, {enc.CategoricalNames.Length} categorical codes; encoding fitted on these rows)."));
        return new PreparedRun(cfg, data, data);
    }

    /// <summary>The rows' entity groups when <see cref="TableDataConfig.EntityPositives"/> is on, else null.</summary>
    /// <exception cref="ArgumentException">The option is on but the rows have no entity column, or the method takes no same-entity positives.</exception>
    private static EntityGroups? EntityPositives(RunConfig config, MethodEntry method, TableRows rows, IRunObserver observer)
    {
        if (!config.Table.EntityPositives) return null;
        SameEntity.Check(method, "table.entityPositives");
        if (rows.Entities is null)
            throw new ArgumentException($"table.entityPositives is on, but '{rows.Name}' has no entity column; name it with --set table.columns.entity=COLUMN.");
        return SameEntity.Groups(rows.Entities, "rows", observer);
    }

    /// <summary><paramref name="config"/> with the encoding fitted on <paramref name="train"/> and the encoder's input layout.</summary>
    public static RunConfig Completed(RunConfig config, TableRows train)
    {
        var enc = TableEncoding.Fit(train);
        return config with
        {
            Encoder = config.Encoder with { Table = config.Encoder.Table with { Numeric = enc.NumericNames.Length, Cardinalities = enc.Cardinalities } },
            Table = config.Table with { Encoding = enc },
        };
    }

    public ModelInputs InputsFor(RunConfig config, string checkpointPath) => new TableInputs(config, checkpointPath);

    /// <summary>
    /// <paramref name="config"/> reading a table file typed as the model was: a stray word in a numeric column is then an error at its
    /// line, not a new categorical column.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint has no table encoding.</exception>
    public static RunConfig TypedAsModel(RunConfig config, string checkpoint)
    {
        var encoding = config.Table.Encoding
            ?? throw new InvalidDataException($"Checkpoint '{checkpoint}' has no table encoding (table.encoding is empty); it was not written by a table pretraining run.");
        return config with { Table = config.Table with { Columns = config.Table.Columns with { Numeric = encoding.NumericNames, Categorical = encoding.CategoricalNames } } };
    }

    public EvaluationPlan Plan(EvaluationConfig ev) => EvaluationPlan.Standard(ev) with
    {
        // Unlike the tensor modalities, distilling alone does not turn fine-tuning on for tables.
        FineTune = ev.FineTune || ev.FineTuneFractions.Length > 0,
        // Trees are the supervised models tables are usually won by: the pretrained pipeline is measured against them too.
        Trees = ev.Baseline && ev.Table.GradientBoostedTrees,
        TreeFractions = ev.Baseline && ev.Table.GradientBoostedTrees ? ev.LinearFractions : [],
        TreeSettings = ev.Table.Trees,
        TreeCandidates = ev.Table.TreeCandidates,
        // Tables are often unbalanced (credit-g 30 % bad, unbalanced 1.4 % Active): F1 beside accuracy.
        F1 = true,
        PositiveClass = ev.Table.PositiveClass,
    };

    /// <summary>Rows encoded with the checkpoint's encoding; no augmentation in supervised training; the encoded raw columns as the baseline.</summary>
    public sealed class TableInputs : ModelInputs
    {
        private readonly TableEncoding encoding;

        /// <exception cref="InvalidDataException">The config has no fitted encoding (it was not written by a table run).</exception>
        public TableInputs(RunConfig config, string checkpointPath) =>
            encoding = config.Table.Encoding
                ?? throw new InvalidDataException($"Checkpoint '{checkpointPath}' has no table encoding (table.encoding is empty); it was not written by a table pretraining run.");

        protected override (IDataset Data, bool Owned) EncodeCore(ISampleSet samples)
        {
            var rows = TableSamples.Of(samples).Rows;
            return (new TensorDataset(rows.Name, encoding.Apply(rows), rows.Labels, rows.ClassNames, rows.Ids), true);
        }

        /// <summary>Standardised numbers, missing indicators and one-hot categories (unknown bucket included), as logistic regression wants them.</summary>
        public override (Tensor Train, Tensor Test, bool Standardize) BaselineFeatures(ISampleSet train, ISampleSet test) =>
            (OneHot(TableSamples.Of(train).Rows), OneHot(TableSamples.Of(test).Rows), true);

        private Tensor OneHot(TableRows rows)
        {
            using var scope = NewDisposeScope();
            var x = encoding.Apply(rows);
            int nn = 2 * encoding.NumericNames.Length;
            var parts = new List<Tensor> { x.narrow(1, 0, nn) };
            var cards = encoding.Cardinalities;
            for (int k = 0; k < cards.Length; k++)
                parts.Add(OneHotCodes(x.select(1, nn + k), cards[k]));
            return cat(parts, 1).MoveToOuterDisposeScope();
        }

        private static Tensor OneHotCodes(Tensor codes, int classes) => nn.functional.one_hot(codes.to(ScalarType.Int64), classes).to(ScalarType.Float32);
    }
}

/// <summary>Rows of a table as samples (source form; the run's <see cref="TableEncoding"/> turns them into encoder input). Ids: the id column or the row's line.</summary>
public sealed class TableSamples(TableRows rows) : ISampleSet
{
    public TableRows Rows { get; } = rows;
    public string Name => Rows.Name;
    public int Count => Rows.Count;
    public int[]? Labels => Rows.Labels;
    public IReadOnlyList<string> ClassNames => Rows.ClassNames;
    public string SampleId(int index) => Rows.Ids[index];
    public ISampleSet Subset(long[] indices, string name) => new TableSamples(Rows.Subset(indices, name));
    public void Dispose() { }

    /// <exception cref="ArgumentException"><paramref name="samples"/> are not table rows.</exception>
    public static TableSamples Of(ISampleSet samples) =>
        samples as TableSamples ?? throw new ArgumentException($"'{samples.Name}' holds no table rows; a table model reads table data sets or .csv/.parquet/.arff files.");
}
