using Pretext.Data;
using static Pretext.Tests.Data.Audio.TestAudio;

namespace Pretext.Tests.Data.Audio;

/// <summary>The Fish Fillets voice packs: speakers from file names, the split by line, and fetching from the Debian packages.</summary>
public class FilletsVoicesTests
{
    private static readonly AudioClipOptions Clip = new() { SampleRate = 8000, Seconds = 0.2 };

    [Theory]
    [InlineData("airplane/let-m-divna.ogg", "m")]
    [InlineData("fdto/cely-m.ogg", "m")]
    [InlineData("fdto/podvodou-v.ogg", "v")]
    [InlineData("x/v-zkus.ogg", "v")]
    [InlineData("x/rand-2-3-0.ogg", "other")]
    [InlineData("x/bar_v_fotka.ogg", "other")]
    [InlineData("share/border/sp-shout_small_02.ogg", "other")]
    public void TheSpeakerIsAHyphenSeparatedToken(string line, string speaker) => Assert.Equal(speaker, FilletsVoices.SpeakerOf(line));

    [Fact]
    public void TheSplitTakesAFifthOfEachGroupsLinesWhateverTheirOrder()
    {
        var lines = Enumerable.Range(0, 100).Select(i => $"lvl{i % 7}/x-{(i % 2 == 0 ? "m" : "v")}-{i}.ogg").ToList();
        var test = FilletsVoices.TestLines(lines, FilletsVoices.SpeakerOf);
        Assert.Equal(20, test.Count);
        Assert.Equal(10, test.Count(l => FilletsVoices.SpeakerOf(l) == "m"));
        Assert.Equal(test.Order(), FilletsVoices.TestLines(Enumerable.Reverse(lines).Concat(lines), FilletsVoices.SpeakerOf).Order());
    }

    /// <summary>
    /// A small system folder laid out as the packages install it (real clips copied from them): the fetcher packs each language
    /// into the shared cache, both tasks read it, and no line is on both sides of the split.
    /// </summary>
    [Fact]
    public void TheFetcherPacksTheInstalledClipsAndBothTasksReadThem()
    {
        using var dir = new TempDirectory();
        var sound = dir.Combine("games", "fillets-ng", "sound");
        var lines = new List<string>();
        for (int i = 0; i < 15; i++)
        {
            string line = $"lvl{i % 3}/{(i % 5) switch { 0 => "a-m", 1 => "v", 2 => "b-x", 3 => "c-m", _ => "d-v" }}-line{i}.ogg";
            lines.Add(line);
            foreach (var language in i < 12 ? new[] { "cs", "nl" } : ["cs"])
            {
                var path = Path.Combine(sound, Path.GetDirectoryName(line)!, language, Path.GetFileName(line));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.Copy(RealClip, path);
            }
        }
        File.Copy(SilentClip, Path.Combine(sound, "lvl0", "nl", "e-m-silent.ogg"));
        var log = new List<string>();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions
        {
            CacheFolder = dir.Combine("cache"), SystemDataFolder = dir.Path, Sources = DataSources.Cache | DataSources.SystemPackage, Log = log.Add,
        });
        var train = fetcher.LoadAudio("fillets-speaker", DataSplit.Train, Clip);
        var test = fetcher.LoadAudio("fillets-speaker", DataSplit.Test, Clip);
        Assert.True(File.Exists(dir.Combine("cache", "fillets-ng", "fillets-ng-voices-cs.tar")));
        Assert.Equal(27, train.Dataset.Count + test.Dataset.Count); // 15 Czech + 12 Dutch (the silent Dutch clip is left out)
        Assert.Equal(["nl/lvl0/e-m-silent.ogg: it holds no audio (0 samples at 22050 Hz): empty, truncated or damaged"], train.Skipped.Concat(test.Skipped));
        Assert.Equal(["m", "v", "other"], train.Dataset.ClassNames);
        Assert.Equal(new long[] { train.Dataset.Count, 1600 }, train.Dataset.Data.shape);
        static string Line(string id) => id[3..];
        var trainLines = Enumerable.Range(0, (int)train.Dataset.Count).Select(i => Line(train.Dataset.SampleId(i))).ToHashSet();
        var testLines = Enumerable.Range(0, (int)test.Dataset.Count).Select(i => Line(test.Dataset.SampleId(i))).ToHashSet();
        Assert.Empty(trainLines.Intersect(testLines));
        Assert.Contains("cs/lvl0/a-m-line0.ogg", Enumerable.Range(0, (int)(train.Dataset.Count)).Select(i => train.Dataset.SampleId(i)).Concat(
            Enumerable.Range(0, (int)test.Dataset.Count).Select(i => test.Dataset.SampleId(i))));
        for (int i = 0; i < train.Dataset.Count; i++)
            Assert.Equal(FilletsVoices.SpeakerOf(Line(train.Dataset.SampleId(i))), train.Dataset.ClassNames[train.Dataset.Labels![i]]);

        // The language task shares the packed files (nothing is packed again) and keeps only lines recorded in both languages.
        log.Clear();
        var lang = fetcher.LoadAudio("fillets-language", DataSplit.Train, Clip);
        var langTest = fetcher.LoadAudio("fillets-language", DataSplit.Test, Clip);
        Assert.DoesNotContain(log, l => l.Contains("packing"));
        Assert.Equal(24, lang.Dataset.Count + langTest.Dataset.Count); // lines 0-11 in both languages
        Assert.Equal(lang.Dataset.Labels!.Count(l => l == 0), lang.Dataset.Labels!.Count(l => l == 1));
        Assert.Equal(["cs", "nl"], lang.Dataset.ClassNames);
    }

    [Fact]
    public void WithoutThePackagesTheErrorSaysWhatToInstall()
    {
        using var dir = new TempDirectory();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Combine("cache"), SystemDataFolder = dir.Path, Sources = DataSources.Cache | DataSources.SystemPackage });
        var e = Assert.Throws<DatasetUnavailableException>(() => fetcher.LoadAudio("fillets-language", DataSplit.Train, Clip));
        Assert.Contains("apt-get install -y --no-install-recommends fillets-ng-data-cs fillets-ng-data-nl", e.Message);
        Assert.Contains("not found", e.Message);
        Assert.Throws<ArgumentException>(() => fetcher.LoadAudio("wordnet", DataSplit.Train, Clip));
    }

    /// <summary>The real packs from Debian (scripts/setup.sh installs them): packed, counted, not decoded (that takes a while).</summary>
    [Fact]
    public void TheRealPacksHoldTheDocumentedClips()
    {
        using var dir = new TempDirectory();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Path, Sources = DataSources.Cache | DataSources.SystemPackage });
        var files = fetcher.Get("fillets-speaker");
        var cs = FilletsVoices.ReadTarball(files.Paths[FilletsVoices.Tarball("cs")]);
        var nl = FilletsVoices.ReadTarball(files.Paths[FilletsVoices.Tarball("nl")]);
        Assert.Equal((1882, 1616, 1506), (cs.Count, nl.Count, cs.Keys.Intersect(nl.Keys).Count()));
        Assert.Equal(742, cs.Keys.Count(l => FilletsVoices.SpeakerOf(l) == "m"));
        Assert.Equal(700, cs.Keys.Count(l => FilletsVoices.SpeakerOf(l) == "v"));
    }

    [Fact]
    public void NoInstalledLineIsInTwoOfTrainValidationAndTest()
    {
        // The installed packs' file names (scripts/setup.sh installs them), as the loader's ids: no decoding needed.
        var ids = Directory.EnumerateFiles(TestAudio.FilletsSound, "*.ogg", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(TestAudio.FilletsSound, f).Split(Path.DirectorySeparatorChar))
            .Where(p => p.Length == 3 && FilletsVoices.Languages.Contains(p[1]))
            .Select(p => $"{p[1]}/{p[0]}/{p[2]}").Order(StringComparer.Ordinal).ToArray();
        Assert.True(ids.Length > 3000, $"expected the two voice packs under {TestAudio.FilletsSound}");
        var test = FilletsVoices.TestLines(ids.Select(FilletsVoices.LineOf), FilletsVoices.SpeakerOf);
        var train = ids.Where(id => !test.Contains(FilletsVoices.LineOf(id))).ToArray();
        var labels = train.Select(id => FilletsVoices.Speakers.ToList().IndexOf(FilletsVoices.SpeakerOf(FilletsVoices.LineOf(id)))).ToArray();
        using var samples = new Pretext.Runs.Modalities.AudioSamples(new TensorDataset("ids", TorchSharp.torch.zeros(train.Length, 1), labels, FilletsVoices.Speakers, train), FilletsVoices.LineOf);
        var set = (Pretext.Runs.Modalities.ISampleSet)samples;
        var (pool, val) = Pretext.Evaluation.ValidationSplit.Carve(labels, set.SampleId, Pretext.Evaluation.ValidationSplit.DefaultFraction, 0, set.GroupId);
        var parts = new[] { pool.Select(i => FilletsVoices.LineOf(train[i])).ToHashSet(), val.Select(i => FilletsVoices.LineOf(train[i])).ToHashSet(), test.ToHashSet() };
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                Assert.Empty(parts[a].Intersect(parts[b]));
        Assert.InRange(val.Length, train.Length / 7, train.Length / 5);
        // A subset keeps the grouping (evaluation carves from subsets too).
        using var sub = samples.Subset([0, 1, 2], "sub");
        Assert.Equal(FilletsVoices.LineOf(train[1]), sub.GroupId(1));
    }
}
