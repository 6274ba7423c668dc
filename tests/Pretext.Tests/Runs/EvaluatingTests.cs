using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

public class EvaluatingTests
{
    public EvaluatingTests() => set_num_threads(1);

    /// <summary>
    /// A stand-in autoencoder: an MLP encoder (never trained here) whose "reconstruction error" is the mean squared (normalised) input;
    /// also the stand-in pretrained method of other evaluation tests.
    /// </summary>
    internal sealed class ReconstructingMethod : nn.Module, ISslMethod, IReconstructionScorer
    {
        private readonly MlpEncoder encoder;
        public ReconstructingMethod() : base(nameof(ReconstructingMethod))
        {
            manual_seed(1);
            encoder = new MlpEncoder(new MlpOptions { InputShape = [1, 28, 28], Hidden = [16] });
            RegisterComponents();
        }
        public string Name => "reconstructing";
        public int ViewCount => 1;
        public Encoder Encoder => encoder;
        public nn.Module Module => this;
        public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(named_parameters());
        public StepOutput ComputeLoss(Batch batch, TrainingProgress progress) => throw new NotSupportedException("not trained here");
        public Tensor ReconstructionError(Tensor x, long seed) => x.pow(2).flatten(1).mean([1L]);
    }

    [Fact]
    public void ClusteringAndAnomalyDetectionUseTheReconstructionScorerWhenTheMethodHasOne()
    {
        using var train = TestData.Blobs(60, classes: 3, seed: 1);
        using var test = TestData.Blobs(30, classes: 3, seed: 2);
        using var method = new ReconstructingMethod();
        var config = new RunConfig
        {
            Encoder = new EncoderConfig { Kind = EncoderKind.Mlp, Hidden = [16] },
            Evaluation = new EvaluationConfig
            {
                LinearFractions = [1.0], KnnK = 5, Probe = new LinearProbeOptions { Iterations = 20, WeightDecays = [0] },
                Extras = EvaluationExtras.Clustering | EvaluationExtras.Anomaly,
                Clustering = new KMeansOptions { Restarts = 2 },
            },
        };
        var r = Evaluating.Run(method, config, new ImageModality.ImageInputs(config), new ImageSamples(train), new ImageSamples(test), baselines: false);
        Assert.Empty(r.For(Protocol.FromScratch));
        Assert.Empty(r.For(Protocol.FineTune));
        Assert.Empty(r.For(Protocol.Baseline));
        Assert.NotNull(r.Clustering);
        Assert.Equal(3, r.Clustering!.K);
        Assert.Equal(30, r.Clustering.Samples);
        // Blobs are separable from raw pixels alone: k-means on them must recover the classes.
        Assert.True(r.Clustering.Raw.Ari > 0.9, $"raw-pixel ARI {r.Clustering.Raw.Ari}");

        var a = r.Anomaly!;
        Assert.Equal(3, a.Classes.Count);
        Assert.All(a.Classes, c => { Assert.Equal(20, c.TrainNormal); Assert.Equal(10, c.TestNormal); Assert.Equal(20, c.TestAnomalous); });
        // The reconstruction column is the scorer's output ranked per normal class.
        var normalize = config.Augment.BuildNormalize();
        using var x = normalize.Apply(test.Gather(Enumerable.Range(0, 30).Select(i => (long)i).ToArray()));
        var errors = x.pow(2).flatten(1).mean([1L]).to(ScalarType.Float64).data<double>().ToArray();
        foreach (var c in a.Classes)
        {
            var expected = OneClass.Evaluate(errors, test.Labels!, c.NormalClass);
            Assert.Equal(expected.Auroc, c.Reconstruction!.Auroc, 6);
            Assert.Equal(expected.Auprc, c.Reconstruction.Auprc, 6);
        }
        Assert.NotNull(a.MeanReconstruction);
        // Separable blobs: a kNN scorer on raw pixels tells each class from the rest perfectly.
        Assert.Equal(1.0, a.MeanRaw.Auroc, 6);

        var pre = new PretrainResult("run", "run/checkpoints/step-1.safetensors", 1, double.NaN, double.NaN, double.NaN, double.NaN);
        var summary = RunReport.Summary(config, "blobs", pre, r);
        Assert.Equal(a.MeanReconstruction!.Auroc, summary.Anomaly!.MeanReconstruction!.Auroc);
        Assert.Equal(r.Clustering.Embedding.Nmi, summary.Clustering!.Embedding.Nmi);
        Assert.Equal(r.For(Protocol.LinearProbe)[0].Accuracy, (double)summary.Flat["linear_100"]);
        Assert.Null(summary.PretrainSeconds); // unknown pretraining facts are left out, not NaN
    }
}
