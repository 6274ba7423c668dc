using StbImageSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Data.Video;

/// <summary>Options of <see cref="VideoClips.Load"/>.</summary>
public sealed record VideoClipOptions
{
    /// <summary>Frames every clip must have; a clip with another count is reported by name (no silent trimming or padding).</summary>
    public int Frames { get; init; } = 20;
    /// <summary>Side every frame is resized to (area-weighted resampling, as image folders are; non-square frames are stretched).</summary>
    public int Size { get; init; } = 64;
    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int Channels { get; init; } = 1;
    /// <summary>Leave out clips of the wrong length or with an unreadable frame (listed in <see cref="VideoLoad.Skipped"/>) instead of failing.</summary>
    public bool SkipBad { get; init; }
    /// <summary>Receives progress and the names of skipped clips.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>Clips read from a folder, and the clips left out with the reason, by name.</summary>
/// <param name="Dataset">(N, T, C, S, S) uint8 clips (gathered as fp32 in [0, 1]); sample ids are the clips' relative names.</param>
/// <param name="Skipped">"name: reason" for each clip left out (only with <see cref="VideoClipOptions.SkipBad"/>).</param>
public sealed record VideoLoad(TensorDataset Dataset, IReadOnlyList<string> Skipped);

/// <summary>
/// A video source: a folder of clips. A clip is either a folder of frame images (PNG or JPEG, in natural order of
/// their file names: frame2 before frame10) or an animated GIF (all its frames). Sub-folders that hold clips rather
/// than frames are classes (labels, by sorted folder name). Every frame is converted to grey or RGB and resized to one
/// size; every clip must have <see cref="VideoClipOptions.Frames"/> frames. Decoding uses StbImageSharp, the decoder of
/// image folders (<see cref="ImageFolderDataset"/>), which reads every frame of an animated GIF.
/// </summary>
public static class VideoClips
{
    /// <summary>Frame files of a clip folder.</summary>
    public static readonly string[] FrameExtensions = [".png", ".jpg", ".jpeg"];

    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">No clips; or, without SkipBad, a clip of the wrong length or with an unreadable frame (the message names the clip and the frame).</exception>
    public static VideoLoad Load(string folder, VideoClipOptions? options = null)
    {
        options ??= new VideoClipOptions();
        if (options.Frames < 1 || options.Size < 1) throw new ArgumentException($"Clips need at least 1 frame of at least 1 pixel, got {options.Frames} frames of {options.Size}.");
        if (options.Channels is not (1 or 3)) throw new ArgumentException($"Channels must be 1 (grey) or 3 (RGB), got {options.Channels}.");
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Video folder '{folder}' does not exist.");
        string root = Path.GetFullPath(folder);
        var (clips, labels, classes) = ListClips(root);
        if (clips.Count == 0)
            throw new InvalidDataException($"Video folder '{root}' holds no clips: expected animated GIFs or folders of PNG/JPEG frames (optionally inside one folder per class).");
        options.Log?.Invoke($"{root}: reading {clips.Count} clips{(classes.Count > 0 ? $" in {classes.Count} classes" : "")}.");

        long clipBytes = (long)options.Frames * options.Channels * options.Size * options.Size;
        int frameBytes = options.Channels * options.Size * options.Size;
        var pixels = new byte[clips.Count * clipBytes];
        var failures = new string?[clips.Count];
        Parallel.For(0, clips.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            failures[i] = ReadClip(clips[i], options, pixels.AsSpan((int)(i * clipBytes), (int)clipBytes), frameBytes);
        });

        var keep = new List<int>();
        var skipped = new List<string>();
        for (int i = 0; i < clips.Count; i++)
        {
            if (failures[i] is null) { keep.Add(i); continue; }
            string name = Relative(root, clips[i]);
            if (!options.SkipBad)
                throw new InvalidDataException($"Clip '{name}' in '{root}': {failures[i]}. Fix or remove it, or pass --skip-bad (VideoClipOptions.SkipBad; --set video.skipBad=true) to leave bad clips out.");
            skipped.Add($"{name}: {failures[i]}");
        }
        if (skipped.Count > 0) options.Log?.Invoke($"{root}: left out {skipped.Count} bad clip(s): {string.Join("; ", skipped)}.");
        if (keep.Count == 0) throw new InvalidDataException($"Video folder '{root}': none of its {clips.Count} clips could be read ({skipped[0]}).");

        var kept = new byte[keep.Count * clipBytes];
        for (int k = 0; k < keep.Count; k++) Array.Copy(pixels, keep[k] * clipBytes, kept, k * clipBytes, clipBytes);
        var data = tensor(kept, [keep.Count, options.Frames, options.Channels, options.Size, options.Size], ScalarType.Byte);
        var dataset = new TensorDataset(root, data, labels is null ? null : keep.Select(i => labels[i]).ToArray(), classes,
            keep.Select(i => Relative(root, clips[i])).ToArray());
        return new VideoLoad(dataset, skipped);
    }

    /// <summary>Decodes one clip into <paramref name="output"/>; the reason it cannot be used, or null.</summary>
    private static string? ReadClip(string clip, VideoClipOptions options, Span<byte> output, int frameBytes)
    {
        var frames = new List<(string Name, Func<ImageResult> Decode)>();
        if (Directory.Exists(clip))
        {
            foreach (var f in FramesIn(clip)) frames.Add((Path.GetFileName(f), () =>
            {
                var bytes = File.ReadAllBytes(f);
                EncodedImageCheck.Check(bytes); // a damaged JPEG header can hang the decoder; a cut-off frame decodes as grey rows
                return ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlueAlpha);
            }));
        }
        else
        {
            try
            {
                using var stream = File.OpenRead(clip);
                int n = 0;
                foreach (var frame in ImageResult.AnimatedGifFramesFromStream(stream, ColorComponents.RedGreenBlueAlpha))
                {
                    if (++n > options.Frames) break;
                    // The enumerator reuses its frame buffer: convert each frame before reading the next.
                    if (!Fits(frame, out var why)) return $"frame {n} is unreadable ({why})";
                    ImageFolderDataset.Convert(frame.Data, frame.Width, frame.Height, options.Channels, options.Size, output.Slice((n - 1) * frameBytes, frameBytes));
                }
                return n == options.Frames ? null : $"has {(n > options.Frames ? "more than " + options.Frames : n.ToString(System.Globalization.CultureInfo.InvariantCulture))} frames, expected {options.Frames}";
            }
            catch (Exception e) when (e is not OutOfMemoryException and not IOException)
            {
                return $"is not a readable GIF ({Reason(e)})";
            }
        }
        if (frames.Count != options.Frames) return $"has {frames.Count} frames, expected {options.Frames}";
        for (int t = 0; t < frames.Count; t++)
        {
            try
            {
                var image = frames[t].Decode();
                if (!Fits(image, out var why)) return $"frame '{frames[t].Name}' is unreadable ({why})";
                ImageFolderDataset.Convert(image.Data, image.Width, image.Height, options.Channels, options.Size, output.Slice(t * frameBytes, frameBytes));
            }
            catch (Exception e) when (e is not OutOfMemoryException and not IOException)
            {
                // StbImageSharp signals bad input with assorted exception types.
                return $"frame '{frames[t].Name}' is unreadable ({Reason(e)})";
            }
        }
        return null;
    }

    private static bool Fits(ImageResult image, out string why)
    {
        why = $"decoder returned {image.Width}x{image.Height} with {image.Data?.Length ?? 0} bytes";
        return image.Width >= 1 && image.Height >= 1 && image.Data is not null && image.Data.Length >= 4L * image.Width * image.Height;
    }

    private static string Reason(Exception e) => string.IsNullOrWhiteSpace(e.Message) ? e.GetType().Name : e.Message;

    /// <summary>Clips (GIF files and frame folders) at the top, or inside class folders; labels when there are classes.</summary>
    private static (List<string> Clips, int[]? Labels, IReadOnlyList<string> Classes) ListClips(string root)
    {
        var top = Entries(root);
        var classFolders = top.Where(e => Directory.Exists(e) && !IsFrameFolder(e)).ToList();
        if (classFolders.Count == 0) return (top, null, []);
        if (classFolders.Count != top.Count)
            throw new InvalidDataException($"Video folder '{root}' mixes clips with class folders ({Path.GetFileName(classFolders[0])}). Put every clip in a class folder (labelled) or none (unlabelled).");
        var clips = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < classFolders.Count; c++)
        {
            var inClass = Entries(classFolders[c]);
            clips.AddRange(inClass);
            labels.AddRange(Enumerable.Repeat(c, inClass.Count));
        }
        return (clips, labels.ToArray(), classFolders.Select(f => Path.GetFileName(f)!).ToArray());
    }

    /// <summary>GIF files and sub-folders of <paramref name="folder"/>, hidden ones left out, in natural order.</summary>
    private static List<string> Entries(string folder) =>
        Directory.EnumerateFileSystemEntries(folder)
            .Where(e => !Path.GetFileName(e).StartsWith('.') && (Directory.Exists(e) || Path.GetExtension(e).Equals(".gif", StringComparison.OrdinalIgnoreCase)))
            .Order(NaturalOrder.Instance)
            .ToList();

    private static bool IsFrameFolder(string folder) => FramesIn(folder).Count > 0;

    private static List<string> FramesIn(string folder) =>
        Directory.EnumerateFiles(folder)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && FrameExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(NaturalOrder.Instance)
            .ToList();

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
}

/// <summary>File names compared with runs of digits as numbers ("frame2" before "frame10"), otherwise ordinally.</summary>
internal sealed class NaturalOrder : IComparer<string>
{
    public static readonly NaturalOrder Instance = new();

    public int Compare(string? a, string? b)
    {
        if (a is null || b is null) return string.CompareOrdinal(a, b);
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                int si = i, sj = j;
                while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
                var na = a.AsSpan(si, i - si).TrimStart('0');
                var nb = b.AsSpan(sj, j - sj).TrimStart('0');
                int c = na.Length != nb.Length ? na.Length.CompareTo(nb.Length) : na.SequenceCompareTo(nb);
                if (c != 0) return c;
            }
            else
            {
                if (a[i] != b[j]) return a[i].CompareTo(b[j]);
                i++; j++;
            }
        }
        int rest = (a.Length - i).CompareTo(b.Length - j);
        return rest != 0 ? rest : string.CompareOrdinal(a, b);
    }
}
