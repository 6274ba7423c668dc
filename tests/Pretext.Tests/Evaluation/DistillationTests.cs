using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

/// <summary>Semi-supervised distillation: the student learns the teacher's distribution, never a label.</summary>
[Collection("tiny runs")]
public class DistillationTests
{
    public DistillationTests() => set_num_threads(1);

    private static Encoder Mlp() => new MlpEncoder(new MlpOptions { InputShape = [1, 28, 28], Hidden = [16] });

    private static double StudentAccuracy(TensorDataset train, TensorDataset test, Tensor teacher)
    {
        manual_seed(0);
        using var student = Mlp();
        var options = new DistillationOptions { Epochs = 20, BatchSize = 16 };
        var predicted = SupervisedTraining.Distill(student, 1.0, new UnlabelledView(train), teacher, [test], null, null, 3,
            new SupervisedOptions { LearningRate = 1e-2 }, options)[0];
        return Metrics.Accuracy(predicted, test.Labels!);
    }

    [Fact]
    public void TheStudentFollowsTheTeachersDistributionNotTheLabels()
    {
        using var train = TestData.Blobs(48, classes: 3, seed: 1);
        using var test = TestData.Blobs(30, classes: 3, seed: 2);
        // A teacher that knows the classes, and one that has them all shifted by one: the student learns whichever it is given.
        using var right = nn.functional.one_hot(tensor(train.Labels!.Select(l => (long)l).ToArray()), 3).to(ScalarType.Float32);
        using var shifted = nn.functional.one_hot(tensor(train.Labels!.Select(l => (long)((l + 1) % 3)).ToArray()), 3).to(ScalarType.Float32);
        Assert.True(StudentAccuracy(train, test, right) > 0.9);
        Assert.True(StudentAccuracy(train, test, shifted) < 0.1);
        using var wrongCount = ones(5, 3);
        Assert.Throws<ArgumentException>(() => StudentAccuracy(train, test, wrongCount));
    }

    [Fact]
    public void EvaluationDistilsFineTunedAndScratchNetworksAndScoresBothOnValidation()
    {
        using var train = TestData.Blobs(96, classes: 3, seed: 1);
        using var test = TestData.Blobs(30, classes: 3, seed: 2);
        var cfg = TestData.TinyMlpRun(new EvaluationConfig
        {
            LinearFractions = [], ScratchFractions = [], FineTuneFractions = [], PerClass = [], TrainedPerClass = [2], Seeds = 2, KnnK = 5,
            Baseline = false, Distill = true, Supervised = new SupervisedOptions { Steps = 4, MinEpochs = 1, BatchSize = 8 },
            Distillation = new DistillationOptions { Epochs = 1, BatchSize = 16 }, Maps = new EmbeddingMapOptions { Samples = 0 },
        });
        cfg = cfg with { Evaluation = cfg.Evaluation with { FineTuneFractions = [1.0] } };
        using var method = Pretext.Runs.Pretraining.CreateMethod(cfg);
        var r = Evaluating.Run(method, cfg, new ImageModality.ImageInputs(cfg), new ImageSamples(train), new ImageSamples(test));
        foreach (var protocol in new[] { Protocol.FineTune, Protocol.Distilled, Protocol.FromScratch, Protocol.ScratchDistilled })
        {
            var s = r.Find(protocol, "2_per_class");
            Assert.NotNull(s);
            Assert.Equal((6, 2), (s.Labels, s.Subsets));
            Assert.Equal(2, s.ValidationAccuracies!.Count);
        }
        Assert.NotNull(r.Find(Protocol.Distilled, 1.0));   // fine-tuned at all labels, distilled too
        Assert.Null(r.Find(Protocol.ScratchDistilled, 1.0));   // no training from scratch there
    }
}
