using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Methods.Shared;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>DINO's options.</summary>
    public DinoOptions Dino { get; init; } = new();
}

/// <summary>Options of <see cref="Dino"/>. Sources: Caron et al. 2021 (section 3 and appendix) and the
/// authors' code defaults (facebookresearch/dino, main_dino.py).</summary>
public sealed record DinoOptions
{
    /// <summary>Hidden width of the head's MLP (paper 2048).</summary>
    public int HiddenDim { get; init; } = 2048;
    /// <summary>Width of the L2-normalised bottleneck (paper 256).</summary>
    public int BottleneckDim { get; init; } = 256;
    /// <summary>Output dimensions K (paper 65536 for ImageNet; 4096 as solo-learn uses for CIFAR-size data).</summary>
    public int OutputDim { get; init; } = 4096;
    /// <summary>Batch norm after the head's hidden layers (the authors' "use_bn_in_head", off by default).</summary>
    public bool BatchNormInHead { get; init; }
    /// <summary>Student temperature tau_s (paper 0.1).</summary>
    public double StudentTemperature { get; init; } = 0.1;
    /// <summary>Teacher temperature tau_t at the start of the warm-up (paper 0.04).</summary>
    public double WarmupTeacherTemperature { get; init; } = 0.04;
    /// <summary>Teacher temperature tau_t after the warm-up (paper 0.07).</summary>
    public double TeacherTemperature { get; init; } = 0.07;
    /// <summary>Fraction of training over which tau_t rises linearly (paper: the first 30 epochs; 30 of the code's
    /// default 100 epochs).</summary>
    public double TeacherTemperatureWarmupFraction { get; init; } = 0.3;
    /// <summary>Momentum m of the centre of teacher outputs (paper 0.9).</summary>
    public double CenterMomentum { get; init; } = 0.9;
    /// <summary>Teacher EMA momentum at the start, raised to <see cref="FinalTeacherMomentum"/> on a cosine. The paper's 0.996
    /// averages over ~250 steps, a sixth of a 1,400-step preset run; 0.99 (~100 steps), as the BYOL preset here.</summary>
    public double TeacherMomentum { get; init; } = 0.99;
    /// <summary>Teacher EMA momentum at the end (paper 1).</summary>
    public double FinalTeacherMomentum { get; init; } = 1.0;
    /// <summary>Fraction of training during which the head's last layer gets no updates (paper: the first epoch;
    /// as for SwAV's prototypes, 5 % of training in runs of a few epochs).</summary>
    public double FreezeLastLayerFraction { get; init; } = 0.05;
    /// <summary>Evaluate and export the teacher's encoder (the authors evaluate the teacher, which the paper
    /// finds better than the student throughout training); false uses the student's.</summary>
    public bool EvaluateTeacher { get; init; } = true;
    /// <summary>The crops: 2 global views (the only ones the teacher sees) plus 4 local 12-pixel crops.</summary>
    public MultiCropOptions MultiCrop { get; init; } = new();

    /// <summary>tau_t at <paramref name="progress"/>: linear from the warm-up value to the final one, then constant.</summary>
    public double TeacherTemperatureAt(TrainingProgress progress) =>
        TeacherTemperatureWarmupFraction > 0 && progress.Fraction < TeacherTemperatureWarmupFraction
            ? WarmupTeacherTemperature + (TeacherTemperature - WarmupTeacherTemperature) * progress.Fraction / TeacherTemperatureWarmupFraction
            : TeacherTemperature;
}

/// <summary>
/// DINO (Caron, Touvron, Misra, Jegou, Mairal, Bojanowski, Joulin 2021): self-distillation without
/// labels. A student (encoder + <see cref="DinoHead"/>) sees every crop; a teacher of the same
/// architecture, an EMA of the student (<see cref="MomentumTeacher"/>), sees only the global crops.
/// The student's softmax on each crop is trained to match the teacher's centred, sharpened softmax on
/// every other global crop (<see cref="DinoLoss"/>). The centre is a buffer, so checkpoints carry it.
/// </summary>
public sealed class Dino : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly DinoHead head;
    private readonly Encoder teacherEncoder;
    private readonly DinoHead teacherHead;
    // (1, K) running mean of the teacher outputs; a buffer (checkpointed), updated in place.
    private readonly Tensor center;
    private readonly MomentumTeacher teacher;
    private readonly DinoLoss loss;

    /// <param name="encoder">The student's encoder.</param>
    /// <param name="teacherEncoder">A second encoder of the same architecture; its weights are replaced by the student's.</param>
    /// <param name="options">Options; null for the defaults.</param>
    public Dino(Encoder encoder, Encoder teacherEncoder, DinoOptions? options = null) : base(nameof(Dino))
    {
        options ??= new DinoOptions();
        Validate(options);
        if (ReferenceEquals(encoder, teacherEncoder)) throw new ArgumentException("DINO's teacher needs its own encoder instance (same architecture, separate weights).");
        MultiCropCheck.CheckEncoder(encoder, options.MultiCrop, "methods.dino.multiCrop");
        this.encoder = encoder;
        this.teacherEncoder = teacherEncoder;
        head = new DinoHead(encoder.FeatureDim, options.HiddenDim, options.BottleneckDim, options.OutputDim, options.BatchNormInHead);
        teacherHead = new DinoHead(encoder.FeatureDim, options.HiddenDim, options.BottleneckDim, options.OutputDim, options.BatchNormInHead);
        center = zeros(1, options.OutputDim);
        loss = new DinoLoss(options.StudentTemperature);
        Options = options;
        RegisterComponents();
        teacher = new MomentumTeacher(options.TeacherMomentum, options.FinalTeacherMomentum);
        teacher.Track(encoder, teacherEncoder);
        teacher.Track(head, teacherHead);
    }

    public DinoOptions Options { get; }
    public string Name => "dino";
    public int ViewCount => Options.MultiCrop.ViewCount;
    /// <summary>The teacher's encoder when <see cref="DinoOptions.EvaluateTeacher"/>, else the student's.</summary>
    public Encoder Encoder => Options.EvaluateTeacher ? teacherEncoder : encoder;
    public nn.Module Module => this;
    /// <summary>The (1, K) centre buffer (for inspection and tests).</summary>
    public Tensor Center => center;

    /// <summary>The student's parameters; the teacher's move only by the EMA and are left out.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(teacher.ExcludeTargets(this.named_parameters()));

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        int globals = Options.MultiCrop.GlobalCount;
        if (batch.Views.Count != ViewCount)
            throw new ArgumentException($"DINO is set up for {ViewCount} crops per sample ({globals} global + {Options.MultiCrop.LocalCount} local), got {batch.Views.Count}.");
        bool trainLastLayer = progress.Fraction >= Options.FreezeLastLayerFraction;
        var features = batch.Views.Select(v => encoder.forward(v)).ToArray();
        var student = features.Select(h => head.forward(h, trainLastLayer)).ToArray();
        Tensor[] targets;
        using (no_grad())
            targets = batch.Views.Take(globals).Select(v => teacherHead.forward(teacherEncoder.forward(v))).ToArray();
        var value = loss.Compute(student, targets, center, Options.TeacherTemperatureAt(progress));
        // After the loss: the centre used in a step is the one from before it (as the reference does).
        DinoLoss.UpdateCenter(center, targets, Options.CenterMomentum);
        // The collapse monitor watches the student encoder's features of the first global crop, like the other
        // methods with batch-normalised heads.
        return new StepOutput(value, features[0]);
    }

    /// <summary>One EMA step of the teacher (encoder and head) towards the student.</summary>
    public void AfterOptimizerStep(TrainingProgress progress) => teacher.Update(progress);

    private static void Validate(DinoOptions o)
    {
        const string at = "methods.dino";
        if (o.HiddenDim <= 0 || o.BottleneckDim <= 0 || o.OutputDim <= 0)
            throw new ArgumentException($"{at}: hiddenDim ({o.HiddenDim}), bottleneckDim ({o.BottleneckDim}) and outputDim ({o.OutputDim}) must be positive.");
        foreach (var (v, key) in new[] { (o.StudentTemperature, "studentTemperature"), (o.WarmupTeacherTemperature, "warmupTeacherTemperature"), (o.TeacherTemperature, "teacherTemperature") })
            if (!(v > 0) || double.IsInfinity(v)) throw new ArgumentException($"{at}.{key} is {v}; temperatures must be positive.");
        foreach (var (v, key) in new[] { (o.TeacherTemperatureWarmupFraction, "teacherTemperatureWarmupFraction"), (o.FreezeLastLayerFraction, "freezeLastLayerFraction"), (o.CenterMomentum, "centerMomentum") })
            if (!(v >= 0 && v <= 1)) throw new ArgumentException($"{at}.{key} is {v}; it must lie in [0, 1].");
        if (!(o.TeacherMomentum >= 0 && o.TeacherMomentum <= 1 && o.FinalTeacherMomentum >= 0 && o.FinalTeacherMomentum <= 1))
            throw new ArgumentException($"{at}: teacherMomentum ({o.TeacherMomentum}) and finalTeacherMomentum ({o.FinalTeacherMomentum}) must lie in [0, 1].");
        o.MultiCrop.Validate($"{at}.multiCrop");
    }

    /// <summary>
    /// The DINO defaults on top of a data set's base preset (the image base preset, Runs/Presets.cs), from the
    /// authors' ResNet recipe (README of facebookresearch/dino: SGD, lr 0.03 per 256 samples, weight decay 1e-4
    /// kept constant): SGD with momentum 0.9 at lr 0.03 for the preset's batch of 256, weight decay 1e-4. Views:
    /// multi-crop with global crops over area 0.35-1, where the local crops' range ends (the ResNet recipe
    /// splits at 0.14 on 224-pixel images; <see cref="MultiCropOptions"/> explains 0.35 for 28 pixels).
    /// </summary>
    public static MethodSetup Preset(MethodSetup config) => config with
    {
        Augment = config.Augment with { CropScaleMin = config.Methods.Dino.MultiCrop.LocalScaleMax, CropScaleMax = 1.0 },
        Train = config.Train with
        {
            LearningRate = 0.03,
            Optimizer = config.Train.Optimizer with { Kind = OptimizerKind.Sgd, WeightDecay = 1e-4, Momentum = 0.9 },
        },
    };
}
