using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>No choice may see a test label: poisoning the test labels changes the test scores and nothing else.</summary>
[Collection("tiny runs")]
public class HonestEvaluationTests
{
    public HonestEvaluationTests() => set_num_threads(1);

    private static EvaluationResult Evaluate(ISslMethod method, RunConfig cfg, TensorDataset train, TensorDataset test) =>
        Evaluating.Run(method, cfg, new ImageModality.ImageInputs(cfg), new ImageSamples(train), new ImageSamples(test));

    [Fact]
    public void PoisonedTestLabelsChangeTestScoresButNoValidationScoreOrChoice()
    {
        using var train = TestData.Blobs(96, classes: 3, seed: 1);
        using var test = TestData.Blobs(45, classes: 3, seed: 2);
        var poisoned = test.Labels!.Select(l => (l + 1) % 3).ToArray();
        using var poisonedTest = new TensorDataset("poisoned", test.Data.clone(), poisoned, test.ClassNames);
        var cfg = TestData.TinyMlpRun(new EvaluationConfig
        {
            LinearFractions = [1.0, 0.25], ScratchFractions = [0.25], FineTuneFractions = [0.25], PerClass = [2], TrainedPerClass = [2], Seeds = 2, KnnK = 5,
            Probe = new LinearProbeOptions { Iterations = 30, WeightDecays = [0, 1e-2, 1] },
            Supervised = new SupervisedOptions { Steps = 4, MinEpochs = 1, BatchSize = 8 },
            Maps = new EmbeddingMapOptions { Samples = 0 }, Propagate = true, Propagation = new PropagationOptions { Neighbours = 5, Iterations = 20 },
            ProbeWithBaseline = true,
        });
        using var method = Pretraining.CreateMethod(cfg);
        var honest = Evaluate(method, cfg, train, test);
        var attacked = Evaluate(method, cfg, train, poisonedTest);

        Assert.Equal(honest.Scores.Count, attacked.Scores.Count);
        // A sixth of each class of the training blobs.
        Assert.Equal(train.Labels!.GroupBy(l => l).Sum(g => (int)Math.Round(g.Count() / 6.0)), honest.ValidationSize);
        foreach (var (h, a) in honest.Scores.Zip(attacked.Scores))
        {
            Assert.Equal((h.Protocol, h.Budget, h.Labels), (a.Protocol, a.Budget, a.Labels));
            Assert.NotNull(h.ValidationAccuracies);
            Assert.Equal(h.ValidationAccuracies, a.ValidationAccuracies);   // every choice is made on these
        }
        foreach (var budget in honest.Budgets)
            Assert.Equal(honest.BestPretrained(budget)?.Protocol, attacked.BestPretrained(budget)?.Protocol);
        // The poison does reach the final scoring: blobs are separable, so honest test scores are high and poisoned ones low.
        var linear = honest.Find(Protocol.LinearProbe, 1.0)!;
        Assert.True(linear.Accuracy > 0.9, $"linear {linear.Accuracy}");
        Assert.True(attacked.Find(Protocol.LinearProbe, 1.0)!.Accuracy < 0.2);
        // Every protocol ran at 2 per class, from the pool outside validation, on 2 subsets.
        foreach (var protocol in new[] { Protocol.LinearProbe, Protocol.FineTune, Protocol.FromScratch, Protocol.Baseline, Protocol.Propagated, Protocol.BaselinePropagated, Protocol.LinearWithBaseline })
        {
            var s = honest.Find(protocol, "2_per_class")!;
            Assert.Equal((6, 2), (s.Labels, s.Subsets));
        }
        // Propagation runs only where labels are few (counts per class, fractions under 10 %).
        Assert.Null(honest.Find(Protocol.Propagated, 0.25));
        Assert.True(honest.Find(Protocol.Propagated, "2_per_class")!.Accuracy > 0.8);
        // The probe on frozen and baseline features together runs at the probe's budgets, on the same subsets.
        Assert.Equal(honest.For(Protocol.LinearProbe).Select(s => (s.Budget, s.Labels, s.Subsets)), honest.For(Protocol.LinearWithBaseline).Select(s => (s.Budget, s.Labels, s.Subsets)));
        Assert.True(honest.Find(Protocol.LinearWithBaseline, 1.0)!.Accuracy > 0.9);
    }

    [Fact]
    public void WithoutAValidationSplitTheProbeChoosesOnItsOwnLabelsAndNoValidationScoresExist()
    {
        using var train = TestData.Blobs(60, classes: 3, seed: 1);
        using var test = TestData.Blobs(30, classes: 3, seed: 2);
        var cfg = TestData.TinyMlpRun(new EvaluationConfig
        {
            LinearFractions = [1.0], ScratchFractions = [], ValidationFraction = 0, KnnK = 5, Baseline = false,
            Probe = new LinearProbeOptions { Iterations = 30, WeightDecays = [0, 1] }, Maps = new EmbeddingMapOptions { Samples = 0 },
        });
        using var method = Pretraining.CreateMethod(cfg);
        var r = Evaluate(method, cfg, train, test);
        Assert.Equal(0, r.ValidationSize);
        Assert.All(r.Scores, s => Assert.Null(s.ValidationAccuracies));
        Assert.Equal(60, r.Find(Protocol.LinearProbe, 1.0)!.Labels);
        Assert.Equal(Protocol.LinearProbe, r.BestPretrained("100")!.Protocol);
    }
}
