namespace Pretext.Data;

/// <summary>Decoded audio as it was stored: interleaved samples in [-1, 1], its channel count and sample rate.</summary>
/// <param name="Samples">Frames x channels floats, channel-interleaved (frame 0 channel 0, frame 0 channel 1, ...).</param>
/// <param name="Channels">Channels per frame, at least 1.</param>
/// <param name="SampleRate">Frames per second.</param>
public sealed record DecodedAudio(float[] Samples, int Channels, int SampleRate)
{
    /// <summary>Number of frames (samples per channel).</summary>
    public int Frames => Samples.Length / Channels;

    /// <summary>One channel: the mean of the channels of each frame (the samples themselves when already mono).</summary>
    public float[] ToMono()
    {
        if (Channels == 1) return Samples;
        var mono = new float[Frames];
        for (int f = 0; f < mono.Length; f++)
        {
            float sum = 0;
            for (int c = 0; c < Channels; c++) sum += Samples[f * Channels + c];
            mono[f] = sum / Channels;
        }
        return mono;
    }
}

/// <summary>
/// Decodes one audio file held in memory, recognised by its first bytes (not its name): RIFF WAVE through
/// <see cref="WavReader"/>, Ogg Vorbis through NVorbis (a managed decoder, so no system tool or native library is
/// needed and decoding runs in-process on every platform .NET runs on).
/// </summary>
public static class AudioDecoder
{
    /// <summary>Decodes <paramref name="bytes"/>, stopping after <paramref name="maxSeconds"/> of audio when given.</summary>
    /// <exception cref="InvalidDataException">Empty input, an unknown format, or a file that cannot be decoded; the message says which.</exception>
    public static DecodedAudio Decode(byte[] bytes, double? maxSeconds = null)
    {
        if (bytes.Length == 0) throw new InvalidDataException("the file is empty (0 bytes)");
        if (WavReader.IsWav(bytes)) return WavReader.Read(bytes, maxSeconds);
        if (bytes.Length >= 4 && bytes[0] == 'O' && bytes[1] == 'g' && bytes[2] == 'g' && bytes[3] == 'S') return DecodeVorbis(bytes, maxSeconds);
        var head = new string(bytes.Take(4).Select(b => b is >= 32 and < 127 ? (char)b : '.').ToArray());
        throw new InvalidDataException($"not a WAV (RIFF/WAVE) or Ogg Vorbis file (it starts with \"{head}\")");
    }

    private static DecodedAudio DecodeVorbis(byte[] bytes, double? maxSeconds)
    {
        try
        {
            using var reader = new NVorbis.VorbisReader(new MemoryStream(bytes, writable: false), closeOnDispose: true);
            int channels = reader.Channels, rate = reader.SampleRate;
            if (channels < 1 || rate < 1) throw new InvalidDataException($"the Vorbis header gives {channels} channels at {rate} Hz");
            long limit = Math.Min(Array.MaxLength / channels * channels, maxSeconds is double s ? (long)Math.Ceiling(s * rate) * channels : long.MaxValue);
            // Decoded straight into one array, sized from the stream's stated length when it has one.
            long stated = reader.TotalSamples * channels;
            var data = new float[Math.Min(limit, stated > 0 ? stated : 1L << 16)];
            int count = 0;
            while (count < limit)
            {
                if (count == data.Length) Array.Resize(ref data, (int)Math.Min(limit, 2L * data.Length));
                int n = reader.ReadSamples(data, count, Math.Min(data.Length - count, 1 << 16) / channels * channels);
                if (n <= 0) break;
                count += n;
            }
            if (count != data.Length) Array.Resize(ref data, count);
            return new DecodedAudio(data, channels, rate);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException or EndOfStreamException or NotSupportedException)
        {
            // NVorbis reports a stream it cannot read (Opus or FLAC in Ogg, a damaged header) with ArgumentException.
            throw new InvalidDataException($"not a readable Ogg Vorbis stream ({e.Message}); Ogg files must hold Vorbis audio (not Opus or FLAC)", e);
        }
    }
}
