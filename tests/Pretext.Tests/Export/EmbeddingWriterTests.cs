using Pretext.Export;
using Xunit;

namespace Pretext.Tests.Export;

public class EmbeddingWriterTests
{
    private static (float[] Data, string[] Ids, int[] Labels) Sample(int n, int d, int seed = 7)
    {
        var random = new Random(seed);
        var data = new float[n * d];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1) * MathF.Pow(10, random.Next(-8, 8));
        // Edge values that naive formatting loses.
        data[0] = float.Epsilon;
        data[1] = float.MaxValue;
        data[2] = -0.1f;
        data[3] = 1f / 3;
        var ids = Enumerable.Range(0, n).Select(i => $"img_{i:D4}.png").ToArray();
        ids[1] = "has,comma";
        ids[2] = "has \"quote\"";
        ids[3] = "line\nbreak";
        ids[4] = " padded ";
        var labels = Enumerable.Range(0, n).Select(i => i % 10 - 3).ToArray();
        return (data, ids, labels);
    }

    private static void AssertSame(float[] data, string[] ids, int[]? labels, int n, int d, EmbeddingTable read)
    {
        Assert.Equal(n, read.Count);
        Assert.Equal(d, read.Dim);
        Assert.Equal(ids, read.Ids);
        Assert.Equal(labels, read.Labels);
        // Bit-exact: round-trip formatting must not lose a single ulp.
        Assert.Equal(data.Select(BitConverter.SingleToInt32Bits), read.Data.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void CsvRoundTripIsExact()
    {
        using var dir = new TempDirectory();
        var (data, ids, labels) = Sample(50, 8);
        var path = dir.File("emb.csv");
        EmbeddingWriter.WriteCsv(path, data, 50, 8, ids, labels);
        Assert.StartsWith("id,label,e0,e1,", File.ReadLines(path).First());
        AssertSame(data, ids, labels, 50, 8, EmbeddingWriter.ReadCsv(path));
    }

    [Fact]
    public void CsvWithoutLabelsReadsBackNullLabels()
    {
        using var dir = new TempDirectory();
        var (data, ids, _) = Sample(20, 3);
        var path = dir.File("emb.csv");
        EmbeddingWriter.WriteCsv(path, data, 20, 3, ids);
        AssertSame(data, ids, null, 20, 3, EmbeddingWriter.ReadCsv(path));
    }

    [Fact]
    public async Task ParquetRoundTripIsExact()
    {
        using var dir = new TempDirectory();
        var (data, ids, labels) = Sample(100, 16);
        var path = dir.File("emb.parquet");
        await EmbeddingWriter.WriteParquetAsync(path, data, 100, 16, ids, labels);
        Assert.Equal("PAR1"u8.ToArray(), File.ReadAllBytes(path)[..4]);
        AssertSame(data, ids, labels, 100, 16, await EmbeddingWriter.ReadParquetAsync(path));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public async Task ParquetWithoutLabelsSpanningRowGroups()
    {
        using var dir = new TempDirectory();
        int n = EmbeddingWriter.RowGroupSize + 10;
        var (data, ids, _) = Sample(n, 2);
        var path = dir.File("emb.parquet");
        await EmbeddingWriter.WriteParquetAsync(path, data, n, 2, ids);
        AssertSame(data, ids, null, n, 2, await EmbeddingWriter.ReadParquetAsync(path));
    }

    [Fact]
    public async Task EmptyTableRoundTrips()
    {
        using var dir = new TempDirectory();
        await EmbeddingWriter.WriteParquetAsync(dir.File("e.parquet"), [], 0, 4, [], []);
        var read = await EmbeddingWriter.ReadParquetAsync(dir.File("e.parquet"));
        Assert.Equal(0, read.Count);
        Assert.Equal(4, read.Dim);
        EmbeddingWriter.WriteCsv(dir.File("e.csv"), [], 0, 4, []);
        Assert.Equal(4, EmbeddingWriter.ReadCsv(dir.File("e.csv")).Dim);
    }

    [Fact]
    public void ShapeMismatchIsRejected()
    {
        using var dir = new TempDirectory();
        Assert.Throws<ArgumentException>(() => EmbeddingWriter.WriteCsv(dir.File("a.csv"), new float[5], 2, 3, ["a", "b"]));
        Assert.Throws<ArgumentException>(() => EmbeddingWriter.WriteCsv(dir.File("a.csv"), new float[6], 2, 3, ["a"]));
        Assert.Throws<ArgumentException>(() => EmbeddingWriter.WriteCsv(dir.File("a.csv"), new float[6], 2, 3, ["a", "b"], [1]));
        Assert.False(File.Exists(dir.File("a.csv")));
    }

    [Fact]
    public void ReadCsvNamesFileOnBadHeader()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.csv");
        File.WriteAllText(path, "name,x\nfoo,1\n");
        var e = Assert.Throws<InvalidDataException>(() => EmbeddingWriter.ReadCsv(path));
        Assert.Contains(path, e.Message);
    }
}
