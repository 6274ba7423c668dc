using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Options of the supervised-from-scratch baseline.</summary>
public sealed record SupervisedOptions
{
    /// <summary>Optimiser steps; the baseline gets the same step budget whatever the subset size, at least <see cref="MinEpochs"/> epochs.</summary>
    public int Steps { get; init; } = 400;
    public int MinEpochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    /// <summary>AdamW peak learning rate (cosine to zero, 5 % warmup).</summary>
    public double LearningRate { get; init; } = 2e-3;
    public double WeightDecay { get; init; } = 5e-4;
    public int Seed { get; init; } = 0;
}

/// <summary>
/// The honest comparison for few-label learning: the same encoder architecture, randomly initialised,
/// trained end to end with a linear classifier on only the labelled subset, with the same kind of
/// crop/flip augmentation the pretraining used (without it the baseline would be needlessly weak).
/// </summary>
public static class SupervisedBaseline
{
    /// <summary>Optimiser steps the baseline takes for a subset of <paramref name="labelled"/> samples.</summary>
    public static long StepsFor(int labelled, SupervisedOptions options)
    {
        int batch = Math.Min(options.BatchSize, labelled);
        return Math.Max(options.Steps, options.MinEpochs * Math.Max(1, labelled / batch));
    }

    public static double TrainAndTest(Func<Encoder> makeEncoder, IDataset train, long[] subset, IDataset test,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
        => Metrics.Accuracy(TrainAndPredict(makeEncoder, train, subset, test, augment, normalize, numClasses, options, progress), test.Labels!);

    /// <summary>
    /// Trains the encoder from <paramref name="makeEncoder"/> (random weights for the from-scratch baseline, or a
    /// pretrained copy for fine-tuning) with a linear classifier on the labelled <paramref name="subset"/> and
    /// returns the predicted class of every test sample. <paramref name="augment"/> and <paramref name="normalize"/>
    /// are skipped when null (token inputs); dropout inside the encoder draws from the generator seeded by the options.
    /// </summary>
    public static int[] TrainAndPredict(Func<Encoder> makeEncoder, IDataset train, long[] subset, IDataset test,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, Action<int, int>? progress = null)
    {
        if (train.Labels is null || test.Labels is null) throw new ArgumentException("The supervised baseline needs labelled train and test data.");
        if (subset.Length == 0) throw new ArgumentException("The labelled subset is empty.");
        manual_seed(options.Seed);
        using var encoder = makeEncoder();
        using var head = new Heads.MlpHead(encoder.FeatureDim, [], numClasses, name: "classifier");
        var groups = ParameterGroup.SplitDecay(encoder.named_parameters().Concat(head.named_parameters().Select(p => ("head." + p.name, p.parameter))));
        using var opt = new Training.Optimizer(groups, new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = options.WeightDecay });
        int batch = Math.Min(options.BatchSize, subset.Length);
        long stepsPerEpoch = Math.Max(1, subset.Length / batch);
        long steps = StepsFor(subset.Length, options);
        var schedule = new WarmupCosineSchedule(options.LearningRate, Math.Max(1, steps / 20), steps);
        var labels = train.Labels;
        encoder.train(); head.train();
        long[] order = [];
        for (long step = 0; step < steps; step++)
        {
            long pos = step % stepsPerEpoch;
            if (pos == 0)
            {
                using var g0 = new Generator((ulong)Trainer.DeriveSeed(options.Seed, 3, step / stepsPerEpoch));
                using var perm = randperm(subset.Length, generator: g0);
                order = perm.data<long>().Select(i => subset[i]).ToArray();
            }
            var idx = order.AsSpan((int)(pos * batch), batch).ToArray();
            using var scope = NewDisposeScope();
            using var g = new Generator((ulong)Trainer.DeriveSeed(options.Seed, 4, step));
            var x = train.Gather(idx);
            if (augment is not null) x = augment.Apply(x, g);
            if (normalize is not null) x = normalize.Apply(x);
            var y = tensor(idx.Select(i => (long)labels[i]).ToArray());
            var loss = nn.functional.cross_entropy(head.forward(encoder.forward(x)).to(ScalarType.Float32), y);
            opt.ZeroGrad();
            loss.backward();
            opt.Step(schedule.At(step));
            progress?.Invoke((int)step + 1, (int)steps);
        }
        encoder.eval(); head.eval();
        using var noGrad = no_grad();
        var feats = Features.Extract(encoder, test, normalize);
        using var s2 = NewDisposeScope();
        var pred = head.forward(feats).argmax(1).data<long>().Select(v => (int)v).ToArray();
        feats.Dispose();
        return pred;
    }
}
