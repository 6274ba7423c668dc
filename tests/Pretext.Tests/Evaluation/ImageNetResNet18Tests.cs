using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

/// <summary>
/// The ImageNet ResNet-18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 (which the test project downloads into the NuGet cache),
/// imported into Pretext's ResNet: its features equal ONNX Runtime's run of the package's own two graphs (preprocessing, then the
/// network) on the same pixels; the evaluation's resnet18 row runs the probes on them; a missing package is a one-line error.
/// </summary>
public sealed class ImageNetResNet18Tests
{
    public ImageNetResNet18Tests() => set_num_threads(1);

    /// <summary>The package's graphs in ONNX Runtime: RGB pixels in 0..255, (1, 3, 224, 224), through ResNetPreprocess.onnx, then ResNet18.onnx.</summary>
    private static float[] Reference(string folder, float[] rgb255)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var prep = new InferenceSession(Path.Combine(folder, ImageNetResNet18.PreprocessFile), options);
        using var net = new InferenceSession(Path.Combine(folder, ImageNetResNet18.ModelFile), options);
        using var prepared = prep.Run([NamedOnnxValue.CreateFromTensor(prep.InputMetadata.Keys.Single(), new DenseTensor<float>(rgb255, [1, 3, 224, 224]))]);
        var bgr = prepared.First().AsTensor<float>().ToArray();
        using var features = net.Run([NamedOnnxValue.CreateFromTensor(net.InputMetadata.Keys.Single(), new DenseTensor<float>(bgr, [1, 3, 224, 224]))]);
        var f = features.First().AsTensor<float>();
        Assert.Equal(512, (int)f.Length);
        return f.ToArray();
    }

    [Fact]
    public void FeaturesMatchOnnxRuntimeOnTheSamePixels()
    {
        string folder = ImageNetResNet18.FindPackage() ?? throw new InvalidOperationException(ImageNetResNet18.MissingMessage(null));
        using var network = ImageNetResNet18.Load(folder);
        using var scope = NewDisposeScope();
        manual_seed(3);
        // An RGB image at the network's side, its channels unlike each other (so BGR against RGB order shows), and a grey 28 x 28 one.
        var ramp = linspace(0, 1, 224).reshape(1, 1, 1, 224).expand(1, 1, 224, 224);
        var rgb = cat([ramp, ramp.transpose(2, 3), rand(1, 1, 224, 224)], 1);
        var grey = rand(1, 1, 28, 28).mul(rand(1, 1, 28, 28).gt(0.5));
        // What the package's pipeline is given for each: RGB pixels in 0..255 at 224 x 224 (the grey one resized, then repeated).
        var greyRgb = nn.functional.interpolate(grey, [224, 224], mode: InterpolationMode.Bilinear, align_corners: false).expand(1, 3, 224, 224);
        foreach (var (image, pixels) in new[] { (rgb, rgb), (grey, greyRgb) })
        {
            float[] reference = Reference(folder, pixels.mul(255).contiguous().data<float>().ToArray());
            float[] ours;
            using (no_grad()) ours = network.Encoder.forward(network.Preprocess(image)).data<float>().ToArray();
            double cosine = TestData.Cosine(ours, reference);
            double maxDiff = ours.Zip(reference, (a, b) => Math.Abs(a - b)).Max(), scale = reference.Max(Math.Abs);
            Assert.True(cosine > 0.99999, $"cosine {cosine}");
            Assert.True(maxDiff < 1e-3 * scale, $"max difference {maxDiff} of largest {scale}");
        }
        // The channel order is read: the same image given as BGR gives other features.
        float[] swapped;
        using (no_grad()) swapped = network.Encoder.forward(network.Preprocess(rgb.flip(1))).data<float>().ToArray();
        Assert.True(TestData.Cosine(swapped, Reference(folder, rgb.mul(255).contiguous().data<float>().ToArray())) < 0.999);
    }

    [Fact]
    public void AMissingPackageIsAOneLineErrorNamingTheFix()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => ImageNetResNet18.Load(dir.Path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains($"dotnet add package {ImageNetResNet18.Package} --version {ImageNetResNet18.Version}", e.Message);
        Assert.Contains("evaluation.resnet18", e.Message);

        string? saved = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        try
        {
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", dir.Path);
            Assert.Null(ImageNetResNet18.FindPackage());
            var none = Assert.Throws<FileNotFoundException>(() => ImageNetResNet18.Load());
            Assert.StartsWith($"The NuGet package {ImageNetResNet18.Package} {ImageNetResNet18.Version} is not in the NuGet cache", none.Message);
            Assert.DoesNotContain('\n', none.Message);
            // The evaluation refuses before any work: no stage (feature extraction, probes) begins.
            using var train = new ImageSamples(TestData.Blobs(12, classes: 3, seed: 1));
            using var test = new ImageSamples(TestData.Blobs(6, classes: 3, seed: 2));
            using var method = new Pretext.Tests.Runs.EvaluatingTests.ReconstructingMethod();
            var config = TinyConfig();
            var observer = new StageRecorder();
            var refused = Assert.Throws<FileNotFoundException>(() => Evaluating.Run(method, config, new ImageModality.ImageInputs(config), train, test, observer));
            Assert.Equal(none.Message, refused.Message);
            Assert.Empty(observer.Stages);
        }
        finally { Environment.SetEnvironmentVariable("NUGET_PACKAGES", saved); }
    }

    private sealed class StageRecorder : IRunObserver
    {
        public List<string> Stages { get; } = [];
        public void BeginStage(string name, long total) => Stages.Add(name);
        public void Report(long done, string? status = null) { }
        public void EndStage(string? summary = null) { }
        public void Message(string text) { }
    }

    /// <summary>Probes only (no training from scratch, no maps), the ResNet-18 row on.</summary>
    private static RunConfig TinyConfig() => new()
    {
        Encoder = new EncoderConfig { Kind = EncoderKind.Mlp, Hidden = [16] },
        Evaluation = new EvaluationConfig
        {
            LinearFractions = [1.0], PerClass = [2], Seeds = 2, TrainedPerClass = [], ScratchFractions = [], KnnK = 5, ResNet18 = true,
            Probe = new LinearProbeOptions { Iterations = 100, WeightDecays = [0, 1e-3] }, Maps = new EmbeddingMapOptions { Samples = 0 },
        },
    };

    [Fact]
    public void TheEvaluationsResNet18RowRunsTheFrozenProbesOnItsFeatures()
    {
        using var train = TestData.Blobs(36, classes: 3, seed: 1);
        using var test = TestData.Blobs(12, classes: 3, seed: 2);
        using var method = new Pretext.Tests.Runs.EvaluatingTests.ReconstructingMethod();
        var config = TinyConfig();
        var r = Evaluating.Run(method, config, new ImageModality.ImageInputs(config), new ImageSamples(train), new ImageSamples(test));
        var knn = Assert.Single(r.For(Protocol.ResNet18Knn));
        var probes = r.For(Protocol.ResNet18);
        // The same budgets and label subsets as the frozen encoder's linear probe.
        Assert.Equal(r.For(Protocol.LinearProbe).Select(s => (s.Budget, s.Labels, string.Join(",", s.Seeds))), probes.Select(s => (s.Budget, s.Labels, string.Join(",", s.Seeds))));
        Assert.Equal(2, probes.Single(s => s.PerClass == 2).Subsets);
        Assert.All(probes, s => Assert.NotNull(s.ValidationAccuracy));
        Assert.NotNull(knn.ValidationAccuracy);
        // Blobs are three bright spots in different places: ImageNet features tell them apart far above chance (1/3).
        Assert.True(probes.Single(s => s.PerClass is null).Accuracy > 0.7, $"accuracy {probes.Single(s => s.PerClass is null).Accuracy}");

        var pre = new PretrainResult("run", "run/checkpoints/step-1.safetensors", 1, double.NaN, double.NaN, double.NaN, double.NaN);
        var summary = RunReport.Summary(config, "blobs", pre, r);
        Assert.Equal(knn.Accuracy, (double)summary.Flat["resnet18_knn"]);
        Assert.Equal(probes.Single(s => s.PerClass is null).Accuracy, (double)summary.Flat["resnet18_100"]);
        Assert.True(summary.Flat.ContainsKey("resnet18_2_per_class_std"));
        Assert.True(summary.Flat.ContainsKey("labels_6_resnet18"));
        var (header, rows) = RunReport.AccuracyTable(r);
        Assert.Equal(ImageNetResNet18.Title, header[^1]);
        Assert.All(rows, row => Assert.Equal(header.Length, row.Length));
    }
}
