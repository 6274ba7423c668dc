using Parquet;
using Parquet.Schema;
using Pretext.Data;
using Pretext.Data.Tables;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Tables;

public class TableFilesTests
{
    public TableFilesTests() => set_num_threads(1);

    private const string Arff = """
        % a comment
        @relation 'tiny credit'
        @attribute 'duration months' numeric
        @attribute purpose { 'new car', radio/tv, "used car"}
        @attribute note string
        @attribute class {good, bad}

        @data
        % rows follow
        6,'new car','first',good
        ?, radio/tv , 'it''s\'s', bad
        12,?,"x, y",good
        """;

    private static TableRows Read(TempDirectory dir, string name, string text, TableColumns? columns = null)
    {
        var path = dir.File(name);
        File.WriteAllText(path, text);
        return TableFiles.Read(path, columns ?? new TableColumns());
    }

    private static InvalidDataException Refused(string name, string text, TableColumns? columns = null)
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<InvalidDataException>(() => Read(dir, name, text, columns));
        Assert.Contains(name, e.Message);
        return e;
    }

    [Fact]
    public void ArffReadsDeclaredTypesQuotesMissingValuesAndComments()
    {
        using var dir = new TempDirectory();
        var t = Read(dir, "t.arff", Arff.Replace("'it''s\\'s'", "'it\\'s'"));
        Assert.Equal(3, t.Count);
        Assert.Equal(["duration months"], t.NumericNames);
        Assert.Equal(["purpose"], t.CategoricalNames); // the string attribute is no feature
        Assert.Equal(["new car", "radio/tv", "used car"], t.DeclaredValues[0]);
        Assert.Equal(["good", "bad"], t.ClassNames);
        Assert.Equal([0, 1, 0], t.Labels!);
        Assert.True(float.IsNaN(t.Numeric(1, 0)));
        Assert.Equal("radio/tv", t.Category(1, 0));
        Assert.Null(t.Category(2, 0));
        Assert.Equal("10", t.Ids[0]); // the row's line in the file
    }

    [Fact]
    public void CsvInfersNumericBooleanAndCategoricalColumnsWithMissingValues()
    {
        using var dir = new TempDirectory();
        var t = Read(dir, "t.csv", "customer,amount,fraud_flag,city,label\nc1,1.5,yes,Paris,0\nc1,,no,Rome,1\nc2,3.5,NA,Paris,0\n",
            new TableColumns { Entity = "customer" });
        Assert.Equal(["amount"], t.NumericNames);
        Assert.Equal(["fraud_flag", "city"], t.CategoricalNames);
        Assert.Equal(["false", "true"], t.DeclaredValues[0]);
        Assert.Equal("true", t.Category(0, 0));
        Assert.Null(t.Category(2, 0));
        Assert.Equal(["0", "1"], t.ClassNames);
        Assert.Equal(["c1", "c1", "c2"], t.Entities!);
    }

    [Fact]
    public async Task ParquetReadsTypedColumnsWithNullsAsMissing()
    {
        using var dir = new TempDirectory();
        var path = dir.File("t.parquet");
        var amount = new DataField<double?>("amount");
        var city = new DataField<string>("city");
        var label = new DataField<string>("label");
        await using (var stream = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(amount, city, label), stream);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(amount, new ReadOnlyMemory<double?>([1.5, null, 3]));
            await group.WriteAsync(city, new[] { "Oslo", null, "Lima" });
            await group.WriteAsync(label, new[] { "x", "y", "x" });
        }
        var t = TableFiles.Read(path, new TableColumns());
        Assert.Equal(["amount"], t.NumericNames);
        Assert.Equal(["city"], t.CategoricalNames);
        Assert.True(float.IsNaN(t.Numeric(1, 0)));
        Assert.Null(t.Category(1, 0));
        Assert.Equal([0, 1, 0], t.Labels!);
        Assert.Equal("2", t.Ids[1]); // Parquet rows are numbered from 1
    }

    [Fact]
    public void HeaderlessCsvTakesItsNames()
    {
        using var dir = new TempDirectory();
        var t = Read(dir, "l.data", "T,2,8\nA,5,1\n", new TableColumns { Label = "lettr", Names = ["lettr", "a", "b"] });
        Assert.Equal(["a", "b"], t.NumericNames);
        Assert.Equal(["A", "T"], t.ClassNames);
        Assert.Equal([1, 0], t.Labels!);
    }

    [Fact]
    public void EncodingIsFittedOnTrainingRowsOnly()
    {
        using var dir = new TempDirectory();
        var all = Read(dir, "t.csv", "x,c\n1,a\n3,b\n,a\n100,zzz\n");
        var train = all.Subset([0, 1, 2], "train");
        var test = all.Subset([3], "test");
        var enc = TableEncoding.Fit(train);
        Assert.Equal(2f, enc.Mean[0]);
        Assert.Equal((float)Math.Sqrt(2), enc.Std[0], 5);
        Assert.Equal(["a", "b"], enc.Vocabularies[0]);
        Assert.Equal([3], enc.Cardinalities);
        using var tr = enc.Apply(train);
        Assert.Equal(new long[] { 3, 3 }, tr.shape);
        var v = tr.data<float>().ToArray();
        Assert.Equal(-1 / Math.Sqrt(2), v[0], 5);
        Assert.Equal([0f, 1f, 1f], v[6..9]); // a missing number: 0 with its indicator set; 'a' is code 1
        using var te = enc.Apply(test);
        Assert.Equal(0f, te[0, 2].item<float>()); // a category never seen in training: the unknown bucket
        Assert.Equal(98 / Math.Sqrt(2), te[0, 0].item<float>(), 3);
    }

    [Fact]
    public void ErrorsNameTheFileLineColumnAndFix()
    {
        var e = Refused("t.arff", "@relation r\n@attribute x numeric\n@attribute class {a,b}\n@data\n1,a\nlots,b\n");
        Assert.Contains("line 6", e.Message);
        Assert.Contains("'x'", e.Message);
        Assert.Contains("not a number", e.Message);
        e = Refused("t.arff", "@relation r\n@attribute x numeric\n@attribute class {a,b}\n@data\n1,c\n");
        Assert.Contains("line 5", e.Message);
        Assert.Contains("declared classes", e.Message);
        e = Refused("t.arff", "@relation r\n@attribute x numeric\n@attribute class {a,b}\n@data\n1,'a\n");
        Assert.Contains("never closed", e.Message);
        e = Refused("t.csv", "x,label\n1,a\n2,\n");
        Assert.Contains("line 3", e.Message);
        Assert.Contains("label is missing", e.Message);
        e = Refused("t.csv", "x,y\n1,2\n", new TableColumns { Entity = "who" });
        Assert.Contains("table.columns.entity", e.Message);
        e = Refused("t.csv", "x,y\n1,2,3\n");
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void CataloguedWekaFilesReadWhenInstalled()
    {
        const string folder = "/usr/share/doc/weka/examples";
        if (!File.Exists(Path.Combine(folder, "credit-g.arff"))) return; // the Debian package is not installed here
        var credit = TableFiles.Read(Path.Combine(folder, "credit-g.arff"), DataCatalog.CreditG.Table!);
        Assert.Equal(1000, credit.Count);
        Assert.Equal(7, credit.NumericNames.Length);
        Assert.Equal(13, credit.CategoricalNames.Length);
        Assert.Equal(300, credit.Labels!.Count(y => y == 1));
        var unbalanced = TableFiles.Read(Path.Combine(folder, "unbalanced.arff"), DataCatalog.Unbalanced.Table!);
        Assert.Equal(856, unbalanced.Count);
        Assert.Equal(12, unbalanced.Labels!.Count(y => y == 0));
        var diabetes = TableFiles.Read(Path.Combine(folder, "diabetes.arff"), DataCatalog.Diabetes.Table!);
        Assert.Equal(768, diabetes.Count);
        Assert.Equal(["preg", "plas", "pres", "skin", "insu", "mass", "pedi", "age"], diabetes.NumericNames);
        Assert.Empty(diabetes.CategoricalNames);
        Assert.Equal(DataCatalog.Diabetes.ClassNames, diabetes.ClassNames);
        Assert.Equal(268, diabetes.Labels!.Count(y => y == 1));
        foreach (var (file, rows, perClass) in new[]
        {
            ("segment-challenge.arff", 1500, new[] { 205, 220, 208, 220, 204, 236, 207 }),
            ("segment-test.arff", 810, new[] { 125, 110, 122, 110, 126, 94, 123 }),
        })
        {
            var segment = TableFiles.Read(Path.Combine(folder, file), DataCatalog.Segment.Table!);
            Assert.Equal(rows, segment.Count);
            Assert.Equal(19, segment.NumericNames.Length);
            Assert.Empty(segment.CategoricalNames);
            Assert.Equal(DataCatalog.Segment.ClassNames, segment.ClassNames);
            Assert.Equal(perClass, DataCatalog.Segment.ClassNames.Select((_, c) => segment.Labels!.Count(y => y == c)));
        }
    }

    /// <summary>The run layer's splits of the two new Weka sets: segment's two files as train and test, diabetes's stratified fifth.</summary>
    [Fact]
    public void DiabetesAndSegmentSplitAsCatalogued()
    {
        if (!File.Exists("/usr/share/doc/weka/examples/segment-test.arff")) return; // the Debian package is not installed here
        using var dir = new TempDirectory();
        var modality = new Pretext.Runs.Modalities.TableModality();
        var (train, test) = modality.Load("segment", Pretext.Runs.Presets.Table("segment", 1), dir.Combine("cache"), null, needTest: true);
        using (train)
        using (test)
        {
            Assert.Equal(1500, train.Count);
            Assert.Equal(810, test!.Count);
            Assert.All(Enumerable.Range(0, train.Count), i => Assert.StartsWith("segment-challenge:", train.SampleId(i)));
            Assert.All(Enumerable.Range(0, test.Count), i => Assert.StartsWith("segment-test:", test.SampleId(i)));
            Assert.Equal(94, test.Labels!.Count(y => y == DataCatalog.Segment.ClassNames.ToList().IndexOf("path")));
        }
        var config = Pretext.Runs.Presets.Table("diabetes", 1);
        Assert.Equal("tested_positive", config.Evaluation.Table.PositiveClass);
        (train, test) = modality.Load("diabetes", config, dir.Combine("cache"), null, needTest: true);
        using (train)
        using (test)
        {
            Assert.Equal(768, train.Count + test!.Count);
            Assert.Equal(154, test.Count);
            Assert.Equal(54, test.Labels!.Count(y => y == 1));
        }
        Assert.True(File.Exists(dir.Combine("cache", "diabetes", "diabetes.arff")));
    }
}

public class TableFetcherTests
{
    [Fact]
    public void CopiesAnArffFromTheDebianFolderAndReadsItFromTheCache()
    {
        using var dir = new TempDirectory();
        var system = dir.Combine("system");
        var folder = Path.Combine(system, "doc", "weka", "examples");
        Directory.CreateDirectory(folder);
        // A quoted nominal value with a quote inside: read as CSV (the copy's temporary name) it would fail.
        File.WriteAllText(Path.Combine(folder, "credit-g.arff"),
            "@relation c\n@attribute purpose {'new car', radio/tv}\n@attribute amount numeric\n@attribute class {good, bad}\n@data\n'new car',10,good\nradio/tv,?,bad\n");
        var options = new DatasetFetcherOptions
        {
            CacheFolder = dir.Combine("cache"), SystemDataFolder = system, Sources = DataSources.Cache | DataSources.SystemPackage,
        };
        using var fetcher = new DatasetFetcher(options);
        var rows = fetcher.LoadTable("credit-g");
        Assert.Equal(2, rows.Count);
        Assert.Equal("credit-g", rows.Name);
        Assert.Equal([0, 1], rows.Labels!);
        Assert.True(File.Exists(dir.Combine("cache", "credit-g", "credit-g.arff")));
    }

    private static string Script(TempDirectory dir, string name, string body)
    {
        var path = dir.Combine(name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("The apt-get and dpkg-deb stand-ins are shell scripts.");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>A .deb built with dpkg-deb holding <paramref name="content"/> at Shuttle.rda's installed path (null: no such file).</summary>
    private static string? FakeMlbench(TempDirectory dir, string name, byte[]? content)
    {
        var root = dir.Combine(name);
        Directory.CreateDirectory(Path.Combine(root, "DEBIAN"));
        File.WriteAllText(Path.Combine(root, "DEBIAN", "control"),
            "Package: r-cran-mlbench\nVersion: 2.1-3-1\nArchitecture: all\nMaintainer: test <t@example.org>\nDescription: stand-in\n");
        var data = Path.Combine(root, "usr", "lib", "R", "site-library", "mlbench", "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "README"), "other file");
        if (content is not null) File.WriteAllBytes(Path.Combine(data, "Shuttle.rda"), content);
        var deb = dir.Combine(name + ".deb");
        using var build = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dpkg-deb", ["--build", "--root-owner-group", root, deb])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        build.WaitForExit();
        return build.ExitCode == 0 ? deb : null;
    }

    /// <summary>
    /// Shuttle without R: the fetcher downloads r-cran-mlbench's .deb (here a stand-in apt-get copies one built in the test), takes
    /// Shuttle.rda out with the real dpkg-deb and reads it; every way that fails is one line naming the command.
    /// </summary>
    [Fact]
    public void ShuttleIsTakenOutOfTheDownloadedPackageAndFailuresNameTheCommand()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/dpkg-deb")) return; // not a Debian system
        using var dir = new TempDirectory();
        var good = FakeMlbench(dir, "good", RDataReaderTests.LabelledFrame("Class"));
        Assert.NotNull(good);
        var empty = FakeMlbench(dir, "empty", null)!;
        var broken = FakeMlbench(dir, "broken", "not an R file"u8.ToArray())!;
        DatasetFetcherOptions Options(string cache, string aptGet, string dpkgDeb = "dpkg-deb", List<string>? log = null) => new()
        {
            CacheFolder = dir.Combine(cache), SystemDataFolder = dir.Combine("no-system"), AptGetExecutable = aptGet, DpkgDebExecutable = dpkgDeb,
            Sources = DataSources.Cache | DataSources.SystemPackage | DataSources.DebianDownload, Log = log is null ? null : log.Add,
        };
        string AptCopying(string deb) => Script(dir, "apt-" + Path.GetFileNameWithoutExtension(deb),
            $"[ \"$1\" = download ] && [ \"$2\" = r-cran-mlbench ] && cp '{deb}' ./r-cran-mlbench_2.1-3-1_all.deb");

        var log = new List<string>();
        using (var fetcher = new DatasetFetcher(Options("cache", AptCopying(good!), log: log)))
        {
            var rows = fetcher.LoadTable("shuttle");
            Assert.Equal(3, rows.Count);
            Assert.Equal(["a", "b"], rows.ClassNames);
        }
        Assert.True(File.Exists(dir.Combine("cache", "shuttle", "Shuttle.rda")));
        Assert.Contains(log, l => l.Contains("download r-cran-mlbench", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("read: 3 rows", StringComparison.Ordinal));

        string Refusal(DatasetFetcherOptions options)
        {
            using var fetcher = new DatasetFetcher(options);
            var e = Assert.Throws<DatasetUnavailableException>(() => fetcher.LoadTable("shuttle"));
            Assert.Contains("dpkg-deb --fsys-tarfile r-cran-mlbench_*.deb | tar -xO ./usr/lib/R/site-library/mlbench/data/Shuttle.rda", e.Message); // the fix by hand
            Assert.False(File.Exists(Path.Combine(options.CacheFolder!, "shuttle", "Shuttle.rda")));
            return e.Message.Split('\n').Single(l => l.Contains("Debian package download r-cran-mlbench:", StringComparison.Ordinal));
        }
        var noAptGet = Refusal(Options("c1", dir.Combine("no-apt-get")));
        Assert.Contains("could not start", noAptGet);
        Assert.Contains("apt-get must be on PATH", noAptGet);
        Assert.Contains("`apt-get download r-cran-mlbench` exited with code 100: E: Unable to locate package r-cran-mlbench",
            Refusal(Options("c2", Script(dir, "apt-fails", "echo 'E: Unable to locate package r-cran-mlbench' >&2; exit 100"))));
        Assert.Contains("left no .deb file", Refusal(Options("c3", Script(dir, "apt-nothing", "exit 0"))));
        Assert.Contains("dpkg-deb must be on PATH", Refusal(Options("c4", AptCopying(good!), dpkgDeb: dir.Combine("no-dpkg-deb"))));
        Assert.Contains("exited with code 2", Refusal(Options("c5", AptCopying(good!), dpkgDeb: Script(dir, "dpkg-fails", "echo 'dpkg-deb: error: broken' >&2; exit 2"))));
        Assert.Contains("has no file /usr/lib/R/site-library/mlbench/data/Shuttle.rda", Refusal(Options("c6", AptCopying(empty))));
        Assert.Contains("is not valid", Refusal(Options("c7", AptCopying(broken))));
    }

    [Fact]
    public void ATableOfTwoFilesIsTheirRowsInOrderWithIdsThatNameTheFile()
    {
        using var dir = new TempDirectory();
        var folder = Path.Combine(dir.Combine("system"), "doc", "weka", "examples");
        Directory.CreateDirectory(folder);
        const string header = "@relation segment\n@attribute a numeric\n@attribute class {brickface,sky,foliage,cement,window,path,grass}\n@data\n";
        var train = string.Concat(Enumerable.Range(0, 1500).Select(i => $"{i},{(i % 2 == 0 ? "sky" : "grass")}\n"));
        File.WriteAllText(Path.Combine(folder, "segment-challenge.arff"), header + train);
        File.WriteAllText(Path.Combine(folder, "segment-test.arff"), header + "7,path\n8,window\n");
        var options = new DatasetFetcherOptions
        {
            CacheFolder = dir.Combine("cache"), SystemDataFolder = dir.Combine("system"), Sources = DataSources.Cache | DataSources.SystemPackage,
        };
        using (var fetcher = new DatasetFetcher(options))
        {
            var rows = fetcher.LoadTable("segment");
            Assert.Equal(1502, rows.Count);
            Assert.Equal("segment-challenge:5", rows.Ids[0]); // line 5 of the training file
            Assert.Equal(["segment-test:5", "segment-test:6"], rows.Ids[^2..]);
            Assert.Equal([5, 4], rows.Labels![^2..]);
            Assert.Equal(7f, rows.Numeric(1500, 0));
        }
        // A training file of another length than the official split's is refused with what to do, not split in the wrong place.
        File.WriteAllText(Path.Combine(dir.Combine("cache"), "segment", "segment-challenge.arff"), header + "1,sky\n");
        File.WriteAllText(Path.Combine(folder, "segment-challenge.arff"), header + "1,sky\n");
        using (var fetcher = new DatasetFetcher(options))
        {
            var e = Assert.Throws<InvalidDataException>(() => fetcher.LoadTable("segment"));
            Assert.Contains("holds 1 rows", e.Message);
            Assert.Contains("pretext data get segment", e.Message);
        }
        // Parts with other columns do not join.
        File.WriteAllText(Path.Combine(dir.Combine("cache"), "segment", "segment-challenge.arff"), header + train);
        File.WriteAllText(Path.Combine(dir.Combine("cache"), "segment", "segment-test.arff"),
            "@relation segment\n@attribute b numeric\n@attribute class {brickface,sky,foliage,cement,window,path,grass}\n@data\n1,sky\n");
        File.WriteAllText(Path.Combine(folder, "segment-test.arff"), File.ReadAllText(Path.Combine(dir.Combine("cache"), "segment", "segment-test.arff")));
        using (var fetcher = new DatasetFetcher(options))
        {
            var e = Assert.Throws<InvalidDataException>(() => fetcher.LoadTable("segment"));
            Assert.Contains("different columns", e.Message);
        }
    }
}
