using System.Diagnostics;
using Pretext.Augmentations;
using Pretext.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Training;

/// <summary>What the loop reports after each step.</summary>
/// <param name="Checkpoint">The checkpoint this step writes right after the report (null: none); it is not on disk yet when the report comes.</param>
public sealed record StepReport(
    long Step, long TotalSteps, double Epoch, double Loss, double LearningRate,
    double CollapseStd, double SamplesPerSecond, double ElapsedSeconds, string? Checkpoint);

/// <summary>Raised when the loss becomes NaN or infinite; nothing is saved after the last good checkpoint.</summary>
public sealed class TrainingDivergedException(long step, double loss, string? lastCheckpoint) : Exception(
    $"Loss became {loss} at step {step}; training stopped. " +
    (lastCheckpoint is null ? "No checkpoint had been written yet. " : $"Last good checkpoint: {lastCheckpoint}. ") +
    "Lower the learning rate (--lr) or use --precision float32, then run again (or --resume from the checkpoint).")
{
    public long Step { get; } = step;
    public string? LastCheckpoint { get; } = lastCheckpoint;
}

/// <summary>
/// The one training loop for every task and modality: self-supervised pretraining, fine-tuning and training
/// from scratch. Each step: take a batch of raw samples, make the task's views, compute its loss,
/// back-propagate, update with the scheduled learning rate, run the task's post-step hook, log. Determinism:
/// the sample order of epoch e, the views of step s and the step's own generator are pure functions of
/// (seed, stream, e) and (seed, stream, s) (<see cref="TrainerOptions.Streams"/>), so a run resumed from a
/// checkpoint at step s computes exactly the steps an uninterrupted run would (same threads, CPU).
/// </summary>
public sealed class Trainer
{
    private readonly ITrainingTask task;
    private readonly IDataset data;
    private readonly IViewGenerator views;
    private readonly TrainerOptions options;
    private string configJson;
    // Steps finished in the current Run call (what Shorten may not cut below).
    private long completed;

    /// <param name="task">What to train: a self-supervised method or a supervised classifier.</param>
    /// <param name="data">The samples trained on; sample order indexes it.</param>
    /// <param name="views">Makes the task's views of each raw batch.</param>
    /// <param name="options">Batch, length, schedule, seed and random streams.</param>
    /// <param name="configJson">The run's config, recorded in every checkpoint.</param>
    /// <exception cref="ArgumentException">The options are invalid, the views do not fit the task, or the data is smaller than one batch.</exception>
    public Trainer(ITrainingTask task, IDataset data, IViewGenerator views, TrainerOptions options, string configJson = "{}")
    {
        options.Validate(task.MinBatchSize);
        if (views.ViewCount != task.ViewCount)
            throw new ArgumentException($"Method '{task.Name}' needs {task.ViewCount} views but the augmentation makes {views.ViewCount}.");
        if (data.Count < options.BatchSize)
            throw new ArgumentException($"Dataset '{data.Name}' has {data.Count} samples, fewer than one batch of {options.BatchSize}. Lower --batch-size.");
        this.task = task; this.data = data; this.views = views; this.options = options; this.configJson = configJson;
        StepsPerEpoch = data.Count / options.BatchSize;
        TotalSteps = options.TotalSteps(StepsPerEpoch);
        long warmup = options.WarmupSteps ?? (long)Math.Round(options.WarmupEpochs * StepsPerEpoch);
        Schedule = new WarmupCosineSchedule(options.LearningRate, warmup, TotalSteps, options.FinalLrFraction);
    }

    public long StepsPerEpoch { get; }
    public long TotalSteps { get; private set; }
    public WarmupCosineSchedule Schedule { get; private set; }

    /// <summary>
    /// Ends the run after <paramref name="totalSteps"/> steps instead of its planned length; called from <see cref="Run"/>'s step
    /// callback (a time budget decided on the run's own measured rate). The learning rate then decays over the new length, and
    /// later checkpoints record <paramref name="configJson"/>. Called while the schedule is still warming up, it changes no step
    /// already taken (the warm-up does not depend on the length), so the run is the one a plan of that length would have made;
    /// only methods whose momentum follows the run's progress (BYOL, DINO) saw the longer plan in the steps before.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not shorter than the plan, or not after the steps already taken.</exception>
    public void Shorten(long totalSteps, string configJson)
    {
        if (totalSteps > TotalSteps || totalSteps <= completed)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps,
                $"A run can only be shortened to between the {completed + 1} steps it needs to end cleanly and its planned {TotalSteps}.");
        TotalSteps = totalSteps;
        Schedule = Schedule with { TotalSteps = totalSteps };
        this.configJson = configJson;
    }

    /// <summary>Mixes the run seed with a stream id and a counter into a 63-bit seed (SplitMix64 finaliser).</summary>
    public static long DeriveSeed(long seed, long stream, long counter)
    {
        unchecked
        {
            ulong z = (ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)stream * 0xBF58476D1CE4E5B9UL + (ulong)counter * 0x94D049BB133111EBUL + 0x632BE59BD9B4E019UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (long)(z >> 1);
        }
    }

    /// <summary>Sample order of epoch <paramref name="epoch"/> (a permutation of the dataset).</summary>
    public long[] EpochOrder(long epoch)
    {
        using var g = new Generator((ulong)DeriveSeed(options.Seed, options.Streams.SampleOrder, epoch));
        using var perm = randperm(data.Count, generator: g);
        return perm.data<long>().ToArray();
    }

    private sealed class Prepared(long step, long[] indices, Tensor[] views, Tensor[]? partners) : IDisposable
    {
        public long Step { get; } = step;
        public long[] Indices { get; } = indices;
        public Tensor[] Views { get; } = views;
        public Tensor[]? Partners { get; } = partners;
        public void Dispose()
        {
            foreach (var v in Views) v.Dispose();
            foreach (var v in Partners ?? []) v.Dispose();
        }
    }

    private Prepared Prepare(long step, ref (long Epoch, long[] Order) cache)
    {
        long epoch = step / StepsPerEpoch;
        if (cache.Epoch != epoch) cache = (epoch, EpochOrder(epoch));
        long pos = step % StepsPerEpoch;
        var idx = cache.Order.AsSpan((int)(pos * options.BatchSize), options.BatchSize).ToArray();
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)DeriveSeed(options.Seed, options.Streams.Views, step));
        var raw = data.Gather(idx);
        var v = views.MakeViews(raw, g);
        foreach (var t in v) t.DetachFromDisposeScope();
        Tensor[]? partners = null;
        if (data.Entities is { } groups)
        {
            // A stream of its own, so data without entity groups draws exactly what it drew before.
            using var pg = new Generator((ulong)DeriveSeed(options.Seed, RandomStreams.EntityPartners, step));
            partners = views.MakeViews(data.Gather(groups.Partners(idx, pg)), pg);
            foreach (var t in partners) t.DetachFromDisposeScope();
        }
        return new Prepared(step, idx, v, partners);
    }

    /// <summary>
    /// Trains from <paramref name="startStep"/> (0, or a resumed checkpoint's step) to the end.
    /// <paramref name="optimizer"/> (over the task's <see cref="ITrainingTask.ParameterGroups"/>) must already hold
    /// resumed state when resuming.
    /// </summary>
    /// <param name="checkpoints">Where step checkpoints go; null writes none.</param>
    /// <param name="onStep">Called after every step (progress bars, metrics files).</param>
    /// <param name="inspect">Called after every optimiser step with the step number (1-based, as in
    /// <see cref="StepReport.Step"/>) and the task's output, under no_grad and inside the step's dispose
    /// scope (diagnostics that need the embeddings; the tensors are gone afterwards).</param>
    /// <exception cref="TrainingDivergedException">The loss became NaN/Inf.</exception>
    public void Run(Optimizer optimizer, long startStep, CheckpointFolder? checkpoints, Action<StepReport>? onStep, CancellationToken cancel = default,
        Action<long, StepOutput>? inspect = null)
    {
        if (options.Threads > 0) set_num_threads(options.Threads);
        var module = task.Module;
        if (startStep == 0) task.Prepare(data);
        module.train();
        string? lastCheckpoint = checkpoints?.Latest;
        var clock = Stopwatch.StartNew();
        (long, long[]) orderCache = (-1, []);
        (long, long[]) bgCache = (-1, []);
        Task<Prepared>? next = null;
        Prepared? current = null;
        completed = startStep;
        try
        {
            for (long step = startStep; step < TotalSteps; step++)
            {
                cancel.ThrowIfCancellationRequested();
                var stepClock = Stopwatch.StartNew();
                current = next is not null ? next.GetAwaiter().GetResult() : Prepare(step, ref orderCache);
                next = null;
                if (options.Prefetch && step + 1 < TotalSteps)
                {
                    long s1 = step + 1;
                    next = Task.Run(() => Prepare(s1, ref bgCache));
                }

                double lr = Schedule.At(step);
                double lossValue, collapse;
                var progress = new TrainingProgress(step, TotalSteps);
                using (var scope = NewDisposeScope())
                {
                    // Randomness inside the task (dropout, negative sampling) is a function of (seed, step) too.
                    using var random = new Generator((ulong)DeriveSeed(options.Seed, options.Streams.Step, step));
                    var output = task.ComputeLoss(new Batch(current.Views, current.Indices, random) { Partners = current.Partners }, progress);
                    lossValue = output.Loss.item<float>();
                    if (!double.IsFinite(lossValue)) throw new TrainingDivergedException(step, lossValue, lastCheckpoint);
                    optimizer.ZeroGrad();
                    output.Loss.backward();
                    if (options.GradientClipNorm > 0) optimizer.ClipGradientNorm(options.GradientClipNorm);
                    optimizer.Step(lr, Schedule.Undecayed(step));
                    using (no_grad())
                    {
                        task.AfterOptimizerStep(progress);
                        collapse = CollapseMonitor.NormalizedStd(output.Embedding);
                        inspect?.Invoke(step + 1, output);
                    }
                }
                current.Dispose();
                current = null;

                bool last = step + 1 == TotalSteps;
                bool due = checkpoints is not null && (last || (options.CheckpointEvery > 0 && (step + 1) % options.CheckpointEvery == 0));
                double sps = options.BatchSize / stepClock.Elapsed.TotalSeconds;
                completed = step + 1;
                // The report (and with it the run's metrics row) comes before the step's checkpoint. A kill between the two then
                // leaves a row without its checkpoint, which the resume from the previous checkpoint drops and logs again,
                // identically; the other order left a checkpoint without its row, and the resume starts after that step, so the
                // row was lost for good (issue 24: 9 of 58 kills).
                onStep?.Invoke(new StepReport(step + 1, TotalSteps, (double)(step + 1) / StepsPerEpoch, lossValue, lr, collapse, sps, clock.Elapsed.TotalSeconds,
                    due ? checkpoints!.PathFor(step + 1) : null));
                if (due) lastCheckpoint = SaveCheckpoint(checkpoints!, step + 1, optimizer);
            }
        }
        finally
        {
            current?.Dispose();
            if (next is not null)
            {
                try { next.GetAwaiter().GetResult().Dispose(); } catch (Exception) { /* the step's own exception matters more */ }
            }
        }
    }

    private string SaveCheckpoint(CheckpointFolder folder, long step, Optimizer optimizer)
    {
        // Frees the finiteness checks' temporaries and the optimiser's step-count tensor when the checkpoint is written.
        using var scope = NewDisposeScope();
        var state = task.Module.state_dict();
        foreach (var (k, t) in state)
        {
            if (!t.is_floating_point()) continue;
            if (!t.isfinite().all().item<bool>())
                throw new TrainingDivergedException(step, double.NaN, folder.Latest);
        }
        var path = folder.PathFor(step);
        Checkpoint.Save(path, step, task.Name, configJson, state, optimizer.StateDict());
        folder.Prune();
        return path;
    }
}

/// <summary>Collapse monitor: how spread out L2-normalised embeddings are across the batch.</summary>
public static class CollapseMonitor
{
    /// <summary>
    /// Mean over dimensions of the per-dimension std of L2-normalised <paramref name="embedding"/> (B, D),
    /// times sqrt(D): about 1 for embeddings spread over the sphere, 0 for a collapsed (constant) output
    /// (the measure used by Tian et al. for SimSiam/BYOL collapse, rescaled to be width-independent).
    /// </summary>
    public static double NormalizedStd(Tensor embedding)
    {
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(embedding.detach().to(ScalarType.Float32), dim: 1);
        return z.std(0).mean().item<float>() * Math.Sqrt(embedding.shape[1]);
    }
}
