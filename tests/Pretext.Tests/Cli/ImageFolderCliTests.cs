using Pretext.Tests.Data;

namespace Pretext.Tests.Cli;

/// <summary>`pretrain` on an image folder with a broken and an oversized file: --skip-bad and --max-megapixels exist and work.</summary>
[Collection("console")]
public class ImageFolderCliTests
{
    [Fact]
    public void SkipBadAndMaxMegapixelsAreCliOptionsThatWork()
    {
        TorchSharp.torch.set_num_threads(1);
        using var dir = new TempDirectory();
        var images = dir.File("images");
        Directory.CreateDirectory(images);
        var rng = new Random(3);
        for (int i = 0; i < 40; i++)
            File.WriteAllBytes(Path.Combine(images, $"img{i:D2}.png"), TestFiles.Png(12, 12, 1, (_, _) => [(byte)rng.Next(256)]));
        File.WriteAllBytes(Path.Combine(images, "broken.png"), "definitely not a PNG"u8.ToArray());
        File.WriteAllBytes(Path.Combine(images, "poster.png"), TestFiles.PngClaiming(20_990, 29_700));
        string[] tiny = ["--dataset", images, "--image-size", "12", "--widths", "8,16", "--blocks", "1,1", "--batch-size", "8", "--max-steps", "2",
                         "--threads", "1", "--precision", "Float32", "--layout", "Contiguous"];

        var (help, helpOut, _) = CliRunner.Run("pretrain", "--help");
        Assert.Equal(0, help);
        Assert.Contains("--skip-bad", helpOut);
        Assert.Contains("--max-megapixels", helpOut);

        // Without --skip-bad: the broken file stops the run before training, and the message names the flag that exists.
        var (c1, _, e1) = CliRunner.Run(["pretrain", .. tiny, "--run-dir", dir.File("r1")]);
        Assert.Equal(2, c1);
        Assert.Contains("broken.png", e1);
        Assert.Contains("--skip-bad", e1);
        Assert.DoesNotContain("load with SkipBad", e1);

        // With it: both left out, each named, and the run trains on the rest.
        var (c2, o2, e2) = CliRunner.Run(["pretrain", .. tiny, "--run-dir", dir.File("r2"), "--skip-bad"]);
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("poster.png (20,990 x 29,700 = 623.4 MP)", o2);
        Assert.Contains("broken.png", o2);
        Assert.Contains("Done: 2 steps", o2);

        var (c3, _, e3) = CliRunner.Run(["pretrain", .. tiny, "--run-dir", dir.File("r3"), "--max-megapixels", "0"]);
        Assert.Equal(2, c3);
        Assert.Contains("--max-megapixels must be a positive number", e3);
    }
}
