namespace Pretext.Data;

/// <summary>How a run reads a folder of images; travels in config.json as <c>images</c>. Side and channels are the encoder's.</summary>
public sealed record ImageDataConfig
{
    /// <summary>The default <see cref="MaxMegapixels"/>: decoding needs about 16 bytes a pixel (RGBA plus float planes), so 40
    /// megapixels is about 640 MB per image being decoded, and a folder of photos (12-50 MP) mostly passes.</summary>
    public const double DefaultMaxMegapixels = 40;

    /// <summary>Leave out files that cannot be decoded (each named in the log) instead of stopping at them (CLI: --skip-bad).</summary>
    public bool SkipBad { get; init; }
    /// <summary>Images whose header declares more pixels than this many millions are skipped before decoding, with a warning
    /// naming the file and its size (CLI: --max-megapixels).</summary>
    public double MaxMegapixels { get; init; } = DefaultMaxMegapixels;

    /// <summary>The loader's options for these settings.</summary>
    /// <exception cref="ArgumentException"><see cref="MaxMegapixels"/> is not a positive number.</exception>
    public ImageFolderOptions Options(Action<string>? log)
    {
        if (!(MaxMegapixels > 0) || double.IsInfinity(MaxMegapixels))
            throw new ArgumentException($"--max-megapixels must be a positive number of megapixels, got {MaxMegapixels}.");
        return new ImageFolderOptions { SkipBad = SkipBad, MaxPixels = (long)Math.Min(MaxMegapixels * 1e6, long.MaxValue / 2), Log = log };
    }
}
