using System.Globalization;
using Pretext.Data;
using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Runs.Modalities;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Whether `pretext score` and `pretext cluster` read a table file in chunks (<see cref="RecordStreaming"/>) or whole (<see cref="RecordSet"/>).</summary>
public enum Streaming
{
    /// <summary>In chunks when the data is a CSV file of at least <see cref="StreamLimits.AutoBytes"/>; whole otherwise.</summary>
    Auto,
    /// <summary>In chunks; the data must be a CSV file scored by a table checkpoint.</summary>
    Always,
    /// <summary>Whole, whatever its size.</summary>
    Never,
}

/// <summary>
/// The bounds of a streamed read: the memory of `score` and `cluster` on a table file is set by these, not by its number of rows.
/// Every sample is the rows of a part whose ids hash lowest (<see cref="RandomStreams.StreamedSamples"/>), so it is seeded, does not depend
/// on the order of the file, and is the whole part when the part is smaller.
/// </summary>
public sealed record StreamLimits
{
    /// <summary>
    /// Rows read, embedded, scored and written at a time: 4,096, a multiple of the 512-row embedding batch and the 256-row batch whose
    /// corruption seed reconstruction errors take, so every row gets the batches a whole-file read gives it.
    /// </summary>
    public int ChunkRows { get; init; } = 4096;
    /// <summary>
    /// Reference records kept as the kNN bank (`score`) and as k-means' fitting sample (`cluster`): 10,000. Scoring a row costs a
    /// product with the whole bank (10,000 x 256 x 2 = 5 MFLOP a row, about 17 times the table MLP's forward pass), so the bank sets the speed.
    /// </summary>
    public int ReferenceRows { get; init; } = 10_000;
    /// <summary>Validation records whose scores choose the threshold (`score`): 100,000 (one double and one flag each).</summary>
    public int ValidationRows { get; init; } = 100_000;
    /// <summary>Validation records k is chosen on by their mean silhouette (`cluster`; quadratic in this): 5,000.</summary>
    public int SilhouetteRows { get; init; } = 5_000;
    /// <summary>Test records of a labelled file whose scores give the test AUROC, AUPRC and F1 (`score`): 100,000.</summary>
    public int TestRows { get; init; } = 100_000;
    /// <summary>Size from which <see cref="Streaming.Auto"/> streams a CSV file: 16 MiB (about 400,000 rows of 16 numbers).</summary>
    public long AutoBytes { get; init; } = 16L << 20;
    /// <summary>
    /// Each row's part from its id; null: by hash (<see cref="RecordStreaming"/>). Tests hand in a whole-file read's parts to check that
    /// the chunked read then gives the same output.
    /// </summary>
    public Func<string, ReadingPart>? Parts { get; init; }

    /// <exception cref="ArgumentException">A bound no read can use; the message names it.</exception>
    public void Validate()
    {
        if (ChunkRows < 512 || ChunkRows % 512 != 0) throw new ArgumentException($"Chunks hold a multiple of 512 rows (the embedding batch), got {ChunkRows}.");
        if (ReferenceRows < 2) throw new ArgumentException($"--max-reference must be at least 2, got {ReferenceRows}.");
        if (ValidationRows < 1) throw new ArgumentException($"--max-validation must be at least 1, got {ValidationRows}.");
        if (SilhouetteRows < 2) throw new ArgumentException($"--max-validation must be at least 2, got {SilhouetteRows}.");
        if (TestRows < 1) throw new ArgumentException($"The test sample must hold at least 1 row, got {TestRows}.");
        if (AutoBytes < 0) throw new ArgumentException($"The size from which files stream is at least 0 bytes, got {AutoBytes}.");
    }
}

/// <summary>What a streamed `pretext score` wrote and chose (the rows themselves went to the files).</summary>
/// <param name="Bank">Reference records in the kNN bank (all of them, or <see cref="StreamLimits.ReferenceRows"/>).</param>
/// <param name="Test">Metrics on the test part of a labelled file (on its sample when it is larger than <see cref="StreamLimits.TestRows"/>).</param>
public sealed record StreamedScores(string Dataset, string Scorer, long Rows, long Reference, long Validation, long TestRows, int Bank, string? AnomalyClass,
    ThresholdChoice Threshold, long Flagged, DetectionMetrics? Test, DetectionMetrics? ValidationMetrics);

/// <summary>What a streamed `pretext cluster` wrote and chose.</summary>
/// <param name="Fitted">Reference records k-means was fitted on.</param>
/// <param name="SilhouetteRecords">Validation records the silhouettes were measured on.</param>
public sealed record StreamedClusters(string Dataset, long Rows, int K, bool Chosen, IReadOnlyList<(int K, double Silhouette)> Candidates,
    IReadOnlyList<SegmentProfile> Profiles, int Fitted, int SilhouetteRecords);

/// <summary>
/// `pretext score` and `pretext cluster` on a CSV table file of any length, with memory bounded by <see cref="StreamLimits"/> instead of
/// by its rows. The file is read twice (three times when labelled): first to sample, then to embed, score or assign and write each
/// chunk of rows.
/// <list type="bullet">
/// <item>Parts: a row's part follows from its id alone: test when the file is labelled and the id's hash under
/// <see cref="RandomStreams.StreamedTestPart"/> falls below the held-out fifth, else validation when its hash under the run seed falls below
/// the validation fraction (the hash a whole-file read ranks ids by, <see cref="ValidationSplit.Carve"/>), else reference. So each part holds
/// about, not exactly, its share of each class (a whole-file read takes exact class-stratified counts), the test part is not the held-out
/// fifth a whole-file pretraining kept out, and repeated ids are not found (both need every id in memory).</item>
/// <item>`score`: the kNN bank is the reference records (up to <see cref="StreamLimits.ReferenceRows"/>, sampled by id hash; a bank record is
/// never its own neighbour); the threshold is chosen on the validation records' scores (up to <see cref="StreamLimits.ValidationRows"/>);
/// rows wait in a temporary file next to the output until the threshold is known, then are written with their flag.</item>
/// <item>`cluster`: k-means is fitted on the sampled reference records, k chosen on the sampled validation records
/// (<see cref="StreamLimits.SilhouetteRows"/>), then every row is assigned and written as its chunk is done, and the segment profiles are
/// summed up row by row (<see cref="SegmentProfileBuilder"/>).</item>
/// </list>
/// Rows are written training part first, then the test part, each in file order, as a whole-file read writes them. With the same parts
/// (<see cref="StreamLimits.Parts"/>) and samples no smaller than the parts, the output equals a whole-file read's up to float rounding
/// (tested).
/// </summary>
public static class RecordStreaming
{
    /// <summary>Whether <paramref name="mode"/> streams <paramref name="dataset"/> (null: the run's) for a checkpoint of <paramref name="config"/>.</summary>
    /// <exception cref="ArgumentException"><see cref="Streaming.Always"/> for data that is not a CSV file read by a table model.</exception>
    public static bool Applies(RunConfig config, string? dataset, Streaming mode, StreamLimits limits)
    {
        if (mode == Streaming.Never) return false;
        string path = dataset ?? config.Dataset;
        bool csv = config.Encoder.Modality == Modality.Table && TableFiles.IsTableFile(path)
            && (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".data", StringComparison.OrdinalIgnoreCase));
        if (mode == Streaming.Always)
            return csv ? true : throw new ArgumentException($"--stream Always reads a CSV table file (.csv or .data) in chunks with a table checkpoint; '{path}' is not one. Use --stream Never (or Auto).");
        return csv && new FileInfo(path).Length >= limits.AutoBytes;
    }

    /// <summary>Scores every row of the CSV file as <see cref="RecordScoring.Run"/> does, writing <paramref name="outputs"/> (.csv or .parquet) chunk by chunk.</summary>
    /// <exception cref="ArgumentException">An option out of range; an output that is neither .csv nor .parquet; reconstruction asked of a method without it; an unknown anomaly class.</exception>
    /// <exception cref="InvalidDataException">A bad row (the message names the file, line and column) or too few rows.</exception>
    public static StreamedScores Score(string checkpoint, string? dataset, IReadOnlyList<string> set, RecordScoreOptions options, IReadOnlyList<string> outputs,
        IRunObserver? observer = null, Action<string>? log = null)
    {
        options.Validate();
        CheckOutputs(outputs);
        observer ??= NullObserver.Instance;
        var (method, cfg, _) = Pretraining.LoadMethod(checkpoint);
        using (method)
        {
            if (options.Scorer == SeriesScorer.Reconstruction && method is not IReconstructionScorer)
                throw new ArgumentException($"The '{method.Name}' method rebuilds nothing it could score by; use --scorer knn, or a checkpoint of vime or dae (tables), mae, denoising or inpainting (images).");
            using var records = TableRecordStream.Open(method, cfg, checkpoint, dataset, set, options.ValidationFraction, options.Seed, options.Limits,
                keepValidationRows: false, observer, log);
            string? anomalyClass = records.ClassNames.Length == 0 ? null
                : RecordScoring.AnomalyClassOf(records.ClassNames, records.ClassCounts, options.AnomalyClass ?? (cfg.Evaluation.Table.PositiveClass is { Length: > 0 } p ? p : null));
            var bankRows = records.Reference;
            using var bank = records.Embed(bankRows.Rows);
            int k = Math.Min(options.K, bankRows.Rows.Count);
            // A record is a span of its own (entity = its record number): a bank record is then never its own neighbour.
            var bankSpans = new WindowSpans(bankRows.Records, new double[bankRows.Records.Length], new double[bankRows.Records.Length]);
            var scorer = method as IReconstructionScorer;
            var validation = (Scores: new List<double>(), Anomalous: new List<bool>());
            var test = (Scores: new List<double>(), Anomalous: new List<bool>());
            using var spool = new ColumnSpool(outputs[0]);
            observer.BeginStage($"Scoring {records.Name}", records.Rows);
            long done = 0;
            foreach (var batch in records.Batches())
            {
                int n = batch.Rows.Count;
                double[] knn;
                using (var embeddings = records.Embed(batch.Rows))
                    knn = KnnAnomalyScorer.Score(bank, embeddings, k, bankSpans, new WindowSpans(batch.Records, new double[n], new double[n]));
                var reconstruction = scorer is null ? null : records.ReconstructionErrors(scorer, batch, options.Seed, options.Draws);
                var scores = options.Scorer == SeriesScorer.Knn ? knn : reconstruction!;
                for (int i = 0; i < n; i++)
                {
                    var part = batch.Parts[i];
                    var sample = part == ReadingPart.Validation ? validation : part == ReadingPart.Test ? test : default;
                    if (sample.Scores is null || !records.Sampled(part, batch.Records[i])) continue;
                    sample.Scores.Add(scores[i]);
                    sample.Anomalous.Add(batch.Labels is { } y && y[i] == anomalyClass);
                }
                var chunk = RowsOf(batch).Add("score", scores).Add("knn", knn);
                if (reconstruction is not null) chunk.Add("reconstruction", reconstruction);
                spool.Append(WithLabels(chunk, batch));
                observer.Report(done += n);
            }
            observer.EndStage();
            var threshold = Thresholds.Choose(validation.Scores, anomalyClass is null ? null : validation.Anomalous, options.Threshold, options.Contamination);
            DetectionMetrics? testMetrics = null, validationMetrics = null;
            if (anomalyClass is not null)
            {
                testMetrics = DetectionMetrics.Of(test.Scores, test.Anomalous, threshold.Value);
                validationMetrics = DetectionMetrics.Of(validation.Scores, validation.Anomalous, threshold.Value);
            }
            long flagged = 0;
            WriteAll(outputs, spool.Read().Select(chunk =>
            {
                var scores = (double[])chunk.Column("score");
                var flags = scores.Select(threshold.Flags).ToArray();
                flagged += flags.Count(f => f);
                var table = new ColumnTable(chunk.Rows);
                foreach (var name in chunk.Names)
                {
                    Add(table, name, chunk.Column(name));
                    if (name == "score") table.Add("flagged", flags);
                }
                return table;
            }));
            string what = options.Scorer == SeriesScorer.Knn
                ? string.Create(CultureInfo.InvariantCulture, $"kNN distance in embedding space (mean of the {k} nearest of {bankRows.Rows.Count:N0} reference records)")
                : string.Create(CultureInfo.InvariantCulture, $"{method.Name} reconstruction error (per row, mean over columns; mean of {options.Draws} corruptions)");
            return new StreamedScores(dataset ?? cfg.Dataset, what, records.Rows, records.PartCount(ReadingPart.Reference), records.PartCount(ReadingPart.Validation),
                records.PartCount(ReadingPart.Test), bankRows.Rows.Count, anomalyClass, threshold, flagged, testMetrics, validationMetrics);
        }
    }

    /// <summary>
    /// Segments every row of the CSV file as <see cref="RecordClustering.Run"/> does, writing <paramref name="outputs"/> chunk by chunk and
    /// the profiles to <paramref name="profileOutputs"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An option out of range, or an output that is neither .csv nor .parquet.</exception>
    /// <exception cref="InvalidDataException">A bad row (the message names the file, line and column), or too few rows.</exception>
    public static StreamedClusters Cluster(string checkpoint, string? dataset, IReadOnlyList<string> set, RecordClusterOptions options, IReadOnlyList<string> outputs,
        IReadOnlyList<string> profileOutputs, IRunObserver? observer = null, Action<string>? log = null)
    {
        options.Validate();
        CheckOutputs([.. outputs, .. profileOutputs]);
        observer ??= NullObserver.Instance;
        var (method, cfg, _) = Pretraining.LoadMethod(checkpoint);
        using (method)
        {
            using var records = TableRecordStream.Open(method, cfg, checkpoint, dataset, set, options.ValidationFraction, options.Seed, options.Limits,
                keepValidationRows: true, observer, log);
            KMeansResult best;
            IReadOnlyList<(int K, double Silhouette)> candidates;
            using (var scope = NewDisposeScope())
            {
                using var referenceFeatures = records.Embed(records.Reference.Rows);
                using var validationFeatures = records.Embed(records.Validation!.Rows);
                var reference = nn.functional.normalize(referenceFeatures, dim: 1);
                var validation = nn.functional.normalize(validationFeatures, dim: 1);
                (best, candidates) = RecordClustering.Fit(reference, validation, options, records.Name, observer);
                best.Centroids.DetachFromDisposeScope();
            }
            using (best)
            {
                var profiles = new SegmentProfileBuilder(records.Encoding.NumericNames, records.Encoding.CategoricalNames);
                observer.BeginStage($"Segmenting {records.Name}", records.Rows);
                WriteAll(outputs, Segmented(records, best, profiles, observer));
                observer.EndStage();
                var built = profiles.Build(options.TopColumns);
                var profileTable = RecordClustering.ProfileTable(built);
                foreach (var o in profileOutputs) profileTable.Write(o);
                return new StreamedClusters(dataset ?? cfg.Dataset, records.Rows, (int)best.Centroids.shape[0], options.K == 0, candidates, built,
                    records.Reference.Rows.Count, records.Validation!.Rows.Count);
            }
        }
    }

    /// <summary>Every row's segment and distance, chunk by chunk, summed into <paramref name="profiles"/> on the way.</summary>
    private static IEnumerable<ColumnTable> Segmented(TableRecordStream records, KMeansResult fit, SegmentProfileBuilder profiles, IRunObserver observer)
    {
        long done = 0;
        foreach (var batch in records.Batches())
        {
            int[] segments;
            double[] distances;
            using (var scope = NewDisposeScope())
            {
                using var features = records.Embed(batch.Rows);
                (segments, distances) = KMeans.Assign(nn.functional.normalize(features, dim: 1), fit.Centroids);
            }
            profiles.Add(batch.Rows, segments);
            observer.Report(done += batch.Rows.Count);
            yield return WithLabels(RowsOf(batch).Add("segment", segments).Add("distance", distances), batch);
        }
    }

    private static void CheckOutputs(IReadOnlyList<string> outputs)
    {
        if (outputs.Count == 0) throw new ArgumentException("Name at least one output file (--out).");
        foreach (var o in outputs)
            if (!ColumnTable.Writable(o)) throw new ArgumentException($"'{o}': write a .csv or .parquet file.");
    }

    /// <summary>Every chunk to every output, each file appearing only once all are written.</summary>
    private static void WriteAll(IReadOnlyList<string> outputs, IEnumerable<ColumnTable> chunks)
    {
        var writers = new List<ColumnTableWriter>();
        try
        {
            foreach (var o in outputs) writers.Add(new ColumnTableWriter(o));
            foreach (var chunk in chunks)
                foreach (var w in writers) w.Append(chunk);
            foreach (var w in writers) w.Complete();
        }
        finally
        {
            foreach (var w in writers) w.Dispose();
        }
    }

    /// <summary>id, entity (when the file has one) and part of the batch's rows.</summary>
    private static ColumnTable RowsOf(RecordBatch batch)
    {
        var table = new ColumnTable(batch.Rows.Count).Add("id", batch.Rows.Ids);
        if (batch.Rows.Entities is not null) table.Add("entity", batch.Rows.Entities);
        return table.Add("part", batch.Parts.Select(p => p.ToString().ToLowerInvariant()).ToArray());
    }

    private static ColumnTable WithLabels(ColumnTable table, RecordBatch batch) => batch.Labels is { } y ? table.Add("label", y) : table;

    private static void Add(ColumnTable table, string name, Array values)
    {
        switch (values)
        {
            case string[] s: table.Add(name, s); break;
            case double[] d: table.Add(name, d); break;
            case int[] i: table.Add(name, i); break;
            case bool[] b: table.Add(name, b); break;
        }
    }
}

/// <summary>Rows of one split (0: training part, 1: test part), <see cref="StreamLimits.ChunkRows"/> at a time, in file order.</summary>
/// <param name="FirstInSplit">Rows of the split before this batch (a multiple of the chunk size).</param>
/// <param name="Records">Each row's record number in the file (0-based, header excluded).</param>
internal sealed record RecordBatch(int Split, long FirstInSplit, TableRows Rows, string[]? Labels, long[] Records, ReadingPart[] Parts);

/// <summary>Rows sampled from one part, in file order, with their record numbers.</summary>
internal sealed record SampledRows(TableRows Rows, long[] Records);

/// <summary>
/// A CSV file read for a table checkpoint in chunks: the first read (in <see cref="Open"/>) counts parts and classes and samples the parts;
/// <see cref="Batches"/> reads it again for the work.
/// </summary>
internal sealed class TableRecordStream : IDisposable
{
    private readonly ISslMethod method;
    private readonly ModelInputs inputs;
    private readonly CsvTableStream stream;
    private readonly StreamLimits limits;
    private readonly double validationFraction;
    private readonly int seed, sampleSeed, testSeed;
    private readonly long[] partCounts = new long[3];
    private HashSet<long> validationSample = [], testSample = [];

    private TableRecordStream(ISslMethod method, ModelInputs inputs, CsvTableStream stream, TableEncoding encoding, string name, StreamLimits limits,
        double validationFraction, int seed)
    {
        this.method = method; this.inputs = inputs; this.stream = stream; Encoding = encoding; Name = name; this.limits = limits;
        this.validationFraction = validationFraction; this.seed = seed;
        sampleSeed = (int)(Trainer.DeriveSeed(seed, RandomStreams.StreamedSamples, 0) & int.MaxValue);
        testSeed = (int)(Trainer.DeriveSeed(0, RandomStreams.StreamedTestPart, 0) & int.MaxValue);
    }

    public string Name { get; }
    public TableEncoding Encoding { get; }
    public long Rows => partCounts.Sum();
    /// <summary>The file's classes in ordinal order (empty: unlabelled), and how many rows each has.</summary>
    public string[] ClassNames { get; private set; } = [];
    public long[] ClassCounts { get; private set; } = [];
    public SampledRows Reference { get; private set; } = null!;
    /// <summary>The sampled validation rows (kept when asked: `cluster` measures silhouettes on them).</summary>
    public SampledRows? Validation { get; private set; }

    public long PartCount(ReadingPart part) => partCounts[(int)part];

    /// <summary>Whether the record is in its part's sample (validation and test parts).</summary>
    public bool Sampled(ReadingPart part, long record) => part == ReadingPart.Validation ? validationSample.Contains(record) : testSample.Contains(record);

    /// <exception cref="ArgumentException">Not a table checkpoint, or an override `score` and `cluster` do not take.</exception>
    /// <exception cref="InvalidDataException">A bad row or too few rows for a reference and a validation part.</exception>
    public static TableRecordStream Open(ISslMethod method, RunConfig config, string checkpoint, string? dataset, IReadOnlyList<string> set,
        double validationFraction, int seed, StreamLimits limits, bool keepValidationRows, IRunObserver observer, Action<string>? log)
    {
        if (config.Encoder.Modality != Modality.Table)
            throw new ArgumentException($"'{checkpoint}' holds a {config.Encoder.Modality.ToString().ToLowerInvariant()} model; files are read in chunks for table models only (use --stream Never).");
        config = RecordSet.ReadingConfig(config, checkpoint, set, validationFraction);
        string path = dataset ?? config.Dataset;
        if (!path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && !path.EndsWith(".data", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{path}' is not a CSV file (.csv or .data); files are read in chunks as CSV only (use --stream Never).");
        var encoding = config.Table.Encoding!;
        var stream = CsvTableStream.Open(path, config.Table.Columns, encoding);
        var inputs = ModalityCatalog.Get(Modality.Table).InputsFor(config, checkpoint);
        var records = new TableRecordStream(method, inputs, stream, encoding, path, limits, validationFraction, seed);
        try
        {
            records.Sample(keepValidationRows, observer, log);
            return records;
        }
        catch
        {
            records.Dispose();
            throw;
        }
    }

    public ReadingPart PartOf(string id, bool labelled) =>
        limits.Parts?.Invoke(id)
        ?? (labelled && ValidationSplit.Unit(testSeed, id) < HeldOut.TestFraction ? ReadingPart.Test
            : ValidationSplit.Unit(seed, id) < validationFraction ? ReadingPart.Validation : ReadingPart.Reference);

    /// <summary>The first read: part and class counts, and the samples of each part.</summary>
    private void Sample(bool keepValidationRows, IRunObserver observer, Action<string>? log)
    {
        var reference = new BottomK(limits.ReferenceRows, keepRows: true);
        var validation = new BottomK(keepValidationRows ? limits.SilhouetteRows : limits.ValidationRows, keepValidationRows);
        var test = new BottomK(limits.TestRows, keepRows: false);
        var classes = new Dictionary<string, long>(StringComparer.Ordinal);
        observer.BeginStage($"Sampling {Name}", stream.Length);
        foreach (var chunk in stream.Chunks(limits.ChunkRows))
        {
            var rows = chunk.Rows;
            for (int i = 0; i < rows.Count; i++)
            {
                if (chunk.Labels is { } y) classes[y[i]] = classes.GetValueOrDefault(y[i]) + 1;
                var part = PartOf(rows.Ids[i], chunk.Labels is not null);
                partCounts[(int)part]++;
                var sample = part == ReadingPart.Reference ? reference : part == ReadingPart.Validation ? validation : test;
                sample.Offer(ValidationSplit.Hash(sampleSeed, rows.Ids[i]), chunk.First + i, rows, i);
            }
            observer.Report(chunk.Bytes);
        }
        observer.EndStage();
        if (PartCount(ReadingPart.Reference) == 0 || PartCount(ReadingPart.Validation) == 0)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{Name}': {PartCount(ReadingPart.Reference) + PartCount(ReadingPart.Validation):N0} training records are too few to carve a validation part from and keep a reference; give at least a few dozen records."));
        ClassNames = [.. classes.Keys.Order(StringComparer.Ordinal)];
        ClassCounts = [.. ClassNames.Select(c => classes[c])];
        Reference = reference.Rows(Encoding, Name);
        if (keepValidationRows) Validation = validation.Rows(Encoding, Name);
        else validationSample = validation.RecordSet();
        testSample = test.RecordSet();
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {Rows:N0} records, read in chunks of {limits.ChunkRows:N0}; reference {PartCount(ReadingPart.Reference):N0}, validation {PartCount(ReadingPart.Validation):N0}, test {PartCount(ReadingPart.Test):N0}; ") +
            string.Create(CultureInfo.InvariantCulture, $"sampled {Reference.Rows.Count:N0} reference and {(keepValidationRows ? Validation!.Rows.Count : validationSample.Count):N0} validation records."));
    }

    /// <summary>The second read (and third, for a labelled file's test part): every row, by split, in chunks.</summary>
    public IEnumerable<RecordBatch> Batches()
    {
        bool labelled = ClassNames.Length > 0;
        int splits = PartCount(ReadingPart.Test) > 0 ? 2 : 1;
        for (int split = 0; split < splits; split++)
        {
            var pending = new PendingRows(Encoding, Name);
            long before = 0;
            foreach (var chunk in stream.Chunks(limits.ChunkRows))
            {
                for (int i = 0; i < chunk.Rows.Count; i++)
                {
                    var part = PartOf(chunk.Rows.Ids[i], labelled);
                    if ((part == ReadingPart.Test) != (split == 1)) continue;
                    pending.Add(chunk, i, part);
                    if (pending.Count == limits.ChunkRows)
                    {
                        yield return pending.Take(split, before);
                        before += limits.ChunkRows;
                    }
                }
            }
            if (pending.Count > 0) yield return pending.Take(split, before);
        }
    }

    /// <summary>(N, D) frozen features of <paramref name="rows"/>, in the embedding batches a whole-file read uses; the caller disposes them.</summary>
    public Tensor Embed(TableRows rows)
    {
        using var encoded = inputs.EncodeForCaller(new TableSamples(rows));
        return Features.Extract(method.Encoder, encoded.Data, inputs.Normalization, inputs.FeatureBatchSize);
    }

    /// <summary>
    /// Reconstruction errors of the batch's rows averaged over <paramref name="draws"/>, seeded as <see cref="RecordSet.ReconstructionErrors"/>
    /// seeds them (draw r of split s, batch b of the split), so each row gets the corruptions a whole-file read gives it.
    /// </summary>
    public double[] ReconstructionErrors(IReconstructionScorer scorer, RecordBatch batch, int seed, int draws)
    {
        using var encoded = inputs.EncodeForCaller(new TableSamples(batch.Rows));
        const int reconstructionBatch = 256;
        var sum = new double[batch.Rows.Count];
        for (int r = 0; r < draws; r++)
        {
            var e = OneClass.ReconstructionScores(scorer, method.Module, encoded.Data, inputs.Normalization, (int)(Trainer.DeriveSeed(seed, batch.Split, r) & int.MaxValue),
                reconstructionBatch, firstBatch: batch.FirstInSplit / reconstructionBatch);
            for (int i = 0; i < sum.Length; i++) sum[i] += e[i] / draws;
        }
        return sum;
    }

    public void Dispose() => inputs.Dispose();

    /// <summary>The rows of a part whose hashes are lowest, at most <c>capacity</c> of them (a max-heap on the hash).</summary>
    private sealed class BottomK(int capacity, bool keepRows)
    {
        private sealed record Kept(long Record, float[]? Numbers, string?[]? Categories, string Id, string? Entity);

        private readonly PriorityQueue<Kept, ulong> heap = new(Comparer<ulong>.Create((a, b) => b.CompareTo(a)));

        public void Offer(ulong hash, long record, TableRows rows, int i)
        {
            if (heap.Count >= capacity && (!heap.TryPeek(out _, out var largest) || hash >= largest)) return;
            var kept = keepRows
                ? new Kept(record, [.. Enumerable.Range(0, rows.NumericNames.Length).Select(j => rows.Numeric(i, j))],
                    [.. Enumerable.Range(0, rows.CategoricalNames.Length).Select(j => rows.Category(i, j))], rows.Ids[i], rows.Entities?[i])
                : new Kept(record, null, null, "", null);
            if (heap.Count >= capacity) heap.DequeueEnqueue(kept, hash);
            else heap.Enqueue(kept, hash);
        }

        private Kept[] InFileOrder() => [.. heap.UnorderedItems.Select(x => x.Element).OrderBy(x => x.Record)];

        public HashSet<long> RecordSet() => [.. heap.UnorderedItems.Select(x => x.Element.Record)];

        public SampledRows Rows(TableEncoding encoding, string name)
        {
            var kept = InFileOrder();
            var rows = new TableRows(name, encoding.NumericNames, encoding.CategoricalNames, [.. encoding.CategoricalNames.Select(_ => Array.Empty<string>())],
                [.. kept.SelectMany(x => x.Numbers!)], [.. kept.SelectMany(x => x.Categories!)], null, [], [.. kept.Select(x => x.Id)],
                kept.Length > 0 && kept[0].Entity is not null ? [.. kept.Select(x => x.Entity!)] : null);
            return new SampledRows(rows, [.. kept.Select(x => x.Record)]);
        }
    }

    /// <summary>Rows of one split gathered from the file's chunks until a batch is full.</summary>
    private sealed class PendingRows(TableEncoding encoding, string name)
    {
        private readonly List<float> numbers = [];
        private readonly List<string?> categories = [];
        private readonly List<string> ids = [];
        private readonly List<string> entities = [];
        private readonly List<string> labels = [];
        private readonly List<long> records = [];
        private readonly List<ReadingPart> parts = [];
        private bool hasEntities, hasLabels;

        public int Count => ids.Count;

        public void Add(TableChunk chunk, int i, ReadingPart part)
        {
            var rows = chunk.Rows;
            for (int j = 0; j < rows.NumericNames.Length; j++) numbers.Add(rows.Numeric(i, j));
            for (int j = 0; j < rows.CategoricalNames.Length; j++) categories.Add(rows.Category(i, j));
            ids.Add(rows.Ids[i]);
            if (rows.Entities is { } e) { entities.Add(e[i]); hasEntities = true; }
            if (chunk.Labels is { } y) { labels.Add(y[i]); hasLabels = true; }
            records.Add(chunk.First + i);
            parts.Add(part);
        }

        public RecordBatch Take(int split, long before)
        {
            var rows = new TableRows(name, encoding.NumericNames, encoding.CategoricalNames, [.. encoding.CategoricalNames.Select(_ => Array.Empty<string>())],
                [.. numbers], [.. categories], null, [], [.. ids], hasEntities ? [.. entities] : null);
            var batch = new RecordBatch(split, before, rows, hasLabels ? [.. labels] : null, [.. records], [.. parts]);
            numbers.Clear(); categories.Clear(); ids.Clear(); entities.Clear(); labels.Clear(); records.Clear(); parts.Clear();
            return batch;
        }
    }
}
