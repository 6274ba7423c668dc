using Pretext.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Pretext.Tests.Data;

public sealed class IdxReaderTests
{
    static IdxReaderTests() => torch.set_num_threads(1);

    private static readonly string[] Classes = ["a", "b", "c"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTripGivesImagesAndLabels(bool gzip)
    {
        using var dir = new TempDirectory();
        var pixels = TestFiles.Pixels(5, 4, 3);
        var labels = new byte[] { 0, 2, 1, 1, 0 };
        TestFiles.WriteIdx(dir.Combine("img"), pixels, [5, 4, 3], gzip);
        TestFiles.WriteIdx(dir.Combine("lbl"), labels, [5], gzip);

        Assert.Equal(gzip, IdxReader.IsGzip(dir.Combine("img")));
        var (data, dims) = IdxReader.ReadIdx(dir.Combine("img"), 3);
        Assert.Equal([5, 4, 3], dims);
        Assert.Equal(pixels, data);

        using var ds = IdxReader.LoadImages(dir.Combine("img"), dir.Combine("lbl"), "tiny", Classes);
        Assert.Equal(new long[] { 5, 1, 4, 3 }, ds.Data.shape);
        Assert.Equal(ScalarType.Byte, ds.Data.dtype);
        Assert.Equal(pixels, ds.Data.data<byte>().ToArray());
        Assert.Equal([0, 2, 1, 1, 0], ds.Labels!);
        Assert.Equal(Classes, ds.ClassNames);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedFileErrorNamesFileAndSizes(bool gzip)
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("train-images-idx3-ubyte");
        var full = TestFiles.IdxBytes(TestFiles.Pixels(2, 4, 4), [2, 4, 4]);
        TestFiles.WriteIdx(path, full[16..^5], [2, 4, 4], gzip);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadIdx(path, 3));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains($"exactly {full.Length}", e.Message);
        Assert.Contains($"found {full.Length - 5}", e.Message);
        Assert.Contains("pretext data get", e.Message);
    }

    [Fact]
    public void OversizedFileIsRejected()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("labels");
        TestFiles.WriteIdx(path, [1, 2, 3, 4], [3], gzip: false); // header says 3, four follow
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadIdx(path, 1));
        Assert.Contains("oversized", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void CutGzipStreamIsRejectedWithPath()
    {
        using var dir = new TempDirectory();
        var whole = dir.Combine("whole.gz");
        TestFiles.WriteIdx(whole, TestFiles.Pixels(20, 8, 8), [20, 8, 8], gzip: true);
        var cut = dir.Combine("cut.gz");
        var bytes = File.ReadAllBytes(whole);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadIdx(cut, 3));
        Assert.Contains(cut, e.Message);
    }

    [Fact]
    public void WrongMagicIsRejected()
    {
        using var dir = new TempDirectory();
        var labelsFile = dir.Combine("labels");
        TestFiles.WriteIdx(labelsFile, [1, 2], [2], gzip: false);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadIdx(labelsFile, 3));
        Assert.Contains("expected magic 0x00000803", e.Message);
        Assert.Contains("found 0x00000801", e.Message);
        Assert.Contains(labelsFile, e.Message);

        var notIdx = dir.Combine("image.png");
        File.WriteAllBytes(notIdx, TestFiles.Png(2, 2, 1, (_, _) => [7]));
        e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadIdx(notIdx, 3));
        Assert.Contains("not an IDX file", e.Message);

        var floats = dir.Combine("floats");
        TestFiles.WriteIdx(floats, new byte[8], [2], gzip: false, magicOverride: 0x00000D01);
        e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadIdx(floats, 1));
        Assert.Contains("only uint8", e.Message);
    }

    [Fact]
    public void ImageAndLabelCountMismatchIsRejected()
    {
        using var dir = new TempDirectory();
        TestFiles.WriteIdx(dir.Combine("img"), TestFiles.Pixels(4, 2, 2), [4, 2, 2], gzip: false);
        TestFiles.WriteIdx(dir.Combine("lbl"), [0, 1, 2], [3], gzip: true);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.LoadImages(dir.Combine("img"), dir.Combine("lbl"), "tiny", Classes));
        Assert.Contains("4 images", e.Message);
        Assert.Contains("3 labels", e.Message);
        Assert.Contains(dir.Combine("lbl"), e.Message);
    }

    [Fact]
    public void LabelOutsideClassListIsRejected()
    {
        using var dir = new TempDirectory();
        TestFiles.WriteIdx(dir.Combine("img"), TestFiles.Pixels(2, 2, 2), [2, 2, 2], gzip: false);
        TestFiles.WriteIdx(dir.Combine("lbl"), [0, 3], [2], gzip: false);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.LoadImages(dir.Combine("img"), dir.Combine("lbl"), "tiny", Classes));
        Assert.Contains("label 3 of sample 1", e.Message);
    }
}
