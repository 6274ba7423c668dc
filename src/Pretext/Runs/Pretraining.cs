using System.Diagnostics;
using System.Globalization;
using Pretext.Data;
using Pretext.Methods;
using Pretext.Reporting;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Result of a pretraining run.</summary>
public sealed record PretrainResult(string RunDirectory, string FinalCheckpoint, long Steps, double Seconds, double SamplesPerSecond, double FinalLoss, double FinalCollapseStd);

/// <summary>
/// Pretraining as a run: a run folder with config.json, metrics.csv and checkpoints/, a fresh start or
/// an exact resume from the newest checkpoint. Refuses to overwrite a run that has checkpoints unless
/// asked to resume, so earlier work is never lost.
/// </summary>
public static class Pretraining
{
    public static readonly string[] MetricColumns = ["step", "epoch", "loss", "lr", "collapse_std", "samples_per_second", "elapsed_seconds"];

    /// <summary>Builds the method described by <paramref name="config"/> with fresh weights from its seed.</summary>
    public static ISslMethod CreateMethod(RunConfig config)
    {
        var entry = MethodRegistry.Get(config.Method);
        manual_seed(config.Train.Seed);
        return entry.Create(config.Encoder.Build(), config);
    }

    /// <summary>Rebuilds a method from a checkpoint (config from its metadata, weights from its tensors).</summary>
    /// <exception cref="InvalidDataException">The file is not a Pretext checkpoint or does not match its own config.</exception>
    public static (ISslMethod Method, RunConfig Config, long Step) LoadMethod(string checkpointPath)
    {
        using var ckpt = Checkpoint.Load(checkpointPath);
        var config = RunConfig.FromJson(ckpt.ConfigJson, checkpointPath);
        var method = CreateMethod(config);
        ckpt.LoadInto(method.Module);
        return (method, config, ckpt.Step);
    }

    public static PretrainResult Run(RunConfig config, IDataset data, string runDirectory, bool resume, IRunObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= NullObserver.Instance;
        config.Train.Validate();
        if (config.Train.Threads > 0) set_num_threads(config.Train.Threads);
        var folder = new CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), config.Train.KeepCheckpoints);
        string? latest = folder.Latest;
        if (latest is not null && !resume)
            throw new InvalidOperationException($"Run folder '{runDirectory}' already has checkpoints (newest: {Path.GetFileName(latest)}). Pass --resume to continue it, or choose another --run-dir.");
        if (resume && latest is null)
            observer.Message($"No checkpoint in '{folder.Directory}'; starting from step 0.");
        Directory.CreateDirectory(runDirectory);

        var method = CreateMethod(config);
        var entry = MethodRegistry.Get(config.Method);
        using var optimizer = new Training.Optimizer(method.ParameterGroups(), config.Train.Optimizer);
        long startStep = 0;
        if (resume && latest is not null)
        {
            using var ckpt = Checkpoint.Load(latest);
            var saved = RunConfig.FromJson(ckpt.ConfigJson, latest);
            if (saved.ResumeFingerprint() != config.ResumeFingerprint())
                throw new InvalidOperationException($"Cannot resume '{runDirectory}': its checkpoint was written with a different configuration (method, data, encoder, augmentation or schedule). Resume with the same options, or start a new --run-dir.");
            ckpt.LoadInto(method.Module);
            optimizer.LoadStateDict(ckpt.Optimizer);
            startStep = ckpt.Step;
            observer.Message($"Resuming from {latest} (step {startStep}).");
        }
        AtomicJson(Path.Combine(runDirectory, "config.json"), config.ToJson());

        var trainer = new Trainer(method, data, entry.Views(config), config.Train, config.ToJson());
        using var metrics = MetricsLog.Open(Path.Combine(runDirectory, "metrics.csv"), MetricColumns, truncateAfterStep: startStep);
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN, lastCollapse = double.NaN;
        observer.BeginStage($"Pretraining {config.Method} on {data.Name}", trainer.TotalSteps);
        observer.Report(startStep);
        trainer.Run(optimizer, startStep, folder, r =>
        {
            metrics.Append(r.Step, r.Epoch, r.Loss, r.LearningRate, r.CollapseStd, r.SamplesPerSecond, r.ElapsedSeconds);
            lastLoss = r.Loss; lastCollapse = r.CollapseStd;
            observer.Report(r.Step, string.Create(CultureInfo.InvariantCulture, $"loss {r.Loss:F4}  {r.SamplesPerSecond:F0} samples/s  collapse {r.CollapseStd:F2}"));
        }, cancel);
        double seconds = clock.Elapsed.TotalSeconds;
        long stepsDone = trainer.TotalSteps - startStep;
        observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"{stepsDone} steps in {seconds:F0} s"));
        if (lastCollapse < 0.1)
            observer.Message($"Warning: the collapse monitor reads {lastCollapse:F3} (healthy runs stay well above 0.1): the embeddings are collapsing to a point. Lower the learning rate or check the augmentations.");
        method.Dispose();
        return new PretrainResult(runDirectory, folder.Latest!, trainer.TotalSteps, seconds,
            stepsDone * (double)config.Train.BatchSize / Math.Max(seconds, 1e-9), lastLoss, lastCollapse);
    }

    internal static void AtomicJson(string path, string json) => Export.AtomicFile.WriteText(path, w => w.Write(json));
}
