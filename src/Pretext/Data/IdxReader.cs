using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Data;

/// <summary>
/// Reads IDX files, the format MNIST and Fashion-MNIST ship in: a 4-byte magic (two zero bytes, a type
/// code, the number of dimensions), one big-endian int32 per dimension, then the values row-major.
/// Only unsigned-byte data (type code 0x08) is supported, which is all those data sets use. Files may be
/// gzip-compressed (detected by the gzip magic 1f 8b, not by the file name) or raw.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic of a 3-D uint8 file (images: count, rows, columns).</summary>
    public const int ImagesMagic = 0x00000803;
    /// <summary>Magic of a 1-D uint8 file (labels: count).</summary>
    public const int LabelsMagic = 0x00000801;

    private const byte UnsignedByteType = 0x08;
    // Far above any real IDX file; guards against a corrupt header asking for an absurd allocation.
    private const long MaxPayloadBytes = 1L << 31;

    /// <summary>
    /// Reads a uint8 IDX file of the given rank and checks its header against its size.
    /// </summary>
    /// <param name="path">A raw or gzip-compressed IDX file.</param>
    /// <param name="expectedRank">Number of dimensions the caller needs (3 for images, 1 for labels).</param>
    /// <param name="fixHint">How to repair a bad file, appended to error messages; a generic hint when null.</param>
    /// <returns>The values row-major and the dimension sizes.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// Wrong magic, wrong rank, a broken gzip stream, or a byte count that does not equal the product of
    /// the dimensions (truncated or oversized file). The message names the file, what was expected and found,
    /// and the fix.
    /// </exception>
    public static (byte[] Data, int[] Dims) ReadIdx(string path, int expectedRank, string? fixHint = null)
    {
        if (expectedRank < 1 || expectedRank > 255) throw new ArgumentOutOfRangeException(nameof(expectedRank), expectedRank, "An IDX rank is between 1 and 255.");
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        var fix = fixHint ?? "delete it and fetch it again (for a catalogued data set: `pretext data get <name>`, e.g. `pretext data get fashion-mnist`)";
        InvalidDataException Bad(string what) => new($"IDX file '{path}' is not usable: {what}. To fix it, {fix}.");

        byte[] bytes;
        bool gzip;
        try
        {
            (bytes, gzip) = ReadAllDecompressed(path);
        }
        catch (InvalidDataException e)
        {
            throw Bad($"its gzip stream is corrupt or truncated ({e.Message})");
        }
        catch (EndOfStreamException e)
        {
            throw Bad($"its gzip stream ends early ({e.Message})");
        }
        var kind = gzip ? "decompressed " : "";

        if (bytes.Length < 4) throw Bad($"expected at least a 4-byte header, found {bytes.Length} {kind}bytes");
        int magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        int expectedMagic = (UnsignedByteType << 8) | expectedRank;
        if (magic != expectedMagic)
            throw Bad($"expected magic 0x{expectedMagic:X8} (uint8, {expectedRank}-D), found 0x{magic:X8}{DescribeMagic(magic)}");

        int headerBytes = 4 + 4 * expectedRank;
        if (bytes.Length < headerBytes)
            throw Bad($"expected a {headerBytes}-byte header, found only {bytes.Length} {kind}bytes");
        var dims = new int[expectedRank];
        long payload = 1;
        for (int d = 0; d < expectedRank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (dims[d] <= 0) throw Bad($"dimension {d} is {dims[d]}, expected a positive size");
            payload *= dims[d];
            if (payload > MaxPayloadBytes) throw Bad($"its header announces more than {MaxPayloadBytes} values, which no IDX data set has");
        }
        long expectedLength = headerBytes + payload;
        if (bytes.Length != expectedLength)
        {
            var how = bytes.Length < expectedLength ? "truncated" : "oversized";
            throw Bad($"{how}: the header ({string.Join(" x ", dims)}) needs exactly {expectedLength} {kind}bytes, found {bytes.Length}");
        }
        return (bytes[headerBytes..], dims);
    }

    /// <summary>
    /// Loads an image file (count, rows, columns) and a label file (count) into a labelled dataset.
    /// </summary>
    /// <param name="imagesPath">3-D uint8 IDX file, raw or gzip.</param>
    /// <param name="labelsPath">1-D uint8 IDX file, raw or gzip.</param>
    /// <param name="name">Dataset name for messages, e.g. "fashion-mnist/test".</param>
    /// <param name="classNames">Names indexed by label; every label must be below its count.</param>
    /// <param name="fixHint">How to repair a bad file, appended to error messages.</param>
    /// <returns>A dataset with uint8 data (N, 1, rows, columns), N labels, and the index as sample id.</returns>
    /// <exception cref="InvalidDataException">
    /// Either file is malformed (see <see cref="ReadIdx"/>), the image and label counts differ, or a label is
    /// outside the class list.
    /// </exception>
    public static TensorDataset LoadImages(string imagesPath, string labelsPath, string name, IReadOnlyList<string> classNames, string? fixHint = null)
    {
        var fix = fixHint ?? "check that both files come from the same data set and split, or delete them and fetch them again";
        var (pixels, imageDims) = ReadIdx(imagesPath, 3, fixHint);
        var (labelBytes, labelDims) = ReadIdx(labelsPath, 1, fixHint);
        if (imageDims[0] != labelDims[0])
            throw new InvalidDataException(
                $"Dataset '{name}': '{imagesPath}' holds {imageDims[0]} images but '{labelsPath}' holds {labelDims[0]} labels; expected equal counts. To fix it, {fix}.");
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = labelBytes[i];
            if (labels[i] >= classNames.Count)
                throw new InvalidDataException(
                    $"Dataset '{name}': label {labels[i]} of sample {i} in '{labelsPath}' is outside the {classNames.Count} known classes (expected 0..{classNames.Count - 1}). To fix it, {fix}.");
        }
        var data = torch.tensor(pixels, new long[] { imageDims[0], 1, imageDims[1], imageDims[2] }, ScalarType.Byte);
        return new TensorDataset(name, data, labels, classNames);
    }

    /// <summary>True when the file starts with the gzip magic bytes 1f 8b.</summary>
    public static bool IsGzip(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        return stream.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && head[0] == 0x1f && head[1] == 0x8b;
    }

    private static (byte[] Bytes, bool Gzip) ReadAllDecompressed(string path)
    {
        if (!IsGzip(path)) return (File.ReadAllBytes(path), false);
        using var file = File.OpenRead(path);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        // Images of the training split are ~47 MB decompressed; start near the usual ratio to limit regrowth.
        using var buffer = new MemoryStream(capacity: (int)Math.Min(file.Length * 2, int.MaxValue / 2));
        gz.CopyTo(buffer);
        return (buffer.ToArray(), true);
    }

    private static string DescribeMagic(int magic)
    {
        if ((magic >> 16) != 0) return " (not an IDX file; an IDX file starts with two zero bytes)";
        int type = (magic >> 8) & 0xff, rank = magic & 0xff;
        return type == UnsignedByteType
            ? $" (a {rank}-D uint8 IDX file)"
            : $" (IDX type code 0x{type:X2}, {rank}-D; only uint8, 0x08, is supported)";
    }
}
