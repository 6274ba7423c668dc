using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Pretext.Data;
using Pretext.Data.Tables;

namespace Pretext.Tests.Data.Tables;

public class RDataReaderTests
{
    /// <summary>R's XDR serialization written by hand: big-endian ints and doubles, as save() writes them.</summary>
    internal sealed class Xdr
    {
        private readonly MemoryStream bytes = new();

        public Xdr Raw(string s) { bytes.Write(Encoding.ASCII.GetBytes(s)); return this; }
        public Xdr Int(int v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); bytes.Write(b); return this; }
        public Xdr Real(double v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteDoubleBigEndian(b, v); bytes.Write(b); return this; }
        public Xdr Chars(string? s) => s is null ? Int(9).Int(-1) : Int(0x40009).Int(s.Length).Raw(s); // CHARSXP, ASCII
        public Xdr Symbol(string name) => Int(1).Chars(name);
        public Xdr Reference(int index) => Int((index << 8) | 255);
        public Xdr Strings(params string?[] values) { Int(16).Int(values.Length); foreach (var v in values) Chars(v); return this; }
        /// <summary>A pair-list node with a tag; the caller writes its value and the rest of the list.</summary>
        public Xdr Node() => Int(0x402);
        public Xdr Nil() => Int(254);
        public byte[] ToArray() => bytes.ToArray();
    }

    /// <summary>
    /// save(df, ...) of df = data.frame(x = c(1.5, NA, 3), f = factor(c("b", "a", NA)), n = c(7L, NA, 9L)): a double column, a factor with
    /// its levels, an integer column, row names in R's compact form, and the symbol "class" written once and then referred back to.
    /// </summary>
    private static byte[] DataFrame()
    {
        var w = new Xdr().Raw("RDX2\nX\n").Int(2).Int(0x40001).Int(0x20300);
        w.Node().Symbol("df");                                          // references: 1 df
        w.Int(0x313).Int(3);                                             // a list with attributes and the object bit: 3 columns
        w.Int(14).Int(3).Real(1.5).Real(BitConverter.Int64BitsToDouble(0x7FF00000000007A2)).Real(3); // R's NA_real_
        w.Int(0x30D).Int(3).Int(2).Int(1).Int(int.MinValue);             // factor codes, NA
        w.Node().Symbol("levels").Strings("a", "b");                    // 2 levels
        w.Node().Symbol("class").Strings("factor").Nil();               // 3 class
        w.Int(13).Int(3).Int(7).Int(int.MinValue).Int(9);
        w.Node().Symbol("names").Strings("x", "f", "n");                // 4 names
        w.Node().Reference(3).Strings("data.frame");
        w.Node().Symbol("row.names").Int(13).Int(2).Int(int.MinValue).Int(-3).Nil();
        w.Nil();                                                         // the end of the saved objects
        return w.ToArray();
    }

    /// <summary>save(d, ...) of d = data.frame(V1 = c(1.5, 2, 3), LABEL = factor(c("b", "a", "b"))): a small labelled frame.</summary>
    internal static byte[] LabelledFrame(string label)
    {
        var w = new Xdr().Raw("RDX2\nX\n").Int(2).Int(0x40001).Int(0x20300);
        w.Node().Symbol("d");                                           // references: 1 d
        w.Int(0x313).Int(2);                                             // a list with attributes and the object bit: 2 columns
        w.Int(14).Int(3).Real(1.5).Real(2).Real(3);
        w.Int(0x30D).Int(3).Int(2).Int(1).Int(2);                        // factor codes
        w.Node().Symbol("levels").Strings("a", "b");                    // 2 levels
        w.Node().Symbol("class").Strings("factor").Nil();               // 3 class
        w.Node().Symbol("names").Strings("V1", label);                  // 4 names
        w.Node().Reference(3).Strings("data.frame");
        w.Node().Symbol("row.names").Int(13).Int(2).Int(int.MinValue).Int(-3).Nil();
        w.Nil();
        return w.ToArray();
    }

    private static string Cells(RawRow row) => string.Join("|", row.Cells.Select(c => c ?? "NA"));

    [Fact]
    public void ReadsNumbersFactorsAndMissingValuesOfADataFrame()
    {
        using var dir = new TempDirectory();
        var plain = dir.File("df.rda");
        File.WriteAllBytes(plain, DataFrame());
        var gzipped = dir.File("df-gz.RData");
        using (var gz = new GZipStream(File.Create(gzipped), CompressionLevel.Fastest)) gz.Write(DataFrame());
        foreach (var path in new[] { plain, gzipped })
        {
            var raw = RDataReader.Read(path);
            Assert.Equal(["x", "f", "n"], raw.Names);
            Assert.Equal([ColumnKind.Numeric, ColumnKind.Categorical, ColumnKind.Numeric], raw.Declared.Select(d => d!.Kind));
            Assert.Equal(["a", "b"], raw.Declared[1]!.Values!);
            Assert.Equal([1, 2, 3], raw.Rows.Select(r => r.Line));
            Assert.Equal("1.5|b|7", Cells(raw.Rows[0]));
            Assert.Equal("NA|a|NA", Cells(raw.Rows[1]));
            Assert.Equal("3|NA|9", Cells(raw.Rows[2]));
            // Through the table path: typed as declared, the factor's levels in R's order.
            var rows = TableFiles.Read(path, new TableColumns(), formatName: path);
            Assert.Equal(["x", "n"], rows.NumericNames);
            Assert.Equal(["f"], rows.CategoricalNames);
            Assert.True(TableFiles.IsTableFile(path));
        }
    }

    [Fact]
    public void ABadFileIsRefusedWithWhatIsWrong()
    {
        using var dir = new TempDirectory();
        var bytes = DataFrame();
        var cut = dir.File("cut.rda");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => RDataReader.Read(cut));
        Assert.Contains("ends early", e.Message);
        Assert.Contains(cut, e.Message);
        var text = dir.File("text.rda");
        File.WriteAllText(text, "x,y\n1,2\n");
        Assert.Contains("not an R data file", Assert.Throws<InvalidDataException>(() => RDataReader.Read(text)).Message);
        var ascii = dir.File("ascii.rda");
        File.WriteAllText(ascii, "RDA2\nA\n2\n");
        Assert.Contains("not an R data file", Assert.Throws<InvalidDataException>(() => RDataReader.Read(ascii)).Message);
        // A closure (type 3) is not part of a data frame: named with its offset.
        var closure = dir.File("closure.rda");
        File.WriteAllBytes(closure, new Xdr().Raw("RDX2\nX\n").Int(2).Int(0).Int(0).Node().Symbol("f").Int(3).ToArray());
        Assert.Contains("type 3 at byte", Assert.Throws<InvalidDataException>(() => RDataReader.Read(closure)).Message);
        // Not a data frame at all.
        var vector = dir.File("vector.rda");
        File.WriteAllBytes(vector, new Xdr().Raw("RDX2\nX\n").Int(2).Int(0).Int(0).Node().Symbol("v").Int(14).Int(1).Real(2).Nil().ToArray());
        Assert.Contains("no data frame", Assert.Throws<InvalidDataException>(() => RDataReader.Read(vector)).Message);
    }

    [Fact]
    public void ShuttleReadsAsDocumentedWhenPresent()
    {
        // Debian's r-cran-mlbench (xz-compressed); or a copy in the data cache (`pretext data get shuttle` puts it there without R).
        var candidates = new[]
        {
            "/usr/lib/R/site-library/mlbench/data/Shuttle.rda",
            Path.Combine(DataCatalog.ResolveCacheFolder(), "shuttle", "Shuttle.rda"),
        };
        var path = candidates.FirstOrDefault(File.Exists);
        if (path is null)
        {
            // CI fetches it (`pretext data get shuttle`, which takes it out of the downloaded .deb) and sets this, so there it must be here.
            if (Environment.GetEnvironmentVariable("PRETEXT_REQUIRE_SHUTTLE") == "1")
                Assert.Fail("Shuttle.rda is neither installed nor in the data cache, and PRETEXT_REQUIRE_SHUTTLE=1: run `pretext data get shuttle`.");
            return; // neither is here
        }
        var rows = TableFiles.Read(path, DataCatalog.Shuttle.Table!);
        Assert.Equal(58000, rows.Count);
        Assert.Equal(9, rows.NumericNames.Length);
        Assert.Equal(DataCatalog.Shuttle.ClassNames, rows.ClassNames);
        var counts = DataCatalog.Shuttle.ClassNames.Select((_, c) => rows.Labels!.Count(y => y == c)).ToArray();
        Assert.Equal([45586, 50, 171, 8903, 3267, 10, 13], counts);
    }
}
