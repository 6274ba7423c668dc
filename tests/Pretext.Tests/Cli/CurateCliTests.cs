using Pretext.Curation;
using Pretext.Tests.Data;

namespace Pretext.Tests.Cli;

/// <summary>`pretext curate` on an image folder with planted copies, from a checkpoint the CLI trained.</summary>
[Collection("console")]
public class CurateCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void CurateFindsPlantedCopiesAndWritesTheCsv()
    {
        using var dir = new TempDirectory();
        var images = Path.Combine(dir.Path, "images");
        var rng = new Random(4);
        for (int c = 0; c < 2; c++)
        {
            var folder = Path.Combine(images, $"class{c}");
            Directory.CreateDirectory(folder);
            for (int i = 0; i < 20; i++)
            {
                int cx = 8 + 12 * c, cy = 10 + 6 * c;
                File.WriteAllBytes(Path.Combine(folder, $"img{i:D2}.png"), TestFiles.Png(28, 28, 1, (x, y) =>
                    [(byte)Math.Min(255, 255 * Math.Exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 12.0) + rng.Next(0, 60))]));
            }
        }
        // Planted: a byte-identical copy under another name, and a copy saved in another class folder.
        File.Copy(Path.Combine(images, "class0", "img03.png"), Path.Combine(images, "class0", "copy of img03.png"));
        File.Copy(Path.Combine(images, "class1", "img07.png"), Path.Combine(images, "class0", "misfiled.png"));

        var run = Path.Combine(dir.Path, "run");
        var (c1, o1, e1) = Run("pretrain", "--dataset", images, "--run-dir", run, "--widths", "8,16", "--blocks", "1,1", "--batch-size", "16",
            "--max-steps", "2", "--threads", "1", "--precision", "Float32", "--layout", "Contiguous");
        Assert.True(c1 == 0, o1 + e1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000002.safetensors");

        var (c2, o2, e2) = Run("curate", "--checkpoint", ckpt, "--dataset", images, "--select", "5", "--outliers", "3", "--threads", "1");
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("Near-duplicates", o2);
        Assert.Contains("Label first: 5 typical samples", o2);
        var csv = Path.Combine(run, "curation.csv");
        Assert.Contains($"Wrote {csv}", o2);

        var rows = Curator.ReadCsv(csv);
        Assert.Equal(5, rows.Count(r => r.Kind == "select"));
        Assert.Equal(3, rows.Count(r => r.Kind == "outlier"));
        var groups = rows.Where(r => r.Kind == "duplicate").GroupBy(r => r.Group).Select(g => g.Select(r => r.Sample).Order().ToArray()).ToList();
        Assert.Contains(groups, g => g.Contains("class0/img03.png") && g.Contains("class0/copy of img03.png"));
        Assert.Contains(groups, g => g.Contains("class1/img07.png") && g.Contains("class0/misfiled.png"));
        Assert.All(rows, r => Assert.StartsWith("class", r.Sample));

        // Round two: the first round's CSV (its label column already filled from the class folders) says what is labelled;
        // the next picks leave those out and come by margin.
        var next = Path.Combine(dir.Path, "round2.csv");
        var (c5, o5, e5) = Run("curate", "--checkpoint", ckpt, "--dataset", images, "--labelled", csv, "--select", "6", "--outliers", "0",
            "--out", next, "--threads", "1");
        Assert.True(c5 == 0, o5 + e5);
        Assert.Contains("Label next: the 6 samples a probe trained on the 5 labelled ones", o5);
        var first = rows.Where(r => r.Kind == "select").Select(r => r.Sample).ToHashSet();
        var picked = Curator.ReadCsv(next).Where(r => r.Kind == "select").ToList();
        Assert.Equal(6, picked.Count);
        Assert.DoesNotContain(picked, r => first.Contains(r.Sample));
        Assert.Equal(picked.Select(r => r.Score).Order().ToArray(), picked.Select(r => r.Score).ToArray()); // least sure first
        var (c6, _, e6) = Run("curate", "--checkpoint", ckpt, "--dataset", images, "--strategy", "Margin", "--select", "3", "--threads", "1");
        Assert.Equal(2, c6);
        Assert.Contains("--labelled", e6);

        // Mistakes: more picks than samples, and a file name that is not CSV.
        var (c3, _, e3) = Run("curate", "--checkpoint", ckpt, "--dataset", images, "--select", "500", "--threads", "1");
        Assert.Equal(2, c3);
        Assert.Contains("--select 500", e3);
        var (c4, _, e4) = Run("curate", "--checkpoint", ckpt, "--dataset", images, "--out", dir.File("x.parquet"));
        Assert.Equal(2, c4);
        Assert.Contains(".csv", e4);
    }
}
