using System.Text.Json;
using System.Text.Json.Serialization;
using Pretext.Augmentations;
using Pretext.Core;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Training;

namespace Pretext.Runs;

/// <summary>Encoder families behind the one encoder contract.</summary>
public enum EncoderKind
{
    ResNet,
    Mlp,
    /// <summary>Vision Transformer over image patches; shaped by the ViT fields of <see cref="EncoderConfig"/>.</summary>
    Vit,
    /// <summary>Transformer over token ids (text); shaped by <see cref="EncoderConfig.Text"/>.</summary>
    Transformer,
    /// <summary>Mean of learned word vectors over token ids (word2vec); shaped by <see cref="EncoderConfig.Text"/>.</summary>
    WordEmbedding,
}

/// <summary>Which encoder to build; travels with the checkpoint so evaluation and export rebuild it exactly.</summary>
public sealed record EncoderConfig
{
    public EncoderKind Kind { get; init; } = EncoderKind.ResNet;
    public int InChannels { get; init; } = 1;
    public int ImageSize { get; init; } = 28;
    /// <summary>ResNet stage widths.</summary>
    public int[] Widths { get; init; } = [32, 64, 128, 256];
    /// <summary>ResNet blocks per stage.</summary>
    public int[] Blocks { get; init; } = [1, 1, 1, 1];
    /// <summary>MLP hidden widths (last = feature width).</summary>
    public int[] Hidden { get; init; } = [512, 256];
    /// <summary>ViT patch side (4 or 7 on 28x28 images).</summary>
    public int PatchSize { get; init; } = 4;
    /// <summary>ViT token width (the feature width).</summary>
    public int EmbedDim { get; init; } = 128;
    /// <summary>ViT Transformer blocks.</summary>
    public int Depth { get; init; } = 6;
    /// <summary>ViT attention heads (must divide EmbedDim).</summary>
    public int Heads { get; init; } = 4;
    /// <summary>ViT MLP hidden width as a multiple of EmbedDim.</summary>
    public double MlpRatio { get; init; } = 4.0;
    /// <summary>ViT feature: the CLS token or the mean of patch tokens.</summary>
    public VitPooling Pooling { get; init; } = VitPooling.Cls;
    public Precision Precision { get; init; } = Precision.Auto;
    public MemoryLayout Layout { get; init; } = MemoryLayout.ChannelsLast;
    /// <summary>Tokenizer, vocabulary and Transformer shape of the text encoders.</summary>
    public TextEncoderConfig Text { get; init; } = new();

    /// <summary>What the encoder takes: images, or token ids for the text encoders.</summary>
    [JsonIgnore]
    public Data.Modality Modality => Kind is EncoderKind.Transformer or EncoderKind.WordEmbedding ? Data.Modality.Text : Data.Modality.Image;

    public Encoder Build() => Kind switch
    {
        EncoderKind.ResNet => new ResNet(new ResNetOptions
        {
            InChannels = InChannels, ImageSize = ImageSize, Widths = Widths, Blocks = Blocks,
            Compute = new ComputeOptions(Precision, Layout),
        }),
        EncoderKind.Mlp => new MlpEncoder(new MlpOptions { InputShape = [InChannels, ImageSize, ImageSize], Hidden = Hidden }),
        EncoderKind.Vit => new VisionTransformer(new VitOptions
        {
            InChannels = InChannels, ImageSize = ImageSize, PatchSize = PatchSize, Dim = EmbedDim, Depth = Depth, Heads = Heads,
            MlpRatio = MlpRatio, Pooling = Pooling, Compute = new ComputeOptions(Precision, Layout),
        }),
        EncoderKind.Transformer => Text.BuildTransformer(Precision),
        EncoderKind.WordEmbedding => Text.BuildWordEmbedding(),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown encoder kind."),
    };
}

/// <summary>Image view augmentation settings (SimCLR appendix A, adapted per data set by presets).</summary>
public sealed record ImageAugmentationConfig
{
    public int Size { get; init; } = 28;
    public double CropScaleMin { get; init; } = 0.2;
    public double CropScaleMax { get; init; } = 1.0;
    public double FlipProbability { get; init; } = 0.5;
    public double Brightness { get; init; } = 0.4;
    public double Contrast { get; init; } = 0.4;
    public double JitterProbability { get; init; } = 0.8;
    public double BlurProbability { get; init; }
    public double ErasingProbability { get; init; }
    /// <summary>Per-channel mean and std used to standardise inputs (training and evaluation).</summary>
    public float[] Mean { get; init; } = [0.2860f];
    public float[] Std { get; init; } = [0.3530f];

    /// <summary>One view's random pipeline, ending in normalisation.</summary>
    public IAugmentation BuildView()
    {
        var steps = new List<IAugmentation> { new RandomResizedCrop(Size, CropScaleMin, CropScaleMax, flipProbability: FlipProbability) };
        if (JitterProbability > 0) steps.Add(new BrightnessContrastJitter(Brightness, Contrast, JitterProbability));
        if (BlurProbability > 0) steps.Add(new RandomGaussianBlur(Math.Max(3, (Size / 10) | 1), probability: BlurProbability));
        if (ErasingProbability > 0) steps.Add(new RandomErasing(ErasingProbability));
        steps.Add(BuildNormalize());
        return new AugmentationPipeline(steps);
    }

    /// <summary>Light augmentation for the supervised baseline (crop + flip only), without normalisation.</summary>
    public IAugmentation BuildSupervised() => new RandomResizedCrop(Size, Math.Max(CropScaleMin, 0.5), 1.0, flipProbability: FlipProbability);

    public Normalize BuildNormalize() => new(Mean, Std);
}

/// <summary>How a run is evaluated.</summary>
public sealed record EvaluationConfig
{
    /// <summary>Label fractions for the linear probe.</summary>
    public double[] LinearFractions { get; init; } = [1.0, 0.1, 0.01];
    /// <summary>Label fractions for the supervised-from-scratch baseline.</summary>
    public double[] SupervisedFractions { get; init; } = [0.1, 0.01];
    public int KnnK { get; init; } = 200;
    public double KnnTemperature { get; init; } = 0.1;
    /// <summary>Seed of the first label subset of each fraction (further subsets: SubsetSeed + 1, ...).</summary>
    public int SubsetSeed { get; init; } = 0;
    public LinearProbeOptions Probe { get; init; } = new();
    public SupervisedOptions Supervised { get; init; } = new();
    /// <summary>Label fractions for fine-tuning the pretrained encoder end to end (empty: no fine-tuning).</summary>
    public double[] FineTuneFractions { get; init; } = [];
    /// <summary>Label subsets per fraction under 10 % (mean and standard deviation are reported); `pretext evaluate` defaults to 3.</summary>
    public int Seeds { get; init; } = 1;
    /// <summary>Encoder learning rate as a multiple of the head's when fine-tuning (0.1: the pretrained features move slowly while the random head settles).</summary>
    public double FineTuneEncoderLrScale { get; init; } = 0.1;
    /// <summary>Evaluations beyond classification accuracy.</summary>
    public EvaluationExtras Extras { get; init; } = EvaluationExtras.None;
    public KMeansOptions Clustering { get; init; } = new();
    public AnomalyOptions Anomaly { get; init; } = new();
    /// <summary>Embedding maps (PCA, t-SNE) and diagnostics of the frozen features on a sample of the test set.</summary>
    public EmbeddingMapOptions Maps { get; init; } = new();
    /// <summary>The text evaluation (probe, fine-tuning, baselines, accuracy and F1).</summary>
    public TextEvaluationOptions Text { get; init; } = new();
}

/// <summary>Evaluations beyond classification accuracy, combinable.</summary>
[Flags]
public enum EvaluationExtras
{
    None = 0,
    /// <summary>k-means on test embeddings (and raw inputs), NMI and ARI against the labels.</summary>
    Clustering = 1,
    /// <summary>One-class anomaly detection for each class (kNN distance, reconstruction error), AUROC and AUPRC.</summary>
    Anomaly = 2,
}

/// <summary>Everything that defines a pretraining run. Written as config.json and into each checkpoint.</summary>
public sealed record RunConfig
{
    public string Method { get; init; } = "simclr";
    public string Dataset { get; init; } = "fashion-mnist";
    public EncoderConfig Encoder { get; init; } = new();
    /// <summary>Per-method options, one property per method (each method's file adds its own).</summary>
    public MethodSettings Methods { get; init; } = new();
    public ImageAugmentationConfig Augment { get; init; } = new();
    public TrainerOptions Train { get; init; } = new();
    public EvaluationConfig Evaluation { get; init; } = new();

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <exception cref="InvalidDataException">The JSON is not a run config; the message names <paramref name="source"/>.</exception>
    public static RunConfig FromJson(string json, string source)
    {
        try { return JsonSerializer.Deserialize<RunConfig>(json, JsonOptions) ?? throw new InvalidDataException($"{source}: empty run config."); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not a valid Pretext run config ({e.Message})."); }
    }

    /// <summary>The fields that must match for --resume to continue a run (not threads, checkpointing or diagnostics cadence).</summary>
    public string ResumeFingerprint() => (this with { Train = Train with { Threads = 0, CheckpointEvery = 0, KeepCheckpoints = 1, Prefetch = true, DiagnosticsEvery = 0 }, Evaluation = new() }).ToJson();
}
