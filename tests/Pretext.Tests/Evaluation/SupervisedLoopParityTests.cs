using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

/// <summary>
/// Supervised training runs through the shared <see cref="Trainer"/>. These tests pin it, bit for bit, to the
/// hand-written loop it replaced (copied below as the slow reference): same sample order, augmentation draws,
/// dropout draws, schedule and optimiser, so few-label accuracies and fine-tuned F1 scores recorded before the
/// change stay reproducible.
/// </summary>
[Collection(SeededRunsCollection.Name)]
public class SupervisedLoopParityTests
{
    public SupervisedLoopParityTests() => set_num_threads(1);

    /// <summary>Flatten, linear, ReLU, dropout: the dropout draws from the global generator, as real encoders' do.</summary>
    private sealed class DropoutEncoder : Encoder
    {
        private readonly TorchSharp.Modules.Linear fc;
        private readonly TorchSharp.Modules.Dropout drop;

        public DropoutEncoder() : base(nameof(DropoutEncoder))
        {
            fc = nn.Linear(8, 6);
            drop = nn.Dropout(0.3);
            RegisterComponents();
        }

        public override int FeatureDim => 6;
        public override long[] InputShape => [1, 1, 8];
        public override Tensor forward(Tensor x) => drop.forward(nn.functional.relu(fc.forward(x.flatten(1))));
    }

    /// <summary>Adds noise drawn from the step's generator, so a change of stream or counter shows.</summary>
    private sealed class Jitter : IAugmentation
    {
        public Tensor Apply(Tensor x, Generator generator) => x.add(randn(x.shape, generator: generator).mul(0.1));
    }

    /// <summary>Four classes with class-dependent means on the first features. Shape (N, 1, 1, 8).</summary>
    private static TensorDataset Data(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 8];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 4;
            for (int t = 0; t < 8; t++) x[i * 8 + t] = (t == y[i] ? 1.5f : 0f) + (float)(rng.NextDouble() * 2 - 1);
        }
        return new TensorDataset("parity", tensor(x, [n, 1, 1, 8]), y, ["a", "b", "c", "d"]);
    }

    /// <summary>
    /// The supervised loop as it was before it ran through <see cref="Trainer"/> (Pretext commit 76bce83), with the
    /// loss of every step recorded. Kept verbatim apart from the recording: it is the definition the new path must match.
    /// </summary>
    private static int[] ReferenceTrainAndPredict(Encoder encoder, double encoderLrScale, IDataset train, long[] subset, IDataset test,
        IAugmentation? augment, Normalize? normalize, int numClasses, SupervisedOptions options, List<float> losses)
    {
        using var head = new Pretext.Heads.MlpHead(encoder.FeatureDim, [], numClasses, name: "classifier");
        var groups = ParameterGroup.SplitDecay(encoder.named_parameters(), "encoder.")
            .Select(g => g with { LrScale = encoderLrScale })
            .Concat(ParameterGroup.SplitDecay(head.named_parameters(), "head."))
            .ToList();
        using var opt = new Pretext.Training.Optimizer(groups, new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = options.WeightDecay });
        int batch = Math.Min(options.BatchSize, subset.Length);
        long stepsPerEpoch = Math.Max(1, subset.Length / batch);
        long steps = SupervisedTraining.StepsFor(subset.Length, options);
        var schedule = new WarmupCosineSchedule(options.LearningRate, Math.Max(1, steps / 20), steps);
        var labels = train.Labels!;
        bool wasTraining = encoder.training;
        Tensor? mean = null, std = null;
        if (options.StandardizeFeatures)
        {
            using var statsScope = NewDisposeScope();
            var sub = new SubsetView(train, subset);
            using var f = Features.Extract(encoder, sub, normalize);
            var (m, s) = Features.Moments(f);
            mean = m.MoveToOuterDisposeScope();
            std = s.MoveToOuterDisposeScope();
        }
        Tensor Head(Tensor features) => head.forward(mean is null || std is null ? features : features.sub(mean).div(std));
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
            var loss = nn.functional.cross_entropy(Head(encoder.forward(x)).to(ScalarType.Float32), y);
            losses.Add(loss.item<float>());
            opt.ZeroGrad();
            loss.backward();
            opt.Step(schedule.At(step));
        }
        head.eval();
        try
        {
            using var feats = Features.Extract(encoder, test, normalize);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            return Head(feats).argmax(1).data<long>().Select(v => (int)v).ToArray();
        }
        finally
        {
            encoder.train(wasTraining);
            mean?.Dispose(); std?.Dispose();
        }
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module m) => m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    public static TheoryData<int, int, bool, double> Cases => new()
    {
        // batch, steps, standardise, encoder lr scale
        { 16, 25, false, 1.0 },   // 37 labelled: 2 batches an epoch, a partial batch dropped, many epochs
        { 64, 12, true, 0.3 },    // batch larger than the subset: one batch of all 37 per step
        { 8, 30, true, 0.0 },     // frozen encoder, standardised features
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainAndPredictMatchesTheFormerLoopBitForBit(int batch, int steps, bool standardize, double encoderLrScale)
    {
        using var train = Data(80, 1);
        using var test = Data(40, 2);
        long[] subset = Enumerable.Range(0, 37).Select(i => (long)(i * 2 + 1)).Reverse().ToArray();
        var options = new SupervisedOptions { Steps = steps, MinEpochs = 3, BatchSize = batch, LearningRate = 0.01, WeightDecay = 0.01, Seed = 7, StandardizeFeatures = standardize };
        var normalize = new Normalize([0.1f], [0.9f]);

        var referenceLosses = new List<float>();
        manual_seed(11);
        using var a = new DropoutEncoder();
        manual_seed(options.Seed);
        var expected = ReferenceTrainAndPredict(a, encoderLrScale, train, subset, test, new Jitter(), normalize, 4, options, referenceLosses);
        var expectedRandom = rand(4);

        manual_seed(11);
        using var b = new DropoutEncoder();
        manual_seed(options.Seed);
        var reported = new List<(int Done, int Total)>();
        var predicted = SupervisedTraining.TrainAndPredict(b, encoderLrScale, train, subset, test, new Jitter(), normalize, 4, options, (d, t) => reported.Add((d, t)));
        var afterRandom = rand(4);

        Assert.Equal(expected, predicted);
        long total = SupervisedTraining.StepsFor(subset.Length, options);
        Assert.Equal(total, referenceLosses.Count);
        Assert.Equal(Enumerable.Range(1, (int)total).Select(d => (d, (int)total)), reported);
        var (sa, sb) = (Snapshot(a), Snapshot(b));
        foreach (var (name, t) in sa) Assert.True(TestData.Same(t, sb[name]), $"{name} differs after training");
        // Both paths left the global generator (dropout, head initialisation) in the same state.
        Assert.True(TestData.Same(expectedRandom, afterRandom));
        Assert.True(a.training && b.training);
    }

    [Fact]
    public void TheLoopsLossSequenceMatchesTheFormerLoop()
    {
        using var train = Data(60, 3);
        long[] subset = Enumerable.Range(0, 30).Select(i => (long)(59 - 2 * i)).ToArray();
        var options = new SupervisedOptions { Steps = 20, MinEpochs = 2, BatchSize = 12, LearningRate = 0.02, Seed = 3, StandardizeFeatures = true };
        var normalize = new Normalize([0f], [1f]);

        var referenceLosses = new List<float>();
        manual_seed(5);
        using var a = new DropoutEncoder();
        manual_seed(options.Seed);
        ReferenceTrainAndPredict(a, 0.5, train, subset, train, new Jitter(), normalize, 4, options, referenceLosses);

        manual_seed(5);
        using var b = new DropoutEncoder();
        manual_seed(options.Seed);
        using var task = new SupervisedClassifier(b, 4, 0.5, normalize, standardizeFeatures: true);
        var trainerOptions = SupervisedTraining.TrainerOptionsFor(subset.Length, options);
        using var optimizer = new Pretext.Training.Optimizer(task.ParameterGroups(), trainerOptions.Optimizer);
        var views = new MultiViewAugmentation(new AugmentationPipeline([new Jitter(), normalize]), 1);
        var trainer = new Trainer(task, new SubsetView(train, subset), views, trainerOptions);
        var losses = new List<double>();
        var rates = new List<double>();
        trainer.Run(optimizer, 0, null, r => { losses.Add(r.Loss); rates.Add(r.LearningRate); });

        Assert.Equal(referenceLosses.Select(l => (double)l), losses);
        long steps = SupervisedTraining.StepsFor(subset.Length, options);
        var schedule = new WarmupCosineSchedule(options.LearningRate, Math.Max(1, steps / 20), steps);
        Assert.Equal(Enumerable.Range(0, (int)steps).Select(s => schedule.At(s)), rates);
    }

    [Fact]
    public void ASingleLabelledSampleTrainsInBatchesOfOne()
    {
        using var train = Data(8, 4);
        var options = new SupervisedOptions { Steps = 3, MinEpochs = 1, BatchSize = 16, Seed = 1 };
        manual_seed(2);
        using var a = new DropoutEncoder();
        var referenceLosses = new List<float>();
        manual_seed(1);
        var expected = ReferenceTrainAndPredict(a, 1.0, train, [5], train, null, null, 4, options, referenceLosses);
        manual_seed(2);
        using var b = new DropoutEncoder();
        manual_seed(1);
        Assert.Equal(expected, SupervisedTraining.TrainAndPredict(b, 1.0, train, [5], train, null, null, 4, options));
    }

    [Fact]
    public void AHeadFromProbeStartsWhereTheLinearProbeOnTheFrozenFeaturesEnds()
    {
        using var train = Data(40, 6);
        var subset = new SubsetView(train, Enumerable.Range(0, 40).Select(i => (long)i).ToArray());
        var normalize = new Normalize([0f], [1f]);
        manual_seed(4);
        using var encoder = new DropoutEncoder();
        using var task = new SupervisedClassifier(encoder, 4, 0.1, normalize, standardizeFeatures: false, headFromProbe: true);
        task.Prepare(subset);

        using var features = Features.Extract(encoder, subset, normalize);
        using var probe = LinearProbe.Train(features, subset.Labels!, 4, new LinearProbeOptions());
        using var expected = probe.Logits(features);
        using var actual = task.Logits(subset);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), "the head's first logits are the probe's");
        // The probe reads these features well; a random head would be near chance on 4 classes.
        Assert.True(Metrics.Accuracy(task.Predict(subset), subset.Labels!) > 0.6);
    }

    [Fact]
    public void AHeadFromProbeRefusesSoftTargets()
    {
        using var train = Data(12, 7);
        manual_seed(4);
        using var encoder = new DropoutEncoder();
        using var soft = full(12, 4, 0.25f);
        using var task = new SupervisedClassifier(encoder, 4, 0.1, null, standardizeFeatures: false, headFromProbe: true).WithSoftTargets(soft, 1.0);
        var e = Assert.Throws<InvalidOperationException>(() => task.Prepare(train));
        Assert.Contains("soft targets", e.Message);
    }

    [Fact]
    public void AHeadFromProbeTrainsOnASingleLabelledSample()
    {
        using var train = Data(8, 4);
        var options = new SupervisedOptions { Steps = 3, MinEpochs = 1, BatchSize = 16, Seed = 1, HeadFromProbe = true };
        manual_seed(2);
        using var encoder = new DropoutEncoder();
        var predicted = SupervisedTraining.TrainAndPredict(encoder, 1.0, train, [5], train, null, new Normalize([0f], [1f]), 4, options);
        Assert.Equal(8, predicted.Length);
        Assert.All(predicted, c => Assert.InRange(c, 0, 3));
        Assert.All(encoder.parameters(), p => Assert.False(p.isnan().any().item<bool>(), "no NaN weights after training"));
    }
}
