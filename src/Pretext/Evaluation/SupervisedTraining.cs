using Pretext.Compute;
using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Options of supervised training on a labelled subset (from scratch or fine-tuning a pretrained encoder).</summary>
public sealed record SupervisedOptions
{
    /// <summary>Optimiser steps; every subset gets the same step budget whatever its size, at least <see cref="MinEpochs"/> epochs.</summary>
    public int Steps { get; init; } = 400;
    public int MinEpochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    /// <summary>AdamW peak learning rate of the classifier head (cosine to zero, 5 % warmup); the encoder's is this times the encoder scale.</summary>
    public double LearningRate { get; init; } = 2e-3;
    public double WeightDecay { get; init; } = 5e-4;
    public int Seed { get; init; } = 0;
    /// <summary>
    /// Standardise the features the head sees with their mean and std over the labelled subset, measured once
    /// before training on the starting encoder (as the linear probe does). Pretrained features of arbitrary scale
    /// (word2vec's mean word vectors are ~100 times smaller than a layer norm's output) then start the head where
    /// its learning rate means the same thing.
    /// </summary>
    public bool StandardizeFeatures { get; init; }
    /// <summary>
    /// Keep the encoder's batch-norm layers in evaluation mode while training: they normalise with the running statistics the
    /// starting encoder brought (pretraining's, for fine-tuning) instead of each batch's, and those statistics stay as they
    /// are; their scale and shift still train. Batches of a few dozen labelled images give noisy batch statistics.
    /// </summary>
    public bool FreezeNorms { get; init; }
    /// <summary>
    /// Images: the smallest crop (fraction of the image's area) of the random resized crop that fine-tuning and training from
    /// scratch both see (null: the pretraining's smallest crop, at least 0.5); 1 keeps whole images, flips only.
    /// </summary>
    public double? CropScaleMin { get; init; }
    /// <summary>
    /// Fine-tuning: start the head where a linear probe on the starting encoder's frozen features of the labelled subset ends
    /// (LP-FT, Kumar et al. 2022), standardising the features as that probe does, instead of from random weights. The encoder's
    /// first steps then follow gradients of a head that already reads its features, not of a random one.
    /// </summary>
    public bool HeadFromProbe { get; init; }
}

/// <summary>
/// End-to-end supervised training of an encoder plus a linear classifier on a labelled subset, with the
/// same light crop/flip augmentation, step budget and optimiser whether the encoder starts from random
/// weights (<see cref="FromScratch"/>, the honest baseline for few-label learning: without augmentation
/// it would be needlessly weak) or from a pretrained checkpoint (<see cref="FineTune"/>). Both go through
/// <see cref="TrainAndTest"/>, so the only difference between them is the starting weights and the
/// encoder's learning-rate scale. The steps themselves are the shared <see cref="Trainer"/>'s, training a
/// <see cref="SupervisedClassifier"/>: the same loop, ordering and seeding discipline as pretraining.
/// </summary>
public static class SupervisedTraining
{
    /// <summary>Optimiser steps taken for a subset of <paramref name="labelled"/> samples.</summary>
    public static long StepsFor(int labelled, SupervisedOptions options)
    {
        int batch = Math.Min(options.BatchSize, labelled);
        return Math.Max(options.Steps, options.MinEpochs * Math.Max(1, labelled / batch));
    }

    /// <summary>Trains a freshly initialised encoder (weights from <see cref="SupervisedOptions.Seed"/>) and head; returns test accuracy.</summary>
    public static double FromScratch(Func<Encoder> makeEncoder, IDataset train, long[] subset, IDataset test,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
    {
        manual_seed(options.Seed);
        using var encoder = makeEncoder();
        return TrainAndTest(encoder, encoderLrScale: 1.0, train, subset, test, augment, normalize, numClasses, options, progress);
    }

    /// <summary>
    /// Fine-tunes a copy of <paramref name="pretrained"/> (built by <paramref name="makeEncoder"/>, weights and
    /// batch-norm statistics copied; the original is left untouched) with a fresh linear head. The encoder
    /// learns at <paramref name="encoderLrScale"/> times the head's rate, so the random head does not wreck
    /// the pretrained features in the first steps. Returns test accuracy.
    /// </summary>
    /// <exception cref="ArgumentException">The encoder <paramref name="makeEncoder"/> builds does not match <paramref name="pretrained"/>.</exception>
    public static double FineTune(Encoder pretrained, Func<Encoder> makeEncoder, double encoderLrScale, IDataset train, long[] subset, IDataset test,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
    {
        if (!(encoderLrScale >= 0)) throw new ArgumentOutOfRangeException(nameof(encoderLrScale), encoderLrScale, "The encoder's learning-rate scale must be >= 0.");
        manual_seed(options.Seed);
        using var encoder = makeEncoder();
        CopyWeights(pretrained, encoder);
        return TrainAndTest(encoder, encoderLrScale, train, subset, test, augment, normalize, numClasses, options, progress);
    }

    /// <summary>Copies every parameter and buffer of <paramref name="source"/> into <paramref name="target"/> (same architecture).</summary>
    /// <exception cref="ArgumentException">The two modules' state differs in names or shapes.</exception>
    public static void CopyWeights(nn.Module source, nn.Module target)
    {
        var from = source.state_dict();
        var to = target.state_dict();
        if (from.Count != to.Count || from.Keys.Except(to.Keys).Any())
            throw new ArgumentException($"Cannot copy weights between different encoders ({from.Count} and {to.Count} tensors; e.g. '{from.Keys.Except(to.Keys).Concat(to.Keys.Except(from.Keys)).FirstOrDefault()}').");
        using var noGrad = no_grad();
        foreach (var (k, t) in to)
        {
            if (!t.shape.SequenceEqual(from[k].shape))
                throw new ArgumentException($"Cannot copy weights: '{k}' has shape [{string.Join(",", from[k].shape)}] in the source and [{string.Join(",", t.shape)}] in the target.");
            t.copy_(from[k]);
        }
    }

    /// <summary>
    /// The one training routine: <paramref name="encoder"/> (trained in place) plus a new linear head on
    /// <paramref name="subset"/> of <paramref name="train"/>, AdamW with warmup + cosine, then accuracy on
    /// <paramref name="test"/>. The head's parameters are drawn from the global generator (seed it first).
    /// </summary>
    public static double TrainAndTest(Encoder encoder, double encoderLrScale, IDataset train, long[] subset, IDataset test,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
        => Metrics.Accuracy(TrainAndPredict(encoder, encoderLrScale, train, subset, test, augment, normalize, numClasses, options, progress), test.Labels!);

    /// <summary>
    /// <see cref="TrainAndTest"/>, returning the predicted class of every test sample instead of the accuracy (for
    /// F1 and per-class scores). <paramref name="augment"/> and <paramref name="normalize"/> are skipped when null
    /// (token inputs); dropout inside the encoder draws from the global generator. The training itself is
    /// <see cref="Trainer"/> running a <see cref="SupervisedClassifier"/> over the subset with <see cref="TrainerOptionsFor"/>.
    /// </summary>
    public static int[] TrainAndPredict(Encoder encoder, double encoderLrScale, IDataset train, long[] subset, IDataset test,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
    {
        if (test.Labels is null) throw new ArgumentException("Supervised training needs labelled train and test data.");
        return TrainAndPredict(encoder, encoderLrScale, train, subset, [test], augment, normalize, numClasses, options, progress)[0];
    }

    /// <summary>
    /// Trains as <see cref="TrainAndPredict(Encoder, double, IDataset, long[], IDataset, IAugmentation?, Normalize?, int, SupervisedOptions, Action{int, int}?)"/>
    /// and predicts the class of every sample of each of <paramref name="targets"/> (a validation split and the test split,
    /// say); their labels are not read.
    /// </summary>
    public static int[][] TrainAndPredict(Encoder encoder, double encoderLrScale, IDataset train, long[] subset, IReadOnlyList<IDataset> targets,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
    {
        var logits = TrainAndScore(encoder, encoderLrScale, train, subset, targets, augment, normalize, numClasses, options, progress);
        try { return logits.Select(Features.Classes).ToArray(); }
        finally { foreach (var l in logits) l.Dispose(); }
    }

    /// <summary>
    /// Trains as <see cref="TrainAndPredict(Encoder, double, IDataset, long[], IReadOnlyList{IDataset}, IAugmentation?, Normalize?, int, SupervisedOptions, Action{int, int}?)"/>
    /// and returns the (N, classes) fp32 logits of every sample of each target (the caller disposes them): a teacher's outputs
    /// for distillation.
    /// </summary>
    public static Tensor[] TrainAndScore(Encoder encoder, double encoderLrScale, IDataset train, long[] subset, IReadOnlyList<IDataset> targets,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
    {
        if (train.Labels is null) throw new ArgumentException("Supervised training needs labelled training data.");
        if (subset.Length == 0) throw new ArgumentException("The labelled subset is empty.");
        using var task = new SupervisedClassifier(encoder, numClasses, encoderLrScale, normalize, options.StandardizeFeatures, options.FreezeNorms, options.HeadFromProbe);
        return Train(task, encoder, new SubsetView(train, subset), targets, augment, normalize, TrainerOptionsFor(subset.Length, options), progress);
    }

    /// <summary>
    /// Semi-supervised distillation (SimCLRv2, Chen et al. 2020, section 2.3): <paramref name="student"/> plus a new linear head
    /// learn, on augmented views of every sample of <paramref name="unlabelled"/>, the teacher's temperature-softened
    /// distribution <paramref name="teacherProbabilities"/> (N, classes); no label is read. Returns the student's predictions for
    /// each of <paramref name="targets"/>. The optimiser is the teacher's (<paramref name="teacher"/>: AdamW learning rate and weight
    /// decay, warmup and cosine), run for <see cref="DistillationOptions.Epochs"/> passes over the data.
    /// </summary>
    public static int[][] Distill(Encoder student, double encoderLrScale, IDataset unlabelled, Tensor teacherProbabilities, IReadOnlyList<IDataset> targets,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions teacher, DistillationOptions options, Action<int, int>? progress = null)
    {
        using var task = new SupervisedClassifier(student, numClasses, encoderLrScale, normalize, standardizeFeatures: false)
            .WithSoftTargets(teacherProbabilities, options.Temperature);
        int batch = (int)Math.Min(options.BatchSize, unlabelled.Count);
        var supervised = new SupervisedOptions
        {
            Steps = (int)Math.Max(1, options.Epochs * (unlabelled.Count / batch)), MinEpochs = options.Epochs, BatchSize = batch,
            LearningRate = teacher.LearningRate, WeightDecay = teacher.WeightDecay, Seed = options.Seed,
        };
        var logits = Train(task, student, unlabelled, targets, augment, normalize, TrainerOptionsFor((int)unlabelled.Count, supervised), progress);
        try { return logits.Select(Features.Classes).ToArray(); }
        finally { foreach (var l in logits) l.Dispose(); }
    }

    private static Tensor[] Train(SupervisedClassifier task, Encoder encoder, IDataset data, IReadOnlyList<IDataset> targets, IAugmentation? augment,
        Normalize? normalize, TrainerOptions trainerOptions, Action<int, int>? progress)
    {
        using var optimizer = new Training.Optimizer(task.ParameterGroups(), trainerOptions.Optimizer);
        // Augment, then normalise: the light augmentation works on raw pixels.
        var views = new MultiViewAugmentation(new AugmentationPipeline(new IAugmentation?[] { augment, normalize }.OfType<IAugmentation>().ToArray()), 1);
        var trainer = new Trainer(task, data, views, trainerOptions);
        // Training switches the caller's encoder to training mode; its own mode comes back afterwards, also on failure.
        using var mode = ModeScope.Train(encoder);
        trainer.Run(optimizer, startStep: 0, checkpoints: null, progress is null ? null : r => progress((int)r.Step, (int)r.TotalSteps));
        return targets.Select(task.Logits).ToArray();
    }

    /// <summary>
    /// The loop's options for supervised training on <paramref name="labelled"/> samples: one batch of
    /// min(BatchSize, labelled), <see cref="StepsFor"/> steps, AdamW, warmup over the first 5 % of the steps then
    /// cosine to zero, the supervised random streams, no checkpoints.
    /// </summary>
    public static TrainerOptions TrainerOptionsFor(int labelled, SupervisedOptions options)
    {
        long steps = StepsFor(labelled, options);
        return new TrainerOptions
        {
            Epochs = 0,
            MaxSteps = steps,
            BatchSize = Math.Min(options.BatchSize, labelled),
            LearningRate = options.LearningRate,
            WarmupSteps = Math.Max(1, steps / 20),
            FinalLrFraction = 0,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = options.WeightDecay },
            Seed = options.Seed,
            CheckpointEvery = 0,
            DiagnosticsEvery = 0,
            Streams = TrainingStreams.Supervised,
        };
    }
}

/// <summary>The samples <paramref name="indices"/> of <paramref name="data"/>, in that order, as a data set of their own.</summary>
public sealed class SubsetView(IDataset data, long[] indices) : IDataset
{
    public string Name => data.Name;
    public long Count => indices.Length;
    public long[] SampleShape => data.SampleShape;
    public int[]? Labels => data.Labels is null ? null : indices.Select(i => data.Labels[i]).ToArray();
    public IReadOnlyList<string> ClassNames => data.ClassNames;
    public Tensor Gather(ReadOnlySpan<long> rows)
    {
        var mapped = new long[rows.Length];
        for (int i = 0; i < rows.Length; i++) mapped[i] = indices[rows[i]];
        return data.Gather(mapped);
    }
    public string SampleId(long index) => data.SampleId(indices[index]);
}
