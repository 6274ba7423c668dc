using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>RotNet's options.</summary>
    public RotNetOptions RotNet { get; init; } = new();
}

/// <summary>Options of <see cref="RotNet"/>.</summary>
public sealed record RotNetOptions
{
    /// <summary>
    /// Hidden width of the rotation classifier; 0 means a linear classifier on the encoder's features
    /// (as VISSL's RotNet head), so the encoder, not the head, has to carry the orientation cues.
    /// </summary>
    public int HeadHiddenDim { get; init; }
}

/// <summary>
/// RotNet (Gidaris, Singh, Komodakis 2018): every image is rotated by 0, 90, 180 and 270 degrees and
/// the encoder plus a small classifier must tell which rotation was applied (4-way cross-entropy).
/// Recognising an object's orientation needs its shape and parts, so the features become semantic.
/// All four rotated copies of each image go into the same batch (paper section 2.2: better than one
/// random rotation per image). Images must be square.
/// </summary>
public sealed class RotNet : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly MlpHead classifier;

    public RotNet(Encoder encoder, RotNetOptions? options = null) : base(nameof(RotNet))
    {
        options ??= new RotNetOptions();
        if (options.HeadHiddenDim < 0) throw new ArgumentException($"methods.rotnet.head_hidden_dim must be >= 0 (0 = linear), got {options.HeadHiddenDim}.");
        this.encoder = encoder;
        classifier = new MlpHead(encoder.FeatureDim, options.HeadHiddenDim > 0 ? [options.HeadHiddenDim] : [], Rotations, name: "RotationClassifier");
        Options = options;
        RegisterComponents();
    }

    /// <summary>Number of rotation classes (0, 90, 180, 270 degrees).</summary>
    public const int Rotations = 4;

    /// <summary>
    /// RotNet's defaults on top of a data set's base preset, from the authors' CIFAR-10 configuration
    /// (FeatureLearningRotNet, config/CIFAR10_RotNet_NIN4blocks.py): SGD with Nesterov momentum 0.9,
    /// lr 0.1, weight decay 5e-4, batch 128 images (512 rotated copies); a short warmup (0.1 epoch) in
    /// place of their step schedule; light augmentation as their crop-with-padding and flip: random
    /// resized crop (scale 0.6-1) and flips, no colour jitter.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        Augment = cfg.Augment with { CropScaleMin = 0.6, CropScaleMax = 1.0, FlipProbability = 0.5, JitterProbability = 0, BlurProbability = 0, ErasingProbability = 0 },
        Train = cfg.Train with
        {
            BatchSize = 128, LearningRate = 0.1, WarmupEpochs = 0.1,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.Sgd, Momentum = 0.9, Nesterov = true, WeightDecay = 5e-4 },
        },
    };

    public RotNetOptions Options { get; }
    public string Name => "rotnet";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>
    /// The four rotations of a batch: (B, C, S, S) -> images (4B, C, S, S), block k holding every image
    /// turned k * 90 degrees counter-clockwise (torch.rot90 over (H, W)), and labels (4B) int64 = k.
    /// </summary>
    /// <exception cref="ArgumentException">Not a batch of square images.</exception>
    public static (Tensor Images, Tensor Labels) Rotate(Tensor x)
    {
        if (x.dim() != 4 || x.shape[2] != x.shape[3])
            throw new ArgumentException($"RotNet needs square images (B, C, S, S) so that rotated copies share one shape; got [{string.Join(",", x.shape)}]. Crop to a square (--image-size).");
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var images = cat(Enumerable.Range(0, Rotations).Select(k => k == 0 ? x : x.rot90(k, (2, 3))).ToArray(), 0);
        var labels = arange(Rotations, dtype: ScalarType.Int64, device: x.device).repeat_interleave(b);
        return (images.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"RotNet takes 1 view per sample, got {batch.Views.Count}.");
        var x = batch.Views[0];
        var (images, labels) = Rotate(x);
        var features = encoder.forward(images);
        var loss = nn.functional.cross_entropy(classifier.forward(features), labels);
        return new StepOutput(loss, features.narrow(0, 0, x.shape[0]));
    }
}
