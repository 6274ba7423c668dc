using Pretext.Data;
using StbImageWriteSharp;

namespace Pretext.Tests.Data;

/// <summary>Damaged JPEGs are refused quickly, never decoded forever (issue 24: one such file hung a folder load and a serve request).</summary>
public class CorruptJpegTests
{
    internal static byte[] Jpeg(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                    rgb[(y * width + x) * 3 + c] = (byte)((x * (c + 1) * 5 + y * 3 + rng.Next(40)) & 255);
        using var ms = new MemoryStream();
        new ImageWriter().WriteJpg(rgb, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue, ms, 90);
        return ms.ToArray();
    }


    internal static byte[] Damaged(string damage)
    {
        var good = Jpeg(48, 40, 1);
        return damage switch
        {
            "app0-overrun" => [0xFF, 0xD8, 0xFF, 0xE0, .. "garbage"u8.ToArray()],
            "soi-only" => [0xFF, 0xD8],
            "garbage-after-soi" => [0xFF, 0xD8, .. Enumerable.Range(0, 300).Select(i => (byte)(i * 37 + 11))],
            "no-eoi" => good[..^2],
            _ when damage.StartsWith("cut-") => good[..(good.Length * int.Parse(damage[4..]) / 100)],
            _ => throw new ArgumentException(damage),
        };
    }

    [Fact]
    public void AGoodJpegDecodesAndSoDoesOneWithBytesAfterItsEnd()
    {
        var output = new byte[3 * 16 * 16];
        var good = Jpeg(48, 40, 1);
        Assert.Null(EncodedImageCheck.Problem(good));
        ImageFolderDataset.Decode(good, 3, 16, output, 1_000_000);
        Assert.Contains(output, b => b != 0 && b != 255);
        // Cameras and editors sometimes leave padding or a thumbnail after the end-of-image marker: still an image.
        var padded = new byte[3 * 16 * 16];
        ImageFolderDataset.Decode([.. good, 0, 0, 0, 0x12, 0x34], 3, 16, padded, 1_000_000);
        Assert.Equal(output, padded);
    }

    [Theory]
    [InlineData("app0-overrun", "truncated JPEG: marker 0xFFE0 at byte 2 declares 26,465 bytes")]
    [InlineData("soi-only", "truncated JPEG: the file ends at byte 2")]
    [InlineData("garbage-after-soi", "damaged JPEG: byte 2 should start a marker")]
    [InlineData("cut-10", "truncated JPEG")]
    [InlineData("cut-30", "no end-of-image marker")]
    [InlineData("cut-60", "no end-of-image marker")]
    [InlineData("cut-90", "no end-of-image marker")]
    [InlineData("no-eoi", "no end-of-image marker")]
    public async Task ADamagedJpegIsRefusedQuicklyNamingTheDamage(string damage, string expected)
    {
        // Before the framing check, "app0-overrun" never returned from the decoder and the cut files decoded as grey rows.
        var bytes = Damaged(damage);
        var output = new byte[16 * 16];
        var task = Task.Run(() => Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Decode(bytes, 1, 16, output, 1_000_000)));
        var first = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(first == task, $"decoding the {damage} JPEG did not finish in 20 s");
        var e = await task;
        Assert.Contains(expected, e.Message);
        Assert.Null(ImageFolderDataset.HeaderSize(bytes));
    }

    [Fact]
    public void AFolderWithDamagedJpegsListsThemAllAndSkipsThemOnRequest()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("a"));
        Directory.CreateDirectory(dir.Combine("b"));
        File.WriteAllBytes(dir.Combine("a", "good.jpg"), Jpeg(20, 20, 2));
        File.WriteAllBytes(dir.Combine("b", "good.jpg"), Jpeg(20, 20, 3));
        File.WriteAllBytes(dir.Combine("a", "hangs.jpg"), Damaged("app0-overrun"));
        File.WriteAllBytes(dir.Combine("b", "cut.jpg"), Damaged("cut-60"));
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(dir.Path, 8, 1));
        Assert.Contains(dir.Combine("a", "hangs.jpg"), e.Message);
        Assert.Contains(dir.Combine("b", "cut.jpg"), e.Message);
        Assert.Contains("--skip-bad", e.Message);
        var load = ImageFolderDataset.LoadWithReport(dir.Path, 8, 1, new ImageFolderOptions { SkipBad = true });
        using var ds = load.Dataset;
        Assert.Equal(2, ds.Count);
        Assert.Equal(["a/hangs.jpg", "b/cut.jpg"], load.SkippedFiles);
    }

    [Fact]
    public void PngFramingNamesTheCutChunk()
    {
        var png = TestFiles.Png(16, 16, 1, (x, y) => [(byte)(x * y)]);
        Assert.Null(EncodedImageCheck.Problem(png));
        Assert.Contains("truncated PNG", EncodedImageCheck.Problem(png[..^12]));            // IEND gone
        Assert.Contains("chunk 'IDAT'", EncodedImageCheck.Problem(png[..(png.Length / 2)])); // cut inside the data
        Assert.Equal("the file is empty (0 bytes)", EncodedImageCheck.Problem([]));
        Assert.Null(EncodedImageCheck.Problem("BM not checked"u8)); // other formats go to the decoder
    }
}
