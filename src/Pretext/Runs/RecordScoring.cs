using System.Globalization;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Options of <see cref="RecordScoring"/>; one documented default each.</summary>
public sealed record RecordScoreOptions
{
    /// <summary>Which score flags records: kNN distance in embedding space, or the method's reconstruction error (vime, dae, mae, denoising, inpainting).</summary>
    public SeriesScorer Scorer { get; init; } = SeriesScorer.Knn;
    /// <summary>Neighbours whose distances are averaged: 10, as for series (a few dozen anomalous reference records must not crowd out the neighbours of a normal one).</summary>
    public int K { get; init; } = 10;
    public ThresholdRule Threshold { get; init; } = ThresholdRule.Auto;
    /// <summary>Expected share of anomalies, for the quantile threshold: 1 %.</summary>
    public double Contamination { get; init; } = 0.01;
    /// <summary>Share of the training records carved out as the validation part the threshold is chosen on: 1/6, as for the evaluation's validation split.</summary>
    public double ValidationFraction { get; init; } = ValidationSplit.DefaultFraction;
    /// <summary>
    /// The class of a labelled table that counts as an anomaly in the validation and test metrics. Null: the checkpoint's
    /// <c>evaluation.table.positiveClass</c> when set, else the rarest class.
    /// </summary>
    public string? AnomalyClass { get; init; }
    /// <summary>Seed of the validation carve and of the reconstruction scorer's corruption.</summary>
    public int Seed { get; init; }
    /// <summary>Corruptions (or masks) a record's reconstruction error is averaged over: 8, which cost 8 passes of the small table models.</summary>
    public int Draws { get; init; } = 8;
    /// <summary>
    /// Whether the command reads a table file in chunks (<see cref="RecordStreaming"/>; <see cref="RecordStreaming.Applies"/> decides): by
    /// default when it is a CSV file of 16 MiB or more. <c>Run</c> here always reads whole.
    /// </summary>
    public Streaming Stream { get; init; } = Streaming.Auto;
    /// <summary>The bounds of a streamed read (reference bank, samples, chunk size).</summary>
    public StreamLimits Limits { get; init; } = new();

    /// <exception cref="ArgumentException">A value no scoring can use; the message names the option.</exception>
    public void Validate()
    {
        if (K < 1) throw new ArgumentException($"--k must be at least 1, got {K}.");
        if (Draws < 1) throw new ArgumentException($"--draws must be at least 1, got {Draws}.");
        if (!(Contamination > 0 && Contamination < 1)) throw new ArgumentException($"--contamination is the expected share of anomalies, in (0, 1), e.g. 0.01; got {Contamination}.");
        if (!(ValidationFraction > 0 && ValidationFraction < 1)) throw new ArgumentException($"The validation fraction lies in (0, 1), got {ValidationFraction}.");
        Limits.Validate();
    }
}

/// <summary>
/// Anomaly scores of every record of a table: <paramref name="Knn"/> (always) and <paramref name="Reconstruction"/> (methods that rebuild
/// rows), <paramref name="Scores"/> the one that flags; the threshold chosen on the validation part; for labelled data, how the scores
/// rank and flag the validation and test parts (<paramref name="AnomalyClass"/> as the anomalies).
/// </summary>
public sealed record RecordScores(RecordSet Records, string Dataset, string Scorer, double[] Scores, double[] Knn, double[]? Reconstruction,
    string? AnomalyClass, ThresholdChoice Threshold, DetectionMetrics? Test, DetectionMetrics? Validation) : IDisposable
{
    /// <summary>Disposes the records' inputs and embeddings.</summary>
    public void Dispose() => Records.Dispose();

    /// <summary>Whether each record is labelled an anomaly (null: unlabelled).</summary>
    public bool[]? Anomalous => Records.Labels is { } y && AnomalyClass is not null
        ? [.. y.Select(l => Records.ClassNames[l] == AnomalyClass)] : null;

    public int Flagged => Scores.Count(Threshold.Flags);

    /// <summary>One row per record: id, entity (when the table has one), part, score, flagged, knn, reconstruction (when the method has it), label (when labelled).</summary>
    public ColumnTable Table()
    {
        var rows = Records;
        var table = new ColumnTable(rows.Count).Add("id", rows.Ids);
        if (rows.Entities is not null) table.Add("entity", rows.Entities);
        table.Add("part", Records.Parts.Select(p => p.ToString().ToLowerInvariant()).ToArray())
            .Add("score", Scores).Add("flagged", Scores.Select(Threshold.Flags).ToArray()).Add("knn", Knn);
        if (Reconstruction is not null) table.Add("reconstruction", Reconstruction);
        if (rows.Labels is { } y) table.Add("label", y.Select(l => rows.ClassNames[l]).ToArray());
        return table;
    }
}

/// <summary>
/// `pretext score` on a table, image, text or audio checkpoint: every record's kNN distance in the frozen encoder's space to the reference
/// records (the training part less validation; a reference record never counts itself) and, for methods that rebuild their input (vime, dae,
/// mae, denoising, inpainting), its reconstruction error; a threshold chosen on the
/// validation part (<see cref="Thresholds.Choose"/>: best F1 when the validation part holds labelled anomalies, else the quantile of the
/// expected contamination); labels are used for nothing else.
/// </summary>
public static class RecordScoring
{
    /// <exception cref="ArgumentException">A series checkpoint; an override outside <c>table.columns.*</c>; reconstruction asked of a method without it; an unknown anomaly class.</exception>
    /// <exception cref="InvalidDataException">The data does not fit the model or is too small; the message names the file and the fix.</exception>
    public static RecordScores Run(string checkpoint, string? dataset, IReadOnlyList<string> set, string? dataDirectory, RecordScoreOptions options,
        IRunObserver? observer = null, Action<string>? log = null)
    {
        options.Validate();
        var (method, cfg, _) = Pretraining.LoadMethod(checkpoint);
        using (method)
        {
            if (options.Scorer == SeriesScorer.Reconstruction && method is not IReconstructionScorer)
                throw new ArgumentException($"The '{method.Name}' method rebuilds nothing it could score by; use --scorer knn, or a checkpoint of vime or dae (tables), mae, denoising or inpainting (images).");
            var records = RecordSet.Load(method, cfg, checkpoint, dataset, set, dataDirectory, options.ValidationFraction, options.Seed, observer, log);
            try
            {
                var rows = records;
                string? anomalyClass = AnomalyClassOf(rows.ClassNames, rows.Labels, options.AnomalyClass ?? (cfg.Evaluation.Table.PositiveClass is { Length: > 0 } p ? p : null));
                var reference = records.IndicesOf(ReadingPart.Reference);
                int k = Math.Min(options.K, reference.Length);
                var knn = KnnScores(records, reference, k);
                double[]? reconstruction = null;
                if (method is IReconstructionScorer scorer)
                    reconstruction = records.ReconstructionErrors(scorer, method.Module, options.Seed, options.Draws);
                var scores = options.Scorer == SeriesScorer.Knn ? knn : reconstruction!;
                string what = options.Scorer == SeriesScorer.Knn
                    ? string.Create(CultureInfo.InvariantCulture, $"kNN distance in embedding space (mean of the {k} nearest reference records)")
                    : cfg.Encoder.Modality == Data.Modality.Table ? string.Create(CultureInfo.InvariantCulture, $"{method.Name} reconstruction error (per row, mean over columns; mean of {options.Draws} corruptions)") : string.Create(CultureInfo.InvariantCulture, $"{method.Name} reconstruction error (mean of {options.Draws} masks)");
                return Evaluate(records, scores, knn, reconstruction, anomalyClass, options, dataset ?? cfg.Dataset, what);
            }
            catch
            {
                records.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Mean distance of every record's (unit-length) embedding to its <paramref name="k"/> nearest reference records', no record counting itself.
    /// </summary>
    public static double[] KnnScores(RecordSet records, long[] reference, int k)
    {
        using var scope = NewDisposeScope();
        using var idx = tensor(reference);
        var bank = records.Embeddings.index_select(0, idx);
        // A record is a span of its own (entity = its index): the scorer then never counts a reference record as its own neighbour.
        var bankSpans = new WindowSpans(reference, new double[reference.Length], new double[reference.Length]);
        var all = Enumerable.Range(0, records.Count).Select(i => (long)i).ToArray();
        var querySpans = new WindowSpans(all, new double[all.Length], new double[all.Length]);
        return KnnAnomalyScorer.Score(bank, records.Embeddings, k, bankSpans, querySpans);
    }

    /// <summary>The threshold on the validation part's <paramref name="scores"/>, and, labelled, the validation and test metrics.</summary>
    public static RecordScores Evaluate(RecordSet records, double[] scores, double[] knn, double[]? reconstruction, string? anomalyClass,
        RecordScoreOptions options, string dataset, string scorer)
    {
        var rows = records;
        bool[]? anomalous = rows.Labels is { } y && anomalyClass is not null ? [.. y.Select(l => rows.ClassNames[l] == anomalyClass)] : null;
        var validation = records.IndicesOf(ReadingPart.Validation);
        var valScores = validation.Select(i => scores[i]).ToArray();
        var valAnomalous = anomalous is null ? null : validation.Select(i => anomalous[i]).ToArray();
        var threshold = Thresholds.Choose(valScores, valAnomalous, options.Threshold, options.Contamination);
        DetectionMetrics? test = null, val = null;
        if (anomalous is not null)
        {
            var testIdx = records.IndicesOf(ReadingPart.Test);
            test = DetectionMetrics.Of([.. testIdx.Select(i => scores[i])], [.. testIdx.Select(i => anomalous[i])], threshold.Value);
            val = DetectionMetrics.Of(valScores, valAnomalous!, threshold.Value);
        }
        return new RecordScores(records, dataset, scorer, scores, knn, reconstruction, anomalyClass, threshold, test, val);
    }

    /// <summary><paramref name="asked"/> when given (checked against the classes), else the rarest class; null for unlabelled rows.</summary>
    /// <exception cref="ArgumentException">An anomaly class the table does not have.</exception>
    public static string? AnomalyClassOf(IReadOnlyList<string> classNames, int[]? labels, string? asked)
    {
        if (labels is null) return null;
        var counts = new long[classNames.Count];
        foreach (var l in labels) counts[l]++;
        return AnomalyClassOf(classNames, counts, asked);
    }

    /// <summary><paramref name="asked"/> when given (checked against the classes), else the class with the fewest (but some) of <paramref name="counts"/>.</summary>
    /// <exception cref="ArgumentException">An anomaly class the table does not have.</exception>
    public static string AnomalyClassOf(IReadOnlyList<string> classNames, long[] counts, string? asked)
    {
        if (asked is not null)
            return classNames.Contains(asked) ? asked
                : throw new ArgumentException($"--anomaly-class '{asked}' is not a class of the table; its classes are {string.Join(", ", classNames)}.");
        return classNames[Array.IndexOf(counts, counts.Where(c => c > 0).Min())];
    }
}
