using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class SupervisedTrainingTests
{
    public SupervisedTrainingTests() => set_num_threads(1);

    /// <summary>Leaves samples as they are (vector data has nothing to crop).</summary>
    private sealed class NoAugmentation : IAugmentation
    {
        public Tensor Apply(Tensor x, Generator generator) => x.clone();
    }

    private static readonly MlpOptions Mlp = new() { InputShape = [1, 1, 8], Hidden = [4] };

    /// <summary>Two classes told apart by feature 0 alone (+-1); features 1..7 are noise. Shape (N, 1, 1, 8).</summary>
    private static TensorDataset Separable(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 8];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 2;
            x[i * 8] = (y[i] == 0 ? -1 : 1) + 0.2f * (float)(rng.NextDouble() - 0.5);
            for (int t = 1; t < 8; t++) x[i * 8 + t] = (float)(rng.NextDouble() * 2 - 1);
        }
        return new TensorDataset("separable", tensor(x, [n, 1, 1, 8]), y, ["a", "b"]);
    }

    /// <summary>A "pretrained" encoder blind to the one informative feature (its weights on feature 0 are zero).</summary>
    private static MlpEncoder BlindEncoder()
    {
        manual_seed(5);
        var e = new MlpEncoder(Mlp);
        using var noGrad = no_grad();
        var w = e.named_parameters().Single(p => p.name.EndsWith("fc0.weight")).parameter;
        w.select(1, 0).zero_();
        return e;
    }

    /// <summary>Features = the 8 inputs times a fixed scale, no parameters (word2vec-like: informative but tiny).</summary>
    private sealed class ScaledInputs(double scale) : Encoder(nameof(ScaledInputs))
    {
        public override int FeatureDim => 8;
        public override long[] InputShape => [1, 1, 8];
        public override Tensor forward(Tensor x) => x.flatten(1).mul(scale);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FrozenNormsKeepTheStartingRunningStatisticsAndStillTrainTheRest(bool freeze)
    {
        using var train = Separable(64, 1);
        using var test = Separable(20, 2);
        using var encoder = BlindEncoder();
        Tensor Get(string suffix) => encoder.named_buffers().Concat(encoder.named_parameters().Select(p => (p.name, (Tensor)p.parameter)))
            .Single(b => b.name.EndsWith(suffix)).Item2.detach().clone();
        using var mean0 = Get("bn0.running_mean");
        using var scale0 = Get("bn0.weight");
        using var fc0 = Get("fc0.weight");
        var options = new SupervisedOptions { Steps = 10, MinEpochs = 1, BatchSize = 16, LearningRate = 1e-2, Seed = 3, FreezeNorms = freeze };
        SupervisedTraining.TrainAndPredict(encoder, 1.0, train, [.. Enumerable.Range(0, 64).Select(i => (long)i)], [test], new NoAugmentation(), null, 2, options);
        using var mean1 = Get("bn0.running_mean");
        using var scale1 = Get("bn0.weight");
        using var fc1 = Get("fc0.weight");
        // Frozen: the running mean is the starting one; otherwise every training batch moves it. Either way the weights train.
        Assert.Equal(freeze, TestData.Same(mean0, mean1));
        Assert.False(TestData.Same(scale0, scale1));
        Assert.False(TestData.Same(fc0, fc1));
    }

    [Fact]
    public void StandardizedFeaturesLetTheHeadLearnFromTinyFeatures()
    {
        using var train = Separable(64, 1);
        using var test = Separable(200, 2);
        var subset = Enumerable.Range(0, 64).Select(i => (long)i).ToArray();
        var options = new SupervisedOptions { Steps = 200, MinEpochs = 1, BatchSize = 32, LearningRate = 3e-3, WeightDecay = 0 };
        double Run(bool standardize)
        {
            manual_seed(3);
            using var encoder = new ScaledInputs(1e-3);
            var predicted = SupervisedTraining.TrainAndPredict(encoder, 1.0, train, subset, test, null, null, 2, options with { StandardizeFeatures = standardize });
            return Metrics.Accuracy(predicted, test.Labels!);
        }
        double raw = Run(false), standardized = Run(true);
        Assert.True(raw < 0.75, $"the bias should drown features of scale 1e-3, got {raw}");
        Assert.True(standardized > 0.95, $"standardised, the same head should find feature 0, got {standardized} (raw {raw})");
    }

    [Fact]
    public void SubsetViewMapsRowsLabelsAndIds()
    {
        using var data = Separable(10, 1);
        var view = new SubsetView(data, [7, 2, 5]);
        Assert.Equal(3, view.Count);
        Assert.Equal([data.Labels![7], data.Labels[2], data.Labels[5]], view.Labels!);
        Assert.Equal(data.SampleId(2), view.SampleId(1));
        using var a = view.Gather([0, 2]);
        using var b = data.Gather([7, 5]);
        Assert.True(TestData.Same(a, b));
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module m) => m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Fact]
    public void FineTuningImprovesOverItsStartAndLeavesThePretrainedEncoderAlone()
    {
        using var train = Separable(64, 1);
        using var test = Separable(64, 2);
        var normalize = new Normalize([0f], [1f]);
        var options = new SupervisedOptions { Steps = 150, MinEpochs = 1, BatchSize = 32, LearningRate = 0.05 };
        var subset = Enumerable.Range(0, 64).Select(i => (long)i).ToArray();
        using var pretrained = BlindEncoder();
        var before = Snapshot(pretrained);

        // Encoder learning rate 0: the head learns on the blind features only (the start).
        double frozen = SupervisedTraining.FineTune(pretrained, () => new MlpEncoder(Mlp), 0.0, train, subset, test, new NoAugmentation(), normalize, 2, options);
        double tuned = SupervisedTraining.FineTune(pretrained, () => new MlpEncoder(Mlp), 0.1, train, subset, test, new NoAugmentation(), normalize, 2, options);
        Assert.True(frozen < 0.75, $"blind encoder should be near chance, got {frozen}");
        Assert.True(tuned > 0.95, $"fine-tuning should find feature 0, got {tuned}");
        foreach (var (name, p) in pretrained.named_parameters())
            Assert.True(TestData.Same(before[name], p.detach()), $"{name} of the pretrained encoder changed");
        // Same seed, same result.
        Assert.Equal(tuned, SupervisedTraining.FineTune(pretrained, () => new MlpEncoder(Mlp), 0.1, train, subset, test, new NoAugmentation(), normalize, 2, options));
    }

    [Fact]
    public void EncoderLearningRateScaleReachesTheEncoderOnly()
    {
        using var train = Separable(32, 3);
        var normalize = new Normalize([0f], [1f]);
        var options = new SupervisedOptions { Steps = 5, MinEpochs = 1, BatchSize = 16 };
        var subset = Enumerable.Range(0, 32).Select(i => (long)i).ToArray();
        using var encoder = BlindEncoder();
        var before = Snapshot(encoder);
        SupervisedTraining.TrainAndTest(encoder, 0.0, train, subset, train, new NoAugmentation(), normalize, 2, options);
        foreach (var (name, p) in encoder.named_parameters())
            Assert.True(TestData.Same(before[name], p.detach()), $"{name} moved although the encoder's learning rate was 0");
        SupervisedTraining.TrainAndTest(encoder, 1.0, train, subset, train, new NoAugmentation(), normalize, 2, options);
        Assert.Contains(encoder.named_parameters(), p => !TestData.Same(before[p.name], p.parameter.detach()));
    }

    [Fact]
    public void CopyWeightsRefusesADifferentArchitecture()
    {
        using var a = new MlpEncoder(Mlp);
        using var b = new MlpEncoder(Mlp with { Hidden = [5] });
        Assert.Throws<ArgumentException>(() => SupervisedTraining.CopyWeights(a, b));
        using var c = new MlpEncoder(Mlp);
        SupervisedTraining.CopyWeights(a, c);
        foreach (var ((_, pa), (_, pc)) in a.named_parameters().Zip(c.named_parameters())) Assert.True(TestData.Same(pa.detach(), pc.detach()));
    }

    [Fact]
    public void LabelSubsetSeedsAndResultStatistics()
    {
        var labels = Enumerable.Range(0, 2000).Select(i => i % 10).ToArray();
        Assert.Equal([0, 1, 2], LabelSubsets.SeedsFor(0.01, 3, 0));
        Assert.Equal([5, 6], LabelSubsets.SeedsFor(0.001, 2, 5));
        Assert.Equal([0], LabelSubsets.SeedsFor(0.1, 3, 0));
        Assert.Equal([0], LabelSubsets.SeedsFor(1, 3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LabelSubsets.SeedsFor(0.01, 0, 0));
        var subsets = LabelSubsets.SeedsFor(0.01, 3, 0).Select(s => LabelSubsets.Stratified(labels, 0.01, s)).ToArray();
        foreach (var s in subsets)
        {
            Assert.Equal(20, s.Length);
            Assert.All(s.GroupBy(i => labels[i]), g => Assert.Equal(2, g.Count()));
        }
        Assert.NotEqual(subsets[0], subsets[1]);
        Assert.NotEqual(subsets[1], subsets[2]);
        Assert.NotEqual(subsets[0], subsets[2]);
        Assert.Equal(subsets[2], LabelSubsets.Stratified(labels, 0.01, 2));

        var r = new Score(Protocol.LinearProbe, 0.01, 20, [0, 1, 2], [0.8, 0.9, 1.0], [0.5, 0.7, 0.9]);
        Assert.Equal(0.9, r.Accuracy, 12);
        Assert.Equal(0.1, r.AccuracyStd, 12);   // sample standard deviation
        Assert.Equal(0.7, r.F1!.Value, 12);
        Assert.Equal(0.2, r.F1Std!.Value, 12);
        Assert.Equal(3, r.Subsets);
        Assert.Equal(0, new Score(Protocol.FromScratch, 1, 2000, [0], [0.7]).AccuracyStd);
        Assert.Null(new Score(Protocol.FromScratch, 1, 2000, [0], [0.7]).F1);
    }
}
