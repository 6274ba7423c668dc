namespace Pretext.Data;

/// <summary>
/// A folder of WAV and Ogg Vorbis files as clips (<see cref="AudioClips"/>): one sub-folder per class (labels are the
/// sub-folder names in ordinal order; files may sit in nested folders below a class folder), files directly in the folder
/// (unlabelled), or, with <see cref="AudioClipOptions.LabelPattern"/>, every file below the folder labelled by its name.
/// Names starting with '.' are ignored; files are read in ordinal order of their relative paths, which are their ids.
/// </summary>
public static class AudioFolder
{
    /// <summary>File extensions (lower-case) read as audio; the format itself is recognised by the file's first bytes.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".wav", ".wave", ".ogg", ".oga"];

    /// <summary>Whether <paramref name="path"/> is a folder with audio files below it and no images (so a run on it is an audio run).</summary>
    public static bool HoldsAudio(string path)
    {
        if (!Directory.Exists(path)) return false;
        var extensions = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden })
            .Select(f => Path.GetExtension(f).ToLowerInvariant()).Distinct().ToList();
        return extensions.Any(Extensions.Contains) && !extensions.Any(ImageFolderDataset.ImageExtensions.Contains);
    }

    /// <summary>Reads every audio file of <paramref name="folder"/> as a clip of <paramref name="clip"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// No audio files, loose files beside class folders, an empty class folder, files the label pattern does not match,
    /// or unreadable files (without <see cref="AudioClipOptions.SkipBad"/>); the message names the folder or files and the fix.
    /// </exception>
    public static AudioLoad Load(string folder, AudioClipOptions clip, AudioReadOptions? options = null)
    {
        clip.Validate();
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Audio folder '{folder}' does not exist.");
        var root = Path.GetFullPath(folder);
        var (files, labels, classNames) = clip.LabelPattern is null ? ByFolder(root) : ByName(root, clip);
        options?.Log?.Invoke($"{root}: reading {files.Count} audio files{(classNames.Count > 0 ? $" in {classNames.Count} classes" : "")}.");
        var sources = files.Select(f => new AudioSource(Relative(root, f), () => File.ReadAllBytes(f), LogMelCache.Stamp(f))).ToList();
        return AudioClips.Read(root, sources, labels, classNames, clip, options);
    }

    private static (List<string> Files, int[]? Labels, IReadOnlyList<string> ClassNames) ByFolder(string root)
    {
        var loose = AudioIn(root, recursive: false);
        var classFolders = Directory.EnumerateDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        if (classFolders.Count == 0)
        {
            if (loose.Count == 0) throw new InvalidDataException($"Audio folder '{root}' holds no audio files ({string.Join(", ", Extensions)}) and no class sub-folders. Put the files directly in it (unlabelled) or in one sub-folder per class.");
            return (loose, null, []);
        }
        if (loose.Count > 0)
            throw new InvalidDataException($"Audio folder '{root}' mixes {loose.Count} loose audio file(s) (e.g. '{Path.GetFileName(loose[0])}') with {classFolders.Count} class sub-folder(s). " +
                "Move the loose files into a class folder (labelled) or the sub-folders out (unlabelled).");
        var files = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < classFolders.Count; c++)
        {
            var audio = AudioIn(classFolders[c], recursive: true);
            if (audio.Count == 0)
                throw new InvalidDataException($"Class folder '{classFolders[c]}' holds no audio files ({string.Join(", ", Extensions)}). Remove it, or add its files; every sub-folder of '{root}' is a class.");
            files.AddRange(audio);
            labels.AddRange(Enumerable.Repeat(c, audio.Count));
        }
        return (files, labels.ToArray(), classFolders.Select(d => Path.GetFileName(d)!).ToArray());
    }

    private static (List<string> Files, int[]? Labels, IReadOnlyList<string> ClassNames) ByName(string root, AudioClipOptions clip)
    {
        var regex = clip.LabelRegex();
        var files = AudioIn(root, recursive: true);
        if (files.Count == 0) throw new InvalidDataException($"Audio folder '{root}' holds no audio files ({string.Join(", ", Extensions)}).");
        var names = files.Select(f => clip.LabelOf(Path.GetFileName(f), regex)).ToList();
        var unmatched = files.Where((_, i) => names[i] is null).Select(f => Relative(root, f)).ToList();
        if (unmatched.Count > 0)
            throw new InvalidDataException($"{unmatched.Count} of the {files.Count} audio files in '{root}' match no label under encoder.audio.clip.labelPattern '{clip.LabelPattern}': " +
                $"{string.Join(", ", unmatched.Take(10))}{(unmatched.Count > 10 ? ", ..." : "")}. Rename them, change the pattern, or give them a class with encoder.audio.clip.unmatchedLabel.");
        var classNames = names.Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = classNames.Select((n, i) => (n, i)).ToDictionary(p => p.n!, p => p.i);
        return (files, names.Select(n => index[n!]).ToArray(), classNames!);
    }

    private static List<string> AudioIn(string folder, bool recursive) =>
        Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = recursive, AttributesToSkip = FileAttributes.Hidden })
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())
                        && !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string Relative(string root, string file) => Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
}
