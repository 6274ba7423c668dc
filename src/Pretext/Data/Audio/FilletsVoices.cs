using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;

namespace Pretext.Data;

/// <summary>What a Fish Fillets catalogue entry labels.</summary>
public enum FilletsTask
{
    /// <summary>Who speaks: the small fish (m), the big fish (v), or anyone else (narrators, other characters).</summary>
    Speaker,
    /// <summary>Czech or Dutch, on the lines recorded in both languages only (the same sentences on both sides).</summary>
    Language,
}

/// <summary>
/// The voice packs of the game Fish Fillets NG (Debian packages fillets-ng-data-cs and fillets-ng-data-nl, GPL): real
/// speech, 1,882 Czech and 1,616 Dutch Ogg Vorbis clips at 22.05 or 44.1 kHz. The packages install them as
/// sound/LEVEL/LANGUAGE/NAME.ogg; the fetcher packs each language into one uncompressed tar of LEVEL/NAME.ogg entries (its
/// cached copy), so an entry's name is the recorded line, the same in both languages.
/// <para>Speaker: a hyphen-separated token of the file name, "m" (the small fish) or "v" (the big fish), e.g.
/// let-m-divna.ogg or cely-m.ogg; files with neither are "other".</para>
/// <para>Split by line, so the same sentence (in either language) is never in both train and test: of the lines of each
/// class (speaker task: by speaker; language task: all lines recorded in both languages), the 20 % with the smallest
/// SHA-256 of "pretext-fillets-split-1:LINE" are test. No random generator, and independent of file order.</para>
/// </summary>
public static class FilletsVoices
{
    /// <summary>Languages of the packs, in catalogue order (the language task's class order).</summary>
    public static IReadOnlyList<string> Languages { get; } = ["cs", "nl"];
    /// <summary>Classes of the speaker task.</summary>
    public static IReadOnlyList<string> Speakers { get; } = ["m", "v", "other"];
    /// <summary>Share of each class's lines in the test split.</summary>
    public const double TestFraction = 0.2;
    private const string SplitKey = "pretext-fillets-split-1";

    /// <summary>Debian package of a language's pack.</summary>
    public static string Package(string language) => $"fillets-ng-data-{language}";
    /// <summary>Where the packages install the clips, below /usr/share.</summary>
    public const string SystemFolder = "games/fillets-ng/sound";
    /// <summary>Name of a language's packed tarball in the cache.</summary>
    public static string Tarball(string language) => $"fillets-ng-voices-{language}.tar";

    /// <summary>The line "LEVEL/NAME.ogg" of a clip id "LANGUAGE/LEVEL/NAME.ogg": the same sentence in every language.</summary>
    /// <exception cref="ArgumentException">An id without a language part.</exception>
    public static string LineOf(string id)
    {
        int slash = id.IndexOf('/');
        return slash > 0 ? id[(slash + 1)..] : throw new ArgumentException($"'{id}' is not a Fish Fillets clip id (LANGUAGE/LEVEL/NAME.ogg).");
    }

    /// <summary>"m", "v" or "other": the speaker token of a line's file name.</summary>
    public static string SpeakerOf(string line)
    {
        var tokens = Path.GetFileNameWithoutExtension(line).Split('-');
        return tokens.FirstOrDefault(t => t is "m" or "v") ?? "other";
    }

    /// <summary>The test lines among <paramref name="lines"/>: per group, the <see cref="TestFraction"/> ranked first by their split hash.</summary>
    public static IReadOnlySet<string> TestLines(IEnumerable<string> lines, Func<string, string> group)
    {
        var test = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in lines.Distinct().GroupBy(group))
        {
            var ranked = g.OrderBy(l => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{SplitKey}:{l}"))), StringComparer.Ordinal)
                          .ThenBy(l => l, StringComparer.Ordinal).ToList();
            test.UnionWith(ranked.Take((int)Math.Round(ranked.Count * TestFraction, MidpointRounding.AwayFromZero)));
        }
        return test;
    }

    /// <summary>The clips of a packed tarball by line (entry name), in ordinal order.</summary>
    /// <exception cref="InvalidDataException">Not a tar, no .ogg entry, or an entry that is not Ogg data; the message says which.</exception>
    public static SortedDictionary<string, byte[]> ReadTarball(string path)
    {
        var clips = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        string? notOgg = null;
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new TarReader(stream);
            while (notOgg is null && reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !entry.Name.EndsWith(".ogg", StringComparison.Ordinal)) continue;
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                var bytes = data.ToArray();
                // An empty clip is the package's problem, reported by name when it is read; anything else must be Ogg.
                if (bytes.Length > 0 && !(bytes.Length >= 4 && bytes.AsSpan(0, 4).SequenceEqual("OggS"u8))) notOgg = entry.Name;
                clips[entry.Name] = bytes;
            }
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or (IOException and not FileNotFoundException and not DirectoryNotFoundException))
        {
            throw new InvalidDataException($"'{path}' is not a readable tar of Ogg clips ({e.Message})", e);
        }
        if (notOgg is not null) throw new InvalidDataException($"'{path}': entry {notOgg} is not Ogg data");
        if (clips.Count == 0) throw new InvalidDataException($"'{path}' holds no .ogg clips");
        return clips;
    }

    /// <summary>
    /// Packs every file below <paramref name="root"/> that sits in a folder named <paramref name="subFolder"/> into one
    /// uncompressed tar, each named by its path below <paramref name="root"/> with that folder left out (sound/LEVEL/cs/X.ogg
    /// becomes LEVEL/X.ogg). Returns the number of files packed (0: nothing matched, nothing useful written).
    /// </summary>
    public static int Pack(string root, string subFolder, Stream output)
    {
        if (!Directory.Exists(root)) return 0;
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => (Full: f, Parts: Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar)))
            .Where(f => f.Parts[..^1].Contains(subFolder))
            .Select(f => (f.Full, Name: string.Join('/', f.Parts.Where((p, i) => i == f.Parts.Length - 1 || p != subFolder))))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) return 0;
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var (full, name) in files)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name);
            using var data = File.OpenRead(full);
            entry.DataStream = data;
            writer.WriteEntry(entry);
        }
        return files.Count;
    }

    /// <summary>
    /// One split of a task, from the packed tarballs of both languages (<paramref name="tarballs"/> in <see cref="Languages"/>
    /// order). Ids are "LANGUAGE/LEVEL/NAME.ogg". Clips that hold no audio (two Dutch ones do) are left out and reported.
    /// </summary>
    /// <exception cref="InvalidDataException">A tarball is not a valid pack.</exception>
    public static AudioLoad Load(FilletsTask task, IReadOnlyList<string> tarballs, DataSplit split, string name, AudioClipOptions clip, AudioReadOptions? options = null)
    {
        if (tarballs.Count != Languages.Count) throw new ArgumentException($"Fish Fillets needs one tarball per language ({string.Join(", ", Languages)}), got {tarballs.Count}.");
        var packs = tarballs.Select(ReadTarball).ToList();
        var items = new List<(string Language, string Line, int Label)>();
        if (task == FilletsTask.Speaker)
        {
            for (int l = 0; l < packs.Count; l++)
                items.AddRange(packs[l].Keys.Select(line => (Languages[l], line, IndexOf(Speakers, SpeakerOf(line)))));
        }
        else
        {
            var shared = packs.Skip(1).Aggregate(packs[0].Keys.ToHashSet(StringComparer.Ordinal), (s, p) => { s.IntersectWith(p.Keys); return s; });
            for (int l = 0; l < packs.Count; l++)
                items.AddRange(packs[l].Keys.Where(shared.Contains).Select(line => (Languages[l], line, l)));
        }
        var test = TestLines(items.Select(i => i.Line), task == FilletsTask.Speaker ? SpeakerOf : _ => "");
        var chosen = items.Where(i => test.Contains(i.Line) == (split == DataSplit.Test))
                          .OrderBy(i => $"{i.Language}/{i.Line}", StringComparer.Ordinal).ToList();
        // A clip's stamp is its language's tarball's: repacking the voices changes every key.
        var stamps = tarballs.Select(LogMelCache.Stamp).ToList();
        var sources = chosen.Select(i => new AudioSource($"{i.Language}/{i.Line}", () => packs[IndexOf(Languages, i.Language)][i.Line], stamps[IndexOf(Languages, i.Language)])).ToList();
        var classes = task == FilletsTask.Speaker ? Speakers : Languages;
        return AudioClips.Read(name, sources, chosen.Select(i => i.Label).ToArray(), classes, clip with { SkipBad = true }, options);
    }

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
        throw new ArgumentException($"'{value}' is not one of {string.Join(", ", list)}.");
    }
}
