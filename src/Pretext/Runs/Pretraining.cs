using Pretext.Compute;
using System.Diagnostics;
using System.Globalization;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Reporting;
using Pretext.Runs.Modalities;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Result of a pretraining run.</summary>
/// <param name="Collapse">The collapse verdict from the run's diagnostics (null when none were measured or the run is not known).</param>
public sealed record PretrainResult(string RunDirectory, string FinalCheckpoint, long Steps, double Seconds, double SamplesPerSecond, double FinalLoss, double FinalCollapseStd,
    CollapseVerdict? Collapse = null);

/// <summary>One row of a run's metrics.csv: the step's report and, every few steps, the diagnostics of its batch.</summary>
public sealed record StepMetrics(long Step, double Epoch, double Loss, double LearningRate, double CollapseStd, double SamplesPerSecond,
    double ElapsedSeconds, DiagnosticReadings? Readings)
{
    /// <summary>The row by column (<see cref="Pretraining.MetricColumns"/>); diagnostics are left out (empty cells) when not measured or not finite.</summary>
    public IReadOnlyDictionary<string, double> Cells()
    {
        var cells = new Dictionary<string, double>
        {
            ["step"] = Step, ["epoch"] = Epoch, ["loss"] = Loss, ["lr"] = LearningRate, ["collapse_std"] = CollapseStd,
            ["samples_per_second"] = SamplesPerSecond, ["elapsed_seconds"] = ElapsedSeconds,
        };
        if (Readings is { } d)
        {
            cells["rankme"] = d.RankMe;
            if (double.IsFinite(d.Alignment)) cells["alignment"] = d.Alignment;
            if (double.IsFinite(d.Uniformity)) cells["uniformity"] = d.Uniformity;
        }
        return cells;
    }
}

/// <summary>
/// Pretraining as a run: a run folder with config.json, metrics.csv and checkpoints/, a fresh start or
/// an exact resume from the newest checkpoint. Refuses to overwrite a run that has checkpoints unless
/// asked to resume, so earlier work is never lost.
/// </summary>
public static class Pretraining
{
    /// <summary>metrics.csv columns. rankme, alignment and uniformity are filled every <see cref="TrainerOptions.DiagnosticsEvery"/> steps and empty otherwise.</summary>
    public static readonly string[] MetricColumns = ["step", "epoch", "loss", "lr", "collapse_std", "samples_per_second", "elapsed_seconds", "rankme", "alignment", "uniformity"];

    /// <summary>File in the run folder holding the collapse verdict of the last pretraining session.</summary>
    public const string DiagnosticsFile = "diagnostics.json";

    /// <summary>The collapse verdict a run folder recorded, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a verdict; the message names it.</exception>
    public static CollapseVerdict? ReadVerdict(string runDirectory)
    {
        var path = Path.Combine(runDirectory, DiagnosticsFile);
        return File.Exists(path) ? Export.JsonFile.Read<CollapseVerdict>(path) : null;
    }

    /// <summary>Builds the method described by <paramref name="config"/> with fresh weights from its seed.</summary>
    public static ISslMethod CreateMethod(RunConfig config) => Create(MethodRegistry.Get(config.Method), config);

    private static ISslMethod Create(MethodEntry entry, RunConfig config)
    {
        manual_seed(config.Train.Seed);
        return entry.Create(config.Encoder.Build(), config.Setup);
    }

    /// <summary>The config recorded in a checkpoint (what it was trained on and how), without building the model.</summary>
    /// <exception cref="InvalidDataException">The file is not a Pretext checkpoint.</exception>
    public static RunConfig ReadConfig(string checkpointPath)
    {
        using var ckpt = Checkpoint.Load(checkpointPath);
        return RunConfig.FromJson(ckpt.ConfigJson, checkpointPath);
    }

    /// <summary>Rebuilds a method from a checkpoint (config from its metadata, weights from its tensors).</summary>
    /// <exception cref="InvalidDataException">The file is not a Pretext checkpoint or does not match its own config.</exception>
    /// <param name="adjust">Changes to the recorded config that touch no weight (a text encoder's pooling), applied before the model is built.</param>
    public static (ISslMethod Method, RunConfig Config, long Step) LoadMethod(string checkpointPath, Func<RunConfig, RunConfig>? adjust = null)
    {
        using var ckpt = Checkpoint.Load(checkpointPath);
        var config = RunConfig.FromJson(ckpt.ConfigJson, checkpointPath);
        if (adjust is not null) config = adjust(config);
        var method = CreateMethod(config);
        ckpt.LoadInto(method.Module);
        return (method, config, ckpt.Step);
    }

    /// <summary>
    /// Seconds one training step of <paramref name="config"/> takes on this machine: <paramref name="measured"/>
    /// steps timed after <paramref name="warmup"/> warm-up steps on the real data, with a throw-away model (the
    /// run itself starts again from its seed, so timing changes nothing about it).
    /// </summary>
    public static double SecondsPerStep(RunConfig config, IDataset data, int warmup = 3, int measured = 6)
    {
        if (warmup < 1 || measured < 1) throw new ArgumentOutOfRangeException(nameof(measured), "Time at least one warm-up and one measured step.");
        var probe = config with { Train = config.Train with { MaxSteps = warmup + measured, Epochs = 1_000_000, CheckpointEvery = 0 } };
        using var method = CreateMethod(probe);
        using var optimizer = new Training.Optimizer(method.ParameterGroups(), probe.Train.Optimizer);
        var trainer = new Trainer(method, data, MethodRegistry.Get(probe.Method).Views(probe.Setup), probe.Train);
        double start = 0, end = 0;
        trainer.Run(optimizer, 0, null, s => { if (s.Step == warmup) start = s.ElapsedSeconds; end = s.ElapsedSeconds; });
        return (end - start) / measured;
    }

    /// <summary>How to lengthen a run cut by a --minutes budget.</summary>
    public const string LongerRunAdvice = "raise --minutes, or --minutes 0 for the whole recipe.";

    /// <summary>Fraction of a time budget <see cref="FitToBudget"/> keeps in hand for steps slower than the timed ones.</summary>
    public const double BudgetMargin = 0.05;

    /// <summary>
    /// <paramref name="config"/> cut to what fits in <paramref name="minutes"/> of pretraining on this machine:
    /// its own step count when that fits (it is never lengthened), else as many steps as the timed step cost
    /// allows (at least 10), with the learning-rate schedule over exactly those steps. Returns the config and
    /// one line saying what was chosen; when the run is cut, the line ends with <paramref name="longerRun"/>, how
    /// the user gets a longer run (default: the --minutes advice of `pretext pretrain` and `pretext quickstart`).
    /// </summary>
    public static (RunConfig Config, string Decision) FitToBudget(RunConfig config, IDataset data, double minutes, string? longerRun = null)
    {
        if (!(minutes > 0)) throw new ArgumentOutOfRangeException(nameof(minutes), minutes, "The time budget must be a positive number of minutes.");
        long perEpoch = Math.Max(1, data.Count / config.Train.BatchSize);
        long planned = config.Train.TotalSteps(perEpoch);
        double perStep = SecondsPerStep(config, data);
        // The timed steps run a little faster than a whole run (measured: 1.84 s/step timed, 1.91 over the
        // quickstart's 487 steps), so the cut leaves a 5 % margin; a recipe within 5 % of the budget is kept whole.
        long fits = Math.Max(10, (long)(minutes * 60 / (perStep * (1 + BudgetMargin))));
        var c = CultureInfo.InvariantCulture;
        if (planned * perStep <= minutes * 60 * (1 + BudgetMargin))
            return (config, string.Create(c, $"Time budget {minutes:0.#} min: {perStep:F2} s/step measured, so the full {planned} steps ({(double)planned / perEpoch:0.#} epochs, about {planned * perStep / 60:F0} min) fit."));
        var cut = config with { Train = config.Train with { MaxSteps = fits, Epochs = (int)Math.Ceiling((double)fits / perEpoch) } };
        return (cut, string.Create(c, $"Time budget {minutes:0.#} min: {perStep:F2} s/step measured on this machine, so {fits} of the recipe's {planned} steps ({(double)fits / perEpoch:0.#} of {(double)planned / perEpoch:0.#} epochs). A longer run is usually more accurate: {longerRun ?? LongerRunAdvice}"));
    }

    /// <summary>
    /// A time budget for a run about to start in <paramref name="runDirectory"/>: a resumed run keeps the step
    /// count its folder recorded (so the schedule, and every later loss, is the one it started with); a new run
    /// times a few steps and is cut to what fits (<see cref="FitToBudget"/>). No budget (null or 0): unchanged.
    /// </summary>
    public static RunConfig WithinBudget(RunConfig config, IDataset data, string runDirectory, bool resume, double? minutes, IRunObserver observer, string? longerRun = null)
    {
        if (resume && Recorded(runDirectory) is RunConfig before)
            return config with { Train = config.Train with { MaxSteps = before.Train.MaxSteps, Epochs = before.Train.Epochs } };
        if (minutes is not double m || m == 0) return config;
        observer.Message(string.Create(CultureInfo.InvariantCulture, $"Timing a few steps to fit pretraining into {m:0.#} minutes..."));
        var (fitted, decision) = FitToBudget(config, data, m, longerRun);
        observer.Message(decision);
        return fitted;
    }

    /// <summary>
    /// What to tell a user who passes a length (<paramref name="epochs"/>, <paramref name="maxSteps"/>; null where not given) with
    /// --resume that differs from the run's recorded one, which --resume keeps; null when nothing was given, it matches, or
    /// there is no recorded run. A longer run cannot continue this one exactly: its cosine schedule would differ from step 0.
    /// </summary>
    public static string? ResumeLengthNotice(string runDirectory, int? epochs, long? maxSteps)
    {
        if ((epochs is null && maxSteps is null) || Recorded(runDirectory)?.Train is not TrainerOptions before) return null;
        var given = new List<string>();
        if (epochs is int e && e != before.Epochs) given.Add($"--epochs {e}");
        if (maxSteps is long m && m != before.MaxSteps) given.Add($"--max-steps {m}");
        if (given.Count == 0) return null;
        string recorded = before.MaxSteps > 0 ? $"{before.Epochs} epochs, at most {before.MaxSteps} steps" : $"{before.Epochs} epochs";
        return $"--resume keeps the run's recorded length ({recorded}), so {string.Join(" and ", given)} is ignored: its learning-rate schedule " +
               "was laid out for that length. For a longer run, start a new --run-dir.";
    }

    /// <summary>The config.json a run in <paramref name="runDirectory"/> recorded; null when there is none yet.</summary>
    public static RunConfig? Recorded(string runDirectory)
    {
        string saved = Path.Combine(runDirectory, "config.json");
        return File.Exists(saved) ? RunConfig.FromJson(File.ReadAllText(saved), saved) : null;
    }

    /// <summary>
    /// Pretrains on the samples of <paramref name="train"/> (any modality; labels never reach the method): the modality
    /// prepares what the encoder reads (a text run trains its tokenizer first), then <see cref="Run(RunConfig, IDataset, string, bool, IRunObserver?, CancellationToken)"/>.
    /// A time budget (<paramref name="minutes"/>) cuts a new run to what fits on this machine.
    /// </summary>
    public static PretrainResult Run(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver? observer = null,
        double? minutes = null, string? longerRun = null, CancellationToken cancel = default)
    {
        observer ??= NullObserver.Instance;
        var modality = ModalityCatalog.Get(MethodRegistry.Get(config.Method).ModalityFor(config.Encoder.Modality));
        using var prepared = modality.PrepareRun(config, train, runDirectory, resume, observer, cancel);
        var run = WithinBudget(prepared.Config, prepared.Data, runDirectory, resume, minutes, observer, longerRun);
        var result = Run(run, prepared.Data, runDirectory, resume, observer, cancel);
        modality.AfterPretraining(result, observer);
        return result;
    }

    /// <exception cref="InvalidOperationException">The folder has checkpoints and <paramref name="resume"/> is false: nothing there is touched.</exception>
    public static void RefuseOverwrite(string runDirectory, bool resume)
    {
        if (!resume && new CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), 1).Latest is { } latest)
            throw new InvalidOperationException($"Run folder '{runDirectory}' already has checkpoints (newest: {Path.GetFileName(latest)}). Pass --resume to continue it, or choose another --run-dir.");
    }

    /// <summary>Pretrains on encoder-ready, unlabelled <paramref name="data"/> in <paramref name="runDirectory"/>.</summary>
    public static PretrainResult Run(RunConfig config, IDataset data, string runDirectory, bool resume, IRunObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= NullObserver.Instance;
        var entry = MethodRegistry.Get(config.Method);
        RefuseOverwrite(runDirectory, resume);
        var folder = new CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), config.Train.KeepCheckpoints);
        string? latest = folder.Latest;
        if (resume && latest is null)
            observer.Message($"No checkpoint in '{folder.Directory}'; starting from step 0.");
        if (folder.RemoveStaleTemporaries() is { Count: > 0 } stale)
            observer.Message($"Removed {stale.Count} half-written checkpoint file(s) left by an interrupted run in '{folder.Directory}': {string.Join(", ", stale)}.");
        Directory.CreateDirectory(runDirectory);

        // The trainer validates the options and sets the thread count (TrainerOptions.Threads) for the steps.
        var method = Create(entry, config);
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

        var trainer = new Trainer(method, data, entry.Views(config.Setup), config.Train, config.ToJson());
        using var metrics = MetricsLog.Open(Path.Combine(runDirectory, "metrics.csv"), MetricColumns, truncateAfterStep: startStep);
        // The same rows for TensorBoard (`tensorboard --logdir runs`); a session that trains no step writes no file.
        using var events = trainer.TotalSteps > startStep ? TensorBoardLog.Create(runDirectory, startStep + 1) : null;
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN, lastCollapse = double.NaN;
        var watch = new CollapseWatch();
        DiagnosticReadings? readings = null;
        int every = config.Train.DiagnosticsEvery;
        observer.Message($"Encoder computes in {ComputeOptions.Describe(config.Encoder.Precision)}.");
        observer.BeginStage($"Pretraining {config.Method} on {data.Name}", trainer.TotalSteps);
        observer.Report(startStep);
        trainer.Run(optimizer, startStep, folder, r =>
        {
            var row = new StepMetrics(r.Step, r.Epoch, r.Loss, r.LearningRate, r.CollapseStd, r.SamplesPerSecond, r.ElapsedSeconds, readings);
            string rank = "";
            if (readings is not null)
            {
                rank = string.Create(CultureInfo.InvariantCulture, $"  rank {readings.RankMe:F1}");
                if (watch.Observe(r.Step, readings)) observer.Message(watch.Verdict.Warning!);
                else if (watch.Recovered)
                    observer.Message(string.Create(CultureInfo.InvariantCulture,
                        $"Recovered: at step {r.Step} the embeddings are spread out again (normalised std {readings.CollapseStd:F2}, RankMe {readings.RankMe:F1}); the collapse warning above no longer holds."));
                readings = null;
            }
            var cells = row.Cells();
            metrics.Append(cells);
            events?.Append(r.Step, cells.Where(c => c.Key != MetricsLog.StepColumn).ToDictionary());
            lastLoss = r.Loss; lastCollapse = r.CollapseStd;
            observer.Report(r.Step, string.Create(CultureInfo.InvariantCulture, $"loss {r.Loss:F4}  {r.SamplesPerSecond:F0} samples/s  collapse {r.CollapseStd:F2}{rank}"));
        }, cancel, inspect: (step, output) =>
        {
            if (every > 0 && (step % every == 0 || step == trainer.TotalSteps))
                readings = Diagnostics.Measure(output.Embedding, output.PairedEmbedding);
        });
        double seconds = clock.Elapsed.TotalSeconds;
        long stepsDone = trainer.TotalSteps - startStep;
        observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"{stepsDone} steps in {seconds:F0} s"));
        if (stepsDone == 0)
            observer.Message($"Nothing to train: the run in '{runDirectory}' had already finished its {trainer.TotalSteps} steps. Its checkpoint is {folder.Latest}.");
        CollapseVerdict? verdict = null;
        if (every > 0 && stepsDone > 0)
        {
            verdict = watch.Verdict;
            Export.JsonFile.WriteAtomic(Path.Combine(runDirectory, DiagnosticsFile), verdict);
            // Said once when it happened; said again at the end so it is the last thing on the screen.
            if (verdict.Collapsed) observer.Message(verdict.Warning!);
        }
        else if (stepsDone == 0) verdict = ReadVerdict(runDirectory);
        else File.Delete(Path.Combine(runDirectory, DiagnosticsFile)); // diagnostics off: an older verdict would describe other steps
        method.Dispose();
        return new PretrainResult(runDirectory, folder.Latest!, trainer.TotalSteps, seconds,
            stepsDone * (double)config.Train.BatchSize / Math.Max(seconds, 1e-9), lastLoss, lastCollapse, verdict);
    }

    internal static void AtomicJson(string path, string json) => Export.AtomicFile.WriteText(path, w => w.Write(json));
}
