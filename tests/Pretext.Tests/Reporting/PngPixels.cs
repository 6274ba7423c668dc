using StbImageSharp;

namespace Pretext.Tests.Reporting;

/// <summary>A decoded PNG as RGBA bytes, with the pixel counts the picture tests need.</summary>
internal sealed class PngPixels
{
    private PngPixels(int width, int height, byte[] rgba) { Width = width; Height = height; Rgba = rgba; }

    public int Width { get; }
    public int Height { get; }
    public byte[] Rgba { get; }

    public static PngPixels Load(string path)
    {
        var image = ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.RedGreenBlueAlpha);
        return new PngPixels(image.Width, image.Height, image.Data);
    }

    /// <summary>Pixels in rows [top, bottom) whose colour is within <paramref name="tolerance"/> per channel of (r, g, b).</summary>
    public int Count(int r, int g, int b, int tolerance = 24, int top = 0, int bottom = int.MaxValue)
    {
        int n = 0;
        for (int y = Math.Max(0, top); y < Math.Min(Height, bottom); y++)
            for (int x = 0; x < Width; x++)
            {
                int o = 4 * (y * Width + x);
                if (Math.Abs(Rgba[o] - r) <= tolerance && Math.Abs(Rgba[o + 1] - g) <= tolerance && Math.Abs(Rgba[o + 2] - b) <= tolerance) n++;
            }
        return n;
    }

    /// <summary>Pixels in rows [top, bottom) that are not (near) white.</summary>
    public int NonWhite(int top = 0, int bottom = int.MaxValue)
    {
        int n = 0;
        for (int y = Math.Max(0, top); y < Math.Min(Height, bottom); y++)
            for (int x = 0; x < Width; x++)
            {
                int o = 4 * (y * Width + x);
                if (Rgba[o] < 235 || Rgba[o + 1] < 235 || Rgba[o + 2] < 235) n++;
            }
        return n;
    }

    /// <summary>Variance of the grey level over the whole picture (0 for a blank one).</summary>
    public double GreyVariance()
    {
        double sum = 0, sq = 0;
        int n = Width * Height;
        for (int i = 0; i < n; i++)
        {
            double v = 0.299 * Rgba[4 * i] + 0.587 * Rgba[4 * i + 1] + 0.114 * Rgba[4 * i + 2];
            sum += v;
            sq += v * v;
        }
        double mean = sum / n;
        return sq / n - mean * mean;
    }
}
