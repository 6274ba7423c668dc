using Pretext.Data;
using static Pretext.Tests.Data.Audio.TestAudio;

namespace Pretext.Tests.Data.Audio;

/// <summary>Folders of WAV and Ogg files as fixed-length mono clips at one rate, and the errors bad folders and files get.</summary>
public class AudioFolderTests
{
    private static readonly AudioClipOptions Clip = new() { SampleRate = 8000, Seconds = 0.25 };

    [Fact]
    public void ClassFoldersBecomeLabelledClipsOfOneRateAndLength()
    {
        using var dir = new TempDirectory();
        WriteClassFolder(dir.Path, perClass: 3, seconds: 0.5);
        File.Copy(RealClip, dir.Combine("low", "real.ogg"));
        File.WriteAllText(dir.Combine("low", "notes.txt"), "not audio, not read");
        var load = AudioFolder.Load(dir.Path, Clip);
        var ds = load.Dataset;
        Assert.Empty(load.Skipped);
        Assert.Equal(new long[] { 7, 2000 }, ds.Data.shape);
        Assert.Equal(["high", "low"], ds.ClassNames);
        Assert.Equal([0, 0, 0, 1, 1, 1, 1], ds.Labels!);
        Assert.Equal(["high/high-00.wav", "high/high-01.wav", "high/high-02.wav", "low/low-00.wav", "low/low-01.wav", "low/low-02.wav", "low/real.ogg"],
            Enumerable.Range(0, 7).Select(i => ds.SampleId(i)));
        // high-02 was 16 kHz stereo: mixed down and resampled like the 8 kHz mono ones, so it is the same kind of tone.
        var clip = ds.Data[2].data<float>().ToArray();
        Assert.InRange(clip.Max(Math.Abs), 0.2f, 0.7f);
    }

    [Fact]
    public void ShortClipsAreRepeatedOrPaddedWithSilence()
    {
        using var dir = new TempDirectory();
        var samples = Enumerable.Range(0, 800).Select(i => (float)Math.Sin(i / 7.0) * 0.5f).ToArray(); // 0.1 s at 8 kHz
        WriteWav(dir.Combine("short.wav"), samples, 8000);
        var repeated = AudioFolder.Load(dir.Path, Clip).Dataset.Data[0].data<float>().ToArray();
        Assert.Null(AudioFolder.Load(dir.Path, Clip).Dataset.Labels);
        Assert.Equal(2000, repeated.Length);
        for (int i = 0; i < 1200; i++) Assert.Equal(repeated[i], repeated[i + 800]);
        Assert.True(Math.Abs(samples[100] - repeated[100]) < 1e-3); // 16-bit quantisation
        var padded = AudioFolder.Load(dir.Path, Clip with { Padding = AudioPadding.Zeros }).Dataset.Data[0].data<float>().ToArray();
        Assert.All(padded.Skip(800), v => Assert.Equal(0f, v));
        Assert.Equal(repeated.Take(800), padded.Take(800));
    }

    [Fact]
    public void CorruptEmptyAndSilentFilesAreNamedWithTheFix()
    {
        using var dir = new TempDirectory();
        WriteClassFolder(dir.Path, perClass: 2);
        File.WriteAllBytes(dir.Combine("low", "corrupt.wav"), [.. "RIFF\u0010\0\0\0WAVEjunk"u8.ToArray(), .. new byte[20]]);
        File.WriteAllBytes(dir.Combine("low", "empty.ogg"), []);
        File.Copy(SilentClip, dir.Combine("high", "silent.ogg"));
        File.WriteAllBytes(dir.Combine("high", "no-frames.wav"), Wav([], 8000));
        var e = Assert.Throws<InvalidDataException>(() => AudioFolder.Load(dir.Path, Clip));
        Assert.Contains("4 audio file(s)", e.Message);
        Assert.Contains("high/no-frames.wav: it holds no audio (0 samples at 8000 Hz)", e.Message);
        Assert.Contains("high/silent.ogg: it holds no audio", e.Message);
        Assert.Contains("low/corrupt.wav: it has no \"fmt \" chunk", e.Message);
        Assert.Contains("low/empty.ogg: the file is empty (0 bytes)", e.Message);
        Assert.Contains("skipBad=true", e.Message);

        var log = new List<string>();
        var load = AudioFolder.Load(dir.Path, Clip with { SkipBad = true }, new AudioReadOptions { Log = log.Add, ChunkSize = 3 });
        Assert.Equal(4, load.Dataset.Count);
        Assert.Equal(4, load.Skipped.Count);
        Assert.Contains(log, l => l.Contains("left out 4 unusable file(s)") && l.Contains("low/empty.ogg"));
    }

    [Fact]
    public void BadLayoutsAreRefusedWithTheFix()
    {
        using var dir = new TempDirectory();
        Assert.Throws<DirectoryNotFoundException>(() => AudioFolder.Load(dir.Combine("missing"), Clip));
        Assert.Contains("holds no audio files", Assert.Throws<InvalidDataException>(() => AudioFolder.Load(dir.Path, Clip)).Message);
        WriteClassFolder(dir.Path, perClass: 1);
        WriteWav(dir.Combine("loose.wav"), Tone(200, 0.1, 8000), 8000);
        Assert.Contains("mixes 1 loose audio file", Assert.Throws<InvalidDataException>(() => AudioFolder.Load(dir.Path, Clip)).Message);
        File.Delete(dir.Combine("loose.wav"));
        Directory.CreateDirectory(dir.Combine("empty-class"));
        Assert.Contains("every sub-folder", Assert.Throws<InvalidDataException>(() => AudioFolder.Load(dir.Path, Clip)).Message);
        Assert.Throws<ArgumentException>(() => AudioFolder.Load(dir.Path, Clip with { Seconds = 0 }));
    }

    [Fact]
    public void LabelsCanComeFromAFileNamePattern()
    {
        using var dir = new TempDirectory();
        foreach (var name in new[] { "a/lvl-m-one.wav", "a/lvl-v-two.wav", "b/m-three.wav", "b/four-v.wav", "b/narrator.wav" })
            WriteWav(dir.Combine(name.Split('/')), Tone(300, 0.1, 8000), 8000);
        var speaker = Clip with { LabelPattern = "(?:^|-)(?<label>m|v)(?:-|$)" };
        var e = Assert.Throws<InvalidDataException>(() => AudioFolder.Load(dir.Path, speaker));
        Assert.Contains("1 of the 5 audio files", e.Message);
        Assert.Contains("b/narrator.wav", e.Message);
        var ds = AudioFolder.Load(dir.Path, speaker with { UnmatchedLabel = "other" }).Dataset;
        Assert.Equal(["m", "other", "v"], ds.ClassNames);
        Assert.Equal([0, 2, 2, 0, 1], ds.Labels!); // a/lvl-m-one, a/lvl-v-two, b/four-v, b/m-three, b/narrator
        Assert.Contains("group named \"label\"", Assert.Throws<ArgumentException>(() => AudioFolder.Load(dir.Path, Clip with { LabelPattern = "^(x)" })).Message);
        Assert.Contains("not a regular expression", Assert.Throws<ArgumentException>(() => AudioFolder.Load(dir.Path, Clip with { LabelPattern = "(?<label>" })).Message);
    }

    [Fact]
    public void FeaturesAreComputedChunkByChunk()
    {
        using var dir = new TempDirectory();
        WriteClassFolder(dir.Path, perClass: 3);
        int calls = 0;
        var load = AudioFolder.Load(dir.Path, Clip, new AudioReadOptions
        {
            ChunkSize = 4,
            Features = w => { calls++; return TorchSharp.torch.stack([w.abs().max(1).values, w.square().mean([1L])], 1); },
        });
        Assert.Equal(2, calls);
        Assert.Equal(new long[] { 6, 2 }, load.Dataset.Data.shape);
    }
}
