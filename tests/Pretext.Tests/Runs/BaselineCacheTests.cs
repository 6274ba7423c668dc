using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>The checkpoint-independent rows kept between evaluations: reused only for the same data and settings, scored the same.</summary>
public sealed class BaselineCacheTests : IDisposable
{
    private readonly TempDirectory dir = new();
    private readonly BaselineCache cache;
    // Separable blobs, 3 classes.
    private readonly TensorDataset train = TestData.Blobs(96, classes: 3, seed: 1);
    private readonly TensorDataset test = TestData.Blobs(45, classes: 3, seed: 2);

    public BaselineCacheTests()
    {
        set_num_threads(1);
        cache = new BaselineCache(dir.Path);
    }

    public void Dispose()
    {
        train.Dispose();
        test.Dispose();
        dir.Dispose();
    }

    /// <summary>Stage names and messages, in order.</summary>
    private sealed class StageObserver : IRunObserver
    {
        public List<string> Stages { get; } = [];
        public List<string> Messages { get; } = [];
        public void BeginStage(string name, long total) => Stages.Add(name);
        public void Report(long done, string? status = null) { }
        public void EndStage(string? summary = null) { }
        public void Message(string text) => Messages.Add(text);
    }

    private static RunConfig Config(int scratchSteps = 4) => TestData.TinyMlpRun(new EvaluationConfig
    {
        LinearFractions = [1.0, 0.25], ScratchFractions = [0.25], FineTuneFractions = [0.25], PerClass = [2], TrainedPerClass = [2], Seeds = 2, KnnK = 5,
        Probe = new LinearProbeOptions { Iterations = 30, WeightDecays = [0, 1e-2, 1] },
        Supervised = new SupervisedOptions { Steps = scratchSteps, MinEpochs = 1, BatchSize = 8 },
        Maps = new EmbeddingMapOptions { Samples = 0 }, Propagate = true, Propagation = new PropagationOptions { Neighbours = 5, Iterations = 20 },
        ProbeWithBaseline = true,
    });

    private (EvaluationResult Result, StageObserver Observer) Evaluate(RunConfig cfg, int methodSeed)
    {
        manual_seed(methodSeed);
        using var method = Pretraining.CreateMethod(cfg);
        var observer = new StageObserver();
        var r = Evaluating.Run(method, cfg, new ImageModality.ImageInputs(cfg), new ImageSamples(train), new ImageSamples(test), observer, cache: cache);
        return (r, observer);
    }

    private static readonly Protocol[] Independent = [Protocol.FromScratch, Protocol.Baseline, Protocol.BaselinePropagated];

    [Fact]
    public void ASecondEvaluationOfAnotherCheckpointReusesTheIndependentRowsAndScoresThemTheSame()
    {
        var cfg = Config();
        var (first, firstObserver) = Evaluate(cfg, methodSeed: 1);
        Assert.Contains(firstObserver.Stages, s => s.StartsWith("From scratch", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(dir.Path, "*" + BaselineCache.Extension));

        // Another "checkpoint" (other weights): its own rows are computed, the independent ones come from the cache.
        var (second, secondObserver) = Evaluate(cfg, methodSeed: 2);
        Assert.DoesNotContain(secondObserver.Stages, s => s.StartsWith("From scratch", StringComparison.Ordinal));
        Assert.Contains(secondObserver.Stages, s => s.StartsWith("Fine-tuning", StringComparison.Ordinal));
        Assert.Contains(secondObserver.Messages, m => m.Contains("reused from an earlier evaluation", StringComparison.Ordinal));
        // The same rows in the same order; the independent ones scored identically (predictions kept, test labels read at the end).
        Assert.Equal(first.Scores.Select(s => (s.Protocol, s.Budget)), second.Scores.Select(s => (s.Protocol, s.Budget)));
        foreach (var (a, b) in first.Scores.Zip(second.Scores).Where(p => Independent.Contains(p.First.Protocol)))
        {
            Assert.Equal(a.Accuracies, b.Accuracies);
            Assert.Equal(a.ValidationAccuracies, b.ValidationAccuracies);
        }

        // A different from-scratch setting is another key: computed again, and a second entry.
        var (_, changedObserver) = Evaluate(Config(scratchSteps: 5), methodSeed: 2);
        Assert.Contains(changedObserver.Stages, s => s.StartsWith("From scratch", StringComparison.Ordinal));
        Assert.Equal(2, Directory.GetFiles(dir.Path, "*" + BaselineCache.Extension).Length);
    }

    [Fact]
    public void TheKeyFollowsTheDataAndTheSettingsButNotThePretrainingMethod()
    {
        var cfg = Config();
        string key = BaselineCache.Key(cfg, train, test, [0, 1]);
        Assert.Equal(key, BaselineCache.Key(cfg with { Method = "byol", Train = cfg.Train with { MaxSteps = 7, LearningRate = 0.1 } }, train, test, [0, 1]));
        Assert.NotEqual(key, BaselineCache.Key(cfg, train, test, [0, 2]));
        Assert.NotEqual(key, BaselineCache.Key(cfg with { Evaluation = cfg.Evaluation with { Seeds = 3 } }, train, test, [0, 1]));
        Assert.NotEqual(key, BaselineCache.Key(cfg with { Encoder = cfg.Encoder with { Hidden = [8] } }, train, test, [0, 1]));
        // One value of one training sample.
        using var changed = new TensorDataset("changed", train.Data.clone(), train.Labels, train.ClassNames);
        using (no_grad()) changed.Data.view(-1)[5] = changed.Data.view(-1)[5] + 1;
        Assert.NotEqual(key, BaselineCache.Key(cfg, changed, test, [0, 1]));
    }

    [Fact]
    public void ADamagedEntryIsReportedDeletedAndComputedAgain()
    {
        var cfg = Config();
        var (first, _) = Evaluate(cfg, methodSeed: 1);
        var file = Directory.GetFiles(dir.Path, "*" + BaselineCache.Extension).Single();
        File.WriteAllText(file, File.ReadAllText(file)[..100]);
        var (second, observer) = Evaluate(cfg, methodSeed: 1);
        Assert.Contains(observer.Messages, m => m.Contains("is damaged", StringComparison.Ordinal) && m.Contains(file, StringComparison.Ordinal));
        Assert.Contains(observer.Stages, s => s.StartsWith("From scratch", StringComparison.Ordinal));
        Assert.Equal(first.Find(Protocol.FromScratch, 0.25)!.Accuracies, second.Find(Protocol.FromScratch, 0.25)!.Accuracies);
        // Rewritten whole, and read on the next evaluation.
        Assert.True(new FileInfo(Directory.GetFiles(dir.Path, "*" + BaselineCache.Extension).Single()).Length > 1000);
        var (_, third) = Evaluate(cfg, methodSeed: 1);
        Assert.DoesNotContain(third.Stages, s => s.StartsWith("From scratch", StringComparison.Ordinal));
    }

    [Fact]
    public void TheEnvironmentTurnsItOffOrMovesIt()
    {
        // Read only here; tests that run the CLI get the cache off from the test assembly's initialiser.
        Assert.Equal("off", Environment.GetEnvironmentVariable(BaselineCache.EnvironmentVariable));
        Assert.Null(BaselineCache.FromEnvironment());
        Assert.EndsWith(Path.Combine("pretext", "baselines"), BaselineCache.DefaultFolder(), StringComparison.Ordinal);
        // The same rules through a lookup of the test's own: off, moved, or beside the data cache.
        Func<string, string?> Env(string? value) => k => k switch
        {
            BaselineCache.EnvironmentVariable => value,
            "XDG_CACHE_HOME" => "/var/cache/someone",
            _ => null,
        };
        Assert.Null(BaselineCache.FromEnvironment(Env("0")));
        Assert.Null(BaselineCache.FromEnvironment(Env(" OFF ")));
        Assert.Equal(dir.Path, BaselineCache.FromEnvironment(Env(dir.Path))!.Folder);
        Assert.Equal(Path.Combine("/var/cache/someone", "pretext", "baselines"), BaselineCache.FromEnvironment(Env(null))!.Folder);
        Assert.Equal(Path.Combine("/var/cache/someone", "pretext", "baselines"), BaselineCache.FromEnvironment(Env("  "))!.Folder);
    }
}
