using System.Globalization;
using System.Text;
using Pretext.Export;
using static TorchSharp.torch;

namespace Pretext.Curation;

/// <summary>Options of <see cref="Curator.Run"/>; the CLI's `pretext curate` exposes each one.</summary>
public sealed record CurationOptions
{
    /// <summary>Cosine similarity above which two samples are near-duplicates. 0.95 keeps re-encoded, resized or
    /// lightly cropped copies together while distinct samples of one class (typically 0.6-0.9 in a trained
    /// encoder's space) stay apart; raise it for exact copies only.</summary>
    public double DuplicateThreshold { get; init; } = 0.95;
    /// <summary>How many outliers to list (0: none).</summary>
    public int Outliers { get; init; } = 20;
    /// <summary>k of the outlier score, the mean distance to the k nearest samples (averaging over k, not the
    /// k-th distance alone, keeps one accidental close neighbour from hiding an outlier).</summary>
    public int OutlierNeighbours { get; init; } = 10;
    /// <summary>How many samples to pick for labelling first (0: none).</summary>
    public int Select { get; init; } = 100;
    /// <summary>How the samples to label first are picked: Typical (default; one representative per k-means
    /// cluster, best for small labelling budgets, measured in docs/curation.md) or KCenter (greedy covering:
    /// the rim and rare samples first).</summary>
    public SelectionStrategy Strategy { get; init; } = SelectionStrategy.Typical;
    /// <summary>Seed of the selection (k-means initialisation, or the first k-center pick).</summary>
    public int Seed { get; init; }
    /// <summary>Samples labelled so far (sample index to class id), for <see cref="SelectionStrategy.Margin"/>: the next
    /// selection leaves them out and a probe trained on them decides what to label next.</summary>
    public IReadOnlyDictionary<long, int>? Labelled { get; init; }
    /// <summary>Rows per block of the similarity search.</summary>
    public int BlockSize { get; init; } = NeighbourSearch.DefaultBlockSize;

    /// <exception cref="ArgumentException">An option is out of range for <paramref name="n"/> samples; the message names the CLI option.</exception>
    public void Validate(long n)
    {
        if (!(DuplicateThreshold > -1 && DuplicateThreshold <= 1))
            throw new ArgumentException($"--dup-threshold {DuplicateThreshold.ToString(CultureInfo.InvariantCulture)} is not a cosine similarity; use a value in (-1, 1], e.g. 0.95.");
        if (Select < 0 || Select > n) throw new ArgumentException($"--select {Select}: choose between 0 and the {n} samples of the data set.");
        if (Outliers < 0 || Outliers > n) throw new ArgumentException($"--outliers {Outliers}: choose between 0 and the {n} samples of the data set.");
        if (OutlierNeighbours < 1) throw new ArgumentException($"--neighbours {OutlierNeighbours}: use at least 1.");
        if (n < 2) throw new ArgumentException("Curation needs at least 2 samples.");
        if (BlockSize < 1) throw new ArgumentException("Block size must be at least 1.");
        if (Strategy == SelectionStrategy.Margin && Select > 0 && (Labelled is null || Labelled.Count == 0))
            throw new ArgumentException("--strategy Margin picks what to label next from samples already labelled: pass them with --labelled FILE (e.g. the curation CSV of the first round with its label column filled in).");
        if (Strategy == SelectionStrategy.Margin && Select > 0 && Labelled!.Values.Distinct().Count() < 2)
            throw new ArgumentException($"--labelled: the {Labelled.Count} labelled samples are of {Labelled.Values.Distinct().Count()} class; a probe needs at least two. Label more of the first selection.");
        if (Strategy == SelectionStrategy.Margin && Labelled is not null && Select > n - Labelled.Count)
            throw new ArgumentException($"--select {Select}: only {n - Labelled.Count} samples are not labelled yet.");
    }
}

/// <summary>How <see cref="Curator"/> picks samples to label first.</summary>
public enum SelectionStrategy
{
    /// <summary>The sample nearest each k-means centroid (<see cref="TypicalSelection"/>).</summary>
    Typical,
    /// <summary>Greedy k-center covering (<see cref="KCenterGreedy"/>).</summary>
    KCenter,
    /// <summary>The samples a probe trained on the labelled ones is least sure about (<see cref="UncertaintySelection"/>); needs labels.</summary>
    Margin,
}

/// <summary>Samples whose embeddings are near-duplicates (single linkage over pairs above the threshold).</summary>
/// <param name="Group">1 for the largest group, 2 for the next, ...</param>
/// <param name="Members">Sample indices in ascending order; the first is the one to keep.</param>
/// <param name="SimilarityToFirst">Cosine similarity of each member to the first (1 for the first itself).</param>
public sealed record DuplicateGroup(int Group, long[] Members, double[] SimilarityToFirst);

/// <summary>A sample far from all others.</summary>
/// <param name="Rank">1 for the most isolated.</param>
/// <param name="MeanNeighbourDistance">Mean distance to its k nearest samples (unit vectors: 0 to 2).</param>
public sealed record Outlier(long Index, int Rank, double MeanNeighbourDistance);

/// <summary>What curation found in a set of embeddings.</summary>
public sealed record CurationResult(long Count, int Dim, CurationOptions Options, IReadOnlyList<DuplicateGroup> Duplicates,
    IReadOnlyList<Outlier> Outliers, IReadOnlyList<Pick> Selection);

/// <summary>One row of a curation CSV as <see cref="Curator.ReadCsv"/> returns it.</summary>
public sealed record CurationRow(string Kind, int Rank, long Index, string Sample, string Label, int? Group, double Score);

/// <summary>
/// Data curation in embedding space: near-duplicate groups (cosine similarity above a threshold, joined
/// by union-find over an exact blockwise search), outliers (largest mean distance to their k nearest
/// neighbours) and a subset to label first (typical samples of k-means clusters, or greedy k-center). One similarity pass serves both
/// duplicates and outliers.
/// </summary>
public static class Curator
{
    /// <summary>The CSV header of <see cref="WriteCsv"/>.</summary>
    public static readonly string[] CsvColumns = ["kind", "rank", "index", "sample", "label", "group", "score"];

    /// <summary>Curates <paramref name="embeddings"/> (N, D).</summary>
    /// <exception cref="ArgumentException">Options out of range (see <see cref="CurationOptions.Validate"/>) or not (N, D).</exception>
    public static CurationResult Run(Tensor embeddings, CurationOptions? options = null)
    {
        options ??= new CurationOptions();
        if (embeddings.dim() != 2) throw new ArgumentException($"Expected embeddings (N, D), got [{string.Join(",", embeddings.shape)}].", nameof(embeddings));
        long n = embeddings.shape[0];
        options.Validate(n);
        int k = (int)Math.Min(options.OutlierNeighbours, n - 1);
        var search = NeighbourSearch.Run(embeddings, options.DuplicateThreshold, k, options.BlockSize);

        var sets = new UnionFind(n);
        foreach (var (i, j, _) in search.Pairs) sets.Union(i, j);
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(embeddings.detach().to(ScalarType.Float32), dim: 1);
        var groups = new List<DuplicateGroup>();
        foreach (var members in sets.Groups())
        {
            using var ix = tensor(members);
            var sims = z.index_select(0, ix).matmul(z[members[0]]).clamp_(-1, 1).to(ScalarType.Float64).data<double>().ToArray();
            sims[0] = 1;
            groups.Add(new DuplicateGroup(groups.Count + 1, members, sims));
        }

        var outliers = Enumerable.Range(0, (int)n)
            .OrderByDescending(i => search.MeanNeighbourDistance[i]).ThenBy(i => i)
            .Take(options.Outliers)
            .Select((i, r) => new Outlier(i, r + 1, search.MeanNeighbourDistance[i]))
            .ToList();

        var selection = options.Select <= 0 ? []
            : options.Strategy switch
            {
                SelectionStrategy.KCenter => KCenterGreedy.Select(embeddings, options.Select, options.Seed),
                SelectionStrategy.Margin => UncertaintySelection.Select(embeddings, options.Labelled!, options.Select, options.Seed),
                _ => TypicalSelection.Select(embeddings, options.Select, options.Seed),
            };
        return new CurationResult(n, (int)embeddings.shape[1], options, groups, outliers, selection);
    }

    /// <summary>
    /// Writes <paramref name="result"/> as CSV, one row per finding: columns kind (select, outlier or duplicate),
    /// rank (pick order; outlier rank; position in the group, 1 = keep), index, sample (file name for image
    /// folders, the index for catalogue data sets), label (class name, empty when unlabelled), group (duplicate
    /// group id) and score (select: for KCenter the distance to the nearest earlier pick, for Typical the distance to its cluster centroid,
    /// for Margin the probe's top-1 minus top-2 probability; outlier: mean distance to the k
    /// nearest; duplicate: cosine similarity to the group's first member).
    /// </summary>
    public static void WriteCsv(string path, CurationResult result, Func<long, string> sampleId, int[]? labels, IReadOnlyList<string> classNames)
    {
        string Label(long i) => labels is null ? "" : labels[i] < classNames.Count ? classNames[labels[i]] : labels[i].ToString(CultureInfo.InvariantCulture);
        static string Num(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";
        var lines = new List<string> { string.Join(',', CsvColumns) };
        string Row(string kind, int rank, long i, string group, double score) =>
            string.Join(',', kind, rank.ToString(CultureInfo.InvariantCulture), i.ToString(CultureInfo.InvariantCulture),
                CsvRecords.Quote(sampleId(i)), CsvRecords.Quote(Label(i)), group, Num(score));
        foreach (var p in result.Selection) lines.Add(Row("select", p.Rank, p.Index, "", p.Distance));
        foreach (var o in result.Outliers) lines.Add(Row("outlier", o.Rank, o.Index, "", o.MeanNeighbourDistance));
        foreach (var g in result.Duplicates)
            for (int m = 0; m < g.Members.Length; m++)
                lines.Add(Row("duplicate", m + 1, g.Members[m], g.Group.ToString(CultureInfo.InvariantCulture), g.SimilarityToFirst[m]));
        AtomicFile.WriteText(path, w => { foreach (var line in lines) w.WriteLine(line); });
    }

    /// <summary>Reads a file written by <see cref="WriteCsv"/>.</summary>
    /// <exception cref="InvalidDataException">Wrong header or a malformed row; the message names the file and the row.</exception>
    public static IReadOnlyList<CurationRow> ReadCsv(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var rows = new List<CurationRow>();
        int number = 0;
        foreach (var record in CsvRecords.Read(reader, path))
        {
            number++;
            if (number == 1)
            {
                if (!record.SequenceEqual(CsvColumns))
                    throw new InvalidDataException($"'{path}' has header '{string.Join(",", record)}'; a curation CSV starts with '{string.Join(",", CsvColumns)}'.");
                continue;
            }
            if (record.Count != CsvColumns.Length)
                throw new InvalidDataException($"'{path}' row {number} has {record.Count} fields, expected {CsvColumns.Length}.");
            try
            {
                var c = CultureInfo.InvariantCulture;
                rows.Add(new CurationRow(record[0], int.Parse(record[1], c), long.Parse(record[2], c), record[3], record[4],
                    record[5].Length == 0 ? null : int.Parse(record[5], c), record[6].Length == 0 ? double.NaN : double.Parse(record[6], c)));
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"'{path}' row {number}: {e.Message}", e);
            }
        }
        return rows;
    }

    /// <summary>
    /// Reads labelled samples from a CSV with a header: a <c>label</c> column and an <c>index</c> or a <c>sample</c> column
    /// (the sample id <paramref name="sampleId"/> gives, e.g. a file name). In a curation CSV (it has a <c>kind</c> column) only
    /// the <c>select</c> rows count, so the file of the previous round with its label column filled in works as it is.
    /// Rows with an empty label are skipped. Class names get ids in order of first appearance.
    /// </summary>
    /// <exception cref="InvalidDataException">Missing columns, an unknown sample, or one sample with two labels; the message names the file and row.</exception>
    public static Dictionary<long, int> ReadLabels(string path, long count, Func<long, string> sampleId)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--labelled: '{path}' does not exist.", path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        var result = new Dictionary<long, int>();
        var classes = new Dictionary<string, int>(StringComparer.Ordinal);
        Dictionary<string, long>? bySample = null;
        int labelCol = -1, indexCol = -1, sampleCol = -1, kindCol = -1, number = 0;
        foreach (var record in CsvRecords.Read(reader, path))
        {
            number++;
            if (number == 1)
            {
                var names = record.Select(h => h.Trim().ToLowerInvariant()).ToList();
                (labelCol, indexCol, sampleCol, kindCol) = (names.IndexOf("label"), names.IndexOf("index"), names.IndexOf("sample"), names.IndexOf("kind"));
                if (labelCol < 0 || (indexCol < 0 && sampleCol < 0))
                    throw new InvalidDataException($"'{path}' has header '{string.Join(",", record)}'; a labels file needs a 'label' column and an 'index' or 'sample' column.");
                continue;
            }
            string Field(int col) => col < record.Count ? record[col].Trim() : "";
            if (kindCol >= 0 && Field(kindCol) != "select") continue;
            string label = Field(labelCol);
            if (label.Length == 0) continue;
            long index;
            if (indexCol >= 0)
            {
                if (!long.TryParse(Field(indexCol), NumberStyles.Integer, CultureInfo.InvariantCulture, out index) || index < 0 || index >= count)
                    throw new InvalidDataException($"'{path}' row {number}: index '{Field(indexCol)}' is not a sample of this data set (0 to {count - 1}).");
            }
            else
            {
                bySample ??= Enumerable.Range(0, (int)count).Select(i => (long)i).ToDictionary(sampleId, i => i);
                if (!bySample.TryGetValue(Field(sampleCol), out index))
                    throw new InvalidDataException($"'{path}' row {number}: sample '{Field(sampleCol)}' is not in this data set.");
            }
            if (!classes.TryGetValue(label, out int id)) classes[label] = id = classes.Count;
            if (result.TryGetValue(index, out int before) && before != id)
                throw new InvalidDataException($"'{path}' row {number}: sample {index} is labelled twice, differently.");
            result[index] = id;
        }
        if (number == 0) throw new InvalidDataException($"'{path}' is empty; a labels file needs a header with 'label' and 'index' or 'sample'.");
        return result;
    }

    /// <summary>A few lines for the console: what was found and the first few of each.</summary>
    public static string Summary(CurationResult r, Func<long, string> sampleId, int show = 5)
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(string.Create(c, $"{r.Count} samples, {r.Dim}-d embeddings."));
        long dupSamples = r.Duplicates.Sum(g => (long)g.Members.Length);
        s.AppendLine(string.Create(c, $"Near-duplicates (cosine > {r.Options.DuplicateThreshold:G3}): {r.Duplicates.Count} groups, {dupSamples} samples; keeping the first of each leaves out {dupSamples - r.Duplicates.Count}."));
        foreach (var g in r.Duplicates.Take(show))
            s.AppendLine(string.Create(c, $"  group {g.Group}: {string.Join(", ", g.Members.Take(4).Select(sampleId))}{(g.Members.Length > 4 ? $" and {g.Members.Length - 4} more" : "")}"));
        if (r.Outliers.Count > 0)
        {
            s.AppendLine(string.Create(c, $"Outliers (largest mean distance to the {Math.Min(r.Options.OutlierNeighbours, r.Count - 1)} nearest): {r.Outliers.Count} listed."));
            foreach (var o in r.Outliers.Take(show))
                s.AppendLine(string.Create(c, $"  {o.Rank}. {sampleId(o.Index)} ({o.MeanNeighbourDistance:F3})"));
        }
        if (r.Selection.Count > 0)
        {
            var last = r.Selection[^1];
            s.AppendLine(r.Options.Strategy switch
            {
                SelectionStrategy.KCenter => string.Create(c, $"Label first: {r.Selection.Count} samples by greedy k-center; every sample lies within {(r.Selection.Count > 1 ? last.Distance : double.NaN):F3} of one of them."),
                SelectionStrategy.Margin => string.Create(c, $"Label next: the {r.Selection.Count} samples a probe trained on the {r.Options.Labelled!.Count} labelled ones is least sure about (margin {r.Selection[0].Distance:F3} to {last.Distance:F3})."),
                _ => string.Create(c, $"Label first: {r.Selection.Count} typical samples, the one nearest each of {r.Selection.Count} k-means centroids, largest clusters first."),
            });
            s.AppendLine("  " + string.Join(", ", r.Selection.Take(show).Select(p => sampleId(p.Index))) + (r.Selection.Count > show ? ", ..." : ""));
        }
        return s.ToString();
    }
}
