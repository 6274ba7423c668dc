using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>
/// The ImageNet ResNet-18 that the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 carries as ONNX (a CNTK export:
/// tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx, input 1 x 3 x 224 x 224, output its 512 average-pooled features), imported
/// into Pretext's <see cref="ResNet"/> with the ImageNet stem, so it runs in TorchSharp (and could be fine-tuned like any encoder).
/// Its input is what the package's preprocessing graph (ResNetPrepOnnx/ResNetPreprocess.onnx) makes of RGB pixels in 0..255: the
/// channels reordered to BGR and a per-pixel mean image (3 x 224 x 224, about 104 / 116 / 123) subtracted; no division by a
/// standard deviation. The evaluation's opt-in baseline row (<see cref="EvaluationConfig.ResNet18"/>): docs/evaluation.md,
/// "ResNet-18 ImageNet features".
/// </summary>
public sealed class ImageNetResNet18 : IDisposable
{
    public const string Package = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string Version = "0.24.0";
    /// <summary>The row's name in reports.</summary>
    public const string Title = "ResNet-18 ImageNet features (ONNX)";
    /// <summary>Input side the network was trained at; images are resized to it.</summary>
    public const int Side = 224;
    public const int FeatureDim = 512;
    public const string ModelFile = "ResNet18Onnx/ResNet18.onnx";
    public const string PreprocessFile = "ResNetPrepOnnx/ResNetPreprocess.onnx";

    private readonly Tensor meanImage;

    /// <summary>The imported network (eval mode, no gradients needed).</summary>
    public ResNet Encoder { get; }
    /// <summary>Where the weights came from (the model file's full path).</summary>
    public string Source { get; }

    private ImageNetResNet18(ResNet encoder, Tensor meanImage, string source)
    {
        Encoder = encoder;
        this.meanImage = meanImage;
        Source = source;
    }

    /// <summary>The package's tools/DnnImageModels folder in the NuGet cache (NUGET_PACKAGES, else ~/.nuget/packages), or null when it is not restored.</summary>
    public static string? FindPackage()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string folder = Path.Combine(root, Package.ToLowerInvariant(), Version, "tools", "DnnImageModels");
        return File.Exists(Path.Combine(folder, ModelFile)) && File.Exists(Path.Combine(folder, PreprocessFile)) ? folder : null;
    }

    /// <summary>The message of a missing package: what to run to get it.</summary>
    public static string MissingMessage(string? folder) =>
        (folder is null ? $"The NuGet package {Package} {Version} is not in the NuGet cache"
            : $"'{folder}' does not hold {ModelFile} and {PreprocessFile} of {Package} {Version}")
        + $"; restore it (`dotnet add package {Package} --version {Version}` in any project, or build the Pretext test project, which downloads it), or turn evaluation.resnet18 off.";

    /// <summary>Reads the network from <paramref name="folder"/> (the package's tools/DnnImageModels; null: found in the NuGet cache).</summary>
    /// <exception cref="FileNotFoundException">The package is not restored (or the folder lacks its files); the message names the fix.</exception>
    /// <exception cref="InvalidDataException">The graph is not the ResNet-18 layout this import reads; the message names what differs.</exception>
    public static ImageNetResNet18 Load(string? folder = null)
    {
        string found = folder ?? FindPackage() ?? throw new FileNotFoundException(MissingMessage(null));
        string modelPath = Path.Combine(found, ModelFile), prepPath = Path.Combine(found, PreprocessFile);
        if (!File.Exists(modelPath) || !File.Exists(prepPath)) throw new FileNotFoundException(MissingMessage(found), File.Exists(modelPath) ? prepPath : modelPath);
        var model = OnnxModel.Read(File.ReadAllBytes(modelPath), modelPath);
        var prep = OnnxModel.Read(File.ReadAllBytes(prepPath), prepPath);
        var mean = prep.Initializers.Values.SingleOrDefault(t => t.Shape.SequenceEqual(new long[] { 1, 3, Side, Side }))
            ?? throw new InvalidDataException($"'{prepPath}' has no 1 x 3 x {Side} x {Side} mean image.");
        var (shape, weights) = Weights(model, modelPath);
        // fp32, channels-last: 20 s against 24 s for 400 Fashion-MNIST images on one thread (same features; docs/evaluation.md).
        var encoder = new ResNet(shape with { Compute = new ComputeOptions(Precision.Float32, MemoryLayout.ChannelsLast) });
        using (no_grad())
        {
            var target = encoder.state_dict();
            foreach (var (name, t) in target)
            {
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
                if (!weights.TryGetValue(name, out var w)) throw new InvalidDataException($"'{modelPath}': no tensor for '{name}' of Pretext's ResNet-18; the import's name table is out of date.");
                if (!w.Shape.SequenceEqual(t.shape))
                    throw new InvalidDataException($"'{modelPath}': '{w.Name}' is [{string.Join(",", w.Shape)}], Pretext's '{name}' [{string.Join(",", t.shape)}].");
                using var src = tensor(w.Values, w.Shape);
                t.copy_(src);
            }
        }
        encoder.eval();
        return new ImageNetResNet18(encoder, tensor(mean.Values, mean.Shape), Path.GetFullPath(modelPath));
    }

    /// <summary>
    /// The shape of the ImageNet <see cref="ResNet"/> in <paramref name="model"/> and its weights under Pretext's names: the convolutions
    /// in graph order, each with the batch norm it feeds; the first is the stem, the 3x3 ones pair up as the blocks' conv1 and conv2 (a
    /// stage is the blocks of one width), and each 1x1 one is the projection shortcut of the block whose conv1 reads the same input. The
    /// package's network has 2, 2, 2 and 3 blocks (torchvision's ResNet-18 has 2 in the last stage too); the shape is read, not assumed.
    /// </summary>
    /// <exception cref="InvalidDataException">Not that layout; the message names what differs.</exception>
    public static (ResNetOptions Shape, Dictionary<string, OnnxTensor> Weights) Weights(OnnxModel model, string source)
    {
        InvalidDataException Bad(string what) => new($"'{source}' is not the ImageNet ResNet-18 this import reads: {what}.");
        OnnxTensor Value(string name) => model.Value(name) ?? throw Bad($"no constant '{name}'");
        var result = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        void Add(OnnxNode conv, string convName, string bnName)
        {
            if (conv.Inputs.Length != 2) throw Bad($"convolution '{conv.Name}' has a bias");
            result[convName + ".weight"] = Value(conv.Inputs[1]);
            var bn = model.Nodes.FirstOrDefault(n => n.Op == "BatchNormalization" && n.Inputs[0] == conv.Outputs[0])
                ?? throw Bad($"no batch norm after convolution '{conv.Name}'");
            if (bn.Inputs.Length != 5) throw Bad($"batch norm '{bn.Name}' has {bn.Inputs.Length} inputs");
            result[bnName + ".weight"] = Value(bn.Inputs[1]);
            result[bnName + ".bias"] = Value(bn.Inputs[2]);
            result[bnName + ".running_mean"] = Value(bn.Inputs[3]);
            result[bnName + ".running_var"] = Value(bn.Inputs[4]);
        }
        var convs = model.Nodes.Where(n => n.Op == "Conv").ToList();
        if (convs.Count < 3) throw Bad($"{convs.Count} convolutions");
        long[] Weight(OnnxNode c) => Value(c.Inputs[1]).Shape is { Length: 4 } s ? s : throw Bad($"convolution '{c.Name}' has no 4-d weight");
        if (Weight(convs[0]) is not [_, 3, 7, 7]) throw Bad($"the first convolution is [{string.Join(",", Weight(convs[0]))}], not the 7x7 stem of RGB input");
        Add(convs[0], "stem", "stemBn");
        var main = convs.Skip(1).Where(c => Weight(c)[2] == 3).ToList();
        var shortcuts = new Queue<OnnxNode>(convs.Skip(1).Where(c => Weight(c)[2] == 1));
        if (main.Count + shortcuts.Count != convs.Count - 1 || main.Count % 2 != 0) throw Bad("convolutions other than 3x3 pairs and 1x1 shortcuts after the stem");
        var widths = new List<int>();
        var blocks = new List<int>();
        int inWidth = (int)Weight(convs[0])[0];
        for (int i = 0; i < main.Count / 2; i++)
        {
            int width = (int)Weight(main[2 * i])[0];
            if (widths.Count == 0 || widths[^1] != width) { widths.Add(width); blocks.Add(0); }
            string block = $"stages.s{widths.Count - 1}b{blocks[^1]++}";
            Add(main[2 * i], block + ".conv1", block + ".bn1");
            Add(main[2 * i + 1], block + ".conv2", block + ".bn2");
            if (width != inWidth || widths.Count > 1 && blocks[^1] == 1)
            {
                if (!shortcuts.TryDequeue(out var s) || s.Inputs[0] != main[2 * i].Inputs[0])
                    throw Bad($"no 1x1 convolution reads the input of block {block}, which changes width or resolution");
                Add(s, block + ".shortcutConv", block + ".shortcutBn");
            }
            inWidth = width;
        }
        if (shortcuts.Count > 0) throw Bad($"{shortcuts.Count} 1x1 convolutions left over");
        var shape = new ResNetOptions { InChannels = 3, ImageSize = Side, Widths = [.. widths], Blocks = [.. blocks], ImageNetStem = true };
        return (shape, result);
    }

    /// <summary>
    /// The network's input for images (B, C, H, W) in [0, 1], C = 1 (grey, repeated to three channels) or 3 (RGB): resized to
    /// 224 x 224 by bilinear interpolation (half-pixel centres), scaled to 0..255, reordered to BGR and the mean image subtracted.
    /// </summary>
    /// <exception cref="ArgumentException">Not (B, 1 or 3, H, W).</exception>
    public Tensor Preprocess(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] is not (1 or 3))
            throw new ArgumentException($"{Title} reads grey or RGB images (B, 1 or 3, H, W); got [{string.Join(",", images.shape)}].");
        using var scope = NewDisposeScope();
        var x = images.to(ScalarType.Float32);
        if (x.shape[2] != Side || x.shape[3] != Side)
            x = nn.functional.interpolate(x, [Side, Side], mode: InterpolationMode.Bilinear, align_corners: false);
        x = x.shape[1] == 1 ? x.expand(-1, 3, -1, -1) : x.flip(1);
        return x.mul(255f).sub(meanImage).MoveToOuterDisposeScope();
    }

    /// <summary>The 512 features of every image of <paramref name="data"/> (N, 512) fp32, in batches of <paramref name="batchSize"/>.</summary>
    public Tensor Extract(IDataset data, int batchSize = 32, Action<long, long>? progress = null)
    {
        using var noGrad = no_grad();
        var result = empty(data.Count, FeatureDim).DetachFromDisposeScope();
        for (long start = 0; start < data.Count; start += batchSize)
        {
            long n = Math.Min(batchSize, data.Count - start);
            using var scope = NewDisposeScope();
            var x = Preprocess(Features.Batch(data, start, n, null));
            result.narrow(0, start, n).copy_(Encoder.forward(x));
            progress?.Invoke(start + n, data.Count);
        }
        return result;
    }

    public void Dispose()
    {
        Encoder.Dispose();
        meanImage.Dispose();
    }
}
