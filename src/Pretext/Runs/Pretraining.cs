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
    /// <paramref name="config"/> cut to what fits in <paramref name="minutes"/> of pretraining at <paramref name="secondsPerStep"/>:
    /// its own step count when that fits (it is never lengthened; a recipe within <see cref="BudgetMargin"/> of the budget is kept
    /// whole), else as many steps as the budget allows, at least 10 and more than the <paramref name="stepsDone"/> already taken,
    /// with the learning-rate schedule over exactly those steps. Returns the config and one line saying what was chosen; when the
    /// run is cut, the line ends with <paramref name="longerRun"/>, how the user gets a longer run (default: the --minutes advice of
    /// `pretext pretrain` and `pretext quickstart`).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The budget or the step cost is not a positive number.</exception>
    public static (RunConfig Config, string Decision) FitToBudget(RunConfig config, long stepsPerEpoch, double secondsPerStep, double minutes,
        long stepsDone = 0, string? longerRun = null)
    {
        if (!(minutes > 0) || double.IsInfinity(minutes)) throw new ArgumentOutOfRangeException(nameof(minutes), minutes, "The time budget must be a positive number of minutes.");
        if (!(secondsPerStep > 0) || double.IsInfinity(secondsPerStep)) throw new ArgumentOutOfRangeException(nameof(secondsPerStep), secondsPerStep, "A step must take a positive time.");
        long perEpoch = Math.Max(1, stepsPerEpoch);
        long planned = config.Train.TotalSteps(perEpoch);
        var c = CultureInfo.InvariantCulture;
        if (planned * secondsPerStep <= minutes * 60 * (1 + BudgetMargin))
            return (config, string.Create(c, $"Time budget {minutes:0.#} min: {secondsPerStep:F2} s/step measured, so the full {planned} steps ({(double)planned / perEpoch:0.#} epochs, about {planned * secondsPerStep / 60:F0} min) fit."));
        long fits = Math.Max(Math.Max(10, stepsDone + 1), (long)(minutes * 60 / (secondsPerStep * (1 + BudgetMargin))));
        if (fits >= planned) return (config, string.Create(c, $"Time budget {minutes:0.#} min: {secondsPerStep:F2} s/step measured; the full {planned} steps are kept."));
        var cut = config with { Train = config.Train with { MaxSteps = fits, Epochs = (int)Math.Ceiling((double)fits / perEpoch) } };
        return (cut, string.Create(c, $"Time budget {minutes:0.#} min: {secondsPerStep:F2} s/step measured on this machine, so {fits} of the recipe's {planned} steps ({(double)fits / perEpoch:0.#} of {(double)planned / perEpoch:0.#} epochs). A longer run is usually more accurate: {longerRun ?? LongerRunAdvice}"));
    }

    /// <summary>
    /// A time budget for pretraining: <see cref="Minutes"/> of training steps, decided on the run's own measured rate while its
    /// learning rate is still warming up (<see cref="DecisionStep"/>), so a cut changes no step already taken.
    /// </summary>
    /// <param name="LongerRun">How a user gets a longer run, said when the run is cut (null: <see cref="LongerRunAdvice"/>).</param>
    public sealed record TimeBudget(double Minutes, string? LongerRun = null)
    {
        /// <summary>The latest step the decision waits for: the quickstart's first 100 steps (its warm-up is 117) cover the slow first steps of a process.</summary>
        public const long MaxDecisionStep = 100;

        /// <summary>
        /// The step after which the budget is decided for a run of <paramref name="totalSteps"/> steps warming up for
        /// <paramref name="warmupSteps"/> and checkpointing every <paramref name="checkpointEvery"/> (0: at the end only): the end of
        /// the warm-up, at most <see cref="MaxDecisionStep"/>, at least 6 where the run is that long, never after the first
        /// checkpoint (so every checkpoint records the decided length), and before the last step.
        /// </summary>
        public static long DecisionStep(long totalSteps, long warmupSteps, int checkpointEvery)
        {
            long d = Math.Clamp(warmupSteps, 6, MaxDecisionStep);
            if (checkpointEvery > 0) d = Math.Min(d, checkpointEvery);
            return Math.Max(1, Math.Min(d, totalSteps - 1));
        }

        /// <summary>The step the rate is measured from: a third of the way to <paramref name="decisionStep"/>, past the first slow steps.</summary>
        public static long RateFrom(long decisionStep) => decisionStep / 3;
    }

    /// <summary>
    /// The length a run about to start in <paramref name="runDirectory"/> keeps, and the budget it is still to be fitted to: a resumed
    /// run that has a checkpoint keeps the step count its folder recorded and is not timed again (so its schedule, and every later loss,
    /// is the one it started with); otherwise the budget (<paramref name="minutes"/>; null or 0: none) is decided during the run.
    /// </summary>
    public static (RunConfig Config, TimeBudget? Budget) WithinBudget(RunConfig config, string runDirectory, bool resume, double? minutes, string? longerRun = null)
    {
        if (minutes is double m && (!(m >= 0) || double.IsInfinity(m)))
            throw new ArgumentOutOfRangeException(nameof(minutes), minutes, "The time budget must be a positive number of minutes (0: none).");
        var kept = resume && Recorded(runDirectory) is RunConfig before
            ? config with { Train = config.Train with { MaxSteps = before.Train.MaxSteps, Epochs = before.Train.Epochs } }
            : config;
        bool started = resume && new CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), 1).Latest is not null;
        return (kept, minutes is double mm && mm > 0 && !started ? new TimeBudget(mm, longerRun) : null);
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
    /// prepares what the encoder reads (a text run trains its tokenizer first), then <see cref="Run(RunConfig, IDataset, string, bool, IRunObserver?, CancellationToken, TimeBudget?)"/>.
    /// A time budget (<paramref name="minutes"/>) cuts a new run to what fits on this machine.
    /// </summary>
    public static PretrainResult Run(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver? observer = null,
        double? minutes = null, string? longerRun = null, CancellationToken cancel = default)
    {
        observer ??= NullObserver.Instance;
        CheckRunFolder(runDirectory, resume);
        var modality = ModalityCatalog.Get(MethodRegistry.Get(config.Method).ModalityFor(config.Encoder.Modality));
        using var prepared = modality.PrepareRun(config, train, runDirectory, resume, observer, cancel);
        var (run, budget) = WithinBudget(ForData(prepared.Config, prepared.Data, observer), runDirectory, resume, minutes, longerRun);
        var result = Run(run, prepared.Data, runDirectory, resume, observer, cancel, budget);
        modality.AfterPretraining(result, observer);
        return result;
    }

    /// <summary>
    /// <paramref name="config"/> sized to <paramref name="data"/> (<see cref="TrainerOptions.ForData"/>): on data too small for the
    /// preset's epochs to give the steps it was sized for, more epochs, said to the user.
    /// </summary>
    public static RunConfig ForData(RunConfig config, IDataset data, IRunObserver? observer = null)
    {
        long perEpoch = data.Count / Math.Max(1, config.Train.BatchSize);
        var sized = config.Train.ForData(perEpoch);
        if (sized == config.Train) return config;
        if (sized.Epochs != config.Train.Epochs)
            observer?.Message(string.Create(CultureInfo.InvariantCulture,
                $"{data.Count:N0} samples give {perEpoch} steps of {config.Train.BatchSize} per epoch, so the run trains for {sized.Epochs} epochs ({sized.TotalSteps(perEpoch):N0} steps) instead of the preset's {config.Train.Epochs}: the steps the recipe was sized for ({config.Train.MinSteps:N0}). --epochs or --max-steps sets the length."));
        return config with { Train = sized };
    }

    /// <summary>
    /// Checks a run folder before any data loads: one that cannot hold a run is refused (<see cref="CheckWritableRunFolder"/>), and
    /// --resume of a run folder that does not exist is a mistyped path, not a new run: refused, naming sibling run folders with
    /// similar names. A folder that exists without a checkpoint yet (a run stopped before its first) starts from step 0.
    /// </summary>
    /// <exception cref="IOException">The folder cannot hold a run (a file, below a file, not writable).</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="resume"/> and no folder at <paramref name="runDirectory"/>.</exception>
    public static void CheckRunFolder(string runDirectory, bool resume)
    {
        CheckWritableRunFolder(runDirectory);
        if (!resume || Directory.Exists(runDirectory)) return;
        string full = Path.GetFullPath(runDirectory);
        string? parent = Path.GetDirectoryName(full.TrimEnd(Path.DirectorySeparatorChar));
        string name = Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar));
        var near = parent is not null && Directory.Exists(parent)
            ? Directory.EnumerateDirectories(parent)
                .Where(d => File.Exists(Path.Combine(d, "config.json")) || Directory.Exists(Path.Combine(d, "checkpoints")))
                .Select(d => (Dir: d, Distance: ConfigOverrides.EditDistance(Path.GetFileName(d), name)))
                .Where(x => x.Distance <= Math.Max(2, name.Length / 3)).OrderBy(x => x.Distance).Take(3)
                .Select(x => Path.GetRelativePath(Directory.GetCurrentDirectory(), x.Dir)).ToList()
            : [];
        throw new DirectoryNotFoundException($"--resume: there is no run folder '{runDirectory}' to resume." +
            (near.Count > 0 ? $" Did you mean {string.Join(" or ", near.Select(n => $"'{n}'"))}?" : "") +
            " Check --run-dir, or leave out --resume to start a new run there.");
    }

    /// <summary>
    /// A run folder that cannot hold a run is refused before any data loads, in words (issue 24: a file where the folder should
    /// be, or a folder under /proc, gave raw .NET messages, some only after the work). The folder is created and a probe file
    /// written and deleted; folders this check created are removed again, so a refused run leaves nothing behind.
    /// </summary>
    /// <exception cref="IOException">The path, or a folder above it, is a file; or the folder cannot be created or written.</exception>
    public static void CheckWritableRunFolder(string runDirectory)
    {
        string full = Path.GetFullPath(runDirectory);
        for (string? p = full; p is not null; p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p))
                throw new IOException(p == full
                    ? $"--run-dir '{runDirectory}' is a file; a run folder holds config.json, metrics.csv and checkpoints/. Choose another --run-dir (the file is left as it is)."
                    : $"--run-dir '{runDirectory}': '{p}' is a file, so no folder can be made below it. Choose another --run-dir (the file is left as it is).");
            if (Directory.Exists(p)) break;
        }
        var created = new List<string>();
        for (string? p = full; p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p)) created.Add(p);
        try
        {
            Directory.CreateDirectory(full);
            string probe = Path.Combine(full, $".write-check-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"--run-dir '{runDirectory}' cannot be written ({e.Message.TrimEnd('.')}). Choose a folder you can write to, e.g. under your home folder or runs/.", e);
        }
        finally
        {
            foreach (var dir in created) // deepest first
                try { Directory.Delete(dir); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <exception cref="InvalidOperationException">The folder has checkpoints and <paramref name="resume"/> is false: nothing there is touched.</exception>
    public static void RefuseOverwrite(string runDirectory, bool resume)
    {
        if (!resume && new CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), 1).Latest is { } latest)
            throw new InvalidOperationException($"Run folder '{runDirectory}' already has checkpoints (newest: {Path.GetFileName(latest)}). Pass --resume to continue it, or choose another --run-dir.");
    }

    /// <summary>
    /// Pretrains on encoder-ready, unlabelled <paramref name="data"/> in <paramref name="runDirectory"/>. With a
    /// <paramref name="budget"/>, the run times its own steps during the warm-up and is cut to what fits (<see cref="FitToBudget"/>);
    /// config.json and every checkpoint record the decided length.
    /// </summary>
    public static PretrainResult Run(RunConfig config, IDataset data, string runDirectory, bool resume, IRunObserver? observer = null, CancellationToken cancel = default,
        TimeBudget? budget = null)
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
        // --init-from: the encoder's weights are read first, so the method below is built from the run's seed as without it.
        bool initialise = config.InitFrom is not null && !(resume && latest is not null);
        var (initial, initialStep) = initialise ? EncoderWeights(config.InitFrom!) : (null, 0L);
        var method = Create(entry, config);
        if (initial is not null)
        {
            CopyInto(method.Encoder, initial, config.InitFrom!);
            observer.Message($"Encoder weights from {config.InitFrom} (step {initialStep}); the {method.Name} heads and the optimiser start fresh.");
        }
        using var optimizer = new Training.Optimizer(method.ParameterGroups(), config.Train.Optimizer);
        long startStep = 0;
        if (resume && latest is not null)
        {
            using var ckpt = Checkpoint.Load(latest);
            var saved = RunConfig.FromJson(ckpt.ConfigJson, latest);
            if (saved.ResumeDifferences(config) is { Count: > 0 } differences)
                throw new InvalidOperationException($"Cannot resume '{runDirectory}': its checkpoint was written with a different configuration: {string.Join("; ", differences)}. Resume with the checkpoint's settings (its config.json), or start a new --run-dir.");
            ckpt.LoadInto(method.Module);
            optimizer.LoadStateDict(ckpt.Optimizer);
            startStep = ckpt.Step;
            observer.Message($"Resuming from {latest} (step {startStep}).");
        }
        AtomicJson(Path.Combine(runDirectory, "config.json"), config.ToJson());

        var trainer = new Trainer(method, data, entry.Views(config.Setup), config.Train, config.ToJson());
        long decideAt = budget is null ? -1 : TimeBudget.DecisionStep(trainer.TotalSteps, trainer.Schedule.WarmupSteps, config.Train.CheckpointEvery);
        long rateFrom = TimeBudget.RateFrom(decideAt);
        double rateFromSeconds = 0, budgetSecondsPerStep = double.NaN;
        if (budget is not null)
            observer.Message(string.Create(CultureInfo.InvariantCulture,
                $"Time budget {budget.Minutes:0.#} min: the run times its steps {rateFrom + 1}-{decideAt} (the learning-rate warm-up, so a cut changes nothing already done), then keeps the {trainer.TotalSteps} planned steps or cuts them to what fits."));
        using var metrics = MetricsLog.Open(Path.Combine(runDirectory, "metrics.csv"), MetricColumns, truncateAfterStep: startStep);
        // The same rows for TensorBoard (`tensorboard --logdir runs`); a session that trains no step writes no file.
        using var events = trainer.TotalSteps > startStep ? TensorBoardLog.Create(runDirectory, startStep + 1) : null;
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN, lastCollapse = double.NaN;
        var watch = new CollapseWatch();
        // A collapse during the learning-rate warm-up is announced only if it outlasts it (CollapseAnnouncer); the verdict counts it either way.
        var announcer = new CollapseAnnouncer(watch, trainer.Schedule.WarmupSteps);
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
                if (announcer.Observe(r.Step, readings) is { } said) observer.Message(said);
                readings = null;
            }
            var cells = row.Cells();
            metrics.Append(cells);
            events?.Append(r.Step, cells.Where(c => c.Key != MetricsLog.StepColumn).ToDictionary());
            lastLoss = r.Loss; lastCollapse = r.CollapseStd;
            if (r.Step == rateFrom) rateFromSeconds = r.ElapsedSeconds;
            if (budget is not null && r.Step == decideAt)
            {
                // Steps before rateFrom are left out: a fresh process runs its first steps slower (measured: 0.91 s/step over
                // steps 4-9 against 0.8 over the quickstart's next hundred).
                budgetSecondsPerStep = (r.ElapsedSeconds - rateFromSeconds) / (decideAt - rateFrom);
                var (fitted, decision) = FitToBudget(config, trainer.StepsPerEpoch, budgetSecondsPerStep, budget.Minutes, r.Step, budget.LongerRun);
                if (!ReferenceEquals(fitted, config))
                {
                    config = fitted;
                    trainer.Shorten(config.Train.TotalSteps(trainer.StepsPerEpoch), config.ToJson());
                    AtomicJson(Path.Combine(runDirectory, "config.json"), config.ToJson());
                    observer.Resize(trainer.TotalSteps);
                }
                observer.Message(decision);
            }
            observer.Report(r.Step, string.Create(CultureInfo.InvariantCulture, $"loss {r.Loss:F4}  {r.SamplesPerSecond:F0} samples/s  collapse {r.CollapseStd:F2}{rank}"));
        }, cancel, inspect: (step, output) =>
        {
            if (every > 0 && (step % every == 0 || step == trainer.TotalSteps))
                readings = Diagnostics.Measure(output.Embedding, output.PairedEmbedding);
        });
        double seconds = clock.Elapsed.TotalSeconds;
        long stepsDone = trainer.TotalSteps - startStep;
        observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"{stepsDone} steps in {seconds:F0} s"));
        if (double.IsFinite(budgetSecondsPerStep) && stepsDone > 0)
            observer.Message(string.Create(CultureInfo.InvariantCulture,
                $"The budget was decided at {budgetSecondsPerStep:F3} s/step; the whole run went at {seconds / stepsDone:F3} s/step."));
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

    /// <summary>The encoder tensors of a checkpoint, by the encoder's own names (copies; the checkpoint's model is disposed).</summary>
    private static (Dictionary<string, Tensor> Tensors, long Step) EncoderWeights(string checkpoint)
    {
        var (source, _, step) = LoadMethod(checkpoint);
        using (source)
            return (source.Encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope()), step);
    }

    /// <summary>Copies <paramref name="tensors"/> into <paramref name="encoder"/> (names and shapes must match exactly) and disposes them.</summary>
    /// <exception cref="InvalidDataException">A tensor is missing or misshapen: the checkpoint's encoder is not this run's.</exception>
    private static void CopyInto(Encoders.Encoder encoder, Dictionary<string, Tensor> tensors, string checkpoint)
    {
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, t) in encoder.state_dict())
            {
                if (!tensors.TryGetValue(name, out var s) || !s.shape.SequenceEqual(t.shape))
                    throw new InvalidDataException($"--init-from '{checkpoint}': its encoder {(s is null ? "lacks" : $"has another shape of")} '{name}' ([{string.Join(",", t.shape)}] here); a --set that changes the encoder's shape cannot be combined with --init-from.");
                t.copy_(s);
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    internal static void AtomicJson(string path, string json) => Export.AtomicFile.WriteText(path, w => w.Write(json));
}
