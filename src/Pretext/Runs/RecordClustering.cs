using System.Globalization;
using Pretext.Evaluation;
using Pretext.Export;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Options of <see cref="RecordClustering"/>; one documented default each.</summary>
public sealed record RecordClusterOptions
{
    /// <summary>Segments; 0: chosen by the mean silhouette of the validation records among <see cref="MinK"/>..<see cref="MaxK"/>.</summary>
    public int K { get; init; }
    /// <summary>Smallest k tried when choosing: 2, the fewest that make segments.</summary>
    public int MinK { get; init; } = 2;
    /// <summary>Largest k tried when choosing: 8, about as many segments as a person reads profiles of.</summary>
    public int MaxK { get; init; } = 8;
    /// <summary>Share of the training records carved out as the validation part k is chosen on: 1/6, as for the evaluation's validation split.</summary>
    public double ValidationFraction { get; init; } = ValidationSplit.DefaultFraction;
    /// <summary>Columns named in each segment's profile.</summary>
    public int TopColumns { get; init; } = 3;
    /// <summary>Seed of the validation carve and of k-means' starts.</summary>
    public int Seed { get; init; }
    /// <summary>
    /// Whether the command reads a table file in chunks (<see cref="RecordStreaming"/>; <see cref="RecordStreaming.Applies"/> decides): by
    /// default when it is a CSV file of 16 MiB or more. <c>Run</c> here always reads whole.
    /// </summary>
    public Streaming Stream { get; init; } = Streaming.Auto;
    /// <summary>The bounds of a streamed read (k-means sample, silhouette sample, chunk size).</summary>
    public StreamLimits Limits { get; init; } = new();

    /// <exception cref="ArgumentException">A value no clustering can use; the message names the option.</exception>
    public void Validate()
    {
        if (K < 0 || K == 1) throw new ArgumentException($"--k is the number of segments, at least 2 (or 0 to choose it by silhouette), got {K}.");
        if (K == 0 && (MinK < 2 || MaxK < MinK)) throw new ArgumentException($"--k-min and --k-max span the k tried: 2 <= k-min <= k-max, got {MinK} and {MaxK}.");
        if (TopColumns < 1) throw new ArgumentException($"--top-columns must be at least 1, got {TopColumns}.");
        if (!(ValidationFraction > 0 && ValidationFraction < 1)) throw new ArgumentException($"The validation fraction lies in (0, 1), got {ValidationFraction}.");
        Limits.Validate();
    }
}

/// <summary>
/// A segment for every record (<paramref name="Segments"/>, 0..K-1) and its distance to its segment's centre, the k tried with the
/// validation records' mean silhouette at each (<paramref name="Candidates"/>), and a profile of each segment.
/// </summary>
public sealed record RecordClusters(RecordSet Records, string Dataset, int K, bool Chosen, IReadOnlyList<(int K, double Silhouette)> Candidates,
    int[] Segments, double[] Distances, IReadOnlyList<SegmentProfile> Profiles) : IDisposable
{
    /// <summary>Disposes the records' inputs and embeddings.</summary>
    public void Dispose() => Records.Dispose();

    /// <summary>One row per record: id, entity (when the table has one), part, segment, distance, label (when labelled).</summary>
    public ColumnTable Table()
    {
        var rows = Records;
        var table = new ColumnTable(rows.Count).Add("id", rows.Ids);
        if (rows.Entities is not null) table.Add("entity", rows.Entities);
        table.Add("part", Records.Parts.Select(p => p.ToString().ToLowerInvariant()).ToArray()).Add("segment", Segments).Add("distance", Distances);
        if (rows.Labels is { } y) table.Add("label", y.Select(l => rows.ClassNames[l]).ToArray());
        return table;
    }

    /// <summary>
    /// One row per segment and profiled column: segment, size, share, rank, column, kind, segment_value, overall_value, difference; records
    /// without columns (images, documents) get one row per segment with the column fields empty.
    /// </summary>
    public ColumnTable ProfileTable() => RecordClustering.ProfileTable(Profiles);

    /// <summary>A few lines per segment for the console.</summary>
    public IEnumerable<string> Describe() => RecordClustering.Describe(Profiles);
}

/// <summary>
/// `pretext cluster` on a table, image, text or audio checkpoint: k-means (k-means++, 10 starts) on the frozen encoder's embeddings scaled to unit length,
/// fitted on the reference records (the training part less validation); k given, or chosen as the k whose fit gives the validation
/// records the highest mean silhouette (ties to the smaller k); every record then joins its nearest centre, and each segment is profiled
/// in the table's own columns (<see cref="SegmentProfiles"/>). Labels are not used.
/// </summary>
public static class RecordClustering
{
    /// <exception cref="ArgumentException">A series checkpoint; an override outside <c>table.columns.*</c>; an option out of range.</exception>
    /// <exception cref="InvalidDataException">The data does not fit the model or is too small; the message names the file and the fix.</exception>
    public static RecordClusters Run(string checkpoint, string? dataset, IReadOnlyList<string> set, string? dataDirectory, RecordClusterOptions options,
        IRunObserver? observer = null, Action<string>? log = null)
    {
        options.Validate();
        observer ??= NullObserver.Instance;
        var (method, cfg, _) = Pretraining.LoadMethod(checkpoint);
        using (method)
        {
            var records = RecordSet.Load(method, cfg, checkpoint, dataset, set, dataDirectory, options.ValidationFraction, options.Seed, observer, log);
            try
            {
                return Cluster(records, options, dataset ?? cfg.Dataset, observer);
            }
            catch
            {
                records.Dispose();
                throw;
            }
        }
    }

    /// <summary>The clustering of <paramref name="records"/> as <see cref="Run"/> describes it.</summary>
    /// <exception cref="InvalidDataException">Fewer reference records than segments.</exception>
    public static RecordClusters Cluster(RecordSet records, RecordClusterOptions options, string dataset, IRunObserver? observer = null)
    {
        using var scope = NewDisposeScope();
        var unit = nn.functional.normalize(records.Embeddings, dim: 1);
        var referenceIdx = records.IndicesOf(ReadingPart.Reference);
        var validationIdx = records.IndicesOf(ReadingPart.Validation);
        var reference = unit.index_select(0, tensor(referenceIdx));
        var validation = unit.index_select(0, tensor(validationIdx));
        var (best, candidates) = Fit(reference, validation, options, records.Name, observer);
        using (best)
        {
            var (segments, distances) = KMeans.Assign(unit, best.Centroids);
            // Tables: the columns that set a segment apart; other data: sizes only (and the labels' share, when labelled, in the segment file).
            var profiles = records.Rows is { } rows ? SegmentProfiles.Of(rows, segments, options.TopColumns) : SegmentProfiles.Sizes(segments);
            return new RecordClusters(records, dataset, (int)best.Centroids.shape[0], options.K == 0, candidates, segments, distances, profiles);
        }
    }

    /// <summary>
    /// k-means on <paramref name="reference"/> (N, D) unit-length embeddings at the given k, or at every k of the range with the one whose
    /// centres give <paramref name="validation"/> the highest mean silhouette kept (ties to the smaller k); the kept fit and every k's silhouette.
    /// </summary>
    /// <exception cref="InvalidDataException">Fewer reference records than segments.</exception>
    public static (KMeansResult Best, IReadOnlyList<(int K, double Silhouette)> Candidates) Fit(Tensor reference, Tensor validation, RecordClusterOptions options,
        string name, IRunObserver? observer = null)
    {
        observer ??= NullObserver.Instance;
        long references = reference.shape[0];
        var kmeans = new KMeansOptions { Seed = options.Seed };
        int[] ks = options.K > 0 ? [options.K] : [.. Enumerable.Range(options.MinK, options.MaxK - options.MinK + 1)];
        if (ks[0] > references)
            throw new InvalidDataException($"'{name}' has {references} reference records, fewer than the {ks[0]} segments asked; give more records or a smaller --k.");
        ks = [.. ks.Where(k => k <= references)];
        var candidates = new List<(int K, double Silhouette)>();
        KMeansResult? best = null;
        double bestScore = double.NegativeInfinity;
        observer.BeginStage("k-means", ks.Length);
        foreach (var k in ks)
        {
            var fit = KMeans.Fit(reference, k, kmeans);
            var (assigned, _) = KMeans.Assign(validation, fit.Centroids);
            // A fit that puts every validation record in one segment separates nothing there.
            double s = assigned.Distinct().Count() > 1 ? ClusterMetrics.Silhouette(validation, assigned) : -1;
            candidates.Add((k, s));
            if (best is null || s > bestScore) { best?.Dispose(); best = fit; bestScore = s; }
            else fit.Dispose();
            observer.Report(candidates.Count);
        }
        observer.EndStage();
        return (best!, candidates);
    }

    /// <summary>
    /// One row per segment and profiled column: segment, size, share, rank, column, kind, segment_value, overall_value, difference; records
    /// without columns (images, documents) get one row per segment with the column fields empty.
    /// </summary>
    public static ColumnTable ProfileTable(IReadOnlyList<SegmentProfile> profiles)
    {
        var none = new ColumnDifference("", "", "", "", double.NaN);
        var rows = profiles.SelectMany(p => p.Columns.Count == 0 ? [(p, none, 0)] : p.Columns.Select((col, r) => (p, col, r + 1))).ToList();
        return new ColumnTable(rows.Count)
            .Add("segment", rows.Select(x => x.p.Segment).ToArray()).Add("size", rows.Select(x => x.p.Size).ToArray())
            .Add("share", rows.Select(x => x.p.Share).ToArray()).Add("rank", rows.Select(x => x.Item3).ToArray())
            .Add("column", rows.Select(x => x.col.Column).ToArray()).Add("kind", rows.Select(x => x.col.Kind).ToArray())
            .Add("segment_value", rows.Select(x => x.col.SegmentValue).ToArray()).Add("overall_value", rows.Select(x => x.col.OverallValue).ToArray())
            .Add("difference", rows.Select(x => x.col.Difference).ToArray());
    }

    /// <summary>A few lines per segment for the console.</summary>
    public static IEnumerable<string> Describe(IReadOnlyList<SegmentProfile> profiles)
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var p in profiles)
            yield return string.Create(c, $"segment {p.Segment}: {p.Size:N0} records ({100 * p.Share:0.#} %)") + (p.Columns.Count == 0 ? "" : "; " +
                string.Join("; ", p.Columns.Select(col => string.Create(c, $"{col.Column} {col.SegmentValue} vs {col.OverallValue} ({col.Difference:+0.00;-0.00} sd)"))));
    }
}
