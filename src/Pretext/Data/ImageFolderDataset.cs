using System.Globalization;
using StbImageSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Data;

/// <summary>Settings of <see cref="ImageFolderDataset.Load(string, int, int, ImageFolderOptions?)"/>.</summary>
public sealed class ImageFolderOptions
{
    /// <summary>
    /// When true, files that cannot be decoded are left out and counted in <see cref="ImageFolderLoad.SkippedFiles"/>
    /// (and reported through <see cref="Log"/>); when false (default) they are an error that names every one of them.
    /// </summary>
    public bool SkipBad { get; init; }
    /// <summary>
    /// Images whose header declares more pixels (width x height) than this are left out before they are decoded, named with
    /// their size through <see cref="Log"/> and in <see cref="ImageFolderLoad.SkippedFiles"/>, whatever <see cref="SkipBad"/>
    /// says: decoding one 21,000 x 30,000 PNG takes 2.5 GB for its RGBA bytes alone. Default: 40 megapixels
    /// (<see cref="ImageDataConfig.DefaultMaxMegapixels"/>).
    /// </summary>
    public long MaxPixels { get; init; } = (long)(ImageDataConfig.DefaultMaxMegapixels * 1e6);
    /// <summary>Files decoded at once. Default: 2, or fewer on a machine with fewer cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Math.Min(2, Environment.ProcessorCount);
    /// <summary>Receives progress and skip reports; nothing is printed when null.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>
    /// A folder for decoded pixels kept between runs (<see cref="DecodedImageCache"/>): a second load of an unchanged folder at the
    /// same size, channels and megapixel limit reads them instead of decoding. Null (default): no cache.
    /// </summary>
    public string? CacheFolder { get; init; }
}

/// <summary>The result of loading a folder: the dataset and the files left out as undecodable.</summary>
/// <param name="Dataset">uint8 (N, C, size, size); sample ids are paths relative to the folder, with '/'.</param>
/// <param name="SkippedFiles">Relative paths of files skipped: above <see cref="ImageFolderOptions.MaxPixels"/>, or undecodable (only with SkipBad).</param>
public sealed record ImageFolderLoad(TensorDataset Dataset, IReadOnlyList<string> SkippedFiles);

/// <summary>
/// Loads a folder of images into memory as one uint8 tensor.
/// <para>Layouts: either one sub-folder per class (labels are the sub-folder names in ordinal order; images may sit
/// in nested folders below a class folder), or images directly in the folder (unlabelled). Files whose names start
/// with '.' are ignored. Readable formats are those StbImageSharp decodes: PNG, JPEG, BMP, TGA, GIF (first frame),
/// PSD.</para>
/// <para>Colour: every image is decoded as RGBA; alpha is composited onto white (so transparent backgrounds, common in
/// icons and sprites, become white rather than black). Grey output is luminance 0.299 R + 0.587 G + 0.114 B (ITU-R
/// BT.601), so a grey input stays exactly the same; RGB output from a grey input repeats the grey value.</para>
/// <para>Size: each image is stretched to size x size (aspect ratio is not kept) with separable bilinear
/// interpolation on pixel centres; when shrinking, the triangle filter is widened by the shrink factor, so every
/// source pixel contributes (area-style antialiasing, as Pillow's BILINEAR does) instead of aliasing.</para>
/// </summary>
public static class ImageFolderDataset
{
    /// <summary>File extensions (lower-case) treated as images.</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".psd"];

    /// <summary>Loads a folder as uint8 (N, <paramref name="channels"/>, size, size).</summary>
    /// <param name="folder">Class sub-folders, or images directly inside.</param>
    /// <param name="size">Output height and width in pixels, at least 1.</param>
    /// <param name="channels">1 (grey) or 3 (RGB).</param>
    /// <param name="options">Skip and parallelism settings; defaults when null.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The folder holds no images, mixes loose images with class folders, a class folder is empty, a file cannot be
    /// decoded (without <see cref="ImageFolderOptions.SkipBad"/>), or every file was skipped. The message names the
    /// folder or file.
    /// </exception>
    public static TensorDataset Load(string folder, int size, int channels, ImageFolderOptions? options = null) =>
        LoadWithReport(folder, size, channels, options).Dataset;

    /// <summary>As <see cref="Load"/>, also returning the files skipped as undecodable.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">See <see cref="Load"/>.</exception>
    public static ImageFolderLoad LoadWithReport(string folder, int size, int channels, ImageFolderOptions? options = null)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "The image size must be at least 1 pixel.");
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 (grey) or 3 (RGB).");
        options ??= new ImageFolderOptions();
        if (options.MaxPixels < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxPixels, "MaxPixels must be at least 1.");
        if (options.MaxDegreeOfParallelism < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be at least 1.");
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
        var root = Path.GetFullPath(folder);

        var (files, labels, classNames) = ListFiles(root);
        options.Log?.Invoke($"{root}: decoding {files.Count} images{(classNames.Count > 0 ? $" in {classNames.Count} classes" : "")}.");

        int sampleBytes = channels * size * size;
        var pixels = new byte[(long)files.Count * sampleBytes];
        var failures = new string?[files.Count];
        var oversized = new (int Width, int Height)?[files.Count];
        var names = files.Select(f => Relative(root, f)).ToArray();
        string? cachePath = options.CacheFolder is { } cacheFolder ? DecodedImageCache.FileFor(cacheFolder, root, size, channels, options.MaxPixels) : null;
        var cache = cachePath is null ? null : DecodedImageCache.Open(cachePath, sampleBytes, options.Log);
        // Unchanged files' pixels come from the cache in one pass over its file; only the rest are read and decoded.
        var cached = cache?.ReadUnchanged(names, files, pixels) ?? new bool[files.Count];
        int fromCache = cached.Count(c => c);
        var progress = new DecodeProgress(root, files.Count - fromCache, options.Log);
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism }, i =>
        {
            if (cached[i]) return;
            var bytes = File.ReadAllBytes(files[i]); // I/O errors are not "bad images": let them surface as they are.
            // The framing first (a damaged JPEG header can hang the decoder; a file cut short decodes as grey rows), then the
            // header: an image too large to decode safely is left out before its pixels cost any memory.
            if (EncodedImageCheck.Problem(bytes) is { } problem)
            {
                failures[i] = problem;
                progress.Done();
                return;
            }
            if (DeclaredSize(bytes) is { } dims && (long)dims.Width * dims.Height > options.MaxPixels)
            {
                oversized[i] = dims;
                progress.Done();
                return;
            }
            try
            {
                DecodePixels(bytes, channels, size, pixels.AsSpan((int)((long)i * sampleBytes), sampleBytes));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures[i] = Printable(e);
            }
            progress.Done();
        });

        var skipped = new List<string>();
        var keep = new List<int>(files.Count);
        var bad = new List<int>();
        var large = new List<int>();
        for (int i = 0; i < files.Count; i++)
        {
            if (oversized[i] is not null) large.Add(i);
            else if (failures[i] is not null) bad.Add(i);
            else keep.Add(i);
        }
        if (large.Count > 0)
        {
            skipped.AddRange(large.Select(i => Relative(root, files[i])));
            options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{root}: skipped {large.Count} image(s) above the limit of {options.MaxPixels / 1e6:0.#} megapixels (raise it with --max-megapixels): ") +
                string.Join(", ", large.Take(20).Select(i => Describe(root, files[i], oversized[i]!.Value))) + (large.Count > 20 ? ", ..." : "") + ".");
        }
        if (bad.Count > 0)
        {
            // Every bad file in one message, so one run finds them all (not one per run).
            string list = string.Join("; ", bad.Take(10).Select(i => $"'{files[i]}' ({failures[i]})")) + (bad.Count > 10 ? $"; and {bad.Count - 10} more" : "");
            if (!options.SkipBad)
                throw new InvalidDataException(bad.Count == 1
                    ? $"Image file {list} could not be decoded. Replace or delete it, or pass --skip-bad (ImageFolderOptions.SkipBad) to leave undecodable files out."
                    : $"{bad.Count} image files could not be decoded: {list}. Replace or delete them, or pass --skip-bad (ImageFolderOptions.SkipBad) to leave undecodable files out.");
            skipped.AddRange(bad.Select(i => Relative(root, files[i])));
            options.Log?.Invoke($"{root}: skipped {bad.Count} undecodable file(s): {string.Join(", ", bad.Take(10).Select(i => $"{Relative(root, files[i])} ({failures[i]})"))}{(bad.Count > 10 ? ", ..." : "")}.");
        }
        if (keep.Count == 0)
            throw new InvalidDataException($"Image folder '{root}': none of its {files.Count} image files could be used ({bad.Count} undecodable, {large.Count} above {options.MaxPixels / 1e6:0.#} megapixels).");

        if (cache is not null)
        {
            if (fromCache > 0)
                options.Log?.Invoke($"{root}: {fromCache:N0} of {files.Count:N0} images read from the decoded-image cache ({cachePath})" +
                    (fromCache < files.Count ? $"; the other {files.Count - fromCache:N0} (new, changed or not decodable) were checked again." : "."));
            // Rewritten when anything was decoded or an entry went stale (a file removed, changed, or now undecodable).
            if (fromCache != keep.Count || cache.Count != keep.Count)
                DecodedImageCache.Write(cachePath!, names, files, keep, pixels, sampleBytes, options.Log);
        }

        byte[] kept = pixels;
        if (keep.Count < files.Count)
        {
            kept = new byte[(long)keep.Count * sampleBytes];
            for (int k = 0; k < keep.Count; k++)
                Array.Copy(pixels, (long)keep[k] * sampleBytes, kept, (long)k * sampleBytes, sampleBytes);
        }
        var data = torch.tensor(kept, new long[] { keep.Count, channels, size, size }, ScalarType.Byte);
        var ids = keep.Select(i => names[i]).ToArray();
        var dataset = new TensorDataset(root, data, labels is null ? null : keep.Select(i => labels[i]).ToArray(), classNames, ids);
        return new ImageFolderLoad(dataset, skipped);
    }

    private static (List<string> Files, int[]? Labels, IReadOnlyList<string> ClassNames) ListFiles(string root)
    {
        var looseImages = ImagesIn(root, SearchOption.TopDirectoryOnly);
        var classFolders = Directory.EnumerateDirectories(root)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();

        if (classFolders.Count == 0)
        {
            if (looseImages.Count == 0)
                throw new InvalidDataException(
                    $"Image folder '{root}' holds no images ({string.Join(", ", ImageExtensions)}) and no class sub-folders. Put the images directly in it (unlabelled) or in one sub-folder per class.");
            return (looseImages, null, []);
        }
        if (looseImages.Count > 0)
            throw new InvalidDataException(
                $"Image folder '{root}' mixes {looseImages.Count} loose image(s) (e.g. '{Path.GetFileName(looseImages[0])}') with {classFolders.Count} class sub-folder(s). " +
                "Move the loose images into a class folder (labelled) or the sub-folders out (unlabelled).");

        var files = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < classFolders.Count; c++)
        {
            var images = ImagesIn(classFolders[c], SearchOption.AllDirectories);
            if (images.Count == 0)
                throw new InvalidDataException(
                    $"Class folder '{classFolders[c]}' holds no images ({string.Join(", ", ImageExtensions)}). Remove it, or add its images; every sub-folder of '{root}' is a class.");
            files.AddRange(images);
            labels.AddRange(Enumerable.Repeat(c, images.Count));
        }
        return (files, labels.ToArray(), classFolders.Select(Path.GetFileName).Select(n => n!).ToArray());
    }

    private static List<string> ImagesIn(string folder, SearchOption depth) =>
        Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = depth == SearchOption.AllDirectories, AttributesToSkip = FileAttributes.Hidden })
            .Where(f => !Path.GetFileName(f).StartsWith('.')
                        && ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())
                        && !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// Decodes one encoded image (PNG, JPEG, BMP, ...) exactly as <see cref="Load"/> decodes a file of a folder (alpha on white, grey or
    /// RGB, stretched to <paramref name="size"/> x <paramref name="size"/>) into <paramref name="output"/>, (C, size, size) uint8: what
    /// serves images one request at a time reads the same pixels a folder gives.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The bytes are no image the decoder reads, or their header declares more than <paramref name="maxPixels"/> pixels (checked before
    /// anything is decoded); the message says which and why.
    /// </exception>
    public static void Decode(byte[] bytes, int channels, int size, Span<byte> output, long maxPixels)
    {
        if (output.Length != channels * size * size)
            throw new ArgumentException($"The output holds {output.Length} bytes; {channels} x {size} x {size} are needed.", nameof(output));
        if (EncodedImageCheck.Problem(bytes) is { } problem) throw new InvalidDataException(problem);
        if (DeclaredSize(bytes) is { } d && (long)d.Width * d.Height > maxPixels)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"the image is {d.Width:N0} x {d.Height:N0} = {(double)d.Width * d.Height / 1e6:0.#} megapixels, above the limit of {maxPixels / 1e6:0.#}"));
        try
        {
            DecodePixels(bytes, channels, size, output);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"not an image the decoder reads (PNG, JPEG, BMP, TGA, GIF, PSD): {Printable(e)}", e);
        }
    }

    private static void DecodePixels(byte[] bytes, int channels, int size, Span<byte> output)
    {
        var image = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlueAlpha);
        if (image.Width < 1 || image.Height < 1 || image.Data.Length < 4L * image.Width * image.Height)
            throw new InvalidDataException($"decoder returned {image.Width}x{image.Height} with {image.Data.Length} bytes");
        Convert(image.Data, image.Width, image.Height, channels, size, output);
    }

    /// <summary>
    /// The exception's message without control characters: StbImageSharp signals bad input with assorted exception types (plain
    /// Exception, IndexOutOfRange...), and some messages carry raw bytes of the file (NUL and other control characters).
    /// </summary>
    private static string Printable(Exception e)
    {
        var message = new string(e.Message.Where(c => !char.IsControl(c)).ToArray()).Trim();
        return message.Length == 0 ? e.GetType().Name : message;
    }

    /// <summary>
    /// Width and height from the file's header, without decoding its pixels; null when the header is not one StbImageSharp reads,
    /// or when the file's framing is damaged (<see cref="EncodedImageCheck"/>: StbImageSharp's header reader can spin forever on some).
    /// </summary>
    public static (int Width, int Height)? HeaderSize(string file) => HeaderSize(File.ReadAllBytes(file));

    /// <summary>As <see cref="HeaderSize(string)"/>, for the file's bytes.</summary>
    public static (int Width, int Height)? HeaderSize(byte[] bytes) => EncodedImageCheck.Problem(bytes) is null ? DeclaredSize(bytes) : null;

    /// <summary>The header's width and height of bytes whose framing was already checked (<see cref="EncodedImageCheck"/>).</summary>
    private static (int Width, int Height)? DeclaredSize(byte[] bytes)
    {
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return ImageInfo.FromStream(stream) is { } info && info.Width > 0 && info.Height > 0 ? (info.Width, info.Height) : null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // the decoder reports what is wrong with the file
        }
    }

    private static string Describe(string root, string file, (int Width, int Height) d) => string.Create(CultureInfo.InvariantCulture,
        $"{Relative(root, file)} ({d.Width:N0} x {d.Height:N0} = {(double)d.Width * d.Height / 1e6:0.#} MP)");

    /// <summary>Log lines while a folder decodes: one per tenth of a large folder and at least one every 10 seconds.</summary>
    private sealed class DecodeProgress(string root, int total, Action<string>? log)
    {
        private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        private readonly object gate = new();
        private int done, nextTenth = 1;
        private TimeSpan lastLine;

        public void Done()
        {
            if (log is null) return;
            lock (gate)
            {
                done++;
                bool tenth = total >= 1000 && done * 10L >= nextTenth * (long)total;
                bool slow = clock.Elapsed - lastLine >= TimeSpan.FromSeconds(10) && done < total;
                if (!tenth && !slow) return;
                while (done * 10L >= nextTenth * (long)total) nextTenth++;
                lastLine = clock.Elapsed;
                log(string.Create(CultureInfo.InvariantCulture, $"{root}: decoded {done:N0} of {total:N0} images ({100.0 * done / total:0} %, {clock.Elapsed.TotalSeconds:0} s)."));
            }
        }
    }

    private static string Relative(string root, string file) => Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>RGBA (H, W, 4) bytes -> alpha on white -> grey or RGB -> resized planes written to <paramref name="output"/> as (C, size, size).</summary>
    internal static void Convert(byte[] rgba, int width, int height, int channels, int size, Span<byte> output)
    {
        int n = width * height;
        var planes = new float[channels][];
        for (int c = 0; c < channels; c++) planes[c] = new float[n];
        for (int p = 0; p < n; p++)
        {
            float a = rgba[4 * p + 3] / 255f;
            float white = 255f * (1f - a);
            float r = rgba[4 * p] * a + white, g = rgba[4 * p + 1] * a + white, b = rgba[4 * p + 2] * a + white;
            if (channels == 1)
            {
                planes[0][p] = 0.299f * r + 0.587f * g + 0.114f * b;
            }
            else
            {
                planes[0][p] = r;
                planes[1][p] = g;
                planes[2][p] = b;
            }
        }
        var horizontal = Weights(width, size);
        var vertical = Weights(height, size);
        var rows = new float[height * size];
        for (int c = 0; c < channels; c++)
        {
            var src = planes[c];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < size; x++)
                {
                    var (start, w) = horizontal[x];
                    float sum = 0;
                    for (int k = 0; k < w.Length; k++) sum += w[k] * src[y * width + start + k];
                    rows[y * size + x] = sum;
                }
            var dst = output.Slice(c * size * size, size * size);
            for (int y = 0; y < size; y++)
            {
                var (start, w) = vertical[y];
                for (int x = 0; x < size; x++)
                {
                    float sum = 0;
                    for (int k = 0; k < w.Length; k++) sum += w[k] * rows[(start + k) * size + x];
                    dst[y * size + x] = (byte)Math.Clamp(MathF.Round(sum), 0f, 255f);
                }
            }
        }
    }

    /// <summary>
    /// Per output index: first input index and normalised weights of a triangle filter centred on the output pixel's
    /// centre mapped into the input, with radius max(1, input/output) input pixels (wider when shrinking).
    /// </summary>
    private static (int Start, float[] Weights)[] Weights(int input, int output)
    {
        double scale = (double)input / output;
        double radius = Math.Max(1.0, scale);
        var result = new (int, float[])[output];
        for (int o = 0; o < output; o++)
        {
            double centre = (o + 0.5) * scale;
            int first = Math.Max(0, (int)Math.Floor(centre - radius));
            int last = Math.Min(input - 1, (int)Math.Ceiling(centre + radius));
            var w = new double[last - first + 1];
            double total = 0;
            for (int i = first; i <= last; i++)
            {
                // Distance between pixel centres, in units of the filter radius.
                double t = Math.Abs(i + 0.5 - centre) / radius;
                w[i - first] = Math.Max(0.0, 1.0 - t);
                total += w[i - first];
            }
            if (total <= 0)
            {
                // Cannot happen for radius >= 1 (some pixel centre is within 0.5 of the point), but stay defined.
                int nearest = Math.Clamp((int)centre, 0, input - 1);
                result[o] = (nearest, [1f]);
                continue;
            }
            result[o] = (first, w.Select(v => (float)(v / total)).ToArray());
        }
        return result;
    }
}
