using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>COLA's options.</summary>
    public ColaOptions Cola { get; init; } = new();
}

/// <summary>Options of <see cref="Cola"/>.</summary>
public sealed record ColaOptions
{
    /// <summary>Length of each of the two segments in seconds: 960 ms in the paper (section 3.2), 96 frames at a 10 ms hop.</summary>
    public double SegmentSeconds { get; init; } = 0.96;
    /// <summary>Width of the projection g; 512 in the paper.</summary>
    public int ProjectionDim { get; init; } = 512;
    /// <summary>
    /// SpecAugment masks on each segment. None by default: COLA's views are random crops and nothing else (section 2), so the task is
    /// to tell which segments come from the same clip.
    /// </summary>
    public SpecAugmentOptions Masking { get; init; } = new() { FrequencyMasks = 0, TimeMasks = 0 };

    /// <summary>Frames per segment at <paramref name="audio"/>'s hop and rate.</summary>
    public int SegmentFrames(AudioEncoderConfig audio) => Math.Max(1, (int)Math.Round(SegmentSeconds * audio.Clip.SampleRate / audio.LogMel.HopLength));

    /// <summary>Two random segments of each clip (then the masks, when any).</summary>
    /// <exception cref="ArgumentException">Segments longer than the clips; the message names both settings.</exception>
    public IViewGenerator Views(AudioEncoderConfig audio)
    {
        int frames = SegmentFrames(audio);
        if (frames > audio.Frames)
            throw new ArgumentException($"COLA's segments of {SegmentSeconds} s ({frames} frames) are longer than the clips ({audio.Clip.Seconds} s, {audio.Frames} frames); " +
                "lower methods.cola.segmentSeconds or raise encoder.audio.clip.seconds.");
        IAugmentation[] steps = Masking.Build() is { } mask ? [new RandomSegment(frames), mask] : [new RandomSegment(frames)];
        return new MultiViewAugmentation(new AugmentationPipeline(steps), 2);
    }
}

/// <summary>
/// COLA (Saeed, Grangier and Zeghidour 2021, "Contrastive learning of general-purpose audio representations"): two random segments
/// of the same clip are a positive pair, the other clips' segments in the batch are the negatives; both go through the encoder f and
/// the head g (dense, layer norm, tanh), and the loss is cross-entropy over bilinear similarities g(x)^T W g(x')
/// (<see cref="BilinearContrastiveLoss"/>). Views: <see cref="ColaOptions.Views"/>.
/// </summary>
public sealed class Cola : nn.Module, ISslMethod
{
    /// <summary>
    /// COLA's defaults on the audio base preset: 960 ms segments and a 512-wide projection (section 3.2). The paper trains with Adam
    /// at 1e-4 on batches of 1024; the base preset's AdamW at 1e-3 on batches of 128 suits the few thousand clips of the catalogued
    /// sets better in a short CPU run (not tuned beyond a few-hundred-step check that the loss falls).
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with { Methods = cfg.Methods with { Cola = cfg.Methods.Cola with { SegmentSeconds = 0.96, ProjectionDim = 512 } } };

    private readonly Encoder encoder;
    private readonly ColaHead head;

    public Cola(Encoder encoder, ColaOptions? options = null) : base(nameof(Cola))
    {
        options ??= new ColaOptions();
        this.encoder = encoder;
        head = new ColaHead(encoder.FeatureDim, options.ProjectionDim);
        Options = options;
        RegisterComponents();
    }

    public ColaOptions Options { get; }
    public string Name => "cola";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"COLA needs 2 segments per clip, got {batch.Views.Count} views.");
        var z1 = head.forward(encoder.forward(batch.Views[0]));
        var z2 = head.forward(encoder.forward(batch.Views[1]));
        return new StepOutput(BilinearContrastiveLoss.Compute(z1, z2, head.Bilinear), z1, z2);
    }
}
