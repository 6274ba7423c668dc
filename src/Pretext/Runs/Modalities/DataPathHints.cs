using Pretext.Data;
using Pretext.Methods;

namespace Pretext.Runs.Modalities;

/// <summary>
/// The error a modality gives when --dataset is not data it reads: a mistyped catalogue name (with the nearest one), a path
/// that does not exist, a catalogued set or a file of another kind (with the methods that read it), each as one sentence
/// that names the fix. Issue 24: a folder of text documents given to an image method did not hint at --method.
/// </summary>
internal static class DataPathHints
{
    /// <summary>
    /// Extensions that say what a file holds: the image and audio sources' own lists (a .gif is read as a video clip here: the video
    /// source takes animated GIFs whole), plus documents and ARFF tables. .csv and .parquet are series or tables, so left out.
    /// </summary>
    private static readonly Dictionary<string, Modality> KindOfExtension =
        ImageFolderDataset.ImageExtensions.Where(e => e != ".gif").Select(e => (e, Modality.Image))
            .Concat(AudioFolder.Extensions.Select(e => (e, Modality.Audio)))
            .Concat(new[] { ".txt", ".md", ".eml", ".mbox", ".html", ".htm", ".jsonl" }.Select(e => (e, Modality.Text)))
            .Append((".arff", Modality.Table))
            .Append((".gif", Modality.Video))
            .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.OrdinalIgnoreCase);

    private static string Noun(Modality m) => m switch
    {
        Modality.Image => "images",
        Modality.Text => "text",
        Modality.Series => "a time series",
        Modality.Audio => "audio",
        Modality.Table => "a table",
        Modality.Video => "video",
        _ => m.ToString().ToLowerInvariant(),
    };

    private static string Adjective(Modality m) => m switch
    {
        Modality.Image => "image",
        Modality.Table => "table",
        _ => m.ToString().ToLowerInvariant(),
    };

    /// <summary>The registered methods that train on <paramref name="kind"/>, as "--method a (or b, c)".</summary>
    internal static string MethodsFor(Modality kind)
    {
        var names = MethodRegistry.All.Where(e => e.Modality == kind).Select(e => e.Name).ToList();
        if (names.Count == 0) return "a method of `pretext methods`";
        return names.Count == 1 ? $"--method {names[0]}" : $"--method {names[0]} (or {string.Join(", ", names.Skip(1))})";
    }

    /// <summary>What kind of data a file holds, by its extension; .csv and .parquet are series or tables (null: either or unknown).</summary>
    internal static Modality? KindOfFile(string path) => KindOfExtension.TryGetValue(Path.GetExtension(path), out var k) ? k : null;

    /// <summary>The kind most files of a folder hold (looking at up to 2,000 files, two levels deep); null when none is recognised.</summary>
    internal static Modality? KindOfFolder(string folder)
    {
        var counts = new Dictionary<Modality, int>();
        var files = Directory.EnumerateFiles(folder).Concat(Directory.EnumerateDirectories(folder).SelectMany(Directory.EnumerateFiles)).Take(2000);
        foreach (var f in files)
            if (KindOfFile(f) is { } k) counts[k] = counts.GetValueOrDefault(k) + 1;
        return counts.Count == 0 ? null : counts.MaxBy(p => p.Value).Key;
    }

    /// <summary>
    /// The message for a --dataset that <paramref name="wanted"/>'s modality cannot read: <paramref name="what"/> describes what it
    /// reads ("a folder of images"), <paramref name="method"/> the method asked for, if known (else "image methods").
    /// </summary>
    internal static string NotReadable(string dataset, Modality wanted, string what, string? method = null)
    {
        string by = method is null ? $"{Adjective(wanted)} methods" : $"--method {method}";
        string reads = method is null ? "read" : "reads";
        if (DataCatalog.All.FirstOrDefault(e => string.Equals(e.Name, dataset, StringComparison.OrdinalIgnoreCase)) is { } entry)
            return $"'{dataset}' is a catalogued {Noun(entry.Modality)} data set, which {by} cannot read (they read {what}). Train it with {MethodsFor(entry.Modality)}.";
        if (File.Exists(dataset))
        {
            string ext = Path.GetExtension(dataset).ToLowerInvariant();
            string looks = KindOfFile(dataset) is { } k && k != wanted
                ? $" It looks like {Noun(k)} ({ext}): train it with {MethodsFor(k)}."
                : ext is ".csv" or ".parquet"
                    ? $" A {ext} file is a time series ({MethodsFor(Modality.Series)}) or a table ({MethodsFor(Modality.Table)})."
                    : "";
            return $"'{dataset}' is a file, but {by} {reads} {what}.{looks}";
        }
        if (Directory.Exists(dataset))
        {
            return KindOfFolder(dataset) is { } k && k != wanted
                ? $"'{dataset}' holds {Adjective(k)} files, but {by} {reads} {what}: train it with {MethodsFor(k)}."
                : $"'{dataset}' holds nothing {by} reads ({what}).";
        }
        var nearest = DataCatalog.All
            .Select(e => (e.Name, e.Modality, Distance: ConfigOverrides.EditDistance(e.Name, dataset.ToLowerInvariant())))
            .Where(p => p.Distance <= Math.Max(2, p.Name.Length / 3))
            .OrderBy(p => p.Distance).FirstOrDefault();
        string guess = nearest.Name is null ? "" : $" Did you mean '{nearest.Name}' ({Noun(nearest.Modality)})?";
        return $"'{dataset}' is not a catalogued data set and no such file or folder exists.{guess} Catalogued sets: `pretext data list`; " +
               $"your own data: a path to {what}.";
    }
}
