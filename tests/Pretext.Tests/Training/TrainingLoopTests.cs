using Pretext.Encoders;
using Pretext.Compute;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Training;

[Collection(SeededRunsCollection.Name)]
public class TrainingLoopTests
{
    public TrainingLoopTests() => set_num_threads(1);

    internal static RunConfig Tiny(int steps = 6, int checkpointEvery = 3, Precision precision = Precision.Float32) => Presets.For("simclr", "fashion-mnist") with
    {
        Encoder = new EncoderConfig { Widths = [8, 16], Blocks = [1, 1], Precision = precision, Layout = MemoryLayout.Contiguous },
        Methods = new MethodSettings
        {
            SimClr = new SimClrOptions { ProjectionDim = 16, Temperature = 0.5 },
            // Narrow heads keep the registry-driven contract tests at about a second per method.
            BarlowTwins = new BarlowTwinsOptions { ProjectorHiddenDim = 32, ProjectorDim = 32 },
            VicReg = new VicRegOptions { ExpanderHiddenDim = 32, ExpanderDim = 32 },
            Swav = new SwavOptions { ProjectionHiddenDim = 32, ProjectionDim = 16, Prototypes = 24 },
            Dino = new DinoOptions { HiddenDim = 32, BottleneckDim = 16, OutputDim = 24 },
        },
        Train = Presets.For("simclr", "fashion-mnist").Train with { Epochs = 10, MaxSteps = steps, BatchSize = 16, Threads = 1, CheckpointEvery = checkpointEvery, KeepCheckpoints = 2, LearningRate = 0.5 },
    };

    private static double[] Losses(string run) =>
        Pretext.Reporting.MetricsLog.Read(Path.Combine(run, "metrics.csv")).Select(r => r["loss"]).ToArray();

    [Fact]
    public void ResumeContinuesExactly()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var full = Path.Combine(dir.Path, "full");
        Pretraining.Run(Tiny(), data, full, resume: false);

        // Interrupted run: the same run, with the work after its step-3 checkpoint lost (as in a crash), then resumed.
        var part = Path.Combine(dir.Path, "part");
        var cfg = Tiny();
        Pretraining.Run(cfg, data, part, resume: false);
        var ckpts = new CheckpointFolder(Path.Combine(part, "checkpoints"), 10).List();
        Assert.Equal(new long[] { 3, 6 }, ckpts.Select(c => c.Step).ToArray());
        File.Delete(ckpts[1].Path); // lose the work after step 3
        var resumed = Pretraining.Run(cfg, data, part, resume: true);

        Assert.Equal(6, resumed.Steps);
        var a = Losses(full); var b = Losses(part);
        Assert.Equal(6, b.Length);
        Assert.Equal(a, b);
        using var ca = Checkpoint.Load(Path.Combine(full, "checkpoints", "step-00000006.safetensors"));
        using var cb = Checkpoint.Load(Path.Combine(part, "checkpoints", "step-00000006.safetensors"));
        foreach (var (k, t) in ca.Model) Assert.True(TestData.Same(t, cb.Model[k]), k);
    }

    [Fact]
    public void GradientClippingChangesTheRunOnlyWhenTheLimitBinds()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        double[] Run(string name, double clip)
        {
            var cfg = Tiny(steps: 4, checkpointEvery: 0);
            Pretraining.Run(cfg with { Train = cfg.Train with { GradientClipNorm = clip } }, data, Path.Combine(dir.Path, name), resume: false);
            return Losses(Path.Combine(dir.Path, name));
        }
        var plain = Run("plain", 0);
        Assert.Equal(plain, Run("loose", 1e9));
        var tight = Run("tight", 1e-4);
        Assert.Equal(plain[0], tight[0]);          // the first loss comes before any update
        Assert.NotEqual(plain[^1], tight[^1]);
        Assert.Throws<ArgumentException>(() => (Tiny().Train with { GradientClipNorm = -1 }).Validate());
    }

    [Fact]
    public void KeepsOnlyLastKCheckpointsAndRefusesToOverwrite()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var cfg = Tiny(steps: 8, checkpointEvery: 2);
        Pretraining.Run(cfg, data, dir.Path, resume: false);
        var list = new CheckpointFolder(Path.Combine(dir.Path, "checkpoints"), 10).List();
        Assert.Equal(new long[] { 6, 8 }, list.Select(c => c.Step).ToArray());
        var e = Assert.Throws<InvalidOperationException>(() => Pretraining.Run(cfg, data, dir.Path, resume: false));
        Assert.Contains("--resume", e.Message);
        Assert.True(File.Exists(list[1].Path));
    }

    [Fact]
    public void ResumeWithDifferentConfigIsRefused()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        Pretraining.Run(Tiny(steps: 3), data, dir.Path, resume: false);
        var other = Tiny(steps: 3) with { Methods = new MethodSettings { SimClr = new SimClrOptions { ProjectionDim = 16, Temperature = 0.1 } } };
        var e = Assert.Throws<InvalidOperationException>(() => Pretraining.Run(other, data, dir.Path, resume: true));
        Assert.Contains("different configuration", e.Message);
        Assert.Contains("methods.simClr.temperature: 0.5 in the checkpoint, 0.1 now", e.Message); // named as --set takes it
        Assert.DoesNotContain("projectionDim", e.Message); // only what differs
    }

    [Fact]
    public void NaNLossStopsWithStepAndLastCheckpoint()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var cfg = Tiny(steps: 40, checkpointEvery: 2);
        cfg = cfg with { Train = cfg.Train with { LearningRate = 1e30, WarmupEpochs = 0, Optimizer = new OptimizerOptions { Kind = OptimizerKind.Sgd, WeightDecay = 0 } } };
        var e = Assert.Throws<TrainingDivergedException>(() => Pretraining.Run(cfg, data, dir.Path, resume: false));
        Assert.Contains($"step {e.Step}", e.Message);
        Assert.Contains("--lr", e.Message);
        // Every checkpoint on disk holds finite weights.
        foreach (var (_, path) in new CheckpointFolder(Path.Combine(dir.Path, "checkpoints"), 10).List())
        {
            using var c = Checkpoint.Load(path);
            foreach (var t in c.Model.Values.Where(t => t.is_floating_point())) Assert.True(t.isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void CheckpointErrorsNameTheFile()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var r = Pretraining.Run(Tiny(steps: 2, checkpointEvery: 0), data, dir.Path, resume: false);

        var truncated = dir.File("truncated.safetensors");
        var bytes = File.ReadAllBytes(r.FinalCheckpoint);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e1 = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(truncated));
        Assert.Contains(truncated, e1.Message);

        var garbage = dir.File("garbage.safetensors");
        File.WriteAllText(garbage, "not a checkpoint");
        Assert.Contains(garbage, Assert.Throws<InvalidDataException>(() => Checkpoint.Load(garbage)).Message);

        var foreign = dir.File("foreign.safetensors");
        SafeTensors.Save(foreign, new Dictionary<string, Tensor> { ["x"] = ones(2) });
        Assert.Contains("not a Pretext checkpoint", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(foreign)).Message);

        // A checkpoint from another encoder does not load into this one.
        using var ckpt = Checkpoint.Load(r.FinalCheckpoint);
        var wider = Tiny() with { Encoder = Tiny().Encoder with { Widths = [8, 32] } };
        using var method = Pretraining.CreateMethod(wider);
        var e2 = Assert.Throws<InvalidDataException>(() => ckpt.LoadInto(method.Module));
        Assert.Contains(r.FinalCheckpoint, e2.Message);
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(dir.File("missing.safetensors")));
    }

    [Fact]
    public void SafeTensorsRoundTripsDtypes()
    {
        using var dir = new TempDirectory();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4), ["bf16"] = randn(5).to(ScalarType.BFloat16), ["i64"] = tensor(new long[] { 1, -2, 3 }), ["u8"] = tensor(new byte[] { 0, 255 }),
        };
        var path = dir.File("t.safetensors");
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v" });
        var (back, meta) = SafeTensors.Load(path);
        Assert.Equal("v", meta["k"]);
        foreach (var (k, t) in tensors)
        {
            Assert.Equal(t.dtype, back[k].dtype);
            Assert.True(TestData.Same(t, back[k]), k);
        }
        // Header length is 8-byte aligned as the format requires.
        var hlen = BitConverter.ToUInt64(File.ReadAllBytes(path), 0);
        Assert.Equal(0UL, hlen % 8);
    }

    [Fact]
    public void DerivedSeedsDifferPerStreamAndCounter()
    {
        var seen = new HashSet<long>();
        for (int s = 0; s < 3; s++) for (int c = 0; c < 100; c++) Assert.True(seen.Add(Trainer.DeriveSeed(42, s, c)));
        Assert.Equal(Trainer.DeriveSeed(42, 1, 7), Trainer.DeriveSeed(42, 1, 7));
    }
}
