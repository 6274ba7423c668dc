using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pretext.Data;
using Pretext.Data.Tables;
using Pretext.Runs;

namespace Pretext.Bench;

/// <summary>
/// `pretext score` and `pretext cluster` on a CSV file of --rows rows (issue #22), each the real CLI in a child process reading the file in
/// chunks (--stream Always): rows per second and peak memory (the child's VmHWM from /proc, polled every 100 ms), one JSON line each.
///   Pretext.Bench tables-stream [--rows 1000000] [--noise 0.5] [--seed 0] [--method dae] [--pretrain-steps 100] [--pretrain-rows 20000]
///       [--threads 1] [--checkpoint CKPT] [--max-reference 10000] [--run-dir runs/bench-tables-stream]
///       [--out runs/bench-tables-stream/results.jsonl] [--pretext src/Pretext.Cli/bin/Release/net10.0/linux-x64/pretext] [--only score|cluster]
/// The file: row i is a row of UCI letter recognition (catalogue `letter`, all 20,000 rows, the letter column dropped) drawn uniformly with
/// a generator seeded by --seed, plus Gaussian noise of standard deviation --noise on each of its 16 integer features, written with two
/// decimals; ids r0..r(N-1), no label. Without --checkpoint a table MLP (the preset's 256-256-256) is pretrained with --method for
/// --pretrain-steps on the file's first --pretrain-rows rows (a separate file) and reused from --run-dir.
/// </summary>
internal static class TableStreamBench
{
    public static int Run(BenchArgs a)
    {
        long rows = long.Parse(a.Get("rows", "1000000"), CultureInfo.InvariantCulture);
        int threads = a.Int("threads", 1), seed = a.Int("seed", 0);
        double noise = a.Double("noise", 0.5);
        string runDir = a.Get("run-dir", Path.Combine("runs", "bench-tables-stream"));
        string output = a.Get("out", Path.Combine(runDir, "results.jsonl"));
        string exe = a.Get("pretext", Path.Combine(Machine.RepositoryRoot(), "src", "Pretext.Cli", "bin", "Release", "net10.0", "linux-x64", "pretext"));
        if (!File.Exists(exe)) throw new FileNotFoundException($"'{exe}' does not exist; build the CLI (dotnet build -c Release) or give --pretext.");
        Directory.CreateDirectory(runDir);

        string csv = Path.Combine(runDir, string.Create(CultureInfo.InvariantCulture, $"letter-noisy-{rows}-seed{seed}.csv"));
        string sample = Path.Combine(runDir, "pretrain-sample.csv");
        if (!File.Exists(csv))
        {
            var watch = Stopwatch.StartNew();
            Write(csv, rows, noise, seed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Wrote {rows:N0} rows to {csv} ({new FileInfo(csv).Length / 1e6:F0} MB) in {watch.Elapsed.TotalSeconds:F0} s."));
        }
        string checkpoint = a.Has("checkpoint") ? a.Get("checkpoint", "") : Pretrain(a, csv, sample, runDir, threads);

        var results = new List<string>();
        foreach (var command in new[] { "score", "cluster" })
        {
            if (a.Has("only") && a.Get("only", "") != command) continue;
            string outFile = Path.Combine(runDir, command + ".csv");
            List<string> args = [command, "--checkpoint", checkpoint, "--dataset", csv, "--out", outFile, "--stream", "Always",
                "--threads", threads.ToString(CultureInfo.InvariantCulture), "--max-reference", a.Get("max-reference", "10000")];
            var run = RunChild(exe, args);
            long written = File.Exists(outFile) ? File.ReadLines(outFile).LongCount() - 1 : 0;
            var line = JsonSerializer.Serialize(new
            {
                bench = "tables-stream", command, rows, written, exit_code = run.ExitCode, seconds = Math.Round(run.Seconds, 1),
                rows_per_second = Math.Round(rows / run.Seconds), peak_rss_mb = Math.Round(run.PeakMb), threads, max_reference = int.Parse(a.Get("max-reference", "10000"), CultureInfo.InvariantCulture),
                load_average_start = run.LoadStart, load_average_end = run.LoadEnd, checkpoint, file = csv, file_mb = Math.Round(new FileInfo(csv).Length / 1e6),
                args = string.Join(' ', args),
            });
            Console.WriteLine(line);
            if (run.ExitCode != 0) Console.Error.WriteLine(string.Join('\n', run.Lines.TakeLast(20)));
            results.Add(line);
        }
        File.AppendAllLines(output, results);
        Console.WriteLine($"Results appended to {output}");
        return results.All(r => r.Contains("\"exit_code\":0", StringComparison.Ordinal)) ? 0 : 1;
    }

    /// <summary>The noisy letter rows, written as they are drawn (the file is never held in memory).</summary>
    private static void Write(string path, long rows, double noise, int seed)
    {
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions());
        var source = fetcher.Get("letter").Paths.Values.First();
        var letters = File.ReadLines(source).Where(l => l.Length > 0).Select(l => l.Split(',')[1..].Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var names = DataCatalog.Letter.Table!.Names[1..];
        var rng = new Random(seed);
        var c = CultureInfo.InvariantCulture;
        string temp = path + ".tmp";
        using (var w = new StreamWriter(temp, false, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" })
        {
            w.WriteLine("id," + string.Join(',', names));
            var line = new StringBuilder();
            for (long i = 0; i < rows; i++)
            {
                var row = letters[rng.Next(letters.Length)];
                line.Clear().Append('r').Append(i.ToString(c));
                foreach (var v in row) line.Append(',').Append((v + noise * Gaussian(rng)).ToString("F2", c));
                w.WriteLine(line);
            }
        }
        File.Move(temp, path, overwrite: true);
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A table MLP pretrained on the first rows of the file (reused when its run folder has it).</summary>
    private static string Pretrain(BenchArgs a, string csv, string sample, string runDir, int threads)
    {
        int take = a.Int("pretrain-rows", 20_000);
        File.WriteAllLines(sample, File.ReadLines(csv).Take(take + 1));
        string method = a.Get("method", "dae");
        int steps = a.Int("pretrain-steps", 100);
        var cfg = Presets.For(method, sample, threads);
        cfg = cfg with
        {
            Table = cfg.Table with { Columns = new TableColumns { Id = "id" } },
            Train = cfg.Train with { MaxSteps = steps, CheckpointEvery = steps, KeepCheckpoints = 1 },
        };
        string dir = Path.Combine(runDir, "model-" + method);
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        var watch = Stopwatch.StartNew();
        var pre = Pretraining.Run(cfg, train, dir, resume: Directory.Exists(Path.Combine(dir, "checkpoints")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Table model: {method}, {pre.Steps} steps on {take:N0} rows ({watch.Elapsed.TotalSeconds:F0} s)."));
        return pre.FinalCheckpoint;
    }

    private sealed record ChildRun(int ExitCode, double Seconds, double PeakMb, string LoadStart, string LoadEnd, List<string> Lines);

    /// <summary>Runs the CLI, polling its peak resident memory (VmHWM) until it exits.</summary>
    private static ChildRun RunChild(string exe, List<string> args)
    {
        var start = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var x in args) start.ArgumentList.Add(x);
        string loadStart = Machine.LoadAverage();
        var clock = Stopwatch.StartNew();
        var (child, lines) = Machine.StartCapturing(start);
        using var _ = child;
        double peak = 0;
        while (!child.WaitForExit(100))
            if (Machine.StatusMegabytes(child.Id, "VmHWM:") is double mb) peak = Math.Max(peak, mb);
        child.WaitForExit();
        double seconds = clock.Elapsed.TotalSeconds;
        lock (lines) foreach (var l in lines.Where(l => !l.Contains('\r'))) Console.WriteLine("  " + l);
        return new ChildRun(child.ExitCode, seconds, peak, loadStart, Machine.LoadAverage(), lines);
    }



}
