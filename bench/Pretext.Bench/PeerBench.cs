using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Pretext's SimCLR step against the plain PyTorch loop of bench/peer/simclr_peer.py, alternating in one session: each round
/// runs the step bench (this executable's `step` mode) and the peer (Debian's PyTorch through /usr/bin/python3) as child
/// processes with the same encoder layout, batch, precision, layout and threads, the order swapped every round. A run is kept
/// only when other processes took at most --max-other-cpu of the machine while it ran (<see cref="CpuShare"/>). Prints a line
/// per run and a final JSON line: medians, the Pretext / peer throughput ratio, peak memory, and MFU of each side against
/// the GEMM peak each reaches at that precision (measured in this process with TorchSharp, in a python3 child with PyTorch).
///   Pretext.Bench peer [--rounds 3] [--precision Float32|BFloat16] [--layout ChannelsLast|Contiguous] [--widths 32,64,128,256]
///       [--blocks 2,2,2,2] [--batch 256] [--threads 2] [--steps 12] [--warmup 3] [--workers 1] [--max-other-cpu 0.05]
///       [--python /usr/bin/python3] [--peer-precision P] [--peer-layout L] [--pretext-malloc auto|system|PATH] [--peer-malloc system|auto|PATH]
/// The malloc options preload an allocator into that side's child (LD_PRELOAD): auto is tcmalloc where installed, as `./pretext` does.
/// --peer-precision and --peer-layout run the peer with settings of its own (default: Pretext's), to compare against the peer's
/// best rather than its like-for-like run.
/// </summary>
internal static class PeerBench
{
    /// <summary>Debian's python3, where apt-get install python3-torch puts PyTorch (the python3 first on PATH may be another one).</summary>
    public const string DefaultPython = "/usr/bin/python3";

    public static int Run(BenchArgs a)
    {
        int rounds = a.Int("rounds", 3), threads = a.Int("threads", 2), batch = a.Int("batch", 256);
        int steps = a.Int("steps", 12), warmup = a.Int("warmup", 3), workers = a.Int("workers", 1);
        double maxOther = a.Double("max-other-cpu", 0.05);
        string widths = a.Get("widths", "32,64,128,256"), blocks = a.Get("blocks", "2,2,2,2");
        var precision = ComputeOptions.Resolve(Enum.Parse<Precision>(a.Get("precision", "Float32"), true));
        var layout = Enum.Parse<MemoryLayout>(a.Get("layout", "ChannelsLast"), true);
        var peerPrecision = ComputeOptions.Resolve(Enum.Parse<Precision>(a.Get("peer-precision", precision.ToString()), true));
        var peerLayout = Enum.Parse<MemoryLayout>(a.Get("peer-layout", layout.ToString()), true);
        if (rounds < 1 || !(maxOther >= 0 && maxOther <= 1)) return Fail("--rounds must be at least 1 and --max-other-cpu in [0, 1] (a share of the machine).");

        string python = a.Get("python", DefaultPython);
        string? pretextMalloc = Machine.Allocator(a.Get("pretext-malloc", "auto")), peerMalloc = Machine.Allocator(a.Get("peer-malloc", "system"));
        string script = Path.Combine(Machine.RepositoryRoot(), "bench", "peer", "simclr_peer.py");
        if (!File.Exists(script)) return Fail($"The peer script is missing: {script}.");
        if (PythonTorchVersion(python) is not string torchVersion)
            return Fail($"{python} is missing or cannot import torch. Install Debian's PyTorch: apt-get install python3-torch libopenblas0-pthread " +
                        "(OpenBLAS, which python3-torch recommends, runs its fp32 matrix products; without it Debian's reference BLAS does, tens of times slower).");

        double flopsPerImage = ModelFlops.SimClrTrainingPerImage(1, 28, BenchArgs.Ints(widths), BenchArgs.Ints(blocks), BenchArgs.Ints(widths)[^1], 128);
        string[] shape = ["--widths", widths, "--blocks", blocks, "--batch", Inv(batch), "--threads", Inv(threads), "--steps", Inv(steps), "--warmup", Inv(warmup)];
        string[] pretextArgs = ["step", .. shape, "--precision", precision.ToString(), "--layout", layout.ToString()];
        string[] peerArgs = [script, .. shape, "--precision", peerPrecision.ToString(), "--layout", peerLayout.ToString(), "--workers", Inv(workers)];

        string peerSettings = peerPrecision == precision && peerLayout == layout ? "" : $" (peer: {peerPrecision} {peerLayout})";
        Console.WriteLine($"peer: PyTorch {torchVersion} against Pretext, {precision} {layout}{peerSettings}, widths {widths}, blocks {blocks}, batch {batch}, {threads} threads, " +
                          $"{rounds} rounds; runs where other processes took more than {maxOther:P1} of the machine are discarded. Load average {Machine.LoadAverage()}.");
        double pretextPeak = GemmPeak(precision, layout, threads);
        var peerGemm = RunChild(python, [script, "--gemm", "--precision", peerPrecision.ToString(), "--layout", peerLayout.ToString(), "--threads", Inv(threads)], threads);
        double peerPeak = peerGemm.Json?["gflops"]?.GetValue<double>() ?? double.NaN;
        string blas = peerGemm.Json?["blas"]?.GetValue<string>() ?? "unknown";
        Console.WriteLine($"GEMM peak ({threads} threads): Pretext/TorchSharp {pretextPeak:F1} GFLOP/s ({precision}), PyTorch {peerPeak:F1} GFLOP/s ({peerPrecision}; BLAS: {blas}).");
        if (peerPrecision == Precision.Float32 && !blas.Contains("openblas", StringComparison.OrdinalIgnoreCase))
            Console.WriteLine("warning: the peer's fp32 linear layers run on Debian's reference BLAS (apt-get install libopenblas0-pthread gives PyTorch OpenBLAS); " +
                              "its fp32 figures then understate what a PyTorch user gets.");

        var kept = new Dictionary<string, List<JsonObject>> { ["pretext"] = [], ["peer"] = [] };
        var discarded = new List<JsonObject>();
        for (int r = 1; r <= rounds; r++)
        {
            var order = r % 2 == 1 ? new[] { "pretext", "peer" } : ["peer", "pretext"];
            foreach (var side in order)
            {
                var run = side == "pretext"
                    ? RunChild(Environment.ProcessPath!, SelfArguments(pretextArgs), preload: pretextMalloc)
                    : RunChild(python, peerArgs, threads, peerMalloc);
                if (run.Json is null)
                {
                    Console.WriteLine($"round {r} {side}: failed (exit {run.ExitCode}):");
                    foreach (var line in run.Lines.TakeLast(20)) Console.WriteLine("  " + line);
                    return 1;
                }
                double cpu = run.Json["cpu_seconds"]?.GetValue<double>() ?? double.NaN;
                double others = CpuShare.Others(run.Before, run.After, cpu + run.ObserverCpuSeconds);
                bool keep = CpuShare.Keep(others, maxOther);
                run.Json["round"] = r;
                run.Json["side"] = side;
                run.Json["others_cpu_share"] = Math.Round(others, 4);
                run.Json["wall_seconds"] = Math.Round(run.WallSeconds, 1);
                Console.WriteLine($"round {r} {side,-7}: {Val(run.Json, "samples_per_second"),7} samples/s, step {Val(run.Json, "step_ms")} ms, peak RSS {Val(run.Json, "peak_rss_mb")} MB, " +
                                  $"{run.WallSeconds:F0} s; others took {others:P1} of the machine: " +
                                  (keep ? "kept" : $"discarded (more than {maxOther:P1})"));
                (keep ? kept[side] : discarded).Add(run.Json);
            }
        }

        JsonObject Side(string side, double peak)
        {
            var runs = kept[side];
            double? sps = Median(runs.Select(j => j["samples_per_second"]!.GetValue<double>()));
            return new JsonObject
            {
                ["runs_kept"] = runs.Count,
                ["samples_per_second"] = sps is double s ? Math.Round(s, 1) : null,
                ["samples_per_second_runs"] = new JsonArray(runs.Select(j => (JsonNode)j["samples_per_second"]!.GetValue<double>()).ToArray()),
                ["step_ms"] = Median(runs.Select(j => j["step_ms"]!.GetValue<double>())) is double m ? Math.Round(m, 1) : null,
                ["peak_rss_mb"] = runs.Count > 0 ? runs.Max(j => j["peak_rss_mb"]!.GetValue<double>()) : null,
                ["gemm_peak_gflops"] = Math.Round(peak, 1),
                ["mfu"] = sps is double s2 && peak > 0 ? Math.Round(s2 * flopsPerImage / (peak * 1e9), 4) : null,
            };
        }
        var pretext = Side("pretext", pretextPeak);
        var peer = Side("peer", peerPeak);
        double? ratio = pretext["samples_per_second"]?.GetValue<double>() is double ps && peer["samples_per_second"]?.GetValue<double>() is double qs ? ps / qs : null;
        Console.WriteLine(new JsonObject
        {
            ["bench"] = "peer",
            ["ratio"] = ratio is double q ? Math.Round(q, 3) : null,
            ["pretext"] = pretext,
            ["peer"] = peer,
            ["precision"] = precision.ToString(), ["layout"] = layout.ToString(),
            ["peer_precision"] = peerPrecision.ToString(), ["peer_layout"] = peerLayout.ToString(), ["widths"] = widths.Replace(',', '-'), ["blocks"] = blocks.Replace(',', '-'),
            ["batch"] = batch, ["threads"] = threads, ["rounds"] = rounds, ["runs_discarded"] = discarded.Count,
            ["max_other_cpu"] = maxOther, ["training_gflop_per_image"] = Math.Round(flopsPerImage / 1e9, 4),
            ["torch"] = torchVersion, ["peer_blas"] = blas, ["pretext_malloc"] = pretextMalloc ?? "glibc", ["peer_malloc"] = peerMalloc ?? "glibc", ["load_average_end"] = Machine.LoadAverage(),
        }.ToJsonString());
        return ratio is null ? 1 : 0;
    }

    /// <summary>
    /// A child run: its last JSON line, all its output, the machine's CPU times around it and this process's own CPU meanwhile.
    /// The child reports its CPU time (with its reaped DataLoader workers) just before it exits, so what it spends after that
    /// counts as others' (Python with torch takes about 0.4 s of CPU to shut down, measured with /usr/bin/time): under 1 % of
    /// the machine over a run of the default length, well inside the default 5 % threshold.
    /// </summary>
    private sealed record ChildRun(JsonObject? Json, List<string> Lines, int ExitCode, MachineCpuTimes Before, MachineCpuTimes After, double ObserverCpuSeconds, double WallSeconds);

    private static ChildRun RunChild(string file, IEnumerable<string> args, int? blasThreads = null, string? preload = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        // The allocator of this side (null: glibc's malloc); the parent's own LD_PRELOAD is never passed on implicitly.
        if (preload is null) psi.Environment.Remove("LD_PRELOAD"); else psi.Environment["LD_PRELOAD"] = preload;
        // OpenBLAS's pthread build (what python3-torch's recommends pull in) sizes its own pool from the cores, not from
        // torch.set_num_threads: hold it to the run's threads as well.
        if (blasThreads is int n) psi.Environment["OPENBLAS_NUM_THREADS"] = n.ToString(CultureInfo.InvariantCulture);
        var self = Process.GetCurrentProcess();
        var ownBefore = self.TotalProcessorTime;
        var before = MachineCpuTimes.Read() ?? throw new PlatformNotSupportedException("peer needs /proc/stat (Linux) to account for other processes' CPU.");
        var clock = Stopwatch.StartNew();
        var (process, lines) = Machine.StartCapturing(psi);
        process.WaitForExit();
        var after = MachineCpuTimes.Read()!;
        self.Refresh();
        double own = (self.TotalProcessorTime - ownBefore).TotalSeconds;
        JsonObject? json = null;
        lock (lines)
            foreach (var line in lines)
                if (line.StartsWith('{') && JsonNode.Parse(line) is JsonObject o) json = o;
        return new ChildRun(process.ExitCode == 0 ? json : null, lines, process.ExitCode, before, after, own, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The arguments that run this bench again with <paramref name="args"/> (through `dotnet Pretext.Bench.dll` when started that way).</summary>
    private static IEnumerable<string> SelfArguments(string[] args) =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? [typeof(PeerBench).Assembly.Location, .. args] : args;

    /// <summary>torch.__version__ of <paramref name="python"/>, or null when it is missing or cannot import torch.</summary>
    internal static string? PythonTorchVersion(string python)
    {
        if (!File.Exists(python)) return null;
        var (process, lines) = Machine.StartCapturing(new ProcessStartInfo(python, ["-c", "import torch; print(torch.__version__)"])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
        process.WaitForExit();
        lock (lines) return process.ExitCode == 0 ? lines.FirstOrDefault(l => !l.StartsWith("stderr: ", StringComparison.Ordinal))?.Trim() : null;
    }

    /// <summary>
    /// TorchSharp's best dense rate at <paramref name="precision"/> in GFLOP/s, the same two kernels as the peer's --gemm mode: a
    /// 1024-square matmul and a 3x3 convolution of the widest stage's shape (64 x 256 x 7 x 7), each for a second.
    /// </summary>
    public static double GemmPeak(Precision precision, MemoryLayout layout, int threads)
    {
        set_num_threads(threads);
        var compute = new ComputeOptions(precision, layout);
        var dtype = compute.ComputeType;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(1024, 1024).to(dtype);
        var y = randn(1024, 1024).to(dtype);
        var img = compute.ToLayout(randn(64, 256, 7, 7).to(dtype));
        var w = compute.ToLayout(randn(256, 256, 3, 3).to(dtype));
        double mm = Rate(() => x.matmul(y).Dispose(), 2.0 * 1024 * 1024 * 1024, 1.0);
        double conv = Rate(() => nn.functional.conv2d(img, w, padding: [1, 1]).Dispose(), 2.0 * 64 * 256 * 256 * 9 * 7 * 7, 1.0);
        return Math.Max(mm, conv);
    }

    private static double Rate(Action kernel, double flops, double seconds)
    {
        kernel();
        int n = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds) { kernel(); n++; }
        return flops * n / clock.Elapsed.TotalSeconds / 1e9;
    }

    private static double? Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? null : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static string Val(JsonObject o, string key) => o[key]?.ToJsonString() ?? "?";
    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }
}
