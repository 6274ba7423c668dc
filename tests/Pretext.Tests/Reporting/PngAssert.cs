using System.Buffers.Binary;
using Xunit;

namespace Pretext.Tests.Reporting;

internal static class PngAssert
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Checks the PNG signature and the IHDR dimensions, and that the image is not trivially small.</summary>
    public static void IsPng(string path, int width, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan().StartsWith(Signature), $"{path} lacks the PNG signature");
        // IHDR is always the first chunk: length (4), type (4), then width and height big-endian.
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        // A blank 800x500 canvas compresses to a few hundred bytes; axes, text and lines do not.
        Assert.True(bytes.Length > 8_000, $"{path} is only {bytes.Length} bytes; the chart is probably empty");
    }
}
