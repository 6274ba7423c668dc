using System.Buffers.Binary;
using System.Text;

namespace Pretext.Data;

/// <summary>
/// Reads RIFF WAVE files: integer PCM (8-bit unsigned, 16, 24 and 32-bit signed) and IEEE float (32 and 64-bit), in the
/// plain or the WAVE_FORMAT_EXTENSIBLE header, any number of channels. Integer samples are divided by 2^(bits-1), so they
/// come back in [-1, 1). Chunks other than "fmt " and "data" are skipped; a "data" chunk whose size runs past the end of
/// the file (as streaming writers leave it) is read up to the end.
/// </summary>
public static class WavReader
{
    private const ushort Pcm = 1, IeeeFloat = 3, Extensible = 0xFFFE;

    /// <summary>Whether <paramref name="bytes"/> start like a RIFF WAVE file.</summary>
    public static bool IsWav(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= 12 && bytes[..4].SequenceEqual("RIFF"u8) && bytes[8..12].SequenceEqual("WAVE"u8);

    /// <summary>Decodes a WAVE file, stopping after <paramref name="maxSeconds"/> of audio when given.</summary>
    /// <exception cref="InvalidDataException">Not a WAVE file, no "fmt " or "data" chunk, or an encoding other than PCM or float; the message says which.</exception>
    public static DecodedAudio Read(byte[] bytes, double? maxSeconds = null)
    {
        if (!IsWav(bytes))
            throw new InvalidDataException(bytes.Length >= 4 && bytes.AsSpan(0, 4).SequenceEqual("RIFX"u8)
                ? "a big-endian RIFX file; convert it to an ordinary (little-endian) WAV"
                : "not a RIFF WAVE file");
        ushort format = 0, channels = 0, blockAlign = 0, bits = 0;
        int rate = 0;
        bool haveFormat = false;
        int pos = 12;
        while (pos + 8 <= bytes.Length)
        {
            string id = Encoding.ASCII.GetString(bytes, pos, 4);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 4));
            int body = pos + 8;
            if (id == "fmt ")
            {
                if (size < 16 || body + 16 > bytes.Length) throw new InvalidDataException($"its \"fmt \" chunk is {size} bytes, shorter than the 16 a WAVE format needs");
                var f = bytes.AsSpan(body);
                format = BinaryPrimitives.ReadUInt16LittleEndian(f);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(f[2..]);
                rate = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(f[4..]));
                blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(f[12..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(f[14..]);
                // WAVE_FORMAT_EXTENSIBLE names the real encoding in the first two bytes of its sub-format GUID.
                if (format == Extensible && size >= 40 && body + 26 <= bytes.Length) format = BinaryPrimitives.ReadUInt16LittleEndian(f[24..]);
                haveFormat = true;
            }
            else if (id == "data")
            {
                if (!haveFormat) throw new InvalidDataException("its \"data\" chunk comes before any \"fmt \" chunk");
                Check(format, channels, rate, blockAlign, bits);
                long available = Math.Min(size, bytes.Length - body);
                long frames = available / blockAlign;
                if (maxSeconds is double s) frames = Math.Min(frames, (long)Math.Ceiling(s * rate));
                if (frames * channels > Array.MaxLength) throw new InvalidDataException($"it holds {frames} frames, more than one array can hold");
                return new DecodedAudio(Samples(bytes.AsSpan(body, (int)(frames * blockAlign)), format, bits, (int)(frames * channels)), channels, rate);
            }
            pos = (int)Math.Min(bytes.Length, body + size + (size & 1)); // chunks are padded to an even size
        }
        throw new InvalidDataException(haveFormat ? "it has no \"data\" chunk" : "it has no \"fmt \" chunk");
    }

    private static void Check(ushort format, ushort channels, int rate, ushort blockAlign, ushort bits)
    {
        if (format is not (Pcm or IeeeFloat))
            throw new InvalidDataException($"its encoding is format tag 0x{format:X4}, not PCM (1) or IEEE float (3); convert it, e.g. `ffmpeg -i in.wav -c:a pcm_s16le out.wav`");
        bool supported = format == Pcm ? bits is 8 or 16 or 24 or 32 : bits is 32 or 64;
        if (!supported) throw new InvalidDataException($"it stores {bits}-bit {(format == Pcm ? "integer" : "float")} samples; readable are 8/16/24/32-bit integer and 32/64-bit float");
        if (channels < 1) throw new InvalidDataException("its header gives 0 channels");
        if (rate < 1) throw new InvalidDataException("its header gives a sample rate of 0 Hz");
        if (blockAlign != channels * bits / 8)
            throw new InvalidDataException($"its header is inconsistent: {channels} channels of {bits} bits need {channels * bits / 8} bytes per frame, not {blockAlign}");
    }

    private static float[] Samples(ReadOnlySpan<byte> data, ushort format, int bits, int count)
    {
        var result = new float[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = (format, bits) switch
            {
                (Pcm, 8) => (data[i] - 128) / 128f,
                (Pcm, 16) => BinaryPrimitives.ReadInt16LittleEndian(data[(2 * i)..]) / 32768f,
                (Pcm, 24) => ((data[3 * i] | data[3 * i + 1] << 8 | data[3 * i + 2] << 16) << 8 >> 8) / 8388608f,
                (Pcm, _) => (float)(BinaryPrimitives.ReadInt32LittleEndian(data[(4 * i)..]) / 2147483648.0),
                (_, 32) => BinaryPrimitives.ReadSingleLittleEndian(data[(4 * i)..]),
                _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(data[(8 * i)..]),
            };
        }
        return result;
    }
}
