using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pretext.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Issue 24's soak: a long pretraining run of a small model in this process (SimCLR, a 2-stage ResNet of widths 8 and 16 on 16 x 16
/// crops of a generated image folder, batch 8, a checkpoint every --checkpoint-every steps, so checkpoint writes, metrics appends
/// and diagnostics all recur), sampling at every --every steps the process's resident memory (/proc/self/status VmRSS), the
/// number of live tensors (TorchSharp's count of tensors created and not yet disposed, all threads) and the managed heap.
/// After a warm-up (--warmup steps), resident memory may grow less than --max-growth (5 %: the mean of the last tenth of the
/// samples against the mean of the first tenth after warm-up) and the live tensor count must not rise (its largest value after
/// warm-up equals the value at the end of warm-up). Exit code 0 when both hold.
///
///   soak [--steps 20000] [--warmup 1000] [--every 100] [--checkpoint-every 1000] [--threads 1] [--max-growth 0.05]
///        [--run-dir runs/bench-soak] [--out runs/bench-soak/soak.json]
/// </summary>
internal static class SoakBench
{
    private sealed record Sample(long Step, double Seconds, double ResidentMb, long LiveTensors, double ManagedMb);

    public static int Run(BenchArgs a)
    {
        int steps = a.Int("steps", 20000), warmup = a.Int("warmup", 1000), every = a.Int("every", 100), threads = a.Int("threads", 1);
        int checkpointEvery = a.Int("checkpoint-every", 1000);
        double maxGrowth = a.Double("max-growth", 0.05);
        if (warmup >= steps) throw new ArgumentException($"--warmup ({warmup}) must be below --steps ({steps}).");
        string runDir = Path.GetFullPath(a.Get("run-dir", Path.Combine("runs", "bench-soak")));
        string output = a.Get("out", Path.Combine(runDir, "soak.json"));
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        string data = Path.Combine(runDir, "images");
        ChaosBench.MakeImages(data);

        var config = new PretrainRequest
        {
            Dataset = data, Method = "simclr", MaxSteps = steps, Epochs = 1_000_000, BatchSize = 8, ImageSize = 16, Widths = [8, 16], Blocks = [1, 1],
            Threads = threads, CheckpointEvery = checkpointEvery, KeepCheckpoints = 2,
        }.Resolve();
        set_num_threads(threads);
        string load = Machine.LoadAverage();
        var observer = new Sampler(every);
        using (var train = PretrainRequest.TrainingSamples(config, null, null))
            Pretraining.Run(config, train, Path.Combine(runDir, "run"), resume: false, observer);
        var samples = observer.Samples;

        var after = samples.Where(s => s.Step >= warmup).ToList();
        if (after.Count < 20) throw new InvalidOperationException($"only {after.Count} samples after warm-up; lower --every or raise --steps.");
        int tenth = Math.Max(1, after.Count / 10);
        double early = after.Take(tenth).Average(s => s.ResidentMb), late = after.TakeLast(tenth).Average(s => s.ResidentMb);
        double growth = late / early - 1;
        long liveAtWarmup = after[0].LiveTensors, liveMax = after.Max(s => s.LiveTensors), liveMin = after.Min(s => s.LiveTensors);
        bool memoryFlat = growth < maxGrowth, tensorsFlat = liveMax <= liveAtWarmup;
        double seconds = samples[^1].Seconds;

        Console.WriteLine(FormattableString.Invariant($"{steps} steps in {seconds:F0} s ({steps / seconds:F0} steps/s), load average {load} -> {Machine.LoadAverage()}"));
        Console.WriteLine("| step | seconds | resident MB | live tensors | managed heap MB |");
        Console.WriteLine("|---|---|---|---|---|");
        int stride = Math.Max(1, samples.Count / 20);
        foreach (var s in samples.Where((_, i) => i % stride == 0 || i == samples.Count - 1))
            Console.WriteLine(FormattableString.Invariant($"| {s.Step} | {s.Seconds:F0} | {s.ResidentMb:F1} | {s.LiveTensors} | {s.ManagedMb:F1} |"));
        Console.WriteLine(FormattableString.Invariant(
            $"resident memory after warm-up ({warmup} steps): first tenth {early:F1} MB, last tenth {late:F1} MB, growth {growth:P2} (limit {maxGrowth:P0}): {(memoryFlat ? "flat" : "GROWS")}"));
        Console.WriteLine(FormattableString.Invariant(
            $"live tensors after warm-up: {liveAtWarmup} at step {after[0].Step}, between {liveMin} and {liveMax} since: {(tensorsFlat ? "flat" : "RISES")}"));

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(new
        {
            bench = "soak", steps, warmup, every, threads, checkpoint_every = checkpointEvery, seconds = Math.Round(seconds),
            resident_mb_early = Math.Round(early, 1), resident_mb_late = Math.Round(late, 1), resident_growth = Math.Round(growth, 4), memory_flat = memoryFlat,
            live_tensors_at_warmup = liveAtWarmup, live_tensors_min = liveMin, live_tensors_max = liveMax, tensors_flat = tensorsFlat,
            load_average_start = load, load_average_end = Machine.LoadAverage(), samples,
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"Results in {output}");
        return memoryFlat && tensorsFlat ? 0 : 1;
    }

    /// <summary>Reads the process's memory and live tensors every <c>every</c> steps, on the training thread (Report is called there, after each step).</summary>
    private sealed class Sampler(int every) : IRunObserver
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        public List<Sample> Samples { get; } = [];

        public void Report(long done, string? status = null)
        {
            if (done == 0 || done % every != 0) return;
            double resident = Machine.StatusMegabytes(Environment.ProcessId, "VmRSS:") ?? double.NaN;
            Samples.Add(new Sample(done, Math.Round(clock.Elapsed.TotalSeconds, 2), resident, Tensor.TotalCount, Math.Round(GC.GetTotalMemory(false) / 1048576.0, 2)));
        }

        public void BeginStage(string name, long total) => Console.WriteLine(name);
        public void EndStage(string? summary = null) => Console.WriteLine(summary);
        public void Message(string text) => Console.WriteLine(text);
    }
}
