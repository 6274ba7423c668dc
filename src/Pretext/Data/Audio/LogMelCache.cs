using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pretext.Export;
using static TorchSharp.torch;

namespace Pretext.Data;

/// <summary>
/// Decoded clips' features (the log-mels) kept in the data cache, so a repeated run on the same files with the same front end
/// skips decoding, resampling and the STFT (about 45 s for fillets-speaker on the 2-core machine). An entry is keyed by a SHA-256
/// of the front end's settings (<paramref name="settings"/>, e.g. the log-mel options as JSON), the clip settings that shape the
/// waveform (rate, length, padding, whether bad files are left out), and every file's id, size and modification time: a changed
/// setting or file is a miss, never a stale hit. Labels are not cached (they come from names and folders each run).
/// <para>File layout: "PTXMEL01", a little-endian int32 header length, the header as JSON (shape, the ids kept, the files left
/// out), the features as little-endian float32, then the SHA-256 of everything before it. Written atomically (temporary file and
/// rename); a file that fails any check is reported, deleted and rebuilt.</para>
/// </summary>
/// <param name="folder">Where entries live (the data cache's log-mels folder).</param>
/// <param name="settings">The feature settings, as text; part of every key.</param>
public sealed class LogMelCache(string folder, string settings)
{
    private static readonly byte[] Magic = "PTXMEL01"u8.ToArray();
    private const string KeyVersion = "pretext-log-mel-cache-1";

    public string Folder { get; } = folder;

    /// <summary>Size and modification time of <paramref name="path"/>: the stamp of a source read from that file.</summary>
    public static string Stamp(string path)
    {
        var info = new FileInfo(path);
        return string.Create(CultureInfo.InvariantCulture, $"{info.Length}:{info.LastWriteTimeUtc.Ticks}");
    }

    /// <summary>The entry's path for these sources and clip settings, or null when a source has no stamp (it cannot be cached).</summary>
    public string? PathFor(IReadOnlyList<AudioSource> sources, AudioClipOptions clip)
    {
        if (sources.Any(s => s.Stamp is null)) return null;
        var text = new StringBuilder()
            .Append(KeyVersion).Append('\n').Append(settings).Append('\n')
            .Append(CultureInfo.InvariantCulture, $"{clip.SampleRate}|{clip.Seconds:R}|{clip.Padding}|{clip.SkipBad}\n");
        foreach (var s in sources) text.Append(s.Id).Append('\t').Append(s.Stamp).Append('\n');
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))).ToLowerInvariant();
        return Path.Combine(Folder, key[..32] + ".logmel");
    }

    private sealed record Header(long[] Shape, string[] Ids, string[] Skipped);

    /// <summary>The cached features, the ids kept and the files left out, or null on a miss; a damaged file is reported through <paramref name="log"/>, deleted, and a miss.</summary>
    public (Tensor Features, string[] Ids, string[] Skipped)? TryLoad(string path, Action<string>? log)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var bytes = File.ReadAllBytes(path);
            int body = bytes.Length - 32;
            if (body < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw new InvalidDataException("not a log-mel cache file");
            if (!SHA256.HashData(bytes.AsSpan(0, body)).AsSpan().SequenceEqual(bytes.AsSpan(body))) throw new InvalidDataException("its checksum does not match (truncated or damaged)");
            int headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Magic.Length));
            int dataStart = Magic.Length + 4 + headerLength;
            if (headerLength < 2 || dataStart > body) throw new InvalidDataException("its header length is out of range");
            var header = JsonSerializer.Deserialize<Header>(bytes.AsSpan(Magic.Length + 4, headerLength)) ?? throw new InvalidDataException("no header");
            long count = header.Shape.Aggregate(1L, (a, b) => a * b);
            if (header.Shape.Length < 1 || header.Shape[0] != header.Ids.Length || count * 4 != body - dataStart) throw new InvalidDataException("its shape does not match its data");
            var values = new float[count];
            Buffer.BlockCopy(bytes, dataStart, values, 0, (int)(count * 4));
            if (!BitConverter.IsLittleEndian) throw new InvalidDataException("big-endian machines do not read the cache");
            return (tensor(values, header.Shape), header.Ids, header.Skipped);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException or OverflowException or ArgumentException)
        {
            log?.Invoke($"warning: the log-mel cache file {path} is damaged ({e.Message}); decoding the clips again and rebuilding it.");
            try { File.Delete(path); } catch (IOException) { }
            return null;
        }
    }

    /// <summary>Writes an entry atomically. Features over 2 GB are not cached (the cache reads a file into one array); that is logged.</summary>
    public void Save(string path, Tensor features, string[] ids, IReadOnlyList<string> skipped, Action<string>? log)
    {
        long bytes = features.numel() * 4;
        if (bytes > int.MaxValue - (1 << 20))
        {
            log?.Invoke($"The log-mels ({bytes / (1 << 20)} MB) are too large for the cache; they will be computed again next time.");
            return;
        }
        var values = features.contiguous().to(ScalarType.Float32).data<float>().ToArray();
        var header = JsonSerializer.SerializeToUtf8Bytes(new Header(features.shape, ids, [.. skipped]));
        var buffer = new byte[Magic.Length + 4 + header.Length + bytes];
        Magic.CopyTo(buffer, 0);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(Magic.Length), header.Length);
        header.CopyTo(buffer, Magic.Length + 4);
        Buffer.BlockCopy(values, 0, buffer, Magic.Length + 4 + header.Length, (int)bytes);
        var hash = SHA256.HashData(buffer);
        Directory.CreateDirectory(Folder);
        AtomicFile.Write(path, s => { s.Write(buffer); s.Write(hash); });
    }
}
