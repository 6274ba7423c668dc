using Pretext.Data;
using Pretext.Data.Video;
using Pretext.Encoders;
using Pretext.Runs;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Video;

/// <summary>Tiny clips and a tiny video run for the contract and method tests.</summary>
internal static class TestVideo
{
    /// <summary>4 frames of 32x32 (the smallest side Moving MNIST's 28-pixel digits move in), two widths, 8-wide features.</summary>
    public static readonly VideoEncoderConfig TinyEncoder = new() { Frames = 4, Size = 32, Widths = [4, 8], Dim = 8 };

    /// <summary><paramref name="n"/> Moving MNIST clips of random 28x28 "digits" (seed 0) at <see cref="TinyEncoder"/>'s shape.</summary>
    public static TensorDataset Clips(int n)
    {
        var rng = new Random(0);
        var bytes = new byte[20 * 28 * 28];
        rng.NextBytes(bytes);
        using var digits = tensor(bytes, [20, 28, 28], ScalarType.Byte);
        var options = new MovingMnistOptions { Frames = TinyEncoder.Frames, Size = TinyEncoder.Size };
        return MovingMnist.Generate(digits, Enumerable.Range(0, 20).Select(i => i % 10).ToArray(), n, 0, options, "tiny-clips").Dataset;
    }

    public static RunConfig TinyRun(string method) => new()
    {
        Method = method, Dataset = "clips",
        Encoder = new EncoderConfig { Kind = EncoderKind.FrameSequence, Precision = Pretext.Compute.Precision.Float32, Video = TinyEncoder },
        Train = new TrainerOptions
        {
            Epochs = 10, MaxSteps = 6, BatchSize = 16, LearningRate = 1e-3, Seed = 42, Threads = 1, CheckpointEvery = 3, KeepCheckpoints = 2,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 1e-4 },
        },
    };
}
