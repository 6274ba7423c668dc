using System.Text.RegularExpressions;

namespace Pretext.Data;

/// <summary>How an image folder is read beyond its pixels (image runs).</summary>
public sealed record ImageDataConfig
{
    /// <summary>
    /// A regular expression over each image's path relative to the folder (with '/') whose first capture group (else the whole match)
    /// names the entity the image belongs to: <c>^(patient\d+)_</c> puts <c>patient7_scan2.png</c> with patient7. Null: no entities.
    /// </summary>
    public string? Entity { get; init; }
    /// <summary>
    /// Same-entity positives: contrastive pretraining (SimCLR) pairs a view of each image with a view of another image of the same
    /// entity (the image itself when its entity has one image), as multi-instance contrastive learning does (Azizi et al. 2021). Off by default.
    /// </summary>
    public bool EntityPositives { get; init; }

    /// <summary>The default <see cref="MaxMegapixels"/>: decoding needs about 16 bytes a pixel (RGBA plus float planes), so 40
    /// megapixels is about 640 MB per image being decoded, and a folder of photos (12-50 MP) mostly passes.</summary>
    public const double DefaultMaxMegapixels = 40;

    /// <summary>Leave out files that cannot be decoded (each named in the log) instead of stopping at them (CLI: --skip-bad).</summary>
    public bool SkipBad { get; init; }
    /// <summary>Images whose header declares more pixels than this many millions are skipped before decoding, with a warning
    /// naming the file and its size (CLI: --max-megapixels).</summary>
    public double MaxMegapixels { get; init; } = DefaultMaxMegapixels;

    /// <summary>
    /// Keep a folder's decoded pixels in the data cache (<c>decoded-images/</c> under the --data-dir, $PRETEXT_DATA or
    /// ~/.cache/pretext/data) so the next run over the unchanged folder does not decode it again. On by default; the file holds
    /// every kept image at the run's size (N x channels x size x size bytes).
    /// </summary>
    public bool DecodedCache { get; init; } = true;

    /// <summary>The loader's options for these settings; <paramref name="dataDir"/> is the run's --data-dir (null: the default cache folder).</summary>
    /// <exception cref="ArgumentException"><see cref="MaxMegapixels"/> is not a positive number.</exception>
    public ImageFolderOptions Options(Action<string>? log, string? dataDir = null)
    {
        if (!(MaxMegapixels > 0) || double.IsInfinity(MaxMegapixels))
            throw new ArgumentException($"--max-megapixels must be a positive number of megapixels, got {MaxMegapixels}.");
        return new ImageFolderOptions
        {
            SkipBad = SkipBad, MaxPixels = (long)Math.Min(MaxMegapixels * 1e6, long.MaxValue / 2), Log = log,
            CacheFolder = DecodedCache ? Path.Combine(DataCatalog.ResolveCacheFolder(dataDir), "decoded-images") : null,
        };
    }

    /// <summary>The entity of each of <paramref name="paths"/> by <see cref="Entity"/>.</summary>
    /// <exception cref="ArgumentException">No pattern, a pattern that does not parse, or a path it does not match (the message names it and the fix).</exception>
    public string[] EntitiesOf(IReadOnlyList<string> paths, string folder)
    {
        if (Entity is null) throw new ArgumentException("images.entityPositives is on, but no entity pattern is set; give one with --set 'images.entity=^(patient[0-9]+)_'.");
        Regex pattern;
        try { pattern = new Regex(Entity, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw new ArgumentException($"images.entity '{Entity}' is not a regular expression ({e.Message}).", e); }
        var entities = new string[paths.Count];
        for (int i = 0; i < paths.Count; i++)
        {
            var m = pattern.Match(paths[i]);
            if (!m.Success || m.Length == 0 && !(m.Groups.Count > 1 && m.Groups[1].Success))
                throw new ArgumentException($"'{folder}': image '{paths[i]}' does not match images.entity '{Entity}', so it has no entity. Fix the pattern or rename the file.");
            entities[i] = m.Groups.Count > 1 && m.Groups[1].Success ? m.Groups[1].Value : m.Value;
        }
        return entities;
    }
}

/// <summary>A dataset with entity groups added (<see cref="IDataset.Entities"/>), everything else passed through.</summary>
public sealed class WithEntities(IDataset inner, EntityGroups groups) : IDataset
{
    public string Name => inner.Name;
    public long Count => inner.Count;
    public long[] SampleShape => inner.SampleShape;
    public int[]? Labels => inner.Labels;
    public IReadOnlyList<string> ClassNames => inner.ClassNames;
    public TorchSharp.torch.Tensor Gather(ReadOnlySpan<long> indices) => inner.Gather(indices);
    public string SampleId(long index) => inner.SampleId(index);
    public EntityGroups? Entities { get; } = groups.Count == inner.Count ? groups
        : throw new ArgumentException($"Dataset '{inner.Name}': entity groups for {groups.Count} samples, but it holds {inner.Count}.");
}
