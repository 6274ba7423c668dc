using Pretext.Data;
using static TorchSharp.torch;

namespace Pretext.Tests.Data;

/// <summary>The decoded-image cache (issue 24): a second load of an unchanged folder reads pixels instead of decoding, and only unchanged files.</summary>
public class DecodedImageCacheTests
{
    private static byte[] Image(int seed) => TestFiles.Png(12, 10, 3, (x, y) => [(byte)(x * 20 + seed), (byte)(y * 25), (byte)(seed * 40)]);

    private static ImageFolderLoad LoadWith(string folder, string? cache, List<string>? log = null) =>
        ImageFolderDataset.LoadWithReport(folder, 8, 3, new ImageFolderOptions { CacheFolder = cache, Log = log is null ? null : log.Add, MaxDegreeOfParallelism = 1 });

    private static byte[] Pixels(TensorDataset ds) => ds.Data.contiguous().data<byte>().ToArray();

    private static string[] Ids(TensorDataset ds) => [.. Enumerable.Range(0, (int)ds.Count).Select(i => ds.SampleId(i))];

    [Fact]
    public void ASecondLoadReadsTheCacheAndGivesTheSamePixelsAsDecoding()
    {
        using var dir = new TempDirectory();
        string folder = dir.Combine("images"), cache = dir.Combine("cache");
        for (int i = 0; i < 4; i++)
        {
            Directory.CreateDirectory(Path.Combine(folder, i % 2 == 0 ? "a" : "b"));
            File.WriteAllBytes(Path.Combine(folder, i % 2 == 0 ? "a" : "b", $"{i}.png"), Image(i));
        }
        using var plain = LoadWith(folder, null).Dataset;
        using var first = LoadWith(folder, cache).Dataset;
        Assert.Single(Directory.GetFiles(cache));
        var log = new List<string>();
        using var second = LoadWith(folder, cache, log).Dataset;
        Assert.Contains(log, l => l.Contains("4 of 4 images read from the decoded-image cache"));
        Assert.Equal(Pixels(plain), Pixels(first));
        Assert.Equal(Pixels(plain), Pixels(second));
        Assert.Equal(Ids(plain), Ids(second));
        Assert.Equal(plain.Labels, second.Labels);

        // Proof that the second load did not decode: a file whose bytes are replaced by garbage of the same length and time is
        // still read from the cache (the cache trusts length and time, as make and rsync do) ...
        var target = Path.Combine(folder, "a", "0.png");
        var time = File.GetLastWriteTimeUtc(target);
        File.WriteAllBytes(target, new byte[new FileInfo(target).Length]);
        File.SetLastWriteTimeUtc(target, time);
        using (var trusted = LoadWith(folder, cache).Dataset) Assert.Equal(Pixels(plain), Pixels(trusted));
        // ... and a changed time makes it decode again (here: an error naming the file, as without a cache).
        File.SetLastWriteTimeUtc(target, time.AddMinutes(1));
        var e = Assert.Throws<InvalidDataException>(() => LoadWith(folder, cache));
        Assert.Contains("0.png", e.Message);
    }

    [Fact]
    public void AChangedFileIsDecodedAgainAndANewFileJoins()
    {
        using var dir = new TempDirectory();
        string folder = dir.Combine("images"), cache = dir.Combine("cache");
        Directory.CreateDirectory(folder);
        for (int i = 0; i < 3; i++) File.WriteAllBytes(Path.Combine(folder, $"{i}.png"), Image(i));
        LoadWith(folder, cache).Dataset.Dispose();

        File.WriteAllBytes(Path.Combine(folder, "1.png"), Image(7));
        File.SetLastWriteTimeUtc(Path.Combine(folder, "1.png"), DateTime.UtcNow.AddMinutes(5));
        File.WriteAllBytes(Path.Combine(folder, "3.png"), Image(3));
        var log = new List<string>();
        using var cached = LoadWith(folder, cache, log).Dataset;
        Assert.Contains(log, l => l.Contains("2 of 4 images read from the decoded-image cache"));
        using var plain = LoadWith(folder, null).Dataset;
        Assert.Equal(Pixels(plain), Pixels(cached));
        // The rewritten cache now holds all four as they are.
        var again = new List<string>();
        LoadWith(folder, cache, again).Dataset.Dispose();
        Assert.Contains(again, l => l.Contains("4 of 4 images read"));
    }

    [Fact]
    public void ADamagedCacheFileIsIgnoredWithALogLineAndReplaced()
    {
        using var dir = new TempDirectory();
        string folder = dir.Combine("images"), cache = dir.Combine("cache");
        Directory.CreateDirectory(folder);
        for (int i = 0; i < 3; i++) File.WriteAllBytes(Path.Combine(folder, $"{i}.png"), Image(i));
        using var plain = LoadWith(folder, null).Dataset;
        LoadWith(folder, cache).Dataset.Dispose();
        var file = Directory.GetFiles(cache).Single();
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length - 5)]);

        var log = new List<string>();
        using var loaded = LoadWith(folder, cache, log).Dataset;
        Assert.Contains(log, l => l.Contains("could not be read") && l.Contains(file) && l.Contains("cut short"));
        Assert.Equal(Pixels(plain), Pixels(loaded));
        Assert.Equal(bytes.Length, new FileInfo(file).Length);

        // Another size is another cache file; the settings are part of its name.
        ImageFolderDataset.LoadWithReport(folder, 6, 3, new ImageFolderOptions { CacheFolder = cache }).Dataset.Dispose();
        Assert.Equal(2, Directory.GetFiles(cache).Length);
    }

    [Fact]
    public void TheRunConfigTurnsTheCacheOnUnderTheDataFolderAndOff()
    {
        using var dir = new TempDirectory();
        Assert.Equal(Path.Combine(dir.Path, "decoded-images"), new ImageDataConfig().Options(null, dir.Path).CacheFolder);
        Assert.Null(new ImageDataConfig { DecodedCache = false }.Options(null, dir.Path).CacheFolder);
    }
}
