using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Pretext.Data;

/// <summary>
/// The SpamAssassin corpus's groups, its fixed train/test split, and how its cached tarball is read.
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

    /// <summary>
    /// Loads one split from the package tarball: every mail read with <see cref="MailParser"/>, labels ham (0) and
    /// spam (1), sources "GROUP/FILE". Mails without readable text are left out and listed in <see cref="TextLoad.Skipped"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The tarball is not a complete copy of the corpus (see <see cref="ReadTarball"/>).</exception>
    internal static TextLoad Load(string tarball, DataSplit split, IReadOnlyList<string> classNames, MailReadOptions? mail, Action<string>? log)
    {
        var mails = ReadTarball(tarball, keepBytes: true);
        var groupFiles = mails.Keys.GroupBy(k => k[..k.IndexOf('/')])
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(k => k[(k.IndexOf('/') + 1)..]).ToList());
        var files = SplitFiles(groupFiles, split);
        var labelOf = Groups.ToDictionary(g => g.Group, g => g.Label);
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
        log?.Invoke($"{name}: {texts.Count} mails ({labels.Count(l => l == 0)} ham, {labels.Count(l => l == 1)} spam), {skipped.Count} left out.");
        return new TextLoad(new TextDataset(name, texts, [.. labels], classNames, sources), skipped, problems);
    }

    /// <summary>
    /// Reads the mails (package/data/GROUP/NNNNN.MD5.txt; the .json beside each is the same mail as JSON) by
    /// "GROUP/FILE", and checks that every group holds exactly its number of non-empty mails.
    /// </summary>
    /// <param name="keepBytes">False to only check the tarball (the result is then empty).</param>
    /// <exception cref="InvalidDataException">Not a readable tarball, or a group is missing, short or has an empty mail.</exception>
    internal static Dictionary<string, byte[]> ReadTarball(string path, bool keepBytes)
    {
        var counts = Groups.ToDictionary(g => g.Group, _ => 0, StringComparer.Ordinal);
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
        foreach (var (group, count, _) in Groups)
            if (counts[group] != count)
                throw new InvalidDataException($"'{path}' holds {counts[group]} mails in {group}/, not {count}.");
        return mails;
    }
}
