using Pretext.Reporting;
using Pretext.Runs;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Training;

/// <summary>Kills and damaged files around checkpoints (issue 24): metrics rows, stale temp files, non-finite weights.</summary>
[Collection(SeededRunsCollection.Name)]
public class CheckpointFaultTests
{
    public CheckpointFaultTests() => set_num_threads(1);

    private static long[] Steps(string run) => MetricsLog.Read(Path.Combine(run, "metrics.csv")).Select(r => (long)r["step"]).ToArray();
    private static double[] Losses(string run) => MetricsLog.Read(Path.Combine(run, "metrics.csv")).Select(r => r["loss"]).ToArray();

    [Fact]
    public void AKillAtACheckpointWriteKeepsThatStepsMetricsRow()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var cfg = TrainingLoopTests.Tiny(steps: 6, checkpointEvery: 3);
        var full = dir.File("full");
        Pretraining.Run(cfg, data, full, resume: false);

        // A folder where the step-6 checkpoint goes makes its rename fail: the run stops at the instant that checkpoint would
        // appear, as if killed there. Its metrics row must already be on disk (it was not when the row came after the rename).
        var part = dir.File("part");
        var blocker = Path.Combine(part, "checkpoints", "step-00000006.safetensors");
        Directory.CreateDirectory(blocker);
        Assert.ThrowsAny<IOException>(() => Pretraining.Run(cfg, data, part, resume: false));
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, Steps(part));

        // The resume starts from the step-3 checkpoint, drops rows 4-6 and logs them again: every row once, as uninterrupted.
        Directory.Delete(blocker);
        Pretraining.Run(cfg, data, part, resume: true);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, Steps(part));
        Assert.Equal(Losses(full), Losses(part));
    }

    [Fact]
    public void WritingACheckpointLeavesNoTensorHandlesAlive()
    {
        // The soak bench found two tensor handles per saved tensor (its detached and CPU copies) left to the garbage collector
        // after every checkpoint; they are freed when the file is written now.
        using var dir = new TempDirectory();
        using var weight = randn(4, 3);
        using var bias = zeros(3);
        using var steps = tensor(7L);
        var model = new Dictionary<string, Tensor> { ["layer.weight"] = weight, ["layer.bias"] = bias };
        var optimizer = new Dictionary<string, Tensor> { ["step_count"] = steps };
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Checkpoint.Save(dir.File("step-1.safetensors"), 1, "simclr", "{}", model, optimizer);
        SafeTensors.Save(dir.File("plain.safetensors"), model);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        using var back = Checkpoint.Load(dir.File("step-1.safetensors"));
        Assert.Equal(weight.data<float>().ToArray(), back.Model["layer.weight"].data<float>().ToArray());
    }

    [Fact]
    public void HalfWrittenCheckpointsFromAKillAreRemovedOnTheNextStartOrResume()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var cfg = TrainingLoopTests.Tiny(steps: 6, checkpointEvery: 3);
        var run = dir.File("run");
        Pretraining.Run(cfg, data, run, resume: false);
        var ckpts = Path.Combine(run, "checkpoints");
        // What a SIGKILL inside AtomicFile.Write leaves: ".<name>.<guid N>.tmp", part of a checkpoint.
        var stale = Path.Combine(ckpts, $".step-00000009.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, new byte[4096]);
        string[] foreign = [Path.Combine(ckpts, ".step-00000009.safetensors.mine.tmp"), Path.Combine(ckpts, "notes.tmp"), Path.Combine(run, $".config.json.{Guid.NewGuid():N}.tmp.keep")];
        foreach (var f in foreign) File.WriteAllText(f, "not Pretext's");

        var messages = new List<string>();
        Pretraining.Run(cfg, data, run, resume: true, new ListObserver(messages));
        Assert.False(File.Exists(stale));
        Assert.All(foreign, f => Assert.True(File.Exists(f), f));
        Assert.Equal(new long[] { 3, 6 }, new CheckpointFolder(ckpts, 10).List().Select(c => c.Step).ToArray());
        Assert.Contains(messages, m => m.Contains("half-written") && m.Contains(Path.GetFileName(stale)));

        // A run killed while writing its first checkpoint has nothing to resume; a fresh start in the same folder cleans up too.
        var first = dir.File("first");
        var stale2 = Path.Combine(first, "checkpoints", $".step-00000003.safetensors.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(stale2)!);
        File.WriteAllBytes(stale2, new byte[100]);
        Pretraining.Run(cfg, data, first, resume: false);
        Assert.False(File.Exists(stale2));
    }

    /// <summary>Writes a copy of <paramref name="good"/> with one NaN in its first floating-point model tensor; returns the tensor's key.</summary>
    internal static string WriteWithNaN(string good, string bad)
    {
        using var ck = Checkpoint.Load(good);
        var key = ck.Model.Keys.Where(k => ck.Model[k].is_floating_point()).Order(StringComparer.Ordinal).First();
        using (no_grad()) ck.Model[key].view(-1)[0].fill_(double.NaN);
        Checkpoint.Save(bad, ck.Step, ck.Method, ck.ConfigJson, ck.Model, ck.Optimizer);
        return "model." + key;
    }

    [Fact]
    public void ACheckpointWithNonFiniteWeightsIsRefusedAtLoadNamingFileAndTensor()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var cfg = TrainingLoopTests.Tiny(steps: 3, checkpointEvery: 3);
        var run = dir.File("run");
        var good = Pretraining.Run(cfg, data, run, resume: false).FinalCheckpoint;
        var bad = dir.File("bad.safetensors");
        var tensor = WriteWithNaN(good, bad);

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(bad));
        Assert.Contains(bad, e.Message);
        Assert.Contains($"'{tensor}'", e.Message);
        Assert.Contains("earlier checkpoint", e.Message);
        Assert.Throws<InvalidDataException>(() => Pretraining.LoadMethod(bad));
        using (Checkpoint.Load(good)) { } // the untouched one still loads

        // A resume refuses it too, and leaves the run as it was.
        File.Copy(bad, good, overwrite: true);
        var before = File.ReadAllBytes(Path.Combine(run, "metrics.csv"));
        Assert.Throws<InvalidDataException>(() => Pretraining.Run(cfg, data, run, resume: true));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(run, "metrics.csv")));
    }

    private sealed class ListObserver(List<string> messages) : IRunObserver
    {
        public void BeginStage(string name, long total) { }
        public void Report(long done, string? status = null) { }
        public void EndStage(string? summary = null) { }
        public void Message(string text) => messages.Add(text);
    }
}
