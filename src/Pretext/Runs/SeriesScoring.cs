using System.Globalization;
using Pretext.Data;
using Pretext.Data.Series;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Reporting;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Which score flags readings.</summary>
public enum SeriesScorer
{
    /// <summary>Mean distance in embedding space to the k nearest windows of the normal reference (DN2, Bergman, Cohen and Hoshen 2020).</summary>
    Knn,
    /// <summary>The method's own prediction or reconstruction error (<see cref="IReconstructionScorer"/>: forecast, maskedpatches).</summary>
    Reconstruction,
}

/// <summary>Options of <see cref="SeriesScoring"/>; one documented default each.</summary>
public sealed record SeriesScoreOptions
{
    public SeriesScorer Scorer { get; init; } = SeriesScorer.Knn;
    /// <summary>Neighbours whose distances are averaged: 10, as the series preset's kNN classifier (a few dozen anomalous windows must not
    /// crowd out the neighbours of a normal one).</summary>
    public int K { get; init; } = 10;
    /// <summary>Readings between the starts of scored windows: 1 gives every reading a window ending at it and covers each reading by
    /// a window's length of windows.</summary>
    public int Stride { get; init; } = 1;
    /// <summary>How the windows covering a reading make its score.</summary>
    public ReadingAggregate Aggregate { get; init; } = ReadingAggregate.Mean;
    public ThresholdRule Threshold { get; init; } = ThresholdRule.Auto;
    /// <summary>Expected share of anomalies, for the quantile threshold: 1 % (the Suthaharan sets have 0.8 %).</summary>
    public double Contamination { get; init; } = 0.01;
    /// <summary>The validation part holds every this many-th block of the training part (and the blocks with labelled anomalies).</summary>
    public int ValidationEvery { get; init; } = 5;
    /// <summary>Seed of the masks of a masked-reconstruction scorer.</summary>
    public int Seed { get; init; }

    /// <exception cref="ArgumentException">A value no scoring can use; the message names the option.</exception>
    public void Validate()
    {
        if (K < 1) throw new ArgumentException($"--k must be at least 1, got {K}.");
        if (Stride < 1) throw new ArgumentException($"--stride must be at least 1, got {Stride}.");
        if (!(Contamination > 0 && Contamination < 1)) throw new ArgumentException($"--contamination is the expected share of anomalies, in (0, 1), e.g. 0.01; got {Contamination}.");
        if (ValidationEvery < 2) throw new ArgumentException($"The validation part takes every N-th training block with N at least 2, got {ValidationEvery}.");
    }
}

/// <summary>Which part of the data a reading (or a window, by its last reading) belongs to.</summary>
public enum ReadingPart
{
    /// <summary>The training part minus validation: the normal reference kNN distances are measured to.</summary>
    Reference,
    /// <summary>Carved from the training part; thresholds and other choices are made on it.</summary>
    Validation,
    /// <summary>The held-out test blocks (catalogued sets and labelled files).</summary>
    Test,
}

/// <summary>
/// A series laid out for scoring: each reading's part; the windows scored (every <see cref="SeriesScoreOptions.Stride"/> readings over
/// every gap-free segment, whatever part its readings are in) and the reference windows (the run's windows of the reference part).
/// Windows are raw (unnormalised) fp32 (N, C, L).
/// </summary>
public sealed class SeriesScoringData : IDisposable
{
    private SeriesScoringData(SeriesTable table, int length, ReadingPart[][] parts, List<SeriesSegment> reference, List<SeriesSegment> validation,
        List<SeriesSegment> test, List<WindowPlace> scored, TensorDataset scoredWindows, List<WindowPlace> referencePlaces, TensorDataset referenceWindows)
    {
        Table = table; Length = length; Parts = parts; ReferenceSegments = reference; ValidationSegments = validation; TestSegments = test;
        Scored = scored; ScoredWindows = scoredWindows; ReferencePlaces = referencePlaces; ReferenceWindows = referenceWindows;
        ScoredSpans = Spans(table.Segments, scored, length);
        ReferenceSpans = Spans(reference, referencePlaces, length);
        ScoredParts = [.. scored.Select(p => parts[p.Segment][p.Start + length - 1])];
        if (table.Labelled)
        {
            Anomalous = [.. table.Segments.Select(s => s.Labels!.Select(y => y != 0).ToArray())];
            ScoredAnomalous = [.. scored.Select(p => Anomalous[p.Segment].AsSpan(p.Start, length).Contains(true))];
        }
    }

    public SeriesTable Table { get; }
    /// <summary>Readings per window (the model's).</summary>
    public int Length { get; }
    /// <summary>Per segment of <see cref="Table"/>, per reading: its part.</summary>
    public ReadingPart[][] Parts { get; }
    /// <summary>Per segment of <see cref="Table"/>, per reading: whether it is labelled as an anomaly (null: unlabelled).</summary>
    public bool[][]? Anomalous { get; }
    public IReadOnlyList<SeriesSegment> ReferenceSegments { get; }
    public IReadOnlyList<SeriesSegment> ValidationSegments { get; }
    public IReadOnlyList<SeriesSegment> TestSegments { get; }
    /// <summary>The windows scored, placed in <see cref="Table"/>'s segments.</summary>
    public IReadOnlyList<WindowPlace> Scored { get; }
    public TensorDataset ScoredWindows { get; }
    public WindowSpans ScoredSpans { get; }
    /// <summary>Each scored window's part: that of its last reading (the moment a detector reading the stream would speak).</summary>
    public ReadingPart[] ScoredParts { get; }
    /// <summary>Whether each scored window holds a labelled anomaly (null: unlabelled).</summary>
    public bool[]? ScoredAnomalous { get; }
    /// <summary>The reference windows, placed in <see cref="ReferenceSegments"/>.</summary>
    public IReadOnlyList<WindowPlace> ReferencePlaces { get; }
    public TensorDataset ReferenceWindows { get; }
    public WindowSpans ReferenceSpans { get; }

    /// <summary>
    /// Lays out <paramref name="table"/>: when <paramref name="split"/>, its test blocks as the run's split makes them
    /// (<see cref="SeriesSplit.Blocks"/>), the rest the training part; the validation part carved from the training part
    /// (<see cref="SeriesSplit.Validation"/>: every <paramref name="validationEvery"/>-th block and, labelled, the blocks with anomalies);
    /// the reference windows every <see cref="SeriesDataConfig.Stride"/> readings of what is left; scored windows every
    /// <paramref name="stride"/> readings of every segment.
    /// </summary>
    /// <exception cref="InvalidDataException">No reference window or no scored window; the message says how to fix it.</exception>
    public static SeriesScoringData Build(SeriesTable table, SeriesDataConfig series, bool split, int stride, int validationEvery)
    {
        int c = table.Channels, length = series.Window;
        var (train, test) = split ? SeriesSplit.Blocks(table.Segments, c, series.BlockLength, series.TestEvery) : ([.. table.Segments], []);
        var (reference, validation) = SeriesSplit.Validation(train, c, series.BlockLength, validationEvery, table.Labelled);
        var partOf = new Dictionary<(int, double), ReadingPart>();
        foreach (var (segments, part) in new[] { (reference, ReadingPart.Reference), (validation, ReadingPart.Validation), (test, ReadingPart.Test) })
            foreach (var s in segments)
                foreach (var t in s.Times) partOf[(s.EntityIndex, t)] = part;
        var parts = table.Segments.Select(s => s.Times.Select(t => partOf[(s.EntityIndex, t)]).ToArray()).ToArray();
        if (!reference.Any(s => s.Count >= length))
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{table.Source}': the normal reference (the training part less its validation blocks) has no run of {length} readings to cut a window from. ") +
                "Give more data, or shorter blocks (--set series.blockLength=N, at least the window).");
        var scored = SeriesWindows.Places(table.Segments, length, stride);
        if (scored.Count == 0)
            throw new InvalidDataException($"'{table.Source}' has no run of {length} readings without a gap to score; the model reads windows of {length}. Give longer series.");
        var referencePlaces = SeriesWindows.Places(reference, length, series.Stride);
        var scoredWindows = SeriesWindows.Cut($"{table.Source} (scored)", table, table.Segments, scored, length, WindowLabel.AnyPositive);
        var referenceWindows = SeriesWindows.Cut($"{table.Source} (reference)", table, reference, referencePlaces, length, WindowLabel.AnyPositive);
        return new SeriesScoringData(table, length, parts, reference, validation, test, scored, scoredWindows, referencePlaces, referenceWindows);
    }

    private static WindowSpans Spans(IReadOnlyList<SeriesSegment> segments, IReadOnlyList<WindowPlace> places, int length) => new(
        [.. places.Select(p => (long)segments[p.Segment].EntityIndex)],
        [.. places.Select(p => segments[p.Segment].Times[p.Start])],
        [.. places.Select(p => segments[p.Segment].Times[p.Start + length - 1])]);

    /// <summary>Reading scores from window scores (<see cref="Scored"/>'s order), per segment of <see cref="Table"/>.</summary>
    public double[][] ReadingScores(IReadOnlyList<double> windowScores, ReadingAggregate aggregate) =>
        Evaluation.ReadingScores.FromWindows([.. Table.Segments.Select(s => s.Count)], Scored, Length, windowScores, aggregate);

    /// <summary>The readings of <paramref name="part"/> as (score, anomalous) pairs, flattened in table order.</summary>
    public (double[] Scores, bool[] Anomalous) ReadingsOf(double[][] scores, ReadingPart part)
    {
        var s = new List<double>();
        var a = new List<bool>();
        for (int i = 0; i < Parts.Length; i++)
            for (int t = 0; t < Parts[i].Length; t++)
                if (Parts[i][t] == part)
                {
                    s.Add(scores[i][t]);
                    a.Add(Anomalous?[i][t] ?? false);
                }
        return ([.. s], [.. a]);
    }

    /// <summary>The scored windows of <paramref name="part"/> as (score, anomalous) pairs.</summary>
    public (double[] Scores, bool[] Anomalous) WindowsOf(double[] scores, ReadingPart part)
    {
        var idx = Enumerable.Range(0, Scored.Count).Where(i => ScoredParts[i] == part).ToArray();
        return ([.. idx.Select(i => scores[i])], [.. idx.Select(i => ScoredAnomalous?[i] ?? false)]);
    }

    public void Dispose()
    {
        ScoredWindows.Dispose();
        ReferenceWindows.Dispose();
    }
}

/// <summary>What `pretext score` asks; <see cref="Set"/> may change how the file is read (<c>series.columns.*</c>, gaps, sorting, blocks).</summary>
public sealed record ScoreRequest
{
    public required string Checkpoint { get; init; }
    /// <summary>A catalogued series set or a .csv/.parquet file; null: the run's own data set.</summary>
    public string? Dataset { get; init; }
    public SeriesScoreOptions Options { get; init; } = new();
    /// <summary><c>series.key=value</c> overrides of how the data is read.</summary>
    public IReadOnlyList<string> Set { get; init; } = [];
    public string? DataDirectory { get; init; }
}

/// <summary>Scores of every window and reading of a series, the thresholds chosen on validation, and, for labelled data, how they rank.
/// Disposing it disposes <see cref="Data"/>'s windows.</summary>
/// <param name="Scorer">What the scores are, in words ("kNN distance in embedding space, k = 10").</param>
/// <param name="TestReadings">Metrics on the test part's readings; null without labels, or a test part without both classes.</param>
public sealed record SeriesScores(SeriesScoringData Data, string Dataset, string Scorer, ReadingAggregate Aggregate, double[] WindowScores, double[][] ReadingScores,
    ThresholdChoice ReadingThreshold, ThresholdChoice WindowThreshold, DetectionMetrics? TestReadings, DetectionMetrics? TestWindows, DetectionMetrics? ValidationReadings)
    : IDisposable
{
    public void Dispose() => Data.Dispose();

    /// <summary>One row per reading: entity, time, score, flagged, part, and label when the data has labels.</summary>
    public ColumnTable ReadingTable()
    {
        var segs = Data.Table.Segments;
        int n = segs.Sum(s => s.Count);
        var entity = new string[n]; var time = new double[n]; var score = new double[n]; var flagged = new bool[n]; var part = new string[n];
        var label = Data.Table.Labelled ? new int[n] : null;
        int r = 0;
        for (int i = 0; i < segs.Count; i++)
            for (int t = 0; t < segs[i].Count; t++, r++)
            {
                entity[r] = segs[i].Entity; time[r] = segs[i].Times[t]; score[r] = ReadingScores[i][t];
                flagged[r] = ReadingThreshold.Flags(score[r]); part[r] = PartName(Data.Parts[i][t]);
                if (label is not null) label[r] = segs[i].Labels![t];
            }
        var table = new ColumnTable(n).Add("entity", entity).Add("time", time).Add("score", score).Add("flagged", flagged).Add("part", part);
        return label is null ? table : table.Add("label", label);
    }

    /// <summary>One row per scored window: entity, first and last time, score, flagged, part (its last reading's), and whether it holds a labelled anomaly.</summary>
    public ColumnTable WindowTable()
    {
        var d = Data;
        int n = d.Scored.Count;
        var table = new ColumnTable(n)
            .Add("entity", d.Scored.Select(p => d.Table.Segments[p.Segment].Entity).ToArray())
            .Add("start", d.ScoredSpans.Start).Add("end", d.ScoredSpans.End)
            .Add("score", WindowScores).Add("flagged", WindowScores.Select(WindowThreshold.Flags).ToArray())
            .Add("part", d.ScoredParts.Select(PartName).ToArray());
        return d.ScoredAnomalous is null ? table : table.Add("anomaly", d.ScoredAnomalous.Select(a => a ? 1 : 0).ToArray());
    }

    /// <summary>Readings flagged, of all.</summary>
    public int FlaggedReadings => ReadingScores.Sum(s => s.Count(ReadingThreshold.Flags));

    private static string PartName(ReadingPart p) => p.ToString().ToLowerInvariant();
}

/// <summary>
/// `pretext score` as a library call: anomaly scores for every window and reading of a series from a series checkpoint, a threshold
/// chosen on a validation part carved from the training data, tables and plots. The pieces (<see cref="SeriesScoringData"/>,
/// <see cref="KnnScores"/>, <see cref="ReconstructionScores"/>, <see cref="Evaluate"/>) are public for the benchmarks.
/// </summary>
public static class SeriesScoring
{
    /// <summary>Loads the checkpoint and the data, scores, chooses thresholds; the caller writes tables and plots.</summary>
    /// <exception cref="ArgumentException">Not a series checkpoint; an override outside <c>series.*</c>; reconstruction scores asked of a method without them.</exception>
    /// <exception cref="InvalidDataException">The data does not fit the model (other channels), or is too short; the message names the file and the fix.</exception>
    public static SeriesScores Run(ScoreRequest request, IRunObserver? observer = null, Action<string>? log = null)
    {
        observer ??= NullObserver.Instance;
        var o = request.Options;
        o.Validate();
        foreach (var a in request.Set)
            if (!a.TrimStart().StartsWith("series.", StringComparison.OrdinalIgnoreCase) || a.Contains("series.window", StringComparison.OrdinalIgnoreCase)
                || a.Contains("series.normalization", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--set '{a}': score only changes how the data is read (series.columns.*, series.gaps, series.sort, series.blockLength, series.testEvery); the model's window and normalisation come from the checkpoint.");
        var (method, cfg, _) = Pretraining.LoadMethod(request.Checkpoint);
        using (method)
        {
            if (cfg.Encoder.Modality != Modality.Series)
                throw new ArgumentException($"'{request.Checkpoint}' holds a {cfg.Encoder.Modality.ToString().ToLowerInvariant()} model; `score` takes a series checkpoint (pretrained with cpc, ts2vec, maskedpatches or forecast).");
            if (o.Scorer == SeriesScorer.Reconstruction && method is not IReconstructionScorer)
                throw new ArgumentException($"The '{method.Name}' method has no prediction or reconstruction error; use --scorer knn, or a checkpoint of forecast or maskedpatches.");
            cfg = ConfigOverrides.Apply(cfg, request.Set);
            var stats = cfg.Series.Normalization
                ?? throw new InvalidDataException($"Checkpoint '{request.Checkpoint}' has no series normalisation (series.normalization is empty); it was not written by a series pretraining run.");
            string dataset = request.Dataset ?? cfg.Dataset;
            var (table, name, catalogued) = SeriesModality.ReadTable(dataset, cfg.Series, request.DataDirectory, log);
            if (table.Channels != stats.Channels)
                throw new InvalidDataException(
                    $"'{name}' gives {table.Channels} channel(s) ({string.Join(", ", table.ChannelNames)}); the model reads {stats.Channels}. " +
                    "Name the channels it was trained on with --set 'series.columns.channels=[\"a\",\"b\"]' (in the training order).");
            bool split = SeriesModality.Splits(cfg.Series, catalogued || table.Labelled);
            var data = SeriesScoringData.Build(table, cfg.Series, split, o.Stride, o.ValidationEvery);
            try
            {
                var c = CultureInfo.InvariantCulture;
                log?.Invoke(string.Create(c, $"{name}: {table.Readings:N0} readings; reference {data.ReferenceSegments.Sum(s => s.Count):N0} ({data.ReferenceWindows.Count:N0} windows), ") +
                    string.Create(c, $"validation {data.ValidationSegments.Sum(s => s.Count):N0}, test {data.TestSegments.Sum(s => s.Count):N0} readings; {data.Scored.Count:N0} windows of {data.Length} scored (stride {o.Stride})."));
                double[] windowScores;
                string scorer;
                if (o.Scorer == SeriesScorer.Knn)
                {
                    int k = Math.Min(o.K, (int)data.ReferenceWindows.Count);
                    windowScores = KnnScores(method, stats, data, k, observer);
                    scorer = string.Create(c, $"kNN distance in embedding space (mean of the {k} nearest reference windows)");
                }
                else
                {
                    windowScores = ReconstructionScores((IReconstructionScorer)method, method.Module, stats, data, o.Seed, observer);
                    scorer = method.Name == "forecast" ? "forecast error (mean squared, per window)" : $"{method.Name} reconstruction error (mean squared, per window)";
                }
                return Evaluate(data, windowScores, o, dataset, scorer);
            }
            catch
            {
                data.Dispose();
                throw;
            }
        }
    }

    /// <summary>kNN distances of every scored window to the reference windows in the frozen encoder's space, no window counting one it overlaps.</summary>
    public static double[] KnnScores(ISslMethod method, ChannelStats stats, SeriesScoringData data, int k, IRunObserver? observer = null)
    {
        using var reference = Embed(method, stats, data.ReferenceWindows, observer);
        using var scored = Embed(method, stats, data.ScoredWindows, observer);
        return KnnAnomalyScorer.Score(reference, scored, k, data.ReferenceSpans, data.ScoredSpans);
    }

    /// <summary>The frozen encoder's (N, D) features of raw <paramref name="windows"/>, normalised with <paramref name="stats"/>.</summary>
    public static Tensor Embed(ISslMethod method, ChannelStats stats, TensorDataset windows, IRunObserver? observer = null)
    {
        observer ??= NullObserver.Instance;
        using var normalised = SeriesModality.SeriesInputs.Normalised(windows, stats, labels: false);
        observer.BeginStage($"Embedding {windows.Name}", normalised.Count);
        var f = Features.Extract(method.Encoder, normalised, null, 512, (d, _) => observer.Report(d));
        observer.EndStage();
        return f;
    }

    /// <summary>The method's prediction or reconstruction error of every scored window (masks, if any, seeded by <paramref name="seed"/>).</summary>
    public static double[] ReconstructionScores(IReconstructionScorer scorer, TorchSharp.torch.nn.Module module, ChannelStats stats, SeriesScoringData data, int seed,
        IRunObserver? observer = null)
    {
        observer ??= NullObserver.Instance;
        using var normalised = SeriesModality.SeriesInputs.Normalised(data.ScoredWindows, stats, labels: false);
        observer.BeginStage("Prediction errors", normalised.Count);
        var scores = OneClass.ReconstructionScores(scorer, module, normalised, null, seed, progress: d => observer.Report(d));
        observer.EndStage();
        return scores;
    }

    /// <summary>
    /// Reading scores from <paramref name="windowScores"/>, thresholds for readings and for windows chosen on the validation part
    /// (<see cref="Thresholds.Choose"/>), and, for labelled data, how the scores rank and flag the test part.
    /// </summary>
    public static SeriesScores Evaluate(SeriesScoringData data, double[] windowScores, SeriesScoreOptions options, string dataset, string scorer)
    {
        var readings = data.ReadingScores(windowScores, options.Aggregate);
        var (valScores, valAnomalous) = data.ReadingsOf(readings, ReadingPart.Validation);
        var labels = data.Anomalous is null ? null : valAnomalous;
        if (!valScores.Any(double.IsFinite))
            throw new InvalidDataException($"'{data.Table.Source}': no reading of the validation part has a score, so no threshold can be chosen. Give more data, or shorter blocks (--set series.blockLength=N).");
        var readingThreshold = Thresholds.Choose(valScores, labels, options.Threshold, options.Contamination);
        var (valWindows, valWindowAnomalous) = data.WindowsOf(windowScores, ReadingPart.Validation);
        // No window ends in validation when its blocks are short: the readings' threshold is then the only one there is.
        var windowThreshold = valWindows.Length > 0
            ? Thresholds.Choose(valWindows, data.ScoredAnomalous is null ? null : valWindowAnomalous, options.Threshold, options.Contamination)
            : readingThreshold;
        DetectionMetrics? testReadings = null, testWindows = null, validation = null;
        if (data.Anomalous is not null)
        {
            var (ts, ta) = data.ReadingsOf(readings, ReadingPart.Test);
            testReadings = DetectionMetrics.Of(ts, ta, readingThreshold.Value);
            var (ws, wa) = data.WindowsOf(windowScores, ReadingPart.Test);
            testWindows = DetectionMetrics.Of(ws, wa, windowThreshold.Value);
            validation = DetectionMetrics.Of(valScores, valAnomalous, readingThreshold.Value);
        }
        return new SeriesScores(data, dataset, scorer, options.Aggregate, windowScores, readings, readingThreshold, windowThreshold, testReadings, testWindows, validation);
    }

    /// <summary>
    /// One PNG per entity in <paramref name="directory"/> (<c>ENTITY.png</c>; <c>series.png</c> without an entity column): its channels,
    /// reading scores, threshold and flagged readings (<see cref="Plots.SeriesScores"/>). Returns the files written.
    /// </summary>
    public static IReadOnlyList<string> Plot(SeriesScores scores, string directory)
    {
        var table = scores.Data.Table;
        var written = new List<string>();
        foreach (var group in table.Segments.Select((s, i) => (s, i)).GroupBy(p => p.s.EntityIndex))
        {
            var list = group.ToList();
            string entity = list[0].s.Entity;
            var time = list.SelectMany(p => p.s.Times).ToArray();
            var channels = table.ChannelNames.Select((name, c) => (name, list.SelectMany(p => Enumerable.Range(0, p.s.Count).Select(t => (double)p.s.Values[t * table.Channels + c])).ToArray())).ToList();
            var readingScores = list.SelectMany(p => scores.ReadingScores[p.i]).ToArray();
            var flagged = readingScores.Select(scores.ReadingThreshold.Flags).ToArray();
            var labelled = scores.Data.Anomalous is { } a ? list.SelectMany(p => a[p.i]).ToArray() : null;
            string file = Path.Combine(directory, (entity.Length == 0 ? "series" : SafeName(entity)) + ".png");
            string title = $"{(entity.Length == 0 ? Path.GetFileName(table.Source) : entity)}: {flagged.Count(f => f)} of {time.Length} readings flagged";
            Plots.SeriesScores(file, title, time, channels, readingScores, scores.ReadingThreshold.Value, flagged, labelled);
            written.Add(file);
        }
        return written;
    }

    private static string SafeName(string name) => string.Concat(name.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '_'));
}
