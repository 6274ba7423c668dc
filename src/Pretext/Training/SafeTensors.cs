using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Pretext.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Training;

/// <summary>
/// Reader and writer of the safetensors format (an 8-byte little-endian header length, a JSON header
/// mapping names to dtype, shape and byte offsets plus a string "__metadata__" map, then raw
/// little-endian data). It is what PyTorch's safetensors package reads and writes, so checkpoints
/// and exported weights can be exchanged with Python.
/// </summary>
public static class SafeTensors
{
    private static readonly Dictionary<ScalarType, string> DtypeNames = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.BFloat16] = "BF16", [ScalarType.Float16] = "F16",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically
    /// (temp file in the same folder, flushed to disk, then renamed over the target).</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var blobs = new List<byte[]>(names.Count);
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            if (!DtypeNames.TryGetValue(t.dtype, out var dt)) throw new NotSupportedException($"Tensor '{name}' has dtype {t.dtype}, which safetensors export does not support here.");
            // The detached, CPU and contiguous handles are new tensors even when they share t's storage: the scope frees all three
            // now, not at some later garbage collection (the soak bench counted two live handles per tensor left after each checkpoint).
            using var scope = NewDisposeScope();
            var bytes = t.detach().cpu().contiguous().bytes.ToArray();
            blobs.Add(bytes);
            header[name] = new { dtype = dt, shape = t.shape, data_offsets = new[] { offset, offset + bytes.Length } };
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;
        var headerBytes = new byte[json.Length + pad];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < headerBytes.Length; i++) headerBytes[i] = (byte)' ';

        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)headerBytes.Length);
            stream.Write(len);
            stream.Write(headerBytes);
            for (int i = 0; i < blobs.Count; i++)
            {
                // The chaos bench's hook: a pause half-way through the tensors widens the window in which a kill leaves a
                // half-written temp file, so kills inside checkpoint writes are easy to hit. Off unless the variable is set.
                if (i == blobs.Count / 2 && WriteDelay is { } delay) { stream.Flush(); Thread.Sleep(delay); }
                stream.Write(blobs[i]);
            }
        });
    }

    /// <summary>Environment variable: milliseconds to pause in the middle of every safetensors write (testing kills; unset in use).</summary>
    public const string WriteDelayVariable = "PRETEXT_TEST_WRITE_DELAY_MS";

    private static TimeSpan? WriteDelay =>
        int.TryParse(Environment.GetEnvironmentVariable(WriteDelayVariable), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms) : null;

    /// <summary>Reads every tensor and the metadata of a safetensors file. Tensors are detached from any dispose scope; the caller owns them.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated or not safetensors; the message names the file.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        byte[] all = File.ReadAllBytes(path);
        string Bad(string why) => $"'{path}' is not a valid safetensors checkpoint ({why}). It may be truncated or from another program; use an earlier checkpoint or re-run.";
        if (all.Length < 8) throw new InvalidDataException(Bad("shorter than its 8-byte header length"));
        ulong hlen = BinaryPrimitives.ReadUInt64LittleEndian(all);
        if (hlen > (ulong)(all.Length - 8)) throw new InvalidDataException(Bad($"header of {hlen} bytes in a {all.Length}-byte file"));
        JsonDocument doc;
        try { doc = JsonDocument.Parse(all.AsMemory(8, (int)hlen)); }
        catch (JsonException e) { throw new InvalidDataException(Bad("header is not JSON: " + e.Message)); }
        long dataStart = 8 + (long)hlen;
        var tensors = new Dictionary<string, Tensor>();
        var meta = new Dictionary<string, string>();
        using (doc)
        {
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                string dt = prop.Value.GetProperty("dtype").GetString() ?? "";
                var type = DtypeNames.FirstOrDefault(kv => kv.Value == dt).Key;
                if (!DtypeNames.ContainsValue(dt)) throw new InvalidDataException(Bad($"tensor '{prop.Name}' has unsupported dtype {dt}"));
                long[] shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offs = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || dataStart + offs[1] > all.Length)
                    throw new InvalidDataException(Bad($"tensor '{prop.Name}' points outside the file"));
                var t = empty(shape, type);
                long expected = t.NumberOfElements * t.ElementSize;
                if (expected != offs[1] - offs[0]) { t.Dispose(); throw new InvalidDataException(Bad($"tensor '{prop.Name}' has {offs[1] - offs[0]} bytes, shape needs {expected}")); }
                if (expected > 0) t.bytes = all.AsSpan((int)(dataStart + offs[0]), (int)expected);
                tensors[prop.Name] = t.DetachFromDisposeScope();
            }
        }
        return (tensors, meta);
    }
}
