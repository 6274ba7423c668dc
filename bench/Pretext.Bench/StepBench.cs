using System.Globalization;
using System.Text.Json;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Training;
using TorchSharp;

namespace Pretext.Bench;

/// <summary>
/// Throughput of the SimCLR training step through the real training loop (augmentation with background
/// prefetch, two views, encoder, projection head, NT-Xent, backward, optimiser). Prints one JSON line.
///   dotnet run -c Release --project bench/Pretext.Bench -- [--widths 32,64,128,256] [--blocks 1,1,1,1]
///       [--precision Auto|BFloat16|Float32] [--layout ChannelsLast|Contiguous] [--batch 256] [--threads 2] [--steps 20] [--warmup 3]
/// </summary>
internal static class StepBench
{
    public static int Run(BenchArgs a)
    {
        string Get(string k, string d) => a.Get(k, d);
        int[] Ints(string s) => BenchArgs.Ints(s);
        int threads = int.Parse(Get("threads", "2"), CultureInfo.InvariantCulture);
        int batch = int.Parse(Get("batch", "256"), CultureInfo.InvariantCulture);
        int steps = int.Parse(Get("steps", "20"), CultureInfo.InvariantCulture);
        int warmup = int.Parse(Get("warmup", "3"), CultureInfo.InvariantCulture);
        torch.set_num_threads(threads);

        var preset = Presets.For("simclr", "fashion-mnist", threads);
        var cfg = preset with
        {
            Encoder = preset.Encoder with
            {
                Widths = Ints(Get("widths", "32,64,128,256")), Blocks = Ints(Get("blocks", "1,1,1,1")),
                Precision = Enum.Parse<Precision>(Get("precision", "Auto"), true), Layout = Enum.Parse<MemoryLayout>(Get("layout", "ChannelsLast"), true),
            },
            Train = preset.Train with { BatchSize = batch, MaxSteps = steps + warmup, Epochs = 1000, CheckpointEvery = 0 },
        };

        var (data, source) = LoadData(batch);
        var stepMs = MeasureSteps(cfg, data, warmup);
        double median = stepMs[stepMs.Count / 2];
        long peakKb = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).FirstOrDefault();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = "simclr_step",
            samples_per_second = Math.Round(batch * 1000.0 / median, 1),
            step_ms = Math.Round(median, 1),
            peak_rss_mb = Math.Round(peakKb / 1024.0, 0),
            threads, batch,
            widths = string.Join("-", cfg.Encoder.Widths), blocks = string.Join("-", cfg.Encoder.Blocks),
            precision = ComputeOptions.Resolve(cfg.Encoder.Precision).ToString(), layout = cfg.Encoder.Layout.ToString(),
            steps_measured = stepMs.Count, data = source,
            // The process's own CPU time (all its threads), so `peer` can tell how much of the machine other processes took meanwhile.
            cpu_seconds = Math.Round(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, 2),
        }));
        data.Dispose();
        return 0;
    }

    /// <summary>Real Fashion-MNIST training images when available (the quickstart's data), else the same shape of random pixels.</summary>
    public static (TensorDataset Data, string Source) LoadData(int batch)
    {
        try
        {
            using var f = new DatasetFetcher(new DatasetFetcherOptions { Sources = DataSources.Cache | DataSources.SystemPackage });
            return (f.LoadSplit("fashion-mnist", DataSplit.Train), "fashion-mnist");
        }
        catch (IOException)
        {
            return (new TensorDataset("random", torch.randint(0, 256, [Math.Max(4096, batch * 2), 1, 28, 28], dtype: torch.ScalarType.Byte)), "random");
        }
    }

    /// <summary>
    /// Trains <paramref name="cfg"/>'s SimCLR for its <see cref="TrainerOptions.MaxSteps"/> steps through the real loop and returns
    /// the step times in ms after the first <paramref name="warmup"/>, sorted.
    /// </summary>
    public static List<double> MeasureSteps(RunConfig cfg, IDataset data, int warmup)
    {
        using var method = Pretraining.CreateMethod(cfg);
        using var optimizer = new Pretext.Training.Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        var trainer = new Trainer(method, new UnlabelledView(data), MethodRegistry.Get("simclr").Views(cfg.Setup), cfg.Train);
        var stepMs = new List<double>();
        int batch = cfg.Train.BatchSize;
        trainer.Run(optimizer, 0, null, r => { if (r.Step > warmup) stepMs.Add(1000.0 * batch / r.SamplesPerSecond); });
        stepMs.Sort();
        return stepMs;
    }
}
