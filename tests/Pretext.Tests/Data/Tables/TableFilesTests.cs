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
}
