using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pretext.Training;

namespace Pretext.Bench;

/// <summary>
/// Issue 24's chaos bench for `pretext stream`: a small forecasting model scores and learns from a file of sensor readings through
/// the real CLI, once left alone and once killed with SIGKILL at random moments (about half of them inside a state write, which
/// PRETEXT_TEST_WRITE_DELAY_MS makes easy to hit) and started again with the same arguments each time, as the docs tell a user to.
/// After each kill the state file on disk must load. At the end the interrupted stream's state (weights, optimiser, replay buffer,
/// windows in progress, counters) must equal the uninterrupted one's bit for bit, every reading must have been scored at least once,
/// and the last score written for each reading must equal the uninterrupted stream's score for it.
///
///   chaos-stream [--kills 10] [--readings 1500] [--checkpoint-every 50] [--write-delay-ms 300] [--seed 1] [--out chaos-stream.json]
///                [--pretext src/Pretext.Cli/bin/Release/net10.0/linux-x64/pretext]
/// Exit code 0 when every kill was followed by a restart that continued, and both streams agree; 1 otherwise.
/// </summary>
internal static class StreamChaosBench
{
    private static readonly string[] Small =
    [
        "--set", "series.columns.entity=unit", "--set", "series.window=16", "--set", "series.stride=4", "--set", "series.blockLength=100",
        "--set", "encoder.series.dim=8", "--set", "encoder.series.width=8", "--set", "encoder.series.blocks=2",
    ];

    public static int Run(BenchArgs a)
    {
        int kills = a.Int("kills", 10), readings = a.Int("readings", 1500), every = a.Int("checkpoint-every", 50), delayMs = a.Int("write-delay-ms", 300);
        var rng = new Random(a.Int("seed", 1));
        string exe = a.Get("pretext", Path.Combine(Machine.RepositoryRoot(), "src", "Pretext.Cli", "bin", "Release", "net10.0", "linux-x64", "pretext"));
        if (!File.Exists(exe)) throw new FileNotFoundException($"'{exe}' does not exist; build the CLI (dotnet build -c Release) or give --pretext.");
        string work = Path.Combine(Path.GetTempPath(), "pretext-chaos-stream-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            string data = Path.Combine(work, "sensors.csv");
            File.WriteAllText(data, Sensors(readings));
            string model = Path.Combine(work, "model");
            var (pc, po) = ChaosBench.RunToEnd(exe, ["pretrain", "--dataset", data, "--method", "forecast", "--transductive", "--run-dir", model, "--max-steps", "2",
                "--batch-size", "16", "--threads", "1", .. Small], 0);
            if (pc != 0) throw new InvalidOperationException($"pretraining the stream's model failed (exit {pc}):\n{po}");
            string checkpoint = Path.Combine(model, "checkpoints", "step-00000002.safetensors");
            string[] Args(string state, string scores) =>
            [
                "stream", "--checkpoint", checkpoint, "--state", state, "--input", data, "--out", scores, "--batch-size", "4", "--replay", "64", "--k", "3",
                "--checkpoint-every", every.ToString(CultureInfo.InvariantCulture), "--report-every", "0", "--threads", "1",
            ];

            var clock = Stopwatch.StartNew();
            string refState = Path.Combine(work, "reference"), refScores = Path.Combine(work, "reference.csv");
            var (rc, ro) = ChaosBench.RunToEnd(exe, Args(refState, refScores), delayMs);
            if (rc != 0) throw new InvalidOperationException($"the uninterrupted stream failed (exit {rc}):\n{ro}");
            Console.WriteLine(FormattableString.Invariant($"uninterrupted stream: {2 * readings} readings in {clock.Elapsed.TotalSeconds:F1} s (with the {delayMs} ms write pause)"));

            string state = Path.Combine(work, "chaos"), scores = Path.Combine(work, "chaos.csv");
            string stateFile = Path.Combine(state, "stream.safetensors");
            int killed = 0, inWrite = 0, unreadable = 0, starts = 0;
            var log = new List<string>();
            for (int k = 0; k < kills; k++)
            {
                var (p, lines) = Machine.StartCapturing(ChaosBench.Start(exe, Args(state, scores), delayMs));
                starts++;
                var wait = Stopwatch.StartNew();
                string when;
                if (k % 2 == 1)
                {
                    // Inside a state write: the pause holds the temp file half-written.
                    while (!p.HasExited && !TempFiles(state).Any() && wait.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(5);
                    Thread.Sleep(rng.Next(0, Math.Max(1, delayMs / 2)));
                    when = "inside a state write";
                }
                else
                {
                    // A random moment after the stream has written 20-200 new score lines.
                    long start = Lines(scores), need = rng.Next(20, 201);
                    while (!p.HasExited && Lines(scores) < start + need && wait.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(5);
                    when = $"after {need} new score lines";
                }
                if (p.HasExited)
                {
                    log.Add($"kill {k + 1}: the stream ended before the kill ({when}); exit {p.ExitCode}");
                    if (p.ExitCode != 0) { lock (lines) Console.WriteLine(string.Join('\n', lines)); return 1; }
                    break;
                }
                bool hadTemp = TempFiles(state).Any();
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
                killed++;
                if (hadTemp) inWrite++;
                if (File.Exists(stateFile))
                {
                    try { using (Checkpoint.Load(stateFile)) { } }
                    catch (Exception e) when (e is InvalidDataException or IOException) { unreadable++; log.Add($"  unreadable after kill {k + 1}: {e.Message}"); }
                }
                log.Add($"kill {k + 1} {when}: {Lines(scores)} score lines so far{(hadTemp ? " (killed mid-write)" : "")}");
            }
            // The last start runs to the end of the file.
            var (lc, lo) = ChaosBench.RunToEnd(exe, Args(state, scores), delayMs);
            starts++;
            if (lc != 0) { Console.WriteLine(lo); return 1; }

            bool stateEqual = ChaosBench.Tensors(Path.Combine(refState, "stream.safetensors")) == ChaosBench.Tensors(stateFile);
            var reference = LastScores(refScores);
            var chaos = LastScores(scores);
            int missing = reference.Keys.Count(key => !chaos.ContainsKey(key));
            int differing = reference.Count(kv => chaos.TryGetValue(kv.Key, out var s) && s != kv.Value);
            long repeated = Lines(scores) - Lines(refScores);
            foreach (var l in log) Console.WriteLine(l);
            var result = new
            {
                bench = "chaos-stream", kills = killed, kills_inside_state_writes = inWrite, starts, unreadable_states = unreadable, readings = 2 * readings,
                scores_missing = missing, scores_differing = differing, score_lines_repeated = repeated, state_equal = stateEqual,
                write_delay_ms = delayMs, seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), load_average = Machine.LoadAverage(),
            };
            string json = JsonSerializer.Serialize(result);
            Console.WriteLine(json);
            if (a.Get("out", "") is { Length: > 0 } outPath) File.WriteAllText(outPath, json + Environment.NewLine);
            Console.WriteLine(FormattableString.Invariant(
                $"{killed} of {kills} kills continued ({inWrite} inside state writes); {unreadable} unreadable states; {missing} readings never scored, {differing} last scores differ ({repeated} lines scored again after kills); final state {(stateEqual ? "identical" : "DIFFERS")}."));
            return killed == kills && unreadable == 0 && missing == 0 && differing == 0 && stateEqual ? 0 : 1;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Two units' temperature and humidity, one reading a time step each, with a burst of anomalies (the tests' sensor file).</summary>
    private static string Sensors(int readings)
    {
        var rng = new Random(0);
        var sb = new StringBuilder("time,unit,temp,hum,label\n");
        for (int t = 0; t < readings; t++)
            for (int u = 0; u < 2; u++)
            {
                int start = (readings / 2 + 37 * u) % (readings - 20);
                bool anomaly = t >= start && t < start + 20;
                double temp = 20 + 2 * Math.Sin(t / 15.0 + u) + 0.1 * rng.NextDouble() + (anomaly ? 4 : 0);
                double hum = 50 + 5 * Math.Cos(t / 25.0 + 2 * u) + 0.2 * rng.NextDouble();
                sb.Append(CultureInfo.InvariantCulture, $"{t},u{u},{temp:F3},{hum:F3},{(anomaly ? 1 : 0)}\n");
            }
        return sb.ToString();
    }

    private static long Lines(string file)
    {
        try { return File.Exists(file) ? File.ReadLines(file).LongCount() : 0; }
        catch (IOException) { return 0; }
    }

    private static IEnumerable<string> TempFiles(string state) =>
        Directory.Exists(state) ? Directory.GetFiles(state, "*.tmp") : [];

    /// <summary>The last score line of each (entity, time) in a scores file (a reading scored again after a kill keeps its last).</summary>
    private static Dictionary<string, string> LastScores(string file)
    {
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(file).Skip(1))
        {
            int second = line.IndexOf(',', line.IndexOf(',') + 1);
            if (second > 0) last[line[..second]] = line[(second + 1)..];
        }
        return last;
    }
}
