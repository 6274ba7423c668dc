using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Pretext.Tests.Data;

/// <summary>Writers for small IDX and PNG files, and a temporary folder that removes itself.</summary>
internal static class TestFiles
{
    /// <summary>Writes a uint8 IDX file: magic 0x0000 08 rank, big-endian dims, then <paramref name="values"/>.</summary>
    public static void WriteIdx(string path, byte[] values, int[] dims, bool gzip, int? magicOverride = null)
    {
        var bytes = IdxBytes(values, dims, magicOverride);
        using var file = File.Create(path);
        if (gzip)
        {
            using var gz = new GZipStream(file, CompressionLevel.Fastest);
            gz.Write(bytes);
        }
        else
        {
            file.Write(bytes);
        }
    }

    public static byte[] IdxBytes(byte[] values, int[] dims, int? magicOverride = null)
    {
        var bytes = new byte[4 + 4 * dims.Length + values.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magicOverride ?? (0x0800 | dims.Length));
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        values.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    /// <summary>Deterministic pixel values for n images of rows x cols.</summary>
    public static byte[] Pixels(int n, int rows, int cols) =>
        Enumerable.Range(0, n * rows * cols).Select(i => (byte)((i * 37 + 11) % 256)).ToArray();

    /// <summary>
    /// Encodes an 8-bit PNG with colour type 0 (grey, 1 byte/pixel), 2 (RGB, 3) or 6 (RGBA, 4). Rows use filter
    /// type 0 and the zlib stream comes from ZLibStream; chunk CRCs are computed here.
    /// </summary>
    public static byte[] Png(int width, int height, int bytesPerPixel, Func<int, int, byte[]> pixel)
    {
        byte colourType = bytesPerPixel switch { 1 => 0, 3 => 2, 4 => 6, _ => throw new ArgumentOutOfRangeException(nameof(bytesPerPixel)) };
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < width; x++) raw.Write(pixel(x, y));
        }
        return Assemble(width, height, colourType, raw.ToArray());
    }

    /// <summary>A valid PNG header that declares <paramref name="width"/> x <paramref name="height"/> grey pixels, followed by
    /// pixel data for one row only: what a decoder sees before it allocates, at the cost of a few bytes on disk.</summary>
    public static byte[] PngClaiming(int width, int height) =>
        Assemble(width, height, colourType: 0, new byte[1 + width]);

    /// <summary>An 8-bit PNG of <paramref name="width"/> x <paramref name="height"/> whose IDAT holds <paramref name="rows"/> (filter bytes included), zlib-compressed.</summary>
    private static byte[] Assemble(int width, int height, byte colourType, byte[] rows)
    {
        var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) z.Write(rows);
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colourType;
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        png.Write(four);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc32(typeAndData));
        png.Write(four);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xffffffff;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xedb88320 : crc >> 1;
        }
        return ~crc;
    }
}
