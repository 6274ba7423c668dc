using Pretext.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Pretext.Tests.Data;

public sealed class ImageFolderDatasetTests
{
    static ImageFolderDatasetTests() => torch.set_num_threads(1);

    private static void Solid(string path, int width, int height, params byte[] pixel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, TestFiles.Png(width, height, pixel.Length, (_, _) => pixel));
    }

    private static byte[] Values(TensorDataset ds) => ds.Data.data<byte>().ToArray();

    [Fact]
    public void LabelsComeFromSortedSubFolders()
    {
        using var dir = new TempDirectory();
        Solid(dir.Combine("zebra", "z1.png"), 5, 7, 10);
        Solid(dir.Combine("ant", "nested", "a2.png"), 3, 3, 20);
        Solid(dir.Combine("ant", "a1.png"), 9, 4, 30);
        Solid(dir.Combine("ant", ".hidden.png"), 2, 2, 40);
        File.WriteAllText(dir.Combine("zebra", "notes.txt"), "not an image");

        using var ds = ImageFolderDataset.Load(dir.Path, 4, 1);
        Assert.Equal(new long[] { 3, 1, 4, 4 }, ds.Data.shape);
        Assert.Equal(ScalarType.Byte, ds.Data.dtype);
        Assert.Equal(["ant", "zebra"], ds.ClassNames);
        Assert.Equal([0, 0, 1], ds.Labels!);
        Assert.Equal(["ant/a1.png", "ant/nested/a2.png", "zebra/z1.png"], Enumerable.Range(0, 3).Select(i => ds.SampleId(i)));
        // Solid images stay solid whatever the resize.
        Assert.Equal(Enumerable.Repeat((byte)30, 16).Concat(Enumerable.Repeat((byte)20, 16)).Concat(Enumerable.Repeat((byte)10, 16)), Values(ds));
    }

    [Fact]
    public void UnlabelledFolder()
    {
        using var dir = new TempDirectory();
        Solid(dir.Combine("b.png"), 2, 2, 1, 2, 3);
        Solid(dir.Combine("a.png"), 2, 2, 4, 5, 6);
        using var ds = ImageFolderDataset.Load(dir.Path, 2, 3);
        Assert.Null(ds.Labels);
        Assert.Empty(ds.ClassNames);
        Assert.Equal("a.png", ds.SampleId(0));
        Assert.Equal(new long[] { 2, 3, 2, 2 }, ds.Data.shape);
        Assert.Equal(new byte[] { 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6 }, Values(ds)[..12]);
    }

    [Fact]
    public void ColourConversions()
    {
        using var dir = new TempDirectory();
        Solid(dir.Combine("1-grey.png"), 3, 3, 77);
        Solid(dir.Combine("2-rgb.png"), 3, 3, 200, 100, 50);
        Solid(dir.Combine("3-rgba.png"), 3, 3, 0, 0, 0, 128); // half-transparent black over white
        Solid(dir.Combine("4-clear.png"), 3, 3, 10, 20, 30, 0);

        using var grey = ImageFolderDataset.Load(dir.Path, 3, 1);
        var g = Values(grey);
        Assert.Equal(77, g[0]);
        Assert.Equal((byte)Math.Round(0.299 * 200 + 0.587 * 100 + 0.114 * 50), g[9]);
        Assert.Equal((byte)Math.Round(255 * (1 - 128 / 255.0)), g[18]);
        Assert.Equal(255, g[27]);

        using var rgb = ImageFolderDataset.Load(dir.Path, 3, 3);
        var c = Values(rgb);
        const int image = 27, plane = 9;
        Assert.Equal(new byte[] { 77, 77, 77 }, new[] { c[0], c[plane], c[2 * plane] });
        Assert.Equal(new byte[] { 200, 100, 50 }, new[] { c[image], c[image + plane], c[image + 2 * plane] });
        Assert.Equal(new byte[] { 255, 255, 255 }, new[] { c[3 * image], c[3 * image + plane], c[3 * image + 2 * plane] });
    }

    [Fact]
    public void ResizeKeepsSameSizeExactAndAveragesWhenShrinking()
    {
        using var dir = new TempDirectory();
        byte Pattern(int x, int y) => (byte)(x * 16 + y * 3);
        File.WriteAllBytes(dir.Combine("ramp.png"), TestFiles.Png(8, 8, 1, (x, y) => [Pattern(x, y)]));
        using (var same = ImageFolderDataset.Load(dir.Path, 8, 1))
            Assert.Equal(Enumerable.Range(0, 64).Select(i => Pattern(i % 8, i / 8)), Values(same));

        // A 1-pixel checkerboard shrunk 4x must come out mid-grey everywhere (point sampling would alias to 0 or 255).
        File.Delete(dir.Combine("ramp.png"));
        File.WriteAllBytes(dir.Combine("checker.png"), TestFiles.Png(16, 16, 1, (x, y) => [(byte)((x + y) % 2 * 255)]));
        using (var small = ImageFolderDataset.Load(dir.Path, 4, 1))
            Assert.All(Values(small), v => Assert.InRange(v, 120, 135));

        // Enlarging a 2x1 image interpolates between the two pixels, left to right.
        File.Delete(dir.Combine("checker.png"));
        File.WriteAllBytes(dir.Combine("pair.png"), TestFiles.Png(2, 1, 1, (x, _) => [(byte)(x * 200)]));
        using var large = ImageFolderDataset.Load(dir.Path, 8, 1);
        var row = Values(large)[..8];
        Assert.Equal(0, row[0]);
        Assert.Equal(200, row[7]);
        Assert.True(row.Zip(row.Skip(1)).All(p => p.First <= p.Second));
        Assert.Equal(Values(large)[..8], Values(large)[56..]);
    }

    [Fact]
    public void CorruptFileThrowsOrIsSkipped()
    {
        using var dir = new TempDirectory();
        Solid(dir.Combine("cats", "good.png"), 4, 4, 9);
        Solid(dir.Combine("dogs", "good.png"), 4, 4, 99);
        File.WriteAllBytes(dir.Combine("dogs", "broken.png"), "definitely not a PNG"u8.ToArray());
        File.WriteAllBytes(dir.Combine("dogs", "empty.jpg"), []);

        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(dir.Path, 4, 1));
        Assert.Contains(dir.Combine("dogs", "broken.png"), e.Message);
        Assert.Contains("SkipBad", e.Message);

        var log = new List<string>();
        var result = ImageFolderDataset.LoadWithReport(dir.Path, 4, 1, new ImageFolderOptions { SkipBad = true, Log = log.Add });
        using var ds = result.Dataset;
        Assert.Equal(["dogs/broken.png", "dogs/empty.jpg"], result.SkippedFiles);
        Assert.Equal(2, ds.Count);
        Assert.Equal([0, 1], ds.Labels!);
        Assert.Equal("dogs/good.png", ds.SampleId(1));
        Assert.Contains(log, l => l.Contains("skipped 2"));
    }

    [Fact]
    public void EmptyOrMixedFoldersAreClearErrors()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(dir.Path, 4, 1));
        Assert.Contains("holds no images", e.Message);
        Assert.Contains(dir.Path, e.Message);

        Directory.CreateDirectory(dir.Combine("empty-class"));
        Solid(dir.Combine("full-class", "x.png"), 2, 2, 1);
        e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(dir.Path, 4, 1));
        Assert.Contains(dir.Combine("empty-class"), e.Message);

        Directory.Delete(dir.Combine("empty-class"));
        Solid(dir.Combine("loose.png"), 2, 2, 1);
        e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(dir.Path, 4, 1));
        Assert.Contains("mixes 1 loose image", e.Message);

        Assert.Throws<DirectoryNotFoundException>(() => ImageFolderDataset.Load(dir.Combine("missing"), 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageFolderDataset.Load(dir.Path, 4, 2));
    }
}
