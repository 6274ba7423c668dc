using Pretext.Export;
using Pretext.Tests.Data.Tables;

namespace Pretext.Tests.Cli;

/// <summary>The user's path through the CLI on their own table: pretrain SCARF, evaluate, embed; a bad file refused with the fix.</summary>
[Collection("console")]
public class TableCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static readonly string[] Small =
    [
        "--set", "table.columns.id=id", "--set", "encoder.table.hidden=[16,8]",
        "--set", "evaluation.probe.iterations=30", "--set", "evaluation.knnK=5", "--set", "evaluation.perClass=[5]", "--set", "evaluation.trainedPerClass=[5]",
        "--set", "evaluation.scratchFractions=[1]", "--set", "evaluation.fineTuneFractions=[1]", "--set", "evaluation.linearFractions=[1]",
        "--set", "evaluation.supervised.steps=3", "--set", "evaluation.supervised.minEpochs=1", "--set", "evaluation.maps.samples=0",
        "--set", "evaluation.table.positiveClass=churn",
    ];

    [Fact]
    public void PretrainEvaluateAndEmbedACustomerTable()
    {
        using var dir = new TempDirectory();
        var file = TestTables.WriteCsv(dir.File("customers.csv"), 150);
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run(["pretrain", "--dataset", file, "--method", "scarf", "--run-dir", run, "--max-steps", "3", "--batch-size", "32", "--threads", "1", .. Small]);
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains("Done: 3 steps", o1);
        Assert.Contains("120 rows as 6 inputs", o1);
        Assert.Contains("\"Vocabularies\"", File.ReadAllText(Path.Combine(run, "config.json")));

        var ckpt = Path.Combine(run, "checkpoints", "step-00000003.safetensors");
        var (c2, o2, e2) = Run("evaluate", "--checkpoint", ckpt, "--threads", "1", "--seeds", "1");
        Assert.True(c2 == 0, o2 + e2);
        foreach (var model in new[] { "kNN (frozen)", "linear probe (frozen)", "raw columns (no learning)" }) Assert.Contains(model, o2);
        Assert.Contains("F1 of churn", o2);
        Assert.Contains("\"baseline\": \"raw columns\"", File.ReadAllText(Path.Combine(run, "evaluation", "summary.json")));

        var csv = Path.Combine(dir.Path, "emb.csv");
        var (c3, o3, e3) = Run("embed", "--checkpoint", ckpt, "--out", csv, "--threads", "1");
        Assert.True(c3 == 0, o3 + e3);
        var table = EmbeddingWriter.ReadCsv(csv);
        Assert.Equal(8, table.Dim);
        Assert.Equal(150, table.Count); // a file is embedded whole, rows named by the id column
        Assert.Equal("r0", table.Ids[0]);
    }

    [Fact]
    public void ABadCellIsRefusedWithItsLineColumnAndFix()
    {
        using var dir = new TempDirectory();
        var file = dir.File("t.csv");
        File.WriteAllText(file, "x,label\n1,a\n2,b\n3,\n");
        var (c, _, e) = Run("pretrain", "--dataset", file, "--method", "scarf", "--run-dir", dir.Combine("r"), "--max-steps", "1");
        Assert.Equal(2, c);
        Assert.Contains("line 4, column 'label': the label is missing", e);
        Assert.Contains("table.columns.label", e);
    }

    [Fact]
    public void ScoreWritesEveryRecordOfATableWithItsId()
    {
        using var dir = new TempDirectory();
        var file = Pretext.Tests.Runs.RecordScoringTests.WritePlanted(dir.File("shop.csv"), 300);
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run("pretrain", "--dataset", file, "--method", "dae", "--run-dir", run, "--max-steps", "5", "--batch-size", "32", "--threads", "1",
            "--set", "table.columns.id=id", "--set", "encoder.table.hidden=[16,8]");
        Assert.True(c1 == 0, o1 + e1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000005.safetensors");
        var csv = dir.File("scores.csv");
        var (c2, o2, e2) = Run("score", "--checkpoint", ckpt, "--out", csv, "--out", dir.File("scores.parquet"), "--set", "table.columns.id=id", "--threads", "1");
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("Wrote 300 record scores", o2);
        Assert.Contains("Test records (anomaly as anomalies): ", o2);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("id,part,score,flagged,knn,reconstruction,label", lines[0]);
        Assert.Equal(301, lines.Length);
        Assert.True(File.Exists(dir.File("scores.parquet")));

        // The same file read in chunks: every row, the same columns, in the same order (ids), the parts by id hash.
        var streamed = dir.File("streamed.csv");
        var (c5, o5, e5) = Run("score", "--checkpoint", ckpt, "--out", streamed, "--stream", "Always", "--max-reference", "100", "--threads", "1");
        Assert.True(c5 == 0, o5 + e5);
        Assert.Contains("read in chunks of 4,096", o5);
        Assert.Contains("Wrote 300 record scores", o5);
        Assert.Contains("of 100 reference records", o5);
        var streamedLines = File.ReadAllLines(streamed);
        Assert.Equal(lines[0], streamedLines[0]);
        Assert.Equal(301, streamedLines.Length);
        Assert.Equal(lines.Skip(1).Select(l => l.Split(',')[0]).Order(), streamedLines.Skip(1).Select(l => l.Split(',')[0]).Order());

        var (c3, _, e3) = Run("score", "--checkpoint", ckpt, "--out", csv, "--windows-out", dir.File("w.csv"));
        Assert.Equal(2, c3);
        Assert.Contains("--windows-out is for series", e3);
        var (c4, o4, _) = Run("score", "--help");
        Assert.Equal(0, c4);
        Assert.Contains("--anomaly-class", o4);
    }

    [Fact]
    public void ClusterWritesASegmentPerRecordAndTheProfiles()
    {
        using var dir = new TempDirectory();
        var file = Pretext.Tests.Runs.RecordClusteringTests.WriteSegments(dir.File("customers.csv"), 240);
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run("pretrain", "--dataset", file, "--method", "scarf", "--run-dir", run, "--max-steps", "5", "--batch-size", "32", "--threads", "1",
            "--set", "table.columns.id=id", "--set", "encoder.table.hidden=[16,8]");
        Assert.True(c1 == 0, o1 + e1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000005.safetensors");
        var csv = dir.File("segments.csv");
        var (c2, o2, e2) = Run("cluster", "--checkpoint", ckpt, "--out", csv, "--k", "3", "--set", "table.columns.id=id", "--threads", "1");
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("k = 3 (given)", o2);
        Assert.Contains("Wrote 240 record segments", o2);
        Assert.Contains("segment 0: ", o2);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("id,part,segment,distance,label", lines[0]);
        Assert.Equal(241, lines.Length);
        var profile = File.ReadAllLines(dir.File("segments-profile.csv"));
        Assert.Equal("segment,size,share,rank,column,kind,segment_value,overall_value,difference", profile[0]);

        var streamed = dir.File("streamed.csv");
        var (c5, o5, e5) = Run("cluster", "--checkpoint", ckpt, "--out", streamed, "--stream", "Always", "--k", "3", "--threads", "1");
        Assert.True(c5 == 0, o5 + e5);
        Assert.Contains("read in chunks of 4,096", o5);
        Assert.Contains("Wrote 240 record segments", o5);
        Assert.Equal(lines[0], File.ReadAllLines(streamed)[0]);
        Assert.Equal(241, File.ReadAllLines(streamed).Length);
        Assert.Equal(profile[0], File.ReadAllLines(dir.File("streamed-profile.csv"))[0]);

        var (c3, _, e3) = Run("cluster", "--checkpoint", ckpt, "--out", csv, "--k", "1");
        Assert.Equal(2, c3);
        Assert.Contains("--k is the number of segments", e3);
        var (c4, o4, _) = Run("cluster", "--help");
        Assert.Equal(0, c4);
        Assert.Contains("--k-max", o4);
    }
}
