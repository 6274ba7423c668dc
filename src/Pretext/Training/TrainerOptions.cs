using System.Text.Json.Serialization;

namespace Pretext.Training;

/// <summary>Options of the shared training loop; every method trains through it.</summary>
public sealed record TrainerOptions
{
    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Stop after this many steps in total (0: Epochs decides). Used by smoke runs and tests.</summary>
    public long MaxSteps { get; init; }
    /// <summary>Samples per step; the last partial batch of an epoch is dropped (contrastive losses want full batches).</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Peak learning rate after warmup.</summary>
    public double LearningRate { get; init; } = 1.2;
    /// <summary>
    /// The fewest steps a run bounded only by its epochs trains for (0: none): on data too small for <see cref="Epochs"/> to reach
    /// it, <see cref="ForData"/> raises the epochs so the encoder gets the steps its recipe was sized for. Presets set it to the
    /// steps of their reference data (the image preset: Fashion-MNIST's 5 epochs, 1,170 steps); an explicit --epochs or
    /// --max-steps turns it off.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long MinSteps { get; init; }
    /// <summary>Linear warmup length in epochs (fractions allowed); SimCLR warms up for 10 of 100+ epochs.</summary>
    public double WarmupEpochs { get; init; } = 0.5;
    /// <summary>Linear warmup length in steps; when set it replaces <see cref="WarmupEpochs"/> (supervised training warms up for 5 % of its steps).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? WarmupSteps { get; init; }
    /// <summary>Final learning rate as a fraction of the peak.</summary>
    public double FinalLrFraction { get; init; }
    public OptimizerOptions Optimizer { get; init; } = new();
    /// <summary>
    /// Clip the gradients' joint L2 norm to this before each update (0: no clipping). DINO's authors clip at 3.0;
    /// it guards runs whose loss spikes early (high learning rates, sharp teacher targets).
    /// </summary>
    public double GradientClipNorm { get; init; }
    /// <summary>Seed of all randomness: initial weights, data order, augmentations.</summary>
    public int Seed { get; init; } = 42;
    /// <summary>Intra-op CPU threads (0: leave TorchSharp's default).</summary>
    public int Threads { get; init; }
    /// <summary>Write a checkpoint every this many steps (0: only at the end).</summary>
    public int CheckpointEvery { get; init; } = 200;
    /// <summary>How many step checkpoints to keep; older ones are deleted after a newer one is safely on disk.</summary>
    public int KeepCheckpoints { get; init; } = 3;
    /// <summary>
    /// Measure representation diagnostics (effective rank, alignment, uniformity) on the current batch every
    /// this many steps and at the last step (0: never). An SVD of a (B, D) batch costs milliseconds against
    /// a step's seconds, so 10 is cheap while still catching a collapse within a few dozen steps.
    /// </summary>
    public int DiagnosticsEvery { get; init; } = 10;
    /// <summary>Prepare the next batch's views on a background thread while the current step computes.</summary>
    public bool Prefetch { get; init; } = true;
    /// <summary>The random streams the loop draws sample order, views and <see cref="Batch.Random"/> from (pretraining's by default).
    /// Not part of a run's config: which streams a kind of training uses is fixed by the code that builds it.</summary>
    [JsonIgnore]
    public TrainingStreams Streams { get; init; } = TrainingStreams.Pretraining;

    /// <summary>Steps a run of these options takes over data with <paramref name="stepsPerEpoch"/> full batches: MaxSteps capped by Epochs, whichever is set.</summary>
    public long TotalSteps(long stepsPerEpoch) =>
        MaxSteps > 0 ? (Epochs > 0 ? Math.Min(MaxSteps, stepsPerEpoch * Epochs) : MaxSteps) : stepsPerEpoch * Epochs;

    /// <summary>Most epochs <see cref="ForData"/> raises a run to (a few dozen images would otherwise be seen tens of thousands of times).</summary>
    public const int MaxScaledEpochs = 1000;

    /// <summary>
    /// These options for data with <paramref name="stepsPerEpoch"/> full batches: with <see cref="MinSteps"/> set and no
    /// <see cref="MaxSteps"/>, the epochs raised to reach MinSteps (at most <see cref="MaxScaledEpochs"/>) and the warm-up stretched
    /// with them (the same fraction of the run); MinSteps is then spent (0), so applying it twice changes nothing.
    /// </summary>
    public TrainerOptions ForData(long stepsPerEpoch)
    {
        if (MinSteps <= 0 || MaxSteps > 0 || stepsPerEpoch <= 0 || Epochs <= 0) return this;
        long needed = (MinSteps + stepsPerEpoch - 1) / stepsPerEpoch;
        int epochs = (int)Math.Min(MaxScaledEpochs, Math.Max(Epochs, needed));
        return this with { Epochs = epochs, WarmupEpochs = WarmupSteps is null ? WarmupEpochs * epochs / Epochs : WarmupEpochs, MinSteps = 0 };
    }

    /// <summary>Throws on options no run can use.</summary>
    /// <param name="minBatchSize">Smallest batch the trained task accepts (<see cref="ITrainingTask.MinBatchSize"/>).</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate(int minBatchSize = 2)
    {
        if (Epochs <= 0 && MaxSteps <= 0) throw new ArgumentException("Set --epochs (or max steps) to a positive number.");
        if (BatchSize < minBatchSize) throw new ArgumentException($"Batch size must be at least {minBatchSize}, got {BatchSize}.");
        if (!(LearningRate > 0)) throw new ArgumentException($"Learning rate must be positive, got {LearningRate}.");
        if (WarmupEpochs < 0) throw new ArgumentException("Warmup epochs must be >= 0.");
        if (WarmupSteps < 0) throw new ArgumentException("Warmup steps must be >= 0.");
        if (MinSteps < 0) throw new ArgumentException($"Minimum steps must be >= 0 (0: none), got {MinSteps}.");
        if (KeepCheckpoints < 1) throw new ArgumentException("Keep at least one checkpoint.");
        if (CheckpointEvery < 0) throw new ArgumentException("Checkpoint interval must be >= 0.");
        if (Threads < 0) throw new ArgumentException("Threads must be >= 0.");
        if (!(GradientClipNorm >= 0)) throw new ArgumentException($"Gradient clip norm must be >= 0 (0 turns clipping off), got {GradientClipNorm}.");
        if (DiagnosticsEvery < 0) throw new ArgumentException("Diagnostics interval must be >= 0.");
    }
}
