namespace Pretext.Tests.Cli;

/// <summary>`pretext score` and `pretext cluster` on a text checkpoint: every document gets a score and a segment, named by its path.</summary>
[Collection("console")]
public class TextRecordCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void DocumentsAreScoredAndSegmented()
    {
        using var dir = new TempDirectory();
        var docs = Path.Combine(dir.Path, "docs");
        TextEndToEndTests.WriteTextFolder(docs, 80);
        var run = Path.Combine(dir.Path, "run");
        var (c1, o1, e1) = Run(["pretrain", "--dataset", docs, "--method", "mlm", "--run-dir", run, "--batch-size", "16", "--max-steps", "3", "--threads", "1", .. TextEndToEndTests.Small]);
        Assert.True(c1 == 0, o1 + e1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000003.safetensors");

        var scores = dir.File("scores.csv");
        var (c2, o2, e2) = Run("score", "--checkpoint", ckpt, "--out", scores, "--threads", "1");
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("Wrote 80 record scores", o2);
        var lines = File.ReadAllLines(scores);
        Assert.Equal("id,part,score,flagged,knn,label", lines[0]);
        Assert.Equal(81, lines.Length);
        Assert.Contains(lines, l => l.StartsWith("spam/doc", StringComparison.Ordinal) || l.StartsWith("ham/doc", StringComparison.Ordinal));

        var segments = dir.File("segments.csv");
        var (c3, o3, e3) = Run("cluster", "--checkpoint", ckpt, "--out", segments, "--k", "2", "--threads", "1");
        Assert.True(c3 == 0, o3 + e3);
        Assert.Contains("Wrote 80 record segments", o3);
        var profile = File.ReadAllLines(dir.File("segments-profile.csv"));
        Assert.Equal(3, profile.Length); // a header and one row per segment: documents have no columns to profile
    }
}
