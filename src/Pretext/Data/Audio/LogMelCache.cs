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
/// <para>Size: the folder's entries are kept under <see cref="MaxBytes"/>. After each entry is written, the least recently used
/// others (oldest modification time first; a hit sets an entry's time to now) are deleted until the entries total at most the cap;
/// an entry larger than the cap alone is not written. Only files ending in <see cref="Extension"/> count and are deleted.</para>
/// </summary>
/// <param name="folder">Where entries live (the data cache's log-mels folder).</param>
/// <param name="settings">The feature settings, as text; part of every key.</param>
/// <param name="maxBytes">Cap on the entries' total size in bytes (<see cref="DefaultMaxBytes"/>; <see cref="CapFromEnvironment"/> reads the user's).</param>
public sealed class LogMelCache(string folder, string settings, long maxBytes = LogMelCache.DefaultMaxBytes)
{
    private static readonly byte[] Magic = "PTXMEL01"u8.ToArray();
    private const string KeyVersion = "pretext-log-mel-cache-1";

    /// <summary>
    /// 2 GiB: fillets-speaker's two splits take 270 MB and fillets-language's 232 MB, so both tasks under several front-end settings
    /// fit, while a disk is never filled by runs over many folders or settings.
    /// </summary>
    public const long DefaultMaxBytes = 2L << 30;

    /// <summary>Environment variable with the cap in megabytes (MiB); 0 turns the cache off.</summary>
    public const string CapEnvironmentVariable = "PRETEXT_LOG_MEL_CACHE_MB";

    /// <summary>How entries' file names end.</summary>
    public const string Extension = ".logmel";

    public string Folder { get; } = folder;

    /// <summary>Cap on the total size of the folder's entries, in bytes.</summary>
    public long MaxBytes { get; } = maxBytes > 0 ? maxBytes : throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "The log-mel cache's cap must be positive (no cache at all: pass none).");

    /// <summary>The cap in bytes that <paramref name="megabytes"/> (the value of <see cref="CapEnvironmentVariable"/>) sets: unset or blank,
    /// <see cref="DefaultMaxBytes"/>; 0, no cache.</summary>
    /// <exception cref="ArgumentException">Not a whole number of megabytes.</exception>
    public static long ParseCap(string? megabytes)
    {
        if (string.IsNullOrWhiteSpace(megabytes)) return DefaultMaxBytes;
        if (!long.TryParse(megabytes.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long mb) || mb > (long.MaxValue >> 20))
            throw new ArgumentException($"{CapEnvironmentVariable} must be a whole number of megabytes (e.g. 4096; 0 turns the log-mel cache off), got '{megabytes}'.");
        return mb << 20;
    }

    /// <summary>The cap <see cref="CapEnvironmentVariable"/> sets (<see cref="ParseCap"/>): 0 means no cache.</summary>
    /// <exception cref="ArgumentException">The variable is not a whole number of megabytes.</exception>
    public static long CapFromEnvironment() => ParseCap(Environment.GetEnvironmentVariable(CapEnvironmentVariable));

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
        return Path.Combine(Folder, key[..32] + Extension);
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
            // A hit makes the entry the most recently used, the last one pruning deletes.
            try { File.SetLastWriteTimeUtc(path, DateTime.UtcNow); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return (tensor(values, header.Shape), header.Ids, header.Skipped);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException or OverflowException or ArgumentException)
        {
            log?.Invoke($"warning: the log-mel cache file {path} is damaged ({e.Message}); decoding the clips again and rebuilding it.");
            try { File.Delete(path); } catch (IOException) { }
            return null;
        }
    }

    /// <summary>
    /// Writes an entry atomically, then prunes the least recently used other entries down to <see cref="MaxBytes"/> (<see cref="Prune"/>).
    /// Features over 2 GB (the cache reads a file into one array), or an entry larger than the cap, are not cached; that is logged.
    /// </summary>
    public void Save(string path, Tensor features, string[] ids, IReadOnlyList<string> skipped, Action<string>? log)
    {
        long bytes = features.numel() * 4;
        if (bytes > int.MaxValue - (1 << 20))
        {
            log?.Invoke($"The log-mels ({bytes / (1 << 20)} MB) are too large for the cache; they will be computed again next time.");
            return;
        }
        var header = JsonSerializer.SerializeToUtf8Bytes(new Header(features.shape, ids, [.. skipped]));
        long fileBytes = Magic.Length + 4 + header.Length + bytes + 32;
        if (fileBytes > MaxBytes)
        {
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"The log-mels ({Megabytes(fileBytes)} MB) are larger than the log-mel cache's cap of {Megabytes(MaxBytes)} MB ({CapEnvironmentVariable}); they will be computed again next time."));
            return;
        }
        var values = features.contiguous().to(ScalarType.Float32).data<float>().ToArray();
        var buffer = new byte[Magic.Length + 4 + header.Length + bytes];
        Magic.CopyTo(buffer, 0);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(Magic.Length), header.Length);
        header.CopyTo(buffer, Magic.Length + 4);
        Buffer.BlockCopy(values, 0, buffer, Magic.Length + 4 + header.Length, (int)bytes);
        var hash = SHA256.HashData(buffer);
        Directory.CreateDirectory(Folder);
        AtomicFile.Write(path, s => { s.Write(buffer); s.Write(hash); });
        Prune(path, log);
    }

    /// <summary>
    /// Deletes entries, least recently used first (oldest modification time; ties by name), until those left total at most
    /// <see cref="MaxBytes"/>; <paramref name="keep"/> is never deleted. Files that vanish or cannot be deleted meanwhile (another process
    /// using the cache) are passed over. Returns the file names deleted, and logs their count and size.
    /// </summary>
    public IReadOnlyList<string> Prune(string? keep, Action<string>? log)
    {
        if (!Directory.Exists(Folder)) return [];
        string? kept = keep is null ? null : Path.GetFullPath(keep);
        var entries = new DirectoryInfo(Folder).GetFiles("*" + Extension)
            .Where(f => f.Name.EndsWith(Extension, StringComparison.Ordinal))
            .OrderBy(f => f.LastWriteTimeUtc).ThenBy(f => f.Name, StringComparer.Ordinal).ToList();
        long total = entries.Sum(f => f.Length), freed = 0;
        var removed = new List<string>();
        foreach (var f in entries)
        {
            if (total <= MaxBytes) break;
            if (string.Equals(f.FullName, kept, StringComparison.Ordinal)) continue;
            // Read before deleting: Delete invalidates the FileInfo, and its Length would then look for the file.
            long length = f.Length;
            try { f.Delete(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            total -= length;
            freed += length;
            removed.Add(f.Name);
        }
        if (removed.Count > 0)
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"log-mel cache: removed the {removed.Count} least recently used entr{(removed.Count == 1 ? "y" : "ies")} ({Megabytes(freed)} MB) to stay under its cap of {Megabytes(MaxBytes)} MB ({CapEnvironmentVariable})."));
        return removed;
    }

    private static string Megabytes(long bytes) => (bytes / (double)(1 << 20)).ToString(bytes < 10 << 20 ? "0.##" : "0", CultureInfo.InvariantCulture);
}
