using Pretext.Methods;
using Pretext.Runs;
using Pretext.Tests.Training;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

/// <summary>SwAV and DINO: state that must survive checkpoints (prototypes, queue, centre), freezing, schedules.</summary>
public class ClusteringMethodTests
{
    public ClusteringMethodTests() => set_num_threads(1);

    internal static RunConfig Config(string method, SwavOptions? swav = null, DinoOptions? dino = null)
    {
        var tiny = TrainingLoopTests.Tiny();
        var cfg = MethodRegistry.Get(method).ApplyPreset(tiny) with { Encoder = tiny.Encoder, Train = tiny.Train };
        return cfg with { Methods = cfg.Methods with { Swav = swav ?? cfg.Methods.Swav, Dino = dino ?? cfg.Methods.Dino } };
    }

    /// <summary>Runs <paramref name="steps"/> optimiser steps of <paramref name="method"/> on 16 blob images, as the loop does.</summary>
    private static void Train(ISslMethod method, RunConfig cfg, Optimizer opt, int steps, long totalSteps, int firstStep = 0)
    {
        using var data = TestData.Blobs(16);
        var views = MethodRegistry.Get(cfg.Method).Views(cfg.Setup);
        method.Module.train();
        for (int step = firstStep; step < firstStep + steps; step++)
        {
            using var scope = NewDisposeScope();
            using var g = new Generator((ulong)step + 1);
            var v = views.MakeViews(data.Gather(Enumerable.Range(0, 16).Select(i => (long)i).ToArray()), g);
            var progress = new TrainingProgress(step, totalSteps);
            var o = method.ComputeLoss(new Batch(v, []), progress);
            opt.ZeroGrad(); o.Loss.backward(); opt.Step(0.05);
            using (no_grad()) method.AfterOptimizerStep(progress);
        }
    }

    private static void AssertRoundTrip(ISslMethod method, RunConfig cfg, params string[] keys)
    {
        using var dir = new TempDirectory();
        var path = dir.File("c.safetensors");
        var state = method.Module.state_dict();
        foreach (var k in keys) Assert.True(state.ContainsKey(k), $"state_dict lacks '{k}': {string.Join(", ", state.Keys.Where(x => !x.Contains("encoder", StringComparison.OrdinalIgnoreCase)))}");
        Checkpoint.Save(path, 3, method.Name, cfg.ToJson(), state, null);
        var (loaded, _, _) = Pretraining.LoadMethod(path);
        using (loaded)
        {
            var back = loaded.Module.state_dict();
            foreach (var k in keys) Assert.True(TestData.Same(state[k], back[k]), k);
        }
    }

    [Fact]
    public void SwavPrototypesAndQueueSurviveACheckpointRoundTrip()
    {
        var cfg = Config("swav", swav: new SwavOptions { ProjectionHiddenDim = 32, ProjectionDim = 16, Prototypes = 24, QueueLength = 24, QueueStartFraction = 0, FreezePrototypesFraction = 0 });
        using var method = (Swav)Pretraining.CreateMethod(cfg);
        using var opt = new Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        var initial = method.Prototypes.Weight.clone();
        Train(method, cfg, opt, 2, 10);
        Assert.False(TestData.Same(initial, method.Prototypes.Weight), "two steps should move the prototypes");
        AssertRoundTrip(method, cfg, "prototypes.weight", "queue", "queueFilled");
        Assert.Equal(24, method.Module.state_dict()["queueFilled"].item<long>());
    }

    [Fact]
    public void SwavRenormalisesPrototypesBeforeEveryStepAndFreezesThemFirst()
    {
        var cfg = Config("swav", swav: new SwavOptions { ProjectionHiddenDim = 32, ProjectionDim = 16, Prototypes = 24, FreezePrototypesFraction = 0.5 });
        using var method = (Swav)Pretraining.CreateMethod(cfg);
        using (no_grad()) method.Prototypes.Weight.mul_(3);
        using var data = TestData.Blobs(16);
        var views = MethodRegistry.Get("swav").Views(cfg.Setup);
        method.Module.train();
        for (int step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            var v = views.MakeViews(data.Gather(Enumerable.Range(0, 16).Select(i => (long)i).ToArray()), new Generator(1));
            // Step 0 of 2 lies in the frozen half, step 1 not.
            var o = method.ComputeLoss(new Batch(v, []), new TrainingProgress(step, 2));
            var norms = method.Prototypes.Weight.norm(1);
            Assert.True(norms.sub(1).abs().max().item<float>() < 1e-5, "prototype rows must be unit vectors when a step starts");
            o.Loss.backward();
            var grad = method.Prototypes.Weight.grad;
            if (step == 0) Assert.True(grad is null || grad.abs().sum().item<float>() == 0, "frozen prototypes take no gradient");
            else Assert.True(grad!.abs().sum().item<float>() > 0);
        }
    }

    [Fact]
    public void SwavQueueShiftsNewestFirstAndFillsUp()
    {
        var cfg = Config("swav", swav: new SwavOptions { ProjectionHiddenDim = 32, ProjectionDim = 16, Prototypes = 24, QueueLength = 40, QueueStartFraction = 0 });
        using var method = (Swav)Pretraining.CreateMethod(cfg);
        using var opt = new Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        var state = method.Module.state_dict();
        Train(method, cfg, opt, 1, 10);
        Assert.Equal(16, state["queueFilled"].item<long>());
        var first = state["queue"].narrow(1, 0, 16).clone();
        Assert.True(first.norm(2).sub(1).abs().max().item<float>() < 1e-5, "queued embeddings are unit vectors");
        Assert.Equal(0, state["queue"].narrow(1, 16, 24).abs().sum().item<float>());
        Train(method, cfg, opt, 1, 10, firstStep: 1);
        Assert.Equal(32, state["queueFilled"].item<long>());
        Assert.True(TestData.Same(first, state["queue"].narrow(1, 16, 16)), "older embeddings move back by one batch");
        Train(method, cfg, opt, 1, 10, firstStep: 2);
        Assert.Equal(40, state["queueFilled"].item<long>());
    }

    [Fact]
    public void DinoCentreAndTeacherSurviveACheckpointRoundTrip()
    {
        var cfg = Config("dino");
        using var method = (Dino)Pretraining.CreateMethod(cfg);
        using var opt = new Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        Assert.Equal(0, method.Center.abs().sum().item<float>());
        Train(method, cfg, opt, 2, 10);
        Assert.True(method.Center.abs().sum().item<float>() > 0, "the centre follows the teacher outputs");
        var state = method.Module.state_dict();
        var teacherKeys = state.Keys.Where(k => k.StartsWith("teacherHead.", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(teacherKeys);
        AssertRoundTrip(method, cfg, ["center", .. teacherKeys]);
    }

    [Fact]
    public void DinoTrainsOnlyTheStudentAndFreezesItsLastLayerFirst()
    {
        var cfg = Config("dino", dino: new DinoOptions { HiddenDim = 32, BottleneckDim = 16, OutputDim = 24, FreezeLastLayerFraction = 0.5 });
        using var method = (Dino)Pretraining.CreateMethod(cfg);
        var trained = method.ParameterGroups().SelectMany(g => g.Parameters).Select(p => p.Name).ToList();
        Assert.DoesNotContain(trained, n => n.StartsWith("teacher", StringComparison.Ordinal));
        Assert.Contains("head.last", trained);
        Assert.All(method.named_parameters().Where(p => p.name.StartsWith("teacher", StringComparison.Ordinal)), p => Assert.False(p.parameter.requires_grad));

        using var data = TestData.Blobs(16);
        var views = MethodRegistry.Get("dino").Views(cfg.Setup);
        method.Module.train();
        var last = method.named_parameters().First(p => p.name == "head.last").parameter;
        for (int step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            var v = views.MakeViews(data.Gather(Enumerable.Range(0, 16).Select(i => (long)i).ToArray()), new Generator(1));
            method.ComputeLoss(new Batch(v, []), new TrainingProgress(step, 2)).Loss.backward();
            if (step == 0) Assert.True(last.grad is null || last.grad.abs().sum().item<float>() == 0, "the frozen last layer takes no gradient");
            else Assert.True(last.grad!.abs().sum().item<float>() > 0);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DinoHeadStartsFromATruncatedNormalWithDistinctUnits(bool batchNorm)
    {
        manual_seed(3);
        using var head = new Pretext.Heads.DinoHead(16, 64, 32, 24, batchNorm);
        foreach (var (name, p) in head.named_parameters().Where(p => p.name.StartsWith("mlp.fc", StringComparison.Ordinal) && p.name.EndsWith("weight", StringComparison.Ordinal)))
        {
            double std = p.std().item<float>();
            Assert.InRange(std, 0.015, 0.022);                       // N(0, 0.02^2) truncated at 2 std has std 0.0176
            Assert.True(p.abs().max().item<float>() <= 0.04f + 1e-6f, name);
        }
        head.train();
        using var scope = NewDisposeScope();
        var out1 = head.forward(randn(8, 16));
        // Different samples, different outputs; and the hidden units are not copies of each other.
        Assert.True(out1.std([0L]).mean().item<float>() > 1e-3);
        var fc0 = head.named_parameters().First(p => p.name == "mlp.fc0.weight").parameter;
        Assert.False(TestData.Same(fc0[0], fc0[1]));
    }

    [Fact]
    public void DinoTeacherTemperatureWarmsUpLinearlyThenStays()
    {
        var o = new DinoOptions();
        Assert.Equal(0.04, o.TeacherTemperatureAt(new TrainingProgress(0, 100)), 12);
        Assert.Equal(0.055, o.TeacherTemperatureAt(new TrainingProgress(15, 100)), 12);
        Assert.Equal(0.07, o.TeacherTemperatureAt(new TrainingProgress(30, 100)), 12);
        Assert.Equal(0.07, o.TeacherTemperatureAt(new TrainingProgress(99, 100)), 12);
        Assert.Equal(0.07, (o with { TeacherTemperatureWarmupFraction = 0 }).TeacherTemperatureAt(new TrainingProgress(0, 100)), 12);
    }

    [Fact]
    public void DinoEvaluatesTheTeacherUnlessAskedOtherwise()
    {
        var cfg = Config("dino");
        using var method = (Dino)Pretraining.CreateMethod(cfg);
        var teacherEncoder = method.named_children().First(c => c.name == "teacherEncoder").module;
        Assert.Same(teacherEncoder, method.Encoder);
        using var student = (Dino)Pretraining.CreateMethod(Config("dino", dino: new DinoOptions { HiddenDim = 32, BottleneckDim = 16, OutputDim = 24, EvaluateTeacher = false }));
        Assert.Same(student.named_children().First(c => c.name == "encoder").module, student.Encoder);
    }

    [Fact]
    public void BadOptionsNameTheirKey()
    {
        Assert.Contains("methods.swav.freezePrototypesFraction", Assert.Throws<ArgumentException>(() =>
            Pretraining.CreateMethod(Config("swav", swav: new SwavOptions { FreezePrototypesFraction = 2 }))).Message);
        Assert.Contains("methods.dino.teacherTemperature", Assert.Throws<ArgumentException>(() =>
            Pretraining.CreateMethod(Config("dino", dino: new DinoOptions { TeacherTemperature = 0 }))).Message);
        Assert.Contains("methods.dino.multiCrop.localCount", Assert.Throws<ArgumentException>(() =>
            Pretraining.CreateMethod(Config("dino", dino: new DinoOptions { MultiCrop = new() { LocalCount = -1 } }))).Message);
    }
}

/// <summary>SwAV and DINO resume exactly through the real training loop (runs alone: it compares two seeded runs).</summary>
[Collection(SeededRunsCollection.Name)]
public class ClusteringResumeTests
{
    public ClusteringResumeTests() => set_num_threads(1);

    [Theory]
    [InlineData("swav")]
    [InlineData("dino")]
    public void ResumeThroughTheLoopContinuesExactly(string method)
    {
        // SwAV with its queue in use from step 0, so the resumed run depends on the queue, prototypes and freeze
        // schedule being restored; DINO on its centre and teacher.
        var cfg = ClusteringMethodTests.Config(method, swav: new SwavOptions { ProjectionHiddenDim = 32, ProjectionDim = 16, Prototypes = 24, QueueLength = 32, QueueStartFraction = 0 }) with
        {
            Train = TrainingLoopTests.Tiny().Train with { MaxSteps = 4, CheckpointEvery = 2 },
        };
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var full = Path.Combine(dir.Path, "full");
        var part = Path.Combine(dir.Path, "part");
        Pretraining.Run(cfg, data, full, resume: false);
        Pretraining.Run(cfg, data, part, resume: false);
        File.Delete(Path.Combine(part, "checkpoints", "step-00000004.safetensors"));
        Pretraining.Run(cfg, data, part, resume: true);
        double[] Losses(string run) => Pretext.Reporting.MetricsLog.Read(Path.Combine(run, "metrics.csv")).Select(r => r["loss"]).ToArray();
        Assert.Equal(Losses(full), Losses(part));
        using var a = Checkpoint.Load(Path.Combine(full, "checkpoints", "step-00000004.safetensors"));
        using var b = Checkpoint.Load(Path.Combine(part, "checkpoints", "step-00000004.safetensors"));
        foreach (var (k, t) in a.Model) Assert.True(TestData.Same(t, b.Model[k]), k);
    }
}
