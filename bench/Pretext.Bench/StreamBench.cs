using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Runs;
using TorchSharp;

namespace Pretext.Bench;

/// <summary>
/// `pretext stream` at full speed (issue #20): the Suthaharan single-hop readings replayed as CSV lines, again and again (each pass
/// shifts the reading counter so time keeps increasing per mote), through <see cref="SeriesStream"/> in this process, as fast as it
/// takes them. Reports readings/s, updates/s, reading-to-score latency (p50, p99; from taking a line to its score line written) and
/// resident memory every --report-every readings.
///   Pretext.Bench stream [--readings 200000] [--update-every 1] [--batch-size 8] [--replay 2048] [--refresh 4] [--k 10] [--threads 1]
///       [--checkpoint CKPT | --method forecast --width 32 --blocks 4 --dim 32 --pretrain-steps 30] [--report-every 50000]
///       [--run-dir runs/bench-stream] [--out runs/bench-stream/results.json]
/// Without --checkpoint a small TCN is pretrained for --pretrain-steps on the single-hop training part first (kept in --run-dir and
/// reused). The state is written every 100,000 readings, as a long-running stream would.
/// </summary>
internal static class StreamBench
{
    public static int Run(BenchArgs a)
    {
        long readings = long.Parse(a.Get("readings", "200000"), CultureInfo.InvariantCulture);
        int threads = a.Int("threads", 1), reportEvery = a.Int("report-every", 50_000);
        string runDir = a.Get("run-dir", Path.Combine("runs", "bench-stream"));
        string output = a.Get("out", Path.Combine(runDir, "results.json"));
        torch.set_num_threads(threads);
        string checkpoint = a.Has("checkpoint") ? a.Get("checkpoint", "") : Pretrain(a, runDir, threads);
        torch.set_num_threads(threads);   // pretraining set its own thread count
        var options = new StreamOptions
        {
            UpdateEvery = a.Int("update-every", 1), BatchSize = a.Int("batch-size", 8), Replay = a.Int("replay", 2048), K = a.Int("k", 10), Refresh = a.Int("refresh", 4),
            CheckpointEvery = 100_000, Seed = 42,
        };
        string state = Path.Combine(runDir, "state");
        if (Directory.Exists(state)) Directory.Delete(state, recursive: true);
        using var stream = SeriesStream.Open(checkpoint, state, options);

        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions());
        var csv = fetcher.Get("suthaharan-single-hop").Paths.Values.First();
        var rows = File.ReadAllLines(csv);
        var meter = new StreamMeter();
        var memory = new List<object>();
        string load = Machine.LoadAverage();
        using var sink = new StreamWriter(Stream.Null);
        var c = CultureInfo.InvariantCulture;
        stream.Run(Replay(rows, readings), skipConsumed: false,
            s =>
            {
                sink.Write(s.Entity); sink.Write(','); sink.Write(s.Time.ToString("R", c)); sink.Write(',');
                sink.WriteLine(double.IsFinite(s.Score) ? s.Score.ToString("G6", c) : "");
                sink.Flush();
            },
            w => Console.Error.WriteLine("warning: " + w), meter, reportEvery,
            line =>
            {
                Console.WriteLine(line);
                memory.Add(new { readings = stream.Counters.Good, rss_mb = Math.Round(StreamMeter.ResidentMegabytes()), seconds = Math.Round(meter.Seconds) });
            });
        var summary = meter.Summary(stream);
        Console.WriteLine(summary.Describe());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        var cfg = Pretraining.Recorded(Path.Combine(runDir, "model"));
        File.WriteAllText(output, JsonSerializer.Serialize(new
        {
            bench = "stream", summary, options, threads, checkpoint, memory, load_average_start = load, load_average_end = Machine.LoadAverage(),
            model = cfg is null ? null : new { cfg.Method, cfg.Encoder.Kind, cfg.Encoder.Series.Dim, cfg.Encoder.Series.Width, cfg.Encoder.Series.Blocks, cfg.Series.Window },
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"Results in {output}");
        return 0;
    }

    /// <summary>The data set's header, then its rows again and again, the reading counter shifted by the pass so it keeps increasing.</summary>
    private static IEnumerable<string> Replay(string[] rows, long readings)
    {
        yield return rows[0];
        var body = rows.Skip(1).Where(r => r.Length > 0).Select(r => (Reading: long.Parse(r[..r.IndexOf(',')], CultureInfo.InvariantCulture), Tail: r[r.IndexOf(',')..])).ToArray();
        long shift = body.Max(r => r.Reading) + 1;
        for (long n = 0, pass = 0; ; pass++)
            foreach (var (reading, tail) in body)
            {
                if (n++ >= readings) yield break;
                yield return (reading + pass * shift).ToString(CultureInfo.InvariantCulture) + tail;
            }
    }

    /// <summary>A small TCN pretrained on the single-hop training part (reused when its run folder has it).</summary>
    private static string Pretrain(BenchArgs a, string runDir, int threads)
    {
        string method = a.Get("method", "forecast");
        var cfg = Presets.For(method, "suthaharan-single-hop", Math.Max(threads, 2));
        int steps = a.Int("pretrain-steps", 30);
        cfg = cfg with
        {
            Encoder = cfg.Encoder with { Series = cfg.Encoder.Series with { Width = a.Int("width", 32), Blocks = a.Int("blocks", 4), Dim = a.Int("dim", 32) } },
            Train = cfg.Train with { MaxSteps = steps, CheckpointEvery = steps, KeepCheckpoints = 1 },
        };
        string dir = Path.Combine(runDir, "model");
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        var watch = Stopwatch.StartNew();
        var pre = Pretraining.Run(cfg, train, dir, resume: Directory.Exists(Path.Combine(dir, "checkpoints")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Stream model: {method} on a TCN of width {cfg.Encoder.Series.Width}, {cfg.Encoder.Series.Blocks} blocks, dim {cfg.Encoder.Series.Dim}; {pre.Steps} steps ({watch.Elapsed.TotalSeconds:F0} s)."));
        return pre.FinalCheckpoint;
    }

}
