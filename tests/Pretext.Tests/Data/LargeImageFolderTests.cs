using Pretext.Data;

namespace Pretext.Tests.Data;

/// <summary>Image folders with huge, broken and many files (issue 24): skipped by header size, listed in one pass, progress shown.</summary>
public class LargeImageFolderTests
{
    private static void Grey(string path, int width, int height, byte value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, TestFiles.Png(width, height, 1, (_, _) => [value]));
    }

    [Fact]
    public void AnImageWhoseHeaderDeclaresAHugeSizeIsSkippedBeforeDecoding()
    {
        using var dir = new TempDirectory();
        for (int i = 0; i < 3; i++) Grey(dir.File($"ok{i}.png"), 4, 4, (byte)(50 * i));
        // 30,000 x 20,000 = 600 megapixels declared (2.4 GB of RGBA if decoded) in a file of a few hundred bytes.
        File.WriteAllBytes(dir.File("huge.png"), TestFiles.PngClaiming(30_000, 20_000));
        Assert.Equal((30_000, 20_000), ImageFolderDataset.HeaderSize(dir.File("huge.png")));

        var log = new List<string>();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var load = ImageFolderDataset.LoadWithReport(dir.Path, 4, 1, new ImageFolderOptions { Log = log.Add, MaxDegreeOfParallelism = 1 });
        using var ds = load.Dataset;
        Assert.Equal(3, ds.Count);
        Assert.Equal(["huge.png"], load.SkippedFiles);
        Assert.Contains(log, l => l.Contains("huge.png (30,000 x 20,000 = 600 MP)") && l.Contains("40 megapixels") && l.Contains("--max-megapixels"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000_000, "the huge image's pixels were allocated");
    }

    [Fact]
    public void TheLimitIsAnOptionAndARealLargeImageIsSkippedOrDecodedByIt()
    {
        using var dir = new TempDirectory();
        Grey(dir.File("a.png"), 4, 4, 10);
        Grey(dir.File("big.png"), 2000, 1500, 200); // 3 megapixels, a real image
        var log = new List<string>();
        var small = ImageFolderDataset.LoadWithReport(dir.Path, 4, 1, new ImageFolderOptions { MaxPixels = 2_000_000, Log = log.Add });
        using (small.Dataset) Assert.Equal(1, small.Dataset.Count);
        Assert.Equal(["big.png"], small.SkippedFiles);
        Assert.Contains(log, l => l.Contains("big.png (2,000 x 1,500 = 3 MP)"));

        var large = ImageFolderDataset.LoadWithReport(dir.Path, 4, 1, new ImageFolderOptions { MaxPixels = 4_000_000 });
        using (large.Dataset) Assert.Equal(2, large.Dataset.Count);
        Assert.Empty(large.SkippedFiles);

        Assert.Throws<ArgumentException>(() => new ImageDataConfig { MaxMegapixels = 0 }.Options(null));
        Assert.Equal(3_000_000, new ImageDataConfig { MaxMegapixels = 3 }.Options(null).MaxPixels);
    }

    [Fact]
    public void EveryBadFileIsNamedInOneErrorThatNamesTheCliFlagWithoutControlCharacters()
    {
        using var dir = new TempDirectory();
        Grey(dir.File("good.png"), 4, 4, 9);
        var png = TestFiles.Png(16, 16, 1, (x, y) => [(byte)(x * y)]);
        File.WriteAllBytes(dir.File("cut.png"), png[..(png.Length / 2)]);
        File.WriteAllBytes(dir.File("text.png"), "definitely not a PNG"u8.ToArray());
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(dir.Path, 4, 1));
        Assert.Contains("2 image files could not be decoded", e.Message);
        Assert.Contains(dir.File("cut.png"), e.Message);
        Assert.Contains(dir.File("text.png"), e.Message);
        Assert.Contains("--skip-bad", e.Message);
        Assert.DoesNotContain(e.Message, char.IsControl);
    }

    [Fact]
    public void ALargeFolderReportsProgressWhileDecoding()
    {
        using var dir = new TempDirectory();
        var png = TestFiles.Png(2, 2, 1, (_, _) => [7]);
        for (int i = 0; i < 1000; i++) File.WriteAllBytes(dir.File($"img{i:D4}.png"), png);
        var log = new List<string>();
        using var ds = ImageFolderDataset.Load(dir.Path, 2, 1, new ImageFolderOptions { Log = log.Add });
        var progress = log.Where(l => l.Contains(" images (")).ToList();
        Assert.True(progress.Count >= 10, string.Join("\n", log));
        Assert.Contains(progress, l => l.Contains("decoded 100 of 1,000 images (10 %"));
        Assert.Contains(progress, l => l.Contains("decoded 1,000 of 1,000 images (100 %"));
    }
}
