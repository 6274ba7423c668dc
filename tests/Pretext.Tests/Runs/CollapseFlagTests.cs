using Pretext.Data;
using System.Text.Json;
using Pretext.Evaluation;
using Pretext.Reporting;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>An observer that keeps what it is told.</summary>
internal sealed class RecordingObserver : IRunObserver
{
    public List<string> Messages { get; } = [];
    public void BeginStage(string name, long total) { }
    public void Report(long done, string? status = null) { }
    public void EndStage(string? summary = null) { }
    public void Message(string text) => Messages.Add(text);
}

/// <summary>One finished tiny run: its folder, pretraining result, report and what the observer heard.</summary>
internal sealed record TinyRun(string Directory, PretrainResult Pretrain, string Report, RecordingObserver Observer);

/// <summary>The two tiny runs (healthy and collapsing), made once and shared by the tests that read them.</summary>
public sealed class TinyRunsFixture : IDisposable
{
    private readonly TempDirectory dir = new();
    private readonly Lazy<TinyRun> healthy, collapsed;

    public TinyRunsFixture()
    {
        healthy = new(() => TinyRuns.Run(Path.Combine(dir.Path, "healthy"), collapse: false));
        collapsed = new(() => TinyRuns.Run(Path.Combine(dir.Path, "collapsed"), collapse: true));
    }

    internal TinyRun Healthy => healthy.Value;
    internal TinyRun Collapsed => collapsed.Value;
    public void Dispose() => dir.Dispose();
}

[CollectionDefinition("tiny runs")]
public sealed class TinyRunsCollection : ICollectionFixture<TinyRunsFixture>;

/// <summary>Tiny pretrain + evaluate + report runs, one healthy and one that collapses.</summary>
internal static class TinyRuns
{
    /// <summary>
    /// The tiny SimCLR of the training-loop tests for 40 steps with diagnostics every 5. Healthy: LARS at lr 0.5
    /// with the preset's weight decay 1e-6. Collapsing: LARS at lr 100 (40x the preset) with weight decay 1e4:
    /// the decay term dominates every layer's LARS step and shrinks the weights geometrically, so within ~30
    /// steps the projection's output is its bias for every input (the same recipe collapses the MLP encoder
    /// on Fashion-MNIST within 50 steps, docs/diagnostics.md).
    /// </summary>
    public static RunConfig Config(bool collapse)
    {
        var cfg = Training.TrainingLoopTests.Tiny(steps: 40, checkpointEvery: 0);
        return cfg with
        {
            Train = cfg.Train with
            {
                LearningRate = collapse ? 100 : 0.5, DiagnosticsEvery = 5,
                Optimizer = cfg.Train.Optimizer with { Kind = OptimizerKind.Lars, WeightDecay = collapse ? 1e4 : 1e-6 },
            },
            Evaluation = cfg.Evaluation with
            {
                LinearFractions = [1.0], ScratchFractions = [], KnnK = 10,
                Probe = cfg.Evaluation.Probe with { WeightDecays = [1e-3], Iterations = 50 },
                Maps = new EmbeddingMapOptions { Samples = 60, TsneOptions = new TsneOptions { Iterations = 300 } },
            },
        };
    }

    /// <summary>Pretrains, evaluates and writes the report into <paramref name="runDir"/>.</summary>
    public static TinyRun Run(string runDir, bool collapse)
    {
        set_num_threads(1);
        var cfg = Config(collapse);
        using var train = TestData.Blobs(128);
        using var test = TestData.Blobs(60, seed: 1);
        var observer = new RecordingObserver();
        var pre = Pretraining.Run(cfg, new UnlabelledView(train), runDir, resume: false, observer);
        var (method, _, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
        using (method)
        {
            var ev = Evaluating.Run(method, cfg, new ImageModality.ImageInputs(cfg), new ImageSamples(train), new ImageSamples(test), observer, baselines: false);
            return new TinyRun(runDir, pre, RunReport.Write(runDir, cfg, pre, ev, "blobs"), observer);
        }
    }
}

[Collection("tiny runs")]
public class CollapseFlagTests(TinyRunsFixture runs)
{
    private static JsonElement Summary(string runDir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json"))).RootElement;

    [Fact]
    public void CollapsingRunIsFlaggedInMetricsConsoleSummaryAndReport()
    {
        var (dir, pre, report, observer) = runs.Collapsed;

        // metrics.csv: the diagnostics columns, filled every 5 steps and at the end, empty in between.
        var rows = MetricsLog.Read(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(Pretraining.MetricColumns, File.ReadLines(Path.Combine(dir, "metrics.csv")).First().Split(','));
        Assert.Equal(40, rows.Count);
        var measured = rows.Where(r => double.IsFinite(r["rankme"])).Select(r => (long)r["step"]).ToArray();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => 5L * i), measured);
        Assert.All(rows.Where(r => double.IsFinite(r["rankme"])), r => Assert.True(double.IsFinite(r["alignment"]) && double.IsFinite(r["uniformity"])));
        var last = rows[^1];
        Assert.True(last["rankme"] < 1.5, $"final RankMe {last["rankme"]}");
        Assert.True(last["collapse_std"] < 0.05, $"final collapse std {last["collapse_std"]}");

        // The verdict, its console warning and the run folder's record.
        var verdict = pre.Collapse!;
        Assert.True(verdict.Collapsed);
        Assert.InRange(verdict.Step!.Value, 5, 40);
        Assert.Contains(observer.Messages, m => m.Contains($"collapsed at step {verdict.Step}", StringComparison.Ordinal));
        Assert.True(Pretraining.ReadVerdict(dir)!.Collapsed);

        // summary.json leads with the flag, the reason and the step.
        var summary = Summary(dir);
        Assert.Equal("collapsed", summary.EnumerateObject().First().Name);
        Assert.True(summary.GetProperty("collapsed").GetBoolean());
        Assert.Equal(verdict.Step, summary.GetProperty("collapse_step").GetInt64());
        Assert.Contains("collapse", summary.GetProperty("collapse_reason").GetString());
        Assert.True(summary.GetProperty("rankme").GetDouble() < 1.5);

        // report.html: the warning comes first, before any table or picture.
        var html = File.ReadAllText(report);
        int warning = html.IndexOf("<div class=\"warning\"", StringComparison.Ordinal);
        Assert.True(warning > 0, "no warning box in the report");
        Assert.True(warning < html.IndexOf("<table", StringComparison.Ordinal));
        Assert.True(warning < html.IndexOf("<p>", StringComparison.Ordinal));
        Assert.Contains($"collapsed at step {verdict.Step}", html);
        foreach (var png in new[] { "rankme.png", "alignment_uniformity.png", "map_pca.png", "map_tsne.png" })
            Assert.True(File.Exists(Path.Combine(dir, "plots", png)), png);
    }

    [Fact]
    public void HealthyShortRunIsNotFlagged()
    {
        var (dir, pre, report, observer) = runs.Healthy;

        Assert.False(pre.Collapse!.Collapsed);
        Assert.DoesNotContain(observer.Messages, m => m.Contains("collapse", StringComparison.OrdinalIgnoreCase));
        var rows = MetricsLog.Read(Path.Combine(dir, "metrics.csv"));
        Assert.All(rows.Where(r => double.IsFinite(r["rankme"])), r => Assert.True(r["rankme"] > 2, $"RankMe {r["rankme"]} at step {r["step"]}"));
        var summary = Summary(dir);
        Assert.False(summary.GetProperty("collapsed").GetBoolean(), summary.ToString());
        Assert.False(summary.TryGetProperty("collapse_step", out _));
        Assert.True(summary.GetProperty("features_rankme").GetDouble() >= 1, "frozen features are measured on test samples");
        var html = File.ReadAllText(report);
        Assert.DoesNotContain("class=\"warning\"", html);
        Assert.Contains("Embedding diagnostics", html);
    }

    [Fact]
    public void ResumedRunKeepsItsDiagnosticsColumns()
    {
        set_num_threads(1);
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var cfg = Training.TrainingLoopTests.Tiny(steps: 6, checkpointEvery: 3) with { };
        cfg = cfg with { Train = cfg.Train with { DiagnosticsEvery = 2 } };
        Pretraining.Run(cfg, data, dir.Path, resume: false);
        var ckpts = new CheckpointFolder(Path.Combine(dir.Path, "checkpoints"), 10).List();
        File.Delete(ckpts[^1].Path);
        var resumed = Pretraining.Run(cfg, data, dir.Path, resume: true);
        var rows = MetricsLog.Read(Path.Combine(dir.Path, "metrics.csv"));
        Assert.Equal([1.0, 2, 3, 4, 5, 6], rows.Select(r => r["step"]));
        Assert.Equal([2.0, 4, 6], rows.Where(r => double.IsFinite(r["rankme"])).Select(r => r["step"]));
        Assert.NotNull(resumed.Collapse);
    }
}
