using Pretext.Export;
using SkiaSharp;
using static TorchSharp.torch;

namespace Pretext.Reporting;

/// <summary>
/// A PNG of frames side by side: for each clip one row of its true frames 1..T-1 and, below it, one row of the frames predicted
/// for them, so a reader sees where predictions blur or lag. Frames are drawn at <c>scale</c> pixels per pixel, separated by
/// grey lines.
/// </summary>
public static class FrameStrip
{
    private const int Gap = 2;
    private static readonly SKColor Separator = new(128, 128, 128);

    /// <summary>Writes the strip of <paramref name="truth"/> and <paramref name="predicted"/>, both (K, F, C, S, S) in [0, 1] (C 1 or 3), to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">Shapes that differ or are not (K, F, C, S, S) with 1 or 3 channels.</exception>
    public static void Write(string path, Tensor truth, Tensor predicted, int scale = 2)
    {
        if (truth.dim() != 5 || !truth.shape.SequenceEqual(predicted.shape) || truth.shape[2] is not (1 or 3))
            throw new ArgumentException($"A frame strip takes true and predicted frames of one shape (K, F, C, S, S) with 1 or 3 channels, got [{string.Join(",", truth.shape)}] and [{string.Join(",", predicted.shape)}].");
        if (scale < 1) throw new ArgumentException($"Scale must be at least 1, got {scale}.");
        int k = (int)truth.shape[0], f = (int)truth.shape[1], c = (int)truth.shape[2], h = (int)truth.shape[3], w = (int)truth.shape[4];
        int cellW = w * scale + Gap, cellH = h * scale + Gap;
        using var bitmap = new SKBitmap(f * cellW + Gap, 2 * k * cellH + Gap, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(Separator);
        var rows = new[] { Pixels(truth), Pixels(predicted) };
        long frame = (long)c * h * w;
        for (int clip = 0; clip < k; clip++)
            for (int kind = 0; kind < 2; kind++)
                for (int t = 0; t < f; t++)
                {
                    long offset = ((long)clip * f + t) * frame;
                    int x0 = Gap + t * cellW, y0 = Gap + (2 * clip + kind) * cellH;
                    for (int y = 0; y < h * scale; y++)
                        for (int x = 0; x < w * scale; x++)
                        {
                            long p = offset + (long)(y / scale) * w + x / scale;
                            var px = rows[kind];
                            var color = c == 1 ? new SKColor(px[p], px[p], px[p]) : new SKColor(px[p], px[p + h * w], px[p + 2 * h * w]);
                            bitmap.SetPixel(x0 + x, y0 + y, color);
                        }
                }
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, s => png.SaveTo(s));
    }

    private static byte[] Pixels(Tensor frames)
    {
        using var scope = NewDisposeScope();
        return frames.to(ScalarType.Float32).clamp(0, 1).mul(255).round().to(ScalarType.Byte).contiguous().data<byte>().ToArray();
    }
}
