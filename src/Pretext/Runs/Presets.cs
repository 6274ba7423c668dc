using Pretext.Training;

namespace Pretext.Runs;

/// <summary>Ready-made run configurations: good defaults per data set matter more than knobs.</summary>
public static class Presets
{
    /// <summary>
    /// SimCLR on a 28x28 grey data set (Fashion-MNIST, MNIST), sized to finish pretraining in about a
    /// quarter of an hour on 2 CPU cores: a one-block-per-stage ResNet (widths 32-64-128-256) computing
    /// in bf16 with fp32 master weights and channels-last layout (about 1.6x the fp32 throughput here),
    /// batch 256, 6 epochs, LARS at lr 2.4 (twice SimCLR appendix B.1's square-root rule 0.075*sqrt(256):
    /// measured +1.2 points of linear-probe accuracy after one epoch here; short runs want larger steps), weight decay 1e-6, temperature 0.2, crop scale 0.2-1 (28-pixel images lose
    /// their object below that), brightness/contrast jitter in place of colour jitter (grey images).
    /// </summary>
    public static RunConfig SimClrSmallGrey(string dataset = "fashion-mnist", int threads = 2) => new()
    {
        Method = "simclr",
        Dataset = dataset,
        Encoder = new EncoderConfig(),
        Methods = new Methods.MethodSettings { SimClr = new Methods.SimClrOptions { Temperature = 0.2, ProjectionDim = 128 } },
        Augment = new ImageAugmentationConfig
        {
            Mean = dataset == "mnist" ? [0.1307f] : [0.2860f],
            Std = dataset == "mnist" ? [0.3081f] : [0.3530f],
        },
        Train = new TrainerOptions
        {
            Epochs = 6, BatchSize = 256, LearningRate = 2.4, WarmupEpochs = 0.5, Seed = 42, Threads = threads,
            CheckpointEvery = 100, KeepCheckpoints = 3,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.Lars, WeightDecay = 1e-6, Momentum = 0.9 },
        },
    };

    /// <summary>The --fast smoke run: same recipe on 12,800 training images for 2 epochs (100 steps), short baselines.</summary>
    public static RunConfig Fast(RunConfig full) => full with
    {
        Train = full.Train with { Epochs = 2, CheckpointEvery = 50 },
        Evaluation = full.Evaluation with { Supervised = full.Evaluation.Supervised with { Steps = 100, MinEpochs = 2 } },
    };

    /// <summary>
    /// Pretraining budget of the --fast run in minutes: its 100 steps take about a minute with native bf16, but 167 s
    /// on an AVX2-only 2-core CPU in fp32, which put the whole smoke run at 5m24s; this cuts the steps there so it
    /// stays under 5 minutes, and never lengthens the run. 1.5 minutes gave 4m08s and, on a day the host ran its
    /// steps 26 % slower than timed, 4m35s; 1 minute keeps a margin for such days.
    /// </summary>
    public const double FastPretrainMinutes = 1.0;

    /// <summary>Training images the --fast run uses.</summary>
    public const int FastTrainSamples = 12_800;
}
