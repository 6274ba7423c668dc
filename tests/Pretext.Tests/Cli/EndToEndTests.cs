using Pretext.Export;
using Pretext.Tests.Data;

namespace Pretext.Tests.Cli;

/// <summary>The user's path through the CLI on their own images: pretrain, resume, evaluate, embed.</summary>
[Collection("console")]
public class EndToEndTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    internal static void WriteBlobFolder(string root, int perClass)
    {
        var rng = new Random(3);
        for (int c = 0; c < 3; c++)
        {
            var dir = Path.Combine(root, $"class{c}");
            Directory.CreateDirectory(dir);
            for (int i = 0; i < perClass; i++)
            {
                int cx = 6 + 7 * c, cy = 8 + 5 * c, w = 20 + rng.Next(0, 9);
                var png = TestFiles.Png(w, w, 1, (x, y) =>
                {
                    double d2 = Math.Pow(x * 28.0 / w - cx, 2) + Math.Pow(y * 28.0 / w - cy, 2);
                    return [(byte)Math.Min(255, 255 * Math.Exp(-d2 / 16) + rng.Next(0, 30))];
                });
                File.WriteAllBytes(Path.Combine(dir, $"img{i:D3}.png"), png);
            }
        }
    }

    /// <summary>`pretext pretrain` options for a tiny fp32 ResNet on a blob folder, one thread.</summary>
    private static string[] TinyPretrainArgs(string images, string run, int epochs, int checkpointEvery) =>
        ["--dataset", images, "--run-dir", run, "--widths", "8,16", "--blocks", "1,1", "--batch-size", "16", "--epochs", $"{epochs}",
         "--threads", "1", "--precision", "Float32", "--layout", "Contiguous", "--checkpoint-every", $"{checkpointEvery}"];

    [Fact]
    public async Task PretrainResumeEvaluateEmbedOnAnImageFolder()
    {
        using var dir = new TempDirectory();
        var images = Path.Combine(dir.Path, "images");
        WriteBlobFolder(images, 40);
        var run = Path.Combine(dir.Path, "run");
        string[] common = TinyPretrainArgs(images, run, epochs: 2, checkpointEvery: 3);

        var (c1, o1, e1) = Run(["pretrain", .. common, "--max-steps", "4"]);
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains("Done: 4 steps", o1);
        // A second plain run must not overwrite the first.
        var (c2, _, e2) = Run(["pretrain", .. common, "--max-steps", "4"]);
        Assert.Equal(2, c2);
        Assert.Contains("--resume", e2);
        var (c3, o3, e3) = Run(["pretrain", .. common, "--max-steps", "4", "--resume"]);
        Assert.True(c3 == 0, o3 + e3);
        Assert.Contains("Resuming", o3);
        // The run had finished: it says so rather than printing a NaN loss and 0 samples/s.
        Assert.Contains("Nothing to train", o3);
        Assert.Contains("Done: 4 steps (none trained now)", o3);
        Assert.DoesNotContain("NaN", o3);
        // A longer length given with --resume is ignored, and the user is told why and what to do instead.
        var (c3b, o3b, e3b) = Run(["pretrain", .. common, "--max-steps", "8", "--resume"]);
        Assert.True(c3b == 0, o3b + e3b);
        Assert.Contains("--max-steps 8 is ignored", o3b);
        Assert.Contains("new --run-dir", o3b);
        Assert.Contains("Done: 4 steps", o3b);
        // --resume of a mistyped folder is refused before any data loads, naming the folder it probably meant; nothing is created.
        var typo = Path.Combine(dir.Path, "rnu");
        var (c3c, o3c, e3c) = Run(["pretrain", .. TinyPretrainArgs(images, typo, epochs: 2, checkpointEvery: 3), "--resume"]);
        Assert.True(c3c == 2, o3c + e3c);
        Assert.Contains($"no run folder '{typo}' to resume", e3c);
        Assert.Contains("Did you mean", e3c);
        Assert.Contains("run'", e3c);
        Assert.False(Directory.Exists(typo));
        // A resume with another setting names it, with both values.
        var (c3d, o3d, e3d) = Run(["pretrain", .. common, "--max-steps", "4", "--resume", "--seed", "7"]);
        Assert.True(c3d == 2, o3d + e3d);
        Assert.Contains("train.seed: 42 in the checkpoint, 7 now", e3d);

        var ckpt = Path.Combine(run, "checkpoints", "step-00000004.safetensors");
        Assert.True(File.Exists(ckpt));
        var (c4, o4, e4) = Run("evaluate", "--checkpoint", ckpt, "--no-supervised", "--threads", "1");
        Assert.True(c4 == 0, o4 + e4);
        Assert.Contains("kNN", o4);
        Assert.True(File.Exists(Path.Combine(run, "evaluation", "report.html")));
        Assert.True(File.Exists(Path.Combine(run, "evaluation", "summary.json")));

        var csv = Path.Combine(dir.Path, "emb.csv");
        var parquet = Path.Combine(dir.Path, "emb.parquet");
        var (c5, o5, e5) = Run("embed", "--checkpoint", ckpt, "--out", csv, "--out", parquet, "--threads", "1");
        Assert.True(c5 == 0, o5 + e5);
        var table = EmbeddingWriter.ReadCsv(csv);
        Assert.Equal(120, table.Count);
        Assert.Equal(16, table.Dim);
        Assert.StartsWith("class0/", table.Ids[0]);
        var fromParquet = await EmbeddingWriter.ReadParquetAsync(parquet);
        Assert.Equal(table.Data, fromParquet.Data);
        Assert.Equal(table.Labels, fromParquet.Labels);
    }

    [Fact]
    public void PretrainWithATimeBudgetTimesStepsAndCutsTheRunToWhatFits()
    {
        using var dir = new TempDirectory();
        var images = Path.Combine(dir.Path, "images");
        WriteBlobFolder(images, 20);
        var run = Path.Combine(dir.Path, "run");
        string[] common = TinyPretrainArgs(images, run, epochs: 50, checkpointEvery: 1000);
        // A budget far below one step's cost: the floor of 10 steps.
        var (c1, o1, e1) = Run(["pretrain", .. common, "--minutes", "0.00001"]);
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains("10 of the recipe's 150 steps", o1);
        Assert.Contains("Done: 10 steps", o1);

        var (c2, _, e2) = Run(["pretrain", .. TinyPretrainArgs(images, Path.Combine(dir.Path, "r2"), epochs: 50, checkpointEvery: 1000), "--minutes", "-1"]);
        Assert.Equal(2, c2);
        Assert.Contains("--minutes must be a positive number", e2);
    }
}
