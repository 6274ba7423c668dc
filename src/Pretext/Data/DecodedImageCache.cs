using System.Security.Cryptography;
using System.Text;
using Pretext.Export;

namespace Pretext.Data;

/// <summary>
/// The decoded pixels of an image folder kept between runs, so a second run over the same folder does not decode again (issue 24).
/// One file per folder and decoding settings (size, channels, the megapixel limit), named by a hash of them, in the cache folder.
/// An entry is used when its file's relative path, length and last-write time are unchanged (as make and rsync judge files); any
/// other file is decoded. Only decoded images are kept: undecodable and oversized files are checked again every run, so their
/// messages never go stale. The file is written atomically after a load that decoded anything; a cache file that cannot be read
/// (damaged, from another version) is ignored with a log line and replaced.
/// </summary>
internal sealed class DecodedImageCache
{
    private static readonly byte[] Magic = "PTXDEC1\n"u8.ToArray();

    private readonly string path;
    private readonly int sampleBytes;
    private readonly Dictionary<string, (long Length, long Ticks, long Offset)> entries = new(StringComparer.Ordinal);
    private long blobStart;

    private DecodedImageCache(string path, int sampleBytes)
    {
        this.path = path;
        this.sampleBytes = sampleBytes;
    }

    /// <summary>The cache file of folder <paramref name="root"/> at these settings.</summary>
    public static string FileFor(string cacheFolder, string root, int size, int channels, long maxPixels)
    {
        var key = Encoding.UTF8.GetBytes($"{root}|{size}|{channels}|{maxPixels}");
        return Path.Combine(cacheFolder, Convert.ToHexString(SHA256.HashData(key))[..20].ToLowerInvariant() + ".pixels");
    }

    /// <summary>Opens the cache at <paramref name="path"/>: empty when there is none or it cannot be read (said through <paramref name="log"/>).</summary>
    public static DecodedImageCache Open(string path, int sampleBytes, Action<string>? log)
    {
        var cache = new DecodedImageCache(path, sampleBytes);
        if (!File.Exists(path)) return cache;
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic) || reader.ReadInt32() != sampleBytes)
                throw new InvalidDataException("not a decoded-image cache of these settings");
            int count = reader.ReadInt32();
            if (count < 0) throw new InvalidDataException("negative entry count");
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                long length = reader.ReadInt64(), ticks = reader.ReadInt64();
                cache.entries[name] = (length, ticks, (long)i * sampleBytes);
            }
            cache.blobStart = stream.Position;
            if (stream.Length != cache.blobStart + (long)count * sampleBytes) throw new InvalidDataException("its pixel data is cut short");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException or UnauthorizedAccessException)
        {
            log?.Invoke($"The decoded-image cache '{path}' could not be read ({e.Message}); decoding the folder again, the cache will be rewritten.");
            cache.entries.Clear();
        }
        return cache;
    }

    /// <summary>How many entries the cache holds.</summary>
    public int Count => entries.Count;

    /// <summary>
    /// Copies the cached pixels of every file of <paramref name="files"/> (named <paramref name="names"/>, relative to the folder) whose
    /// length and last-write time are unchanged into its slot of <paramref name="pixels"/>, in one pass over the cache file; returns
    /// which were copied. A read failure part-way counts as no cache: every file is then decoded.
    /// </summary>
    public bool[] ReadUnchanged(IReadOnlyList<string> names, IReadOnlyList<string> files, byte[] pixels)
    {
        var read = new bool[files.Count];
        if (entries.Count == 0) return read;
        try
        {
            using var stream = File.OpenRead(path);
            for (int i = 0; i < files.Count; i++)
            {
                if (!entries.TryGetValue(names[i], out var e)) continue;
                var file = new FileInfo(files[i]);
                if (e.Length != file.Length || e.Ticks != file.LastWriteTimeUtc.Ticks) continue;
                stream.Seek(blobStart + e.Offset, SeekOrigin.Begin);
                stream.ReadExactly(pixels.AsSpan((int)((long)i * sampleBytes), sampleBytes));
                read[i] = true;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Array.Clear(read);
        }
        return read;
    }

    /// <summary>
    /// Writes the cache of the images <paramref name="keep"/> (indices into <paramref name="files"/>, named <paramref name="names"/>
    /// relative to the folder; their pixels are at the same index of <paramref name="pixels"/>), atomically. A failure to write only
    /// costs the next run a decode: it is logged, not thrown.
    /// </summary>
    public static void Write(string path, IReadOnlyList<string> names, IReadOnlyList<string> files, IReadOnlyList<int> keep, byte[] pixels, int sampleBytes, Action<string>? log)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.Write(path, stream =>
            {
                using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                writer.Write(Magic);
                writer.Write(sampleBytes);
                writer.Write(keep.Count);
                foreach (int i in keep)
                {
                    var info = new FileInfo(files[i]);
                    writer.Write(names[i]);
                    writer.Write(info.Length);
                    writer.Write(info.LastWriteTimeUtc.Ticks);
                }
                foreach (int i in keep) writer.Write(pixels, (int)((long)i * sampleBytes), sampleBytes);
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log?.Invoke($"Could not write the decoded-image cache '{path}' ({e.Message}); the next run will decode the folder again.");
        }
    }
}
