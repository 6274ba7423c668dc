using Pretext.Data;
using static Pretext.Tests.Data.Audio.TestAudio;

namespace Pretext.Tests.Data.Audio;

/// <summary>The WAV reader, the Ogg Vorbis decoder on a real clip, and band-limited resampling.</summary>
public class AudioReadingTests
{
    private static readonly float[] Ramp = Enumerable.Range(0, 64).Select(i => (i - 32) / 33f).ToArray();

    [Theory]
    [InlineData(Encoding.Pcm8, 1.0 / 128)]
    [InlineData(Encoding.Pcm16, 1.0 / 32768)]
    [InlineData(Encoding.Pcm24, 1.0 / 8388608)]
    [InlineData(Encoding.Pcm32, 1e-7)]
    [InlineData(Encoding.Float32, 0)]
    [InlineData(Encoding.Float64, 0)]
    public void WavEncodingsReadBackTheirSamples(Encoding encoding, double tolerance)
    {
        var audio = WavReader.Read(Wav(Ramp, 11_025, encoding: encoding));
        Assert.Equal((1, 11_025, Ramp.Length), (audio.Channels, audio.SampleRate, audio.Frames));
        for (int i = 0; i < Ramp.Length; i++) Assert.True(Math.Abs(audio.Samples[i] - Ramp[i]) <= tolerance + 1e-9, $"sample {i}: {audio.Samples[i]} vs {Ramp[i]}");
    }

    [Fact]
    public void ExtensibleStereoWithExtraChunksMixesDownAndStreamedSizesReadToTheEnd()
    {
        var stereo = Ramp.SelectMany(v => new[] { v, -v / 2 }).ToArray();
        var audio = AudioDecoder.Decode(Wav(stereo, 48_000, channels: 2, encoding: Encoding.Float32, extensible: true, extraChunk: true));
        Assert.Equal((2, 48_000, Ramp.Length), (audio.Channels, audio.SampleRate, audio.Frames));
        Assert.Equal(Ramp.Select(v => v / 4).ToArray(), audio.ToMono());

        // A streaming writer leaves the data size at its maximum: everything up to the end of the file is read.
        var streamed = Wav(Ramp, 8000);
        int data = Ascii(streamed).IndexOf("data", StringComparison.Ordinal);
        BitConverter.GetBytes(uint.MaxValue).CopyTo(streamed, data + 4);
        Assert.Equal(Ramp.Length, WavReader.Read(streamed).Frames);
        Assert.Equal(10, WavReader.Read(streamed, maxSeconds: 10 / 8000.0).Frames);
    }

    [Fact]
    public void BadWavFilesSayWhatIsWrong()
    {
        Assert.Contains("format tag 0x0055", Assert.Throws<InvalidDataException>(() => WavReader.Read(Wav(Ramp, 8000, formatTag: 0x55))).Message);
        var noData = Wav(Ramp, 8000)[..36];
        Assert.Contains("no \"data\" chunk", Assert.Throws<InvalidDataException>(() => WavReader.Read(noData)).Message);
        var rifx = Wav(Ramp, 8000);
        "RIFX"u8.CopyTo(rifx);
        Assert.Contains("big-endian", Assert.Throws<InvalidDataException>(() => WavReader.Read(rifx)).Message);
        Assert.Contains("empty (0 bytes)", Assert.Throws<InvalidDataException>(() => AudioDecoder.Decode([])).Message);
        Assert.Contains("not a WAV (RIFF/WAVE) or Ogg Vorbis file", Assert.Throws<InvalidDataException>(() => AudioDecoder.Decode("ID3\u0004 mp3 data"u8.ToArray())).Message);
        var badOgg = File.ReadAllBytes(RealClip)[..200];
        Assert.Contains("not a readable Ogg Vorbis stream", Assert.Throws<InvalidDataException>(() => AudioDecoder.Decode(badOgg)).Message);
    }

    /// <summary>A real clip from Debian's fillets-ng-data-cs decodes to the length and rate its Ogg pages state.</summary>
    [Fact]
    public void ARealOggVorbisClipDecodesToItsStatedLengthAndRate()
    {
        var bytes = File.ReadAllBytes(RealClip);
        var (rate, samples) = OggHeader(bytes);
        var audio = AudioDecoder.Decode(bytes);
        Assert.Equal((22_050, 43_520L), (rate, samples));
        Assert.Equal(rate, audio.SampleRate);
        Assert.Equal(samples, audio.Frames);
        Assert.Equal(1, audio.Channels);
        Assert.InRange(audio.Samples.Max(Math.Abs), 0.05f, 1.0f); // speech, not silence
        Assert.Equal(22_050, AudioDecoder.Decode(bytes, maxSeconds: 1.0).Frames);
    }

    [Theory]
    [InlineData(22_050, 16_000, 440.0)]
    [InlineData(16_000, 44_100, 1000.0)]
    [InlineData(8_000, 16_000, 300.0)]
    public void ResamplingKeepsATonesShapeAwayFromTheEdges(int from, int to, double hz)
    {
        var input = Tone(hz, 0.25, from);
        var r = new Resampler(from, to);
        var output = r.Resample(input);
        Assert.Equal((long)Math.Ceiling(input.Length * (double)to / from), output.Length);
        var expected = Tone(hz, 0.25, to);
        int margin = to / 50; // 20 ms: the kernel sees zeros past the ends
        double worst = Enumerable.Range(margin, output.Length - 2 * margin).Max(i => Math.Abs(output[i] - expected[i]));
        Assert.True(worst < 2e-3, $"largest error {worst}");
    }

    [Fact]
    public void DownsamplingRemovesWhatWouldAliasAndKeepsDc()
    {
        var r = new Resampler(44_100, 16_000);
        var high = r.Resample(Tone(12_000, 0.2, 44_100)); // above the new Nyquist frequency of 8 kHz
        int margin = 320;
        double rms = Math.Sqrt(high.Skip(margin).Take(high.Length - 2 * margin).Average(v => (double)v * v));
        Assert.True(rms < 0.5 / Math.Sqrt(2) * 0.01, $"aliased energy left: rms {rms}");
        var dc = r.Resample(Enumerable.Repeat(0.25f, 4410).ToArray());
        Assert.All(dc.Skip(margin).Take(dc.Length - 2 * margin), v => Assert.Equal(0.25, v, 4));
        Assert.Equal(Ramp, new Resampler(8000, 8000).Resample(Ramp));
        Assert.Equal(10, r.Resample(Ramp, maxOutput: 10).Length);
    }
}
