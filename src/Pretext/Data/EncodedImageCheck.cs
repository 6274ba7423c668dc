namespace Pretext.Data;

/// <summary>
/// A cheap walk over the structure of an encoded PNG or JPEG before it reaches the decoder. StbImageSharp spins forever on
/// some damaged JPEG headers (a segment length running past the end of the file) and silently decodes files cut short
/// (grey or repeated rows where the data stops), so a truncated copy would train as if it were an image. Both are caught
/// here from the file's own framing: JPEG marker segments and the end-of-image marker, PNG chunks and the IEND chunk.
/// Other formats (BMP, TGA, GIF, PSD) pass through to the decoder unchanged.
/// </summary>
public static class EncodedImageCheck
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>What is wrong with the file's framing, in words a user can act on; null when the framing is sound or the format is not checked.</summary>
    public static string? Problem(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return "the file is empty (0 bytes)";
        if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) return JpegProblem(bytes);
        if (bytes.Length >= 8 && bytes[..8].SequenceEqual(PngSignature)) return PngProblem(bytes);
        return null;
    }

    /// <summary>Throws <see cref="InvalidDataException"/> with <see cref="Problem"/>'s words when the framing is damaged.</summary>
    /// <exception cref="InvalidDataException">The file is empty, or its PNG or JPEG framing is cut short or inconsistent.</exception>
    public static void Check(ReadOnlySpan<byte> bytes)
    {
        if (Problem(bytes) is { } problem) throw new InvalidDataException(problem);
    }

    private static string? JpegProblem(ReadOnlySpan<byte> b)
    {
        int i = 2;
        while (true)
        {
            if (i >= b.Length) return $"truncated JPEG: the file ends at byte {b.Length:N0} inside its header, before any image data (re-copy or re-export it)";
            if (b[i] != 0xFF) return $"damaged JPEG: byte {i:N0} should start a marker (0xFF) but is 0x{b[i]:X2}";
            while (i < b.Length && b[i] == 0xFF) i++; // fill bytes before a marker are allowed
            if (i >= b.Length) return $"truncated JPEG: the file ends at byte {b.Length:N0} inside its header, before any image data (re-copy or re-export it)";
            byte marker = b[i++];
            if (marker == 0xD9) return "damaged JPEG: it ends (end-of-image marker) before any image data";
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue; // markers without a length
            if (i + 2 > b.Length) return $"truncated JPEG: the file ends at byte {b.Length:N0} inside a marker segment (re-copy or re-export it)";
            int length = (b[i] << 8) | b[i + 1];
            if (length < 2) return $"damaged JPEG: marker 0xFF{marker:X2} at byte {i - 2:N0} declares a length of {length}";
            if (i + length > b.Length)
                return $"truncated JPEG: marker 0xFF{marker:X2} at byte {i - 2:N0} declares {length:N0} bytes but the file ends {i + length - b.Length:N0} bytes early (re-copy or re-export it)";
            i += length;
            if (marker == 0xDA) break; // start of scan: entropy-coded data follows
        }
        // In entropy-coded data 0xFF is always followed by 0x00 (stuffing) or a restart/scan marker, so FF D9 is the end of the image.
        if (b[i..].IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) < 0)
            return $"truncated JPEG: its image data has no end-of-image marker; the file was cut short at byte {b.Length:N0} (re-copy or re-export it)";
        return null;
    }

    private static string? PngProblem(ReadOnlySpan<byte> b)
    {
        int i = 8;
        bool first = true;
        while (true)
        {
            if (i + 8 > b.Length) return $"truncated PNG: the file ends at byte {b.Length:N0} before its IEND chunk (re-copy or re-export it)";
            long length = ((long)b[i] << 24) | ((long)b[i + 1] << 16) | ((long)b[i + 2] << 8) | b[i + 3];
            var type = b.Slice(i + 4, 4);
            if (first && !type.SequenceEqual("IHDR"u8)) return "damaged PNG: its first chunk is not IHDR";
            first = false;
            if (length > int.MaxValue || i + 12 + length > b.Length)
                return $"truncated PNG: chunk '{Name(type)}' at byte {i:N0} declares {length:N0} bytes but the file ends at byte {b.Length:N0} (re-copy or re-export it)";
            if (type.SequenceEqual("IEND"u8)) return null;
            i += 12 + (int)length;
        }
    }

    private static string Name(ReadOnlySpan<byte> type)
    {
        Span<char> chars = stackalloc char[4];
        for (int k = 0; k < 4; k++) chars[k] = type[k] is >= 0x20 and < 0x7F ? (char)type[k] : '?';
        return new string(chars);
    }
}
