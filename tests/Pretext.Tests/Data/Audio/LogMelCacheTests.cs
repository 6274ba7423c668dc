using Pretext.Data;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Audio;

/// <summary>
/// The log-mel cache: a hit skips decoding and gives the same tensors; a changed setting or file misses; a damaged entry is rebuilt with
/// a warning; the folder stays under its cap, least recently used entries deleted first.
/// </summary>
public class LogMelCacheTests
{
    public LogMelCacheTests() => set_num_threads(1);

    private static readonly AudioClipOptions Clip = TestAudio.TinyEncoder.Clip;

    private sealed record Loaded(TensorDataset Data, List<string> Log);

    private static Loaded Load(string folder, string cacheFolder, LogMelOptions? logMel = null, AudioClipOptions? clip = null)
    {
        logMel ??= TestAudio.TinyEncoder.LogMel;
        clip ??= Clip;
        var log = new List<string>();
        using var frontEnd = new LogMelSpectrogram(logMel, clip.SampleRate, clip.Samples);
        var cache = new LogMelCache(cacheFolder, System.Text.Json.JsonSerializer.Serialize(logMel));
        var read = new AudioReadOptions { Features = frontEnd.Compute, Log = log.Add, Cache = cache };
        return new Loaded(AudioFolder.Load(folder, clip, read).Dataset, log);
    }

    private static bool FromCache(Loaded l) => l.Log.Any(m => m.Contains("from the cache", StringComparison.Ordinal));

    [Fact]
    public void ARepeatedLoadComesFromTheCacheAndEqualsTheDecodedOne()
    {
        using var dir = new TempDirectory();
        var clips = dir.Combine("clips");
        TestAudio.WriteClassFolder(clips, perClass: 4);
        var cache = dir.Combine("cache");
        var first = Load(clips, cache);
        using var a = first.Data;
        Assert.False(FromCache(first));
        var entry = Assert.Single(Directory.GetFiles(cache));
        Assert.DoesNotContain(Directory.GetFiles(cache, "*.tmp*"), _ => true);

        // Decoding is skipped: a file whose samples changed behind an unchanged size and modification time is not read again.
        var file = Directory.GetFiles(clips, "*.wav", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        var time = File.GetLastWriteTimeUtc(file);
        var wav = File.ReadAllBytes(file);
        for (int i = 100; i < wav.Length; i++) wav[i] = 0;
        File.WriteAllBytes(file, wav);
        File.SetLastWriteTimeUtc(file, time);
        var second = Load(clips, cache);
        using var b = second.Data;
        Assert.True(FromCache(second), string.Join("\n", second.Log));
        Assert.True(TestData.Same(a.Data, b.Data));
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(Enumerable.Range(0, (int)a.Count).Select(i => a.SampleId(i)), Enumerable.Range(0, (int)b.Count).Select(i => b.SampleId(i)));
        Assert.Equal(a.ClassNames, b.ClassNames);
        Assert.Single(Directory.GetFiles(cache));
        Assert.Equal(entry, Directory.GetFiles(cache)[0]);
    }

    [Fact]
    public void AChangedSettingOrFileMissesTheCache()
    {
        using var dir = new TempDirectory();
        var clips = dir.Combine("clips");
        TestAudio.WriteClassFolder(clips, perClass: 3);
        var cache = dir.Combine("cache");
        Load(clips, cache).Data.Dispose();

        var mels = Load(clips, cache, logMel: TestAudio.TinyEncoder.LogMel with { Mels = 12 });
        using (mels.Data) { Assert.False(FromCache(mels)); Assert.Equal(12, mels.Data.Data.shape[1]); }
        var seconds = Load(clips, cache, clip: Clip with { Seconds = 0.3 });
        using (seconds.Data) Assert.False(FromCache(seconds));
        var padding = Load(clips, cache, clip: Clip with { Padding = AudioPadding.Zeros });
        using (padding.Data) Assert.False(FromCache(padding));
        Assert.Equal(4, Directory.GetFiles(cache).Length);
        // The label pattern only names classes: the same entry serves it.
        var same = Load(clips, cache);
        using (same.Data) Assert.True(FromCache(same));

        // A file rewritten with other audio (another size) misses; so does one only touched (another modification time).
        var file = Directory.GetFiles(clips, "*.wav", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        TestAudio.WriteWav(file, TestAudio.NoisyTone(700, 0.6, 8000, 99), 8000);
        var changed = Load(clips, cache);
        using (changed.Data) Assert.False(FromCache(changed));
        File.SetLastWriteTimeUtc(file, File.GetLastWriteTimeUtc(file).AddMinutes(-5));
        var touched = Load(clips, cache);
        using (touched.Data) Assert.False(FromCache(touched));
        var again = Load(clips, cache);
        using (again.Data) Assert.True(FromCache(again));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("garbage")]
    public void ADamagedCacheFileIsRebuiltWithAWarning(string damage)
    {
        using var dir = new TempDirectory();
        var clips = dir.Combine("clips");
        TestAudio.WriteClassFolder(clips, perClass: 3);
        var cache = dir.Combine("cache");
        var first = Load(clips, cache);
        using var a = first.Data;
        var entry = Assert.Single(Directory.GetFiles(cache));
        var bytes = File.ReadAllBytes(entry);
        switch (damage)
        {
            case "flip": bytes[bytes.Length / 2] ^= 0x40; File.WriteAllBytes(entry, bytes); break;
            case "truncate": File.WriteAllBytes(entry, bytes[..(bytes.Length / 3)]); break;
            default: File.WriteAllText(entry, "not a cache file"); break;
        }
        var rebuilt = Load(clips, cache);
        using var b = rebuilt.Data;
        Assert.False(FromCache(rebuilt));
        Assert.Contains(rebuilt.Log, m => m.StartsWith("warning: the log-mel cache file", StringComparison.Ordinal) && m.Contains("damaged", StringComparison.Ordinal) && m.Contains(entry, StringComparison.Ordinal));
        Assert.True(TestData.Same(a.Data, b.Data));
        // The rebuilt entry is whole again.
        var third = Load(clips, cache);
        using (third.Data) Assert.True(FromCache(third));
        Assert.DoesNotContain(third.Log, m => m.StartsWith("warning", StringComparison.Ordinal));
    }

    /// <summary>Saves a small entry named <paramref name="name"/> and dates it <paramref name="minutesAgo"/> back; returns its path.</summary>
    private static string SaveEntry(LogMelCache cache, string name, int minutesAgo, List<string>? log = null)
    {
        string path = Path.Combine(cache.Folder, name + LogMelCache.Extension);
        using var features = arange(40, dtype: ScalarType.Float32).view(2, 4, 5);
        cache.Save(path, features, ["a", "b"], [], log is null ? null : log.Add);
        if (File.Exists(path)) File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-minutesAgo));
        return path;
    }

    private static long EntryBytes()
    {
        using var dir = new TempDirectory();
        return new FileInfo(SaveEntry(new LogMelCache(dir.Combine("c"), "s"), "x", 0)).Length;
    }

    [Fact]
    public void TheFolderIsKeptUnderItsCapLeastRecentlyUsedFirst()
    {
        using var dir = new TempDirectory();
        long entry = EntryBytes();
        var cache = new LogMelCache(dir.Combine("cache"), "s", maxBytes: 2 * entry + entry / 2);
        var log = new List<string>();
        string e1 = SaveEntry(cache, "e1", 30), e2 = SaveEntry(cache, "e2", 20);
        // Not an entry: never counted or deleted (a writer's temporary file, say).
        string other = Path.Combine(cache.Folder, "other.tmp");
        File.WriteAllBytes(other, new byte[4 * entry]);
        Assert.True(File.Exists(e1) && File.Exists(e2));

        // A third entry goes over the cap: the oldest (e1) goes.
        string e3 = SaveEntry(cache, "e3", 10, log);
        Assert.False(File.Exists(e1));
        Assert.True(File.Exists(e2) && File.Exists(e3) && File.Exists(other));
        Assert.Contains(log, m => m.StartsWith("log-mel cache: removed the 1 least recently used entry", StringComparison.Ordinal) && m.Contains(LogMelCache.CapEnvironmentVariable, StringComparison.Ordinal));

        // A hit makes e2 the most recently used, so the next entry pushes out e3, though e3 was written later.
        using (var hit = cache.TryLoad(e2, null)?.Features) Assert.NotNull(hit);
        string e4 = SaveEntry(cache, "e4", 0);
        Assert.False(File.Exists(e3));
        Assert.True(File.Exists(e2) && File.Exists(e4));
        Assert.Equal(2, Directory.GetFiles(cache.Folder, "*" + LogMelCache.Extension).Length);
    }

    [Fact]
    public void AnEntryLargerThanTheCapIsNotWrittenAndDeletesNothing()
    {
        using var dir = new TempDirectory();
        long entry = EntryBytes();
        var cache = new LogMelCache(dir.Combine("cache"), "s", maxBytes: entry + 8);
        string small = SaveEntry(cache, "small", 10);
        var log = new List<string>();
        string path = Path.Combine(cache.Folder, "big" + LogMelCache.Extension);
        using var big = zeros(4, 4, 5);
        cache.Save(path, big, ["a", "b", "c", "d"], [], log.Add);
        Assert.False(File.Exists(path));
        Assert.True(File.Exists(small));
        Assert.Contains(log, m => m.Contains("larger than the log-mel cache's cap", StringComparison.Ordinal));
    }

    [Fact]
    public void TheCapComesFromMegabytesAndRefusesAnythingElse()
    {
        Assert.Equal(LogMelCache.DefaultMaxBytes, LogMelCache.ParseCap(null));
        Assert.Equal(LogMelCache.DefaultMaxBytes, LogMelCache.ParseCap(" "));
        Assert.Equal(0, LogMelCache.ParseCap("0"));
        Assert.Equal(512L << 20, LogMelCache.ParseCap("512"));
        foreach (var bad in new[] { "-1", "1.5", "2GB", "lots" })
            Assert.Contains(LogMelCache.CapEnvironmentVariable, Assert.Throws<ArgumentException>(() => LogMelCache.ParseCap(bad)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogMelCache("x", "s", 0));
    }
}
