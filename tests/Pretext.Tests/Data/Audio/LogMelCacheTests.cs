using Pretext.Data;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Audio;

/// <summary>The log-mel cache: a hit skips decoding and gives the same tensors; a changed setting or file misses; a damaged entry is rebuilt with a warning.</summary>
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
}
