using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pretext.Compute;
using Pretext.Evaluation;
using Pretext.Runs;
using TorchSharp;

namespace Pretext.Bench;

/// <summary>
/// Embedding throughput of the quickstart encoder (the simclr fashion-mnist preset's) against its training throughput, in one
/// process: <see cref="Features.Extract"/>, what `pretext embed` and the evaluation stage run (eval mode, no_grad, batches of
/// the image modality's 512, the preset's precision: bf16 where the CPU has it natively), over --images Fashion-MNIST
/// training images, then --steps SimCLR training steps through the real loop (as the step bench). Prints one JSON line with
/// both rates and their ratio (the target: at least 10), and the seconds spent gathering and standardising the batches
/// alone (the data preparation the extraction does between forward passes).
///   Pretext.Bench embed-speed [--images 10000] [--batch 512] [--train-batch 256] [--steps 6] [--warmup 2] [--threads 2]
///       [--precision Auto|BFloat16|Float32] [--layout ChannelsLast|Contiguous]
/// </summary>
internal static class EmbedSpeedBench
{
    public static int Run(BenchArgs a)
    {
        int threads = a.Int("threads", 2), images = a.Int("images", 10000), batch = a.Int("batch", 512);
        int trainBatch = a.Int("train-batch", 256), steps = a.Int("steps", 6), warmup = a.Int("warmup", 2);
        torch.set_num_threads(threads);
        var preset = Presets.For("simclr", "fashion-mnist", threads);
        var cfg = preset with
        {
            Encoder = preset.Encoder with
            {
                Precision = Enum.Parse<Precision>(a.Get("precision", preset.Encoder.Precision.ToString()), true),
                Layout = Enum.Parse<MemoryLayout>(a.Get("layout", preset.Encoder.Layout.ToString()), true),
            },
            Train = preset.Train with { BatchSize = trainBatch, MaxSteps = steps + warmup, Epochs = 1000, CheckpointEvery = 0 },
        };
        var (data, source) = StepBench.LoadData(Math.Max(trainBatch, batch));
        if (images < 1 || images > data.Count) { Console.Error.WriteLine($"error: --images must be in 1..{data.Count}."); return 2; }
        using var subset = data.Subset(Enumerable.Range(0, images).Select(i => (long)i).ToArray(), "embed");
        var normalize = cfg.Augment.BuildNormalize();

        double embedSeconds, prepSeconds;
        using (var method = Pretraining.CreateMethod(cfg))
        {
            using (var warm = data.Subset(Enumerable.Range(0, Math.Min(batch, images)).Select(i => (long)i).ToArray()))
                Features.Extract(method.Encoder, warm, normalize, batch).Dispose();
            var clock = Stopwatch.StartNew();
            Features.Extract(method.Encoder, subset, normalize, batch).Dispose();
            embedSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            for (long start = 0; start < images; start += batch)
            {
                using var scope = torch.NewDisposeScope();
                Features.Batch(subset, start, Math.Min(batch, images - start), normalize);
            }
            prepSeconds = clock.Elapsed.TotalSeconds;
        }
        var stepMs = StepBench.MeasureSteps(cfg, data, warmup);
        double trainSps = trainBatch * 1000.0 / stepMs[stepMs.Count / 2];
        double embedIps = images / embedSeconds;
        // MFU of both sides against the same measured peak (the peer runner's): embedding is one forward pass an image, a
        // training sample two views forward and backward (ModelFlops), so the ratio can only exceed their FLOP ratio by the
        // inference path's better use of the hardware.
        var precision = ComputeOptions.Resolve(cfg.Encoder.Precision);
        var enc = cfg.Encoder;
        double forwardFlops = ModelFlops.ResNetForward(enc.InChannels, enc.ImageSize, enc.Widths, enc.Blocks).Total;
        double trainFlops = ModelFlops.SimClrTrainingPerImage(enc.InChannels, enc.ImageSize, enc.Widths, enc.Blocks, enc.Widths[^1], 128); // the SimCLR preset's head: d -> d -> 128
        double peak = PeerBench.GemmPeak(precision, cfg.Encoder.Layout, threads);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = "embed_speed",
            embed_images_per_second = Math.Round(embedIps, 1),
            train_samples_per_second = Math.Round(trainSps, 1),
            ratio = Math.Round(embedIps / trainSps, 2),
            target_ratio = 10,
            flop_ratio = Math.Round(trainFlops / forwardFlops, 2),
            peak_gflops = Math.Round(peak, 1),
            embed_mfu = Math.Round(embedIps * forwardFlops / 1e9 / peak, 3),
            train_mfu = Math.Round(trainSps * trainFlops / 1e9 / peak, 3),
            embed_seconds = Math.Round(embedSeconds, 2),
            data_preparation_seconds = Math.Round(prepSeconds, 3),
            images, batch, train_batch = trainBatch, steps_measured = stepMs.Count, threads,
            widths = string.Join("-", cfg.Encoder.Widths), blocks = string.Join("-", cfg.Encoder.Blocks),
            precision = ComputeOptions.Resolve(cfg.Encoder.Precision).ToString(), layout = cfg.Encoder.Layout.ToString(),
            data = source, load_average = Machine.LoadAverage(),
        }));
        data.Dispose();
        return 0;
    }
}
