using Pretext.Export;
using Pretext.Tests.Data.Series;

namespace Pretext.Tests.Cli;

/// <summary>The user's path through the CLI on their own sensor file: pretrain a series method, evaluate, embed; bad input refused.</summary>
[Collection("console")]
public class SeriesCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    // The file's columns, windows of 16 in blocks of 100, a tiny TCN, and tiny evaluation budgets; they travel in the checkpoint.
    private static readonly string[] Small =
    [
        "--set", "series.columns.entity=unit", "--set", "series.window=16", "--set", "series.stride=4", "--set", "series.blockLength=100",
        "--set", "encoder.series.dim=8", "--set", "encoder.series.width=8", "--set", "encoder.series.blocks=2",
        "--set", "evaluation.probe.iterations=30", "--set", "evaluation.knnK=5", "--set", "evaluation.perClass=[5]", "--set", "evaluation.maps.samples=0",
    ];

    [Fact]
    public void PretrainEvaluateAndEmbedASensorFile()
    {
        using var dir = new TempDirectory();
        var file = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 500, burst: 20, burstAt: 300);
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run(["pretrain", "--dataset", file, "--method", "cpc", "--run-dir", run, "--max-steps", "3", "--batch-size", "16",
            "--threads", "1", .. Small]);
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains("Done: 3 steps", o1);
        Assert.Contains("train part 800 readings", o1);
        Assert.Contains("\"Channels\": 2", File.ReadAllText(Path.Combine(run, "config.json")));

        var ckpt = Path.Combine(run, "checkpoints", "step-00000003.safetensors");
        var (c2, o2, e2) = Run("evaluate", "--checkpoint", ckpt, "--threads", "1", "--seeds", "1");
        Assert.True(c2 == 0, o2 + e2);
        foreach (var model in new[] { "kNN (frozen)", "linear probe (frozen)", "raw windows (no learning)" }) Assert.Contains(model, o2);
        Assert.Contains("F1 of anomaly", o2);
        Assert.Contains("\"baseline\": \"raw windows\"", File.ReadAllText(Path.Combine(run, "evaluation", "summary.json")));

        var csv = Path.Combine(dir.Path, "emb.csv");
        var (c3, o3, e3) = Run("embed", "--checkpoint", ckpt, "--out", csv, "--threads", "1");
        Assert.True(c3 == 0, o3 + e3);
        var table = EmbeddingWriter.ReadCsv(csv);
        Assert.Equal(8, table.Dim);
        // A file is embedded whole: every window of both units, ids ENTITY@TIME.
        Assert.Equal(2 * ((500 - 16) / 4 + 1), table.Count);
        Assert.Equal("u0@0", table.Ids[0]);
    }

    [Fact]
    public void ScoreWritesReadingAndWindowScoresAndPlots()
    {
        using var dir = new TempDirectory();
        var file = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 500, burst: 20, burstAt: 300);
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run(["pretrain", "--dataset", file, "--method", "cpc", "--run-dir", run, "--max-steps", "2", "--batch-size", "16", "--threads", "1", .. Small]);
        Assert.True(c1 == 0, o1 + e1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000002.safetensors");

        var (c2, o2, e2) = Run("score", "--checkpoint", ckpt, "--out", dir.File("scores.csv"), "--out", dir.File("scores.parquet"),
            "--windows-out", dir.File("windows.csv"), "--threads", "1");
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("Wrote 1,000 reading scores", o2);
        Assert.Contains("best F1", o2);
        Assert.Contains("Test readings: AUROC", o2);
        var lines = File.ReadAllLines(dir.File("scores.csv"));
        Assert.Equal("entity,time,score,flagged,part,label", lines[0]);
        Assert.Equal(1001, lines.Length);
        Assert.StartsWith("u0,0,", lines[1]);
        Assert.True(new FileInfo(dir.File("scores.parquet")).Length > 0);
        Assert.Equal(2 * (500 - 16 + 1) + 1, File.ReadAllLines(dir.File("windows.csv")).Length);
        Assert.True(File.Exists(Path.Combine(dir.Path, "scores-plots", "u0.png")) && File.Exists(Path.Combine(dir.Path, "scores-plots", "u1.png")));

        var (c3, _, e3) = Run("score", "--checkpoint", ckpt, "--scorer", "reconstruction", "--out", dir.File("r.csv"), "--threads", "1");
        Assert.Equal(2, c3);
        Assert.Contains("use --scorer knn", e3);
        var (c4, _, e4) = Run("score", "--checkpoint", ckpt, "--out", dir.File("r.txt"));
        Assert.Equal(2, c4);
        Assert.Contains(".csv or .parquet", e4);
        var (c5, o5, _) = Run("score", "--help");
        Assert.Equal(0, c5);
        Assert.Contains("--contamination", o5);
    }

    [Fact]
    public void StreamScoresAFileSkipsBadLinesAndContinuesAfterARestart()
    {
        using var dir = new TempDirectory();
        var file = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 300, burst: 20, burstAt: 200);
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run(["pretrain", "--dataset", file, "--method", "forecast", "--transductive", "--run-dir", run, "--max-steps", "2", "--batch-size", "16", "--threads", "1", .. Small]);
        Assert.True(c1 == 0, o1 + e1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000002.safetensors");
        var lines = File.ReadAllLines(file);
        var input = dir.File("live.csv");
        File.WriteAllLines(input, [.. lines[..101], "oops", .. lines[101..201]]);
        string[] args = ["stream", "--checkpoint", ckpt, "--state", dir.Combine("state"), "--input", input, "--out", dir.File("scores.csv"),
            "--batch-size", "4", "--replay", "64", "--k", "3", "--report-every", "100", "--threads", "1"];
        var (c2, o2, e2) = Run(args);
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("warning: line 102: 1 fields where the header has 5", e2);
        Assert.Contains("readings 200 (bad 1)", e2);
        Assert.Contains("Done: 200 readings", e2);
        Assert.Contains("latency p50", e2);
        Assert.Equal(201, File.ReadAllLines(dir.File("scores.csv")).Length);
        // The file grows; the same command continues: the lines already consumed are skipped, new scores are appended.
        File.AppendAllLines(input, lines[201..]);
        var (c3, o3, e3) = Run(args);
        Assert.True(c3 == 0, o3 + e3);
        Assert.Contains("Continuing the stream", e3);
        Assert.Contains("Done: 400 readings", e3);
        var scores = File.ReadAllLines(dir.File("scores.csv"));
        Assert.Equal(601, scores.Length);
        Assert.Equal("entity,time,score", scores[0]);
        Assert.StartsWith("u1,299,", scores[^1]);
        var (c4, o4, _) = Run("stream", "--help");
        Assert.Equal(0, c4);
        Assert.Contains("--update-every", o4);
    }

    [Fact]
    public void BadFilesAndImageOptionsAreRefusedWithTheFix()
    {
        using var dir = new TempDirectory();
        var file = TestSeries.Write(dir.File("sensors.csv"), readings: 200);
        // Without naming the entity column, "unit" is taken as a channel and its values are not numbers.
        var (c1, _, e1) = Run("pretrain", "--dataset", file, "--method", "ts2vec", "--run-dir", dir.Combine("r1"), "--max-steps", "1");
        Assert.Equal(2, c1);
        Assert.Contains("line 2, column 'unit': 'u0' is not a finite number", e1);
        Assert.Contains("series.columns.channels", e1);
        var (c2, _, e2) = Run("pretrain", "--dataset", file, "--method", "ts2vec", "--widths", "8,16", "--run-dir", dir.Combine("r2"), "--max-steps", "1");
        Assert.Equal(2, c2);
        Assert.Contains("--set encoder.series", e2);
        var (c3, _, e3) = Run("pretrain", "--dataset", "suthaharan-single-hop", "--method", "simclr", "--run-dir", dir.Combine("r3"), "--max-steps", "1");
        Assert.Equal(2, c3);
        Assert.Contains("series method (cpc, ts2vec, maskedpatches, forecast)", e3);
        var (c4, _, e4) = Run("pretrain", "--dataset", dir.File("nope.csv"), "--method", "cpc", "--run-dir", dir.Combine("r4"), "--max-steps", "1");
        Assert.Equal(2, c4);
        Assert.Contains("no such file or folder exists", e4);
        Assert.Contains("a .csv or .parquet file", e4);
    }
}
