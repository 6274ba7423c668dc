using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Pretext.Compute;
using Pretext.Runs;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Minutes of pretraining to reach linear-probe accuracy thresholds, Pretext against the PyTorch peer (docs/benchmarks.md,
/// "Time to accuracy"). Each side's saved encoders are walked in step order and scored with the same frozen linear probe
/// (<see cref="ValidationProbe"/>: fitted on every training label outside the validation split that `pretext evaluate` carves,
/// scored on that validation split; the test split is never read), features computed in one precision for both sides
/// (--precision, default Float32). The peer's state dicts come in through `pretext import` (<see cref="PyTorchInterchange.Import"/>)
/// into an export of the reference config with the peer's widths and blocks. Pretext's pretraining time per checkpoint comes
/// from its metrics.csv less checkpoint writes (<see cref="TimeToAccuracy.PretrainSeconds"/>), the peer's from its manifest.json.
/// Scores already in --out's curve CSVs are kept, so scoring can stop and go on in another session, and runs still training
/// can be scored as far as they got. Writes --out/curve.csv (side, step, minutes, accuracy), --out/curve.png (the curves) and --out/time-to-accuracy.json
/// (the curves, the first checkpoint at or above each threshold, the ratio of minutes).
///   dotnet run -c Release --project bench/Pretext.Bench -- time-to-accuracy --out runs/tta [--pretext-run runs/tta-pretext]
///       [--peer-run runs/tta-peer] [--thresholds 85,88] [--threads 2] [--precision Float32] [--limit-train N]
/// Without --pretext-run the reference config (data set, evaluation settings) is the simclr preset on fashion-mnist.
/// </summary>
internal static class TimeToAccuracyBench
{
    private static readonly string[] Columns = ["step", "minutes", "accuracy"];

    public static int Run(BenchArgs a)
    {
        string outDir = a.Get("out", "");
        if (outDir.Length == 0) return Fail("Pass --out DIR (scores are kept there and reused).");
        string? pretextRun = a.Has("pretext-run") ? a.Get("pretext-run", "") : null;
        string? peerRun = a.Has("peer-run") ? a.Get("peer-run", "") : null;
        if (pretextRun is null && peerRun is null) return Fail("Pass --pretext-run (a `pretext pretrain` folder), --peer-run (a simclr_peer.py --out folder) or both.");
        double[] thresholds = BenchArgs.Doubles(a.Get("thresholds", "85,88"));
        int threads = a.Int("threads", 2);
        var precision = ComputeOptions.Resolve(Enum.Parse<Precision>(a.Get("precision", "Float32"), true));
        int? limit = a.Has("limit-train") ? a.Int("limit-train", 0) : null;
        set_num_threads(threads);
        Directory.CreateDirectory(outDir);

        var sides = new List<(string Name, IReadOnlyList<TimedCheckpoint> Saves, Func<TimedCheckpoint, string> Checkpoint, Action<TimedCheckpoint> Done)>();
        RunConfig reference;
        try
        {
            reference = pretextRun is not null
                ? Pretraining.Recorded(pretextRun) ?? throw new ArgumentException($"'{pretextRun}' has no config.json; pass the folder of a `pretext pretrain` run.")
                : Presets.For("simclr", "fashion-mnist", threads);
            if (pretextRun is not null)
                sides.Add(("pretext", TimeToAccuracy.PretextCheckpoints(pretextRun), c => c.Path, _ => { }));
            if (peerRun is not null)
            {
                var peer = TimeToAccuracy.PeerCheckpoints(peerRun);
                var peerConfig = reference with { Encoder = reference.Encoder with { Kind = Encoders.EncoderKind.ResNet, Widths = peer.Widths, Blocks = peer.Blocks } };
                string export = Path.Combine(outDir, "peer-export");
                // The export of an encoder of the peer's layout is the template `pretext import` reads the state dicts into.
                manual_seed(peerConfig.Train.Seed);
                using (var encoder = peerConfig.Encoder.Build()) PyTorchInterchange.Export(encoder, peerConfig, export);
                string imported = Path.Combine(outDir, "peer-imported");
                string Import(TimedCheckpoint save)
                {
                    string run = Path.Combine(imported, $"step-{save.Step:D8}");
                    if (Directory.Exists(run)) Directory.Delete(run, recursive: true);   // half done by an interrupted session
                    return PyTorchInterchange.Import(export, save.Path, run).Checkpoint;
                }
                sides.Add(("peer", peer.Saves, Import, save => Directory.Delete(Path.Combine(imported, $"step-{save.Step:D8}"), recursive: true)));
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or NotSupportedException)
        {
            return Fail(e.Message);
        }

        Console.WriteLine($"time-to-accuracy: thresholds {string.Join(", ", thresholds.Select(t => t.ToString(CultureInfo.InvariantCulture)))} % of the linear probe on " +
                          $"{reference.Dataset}'s validation split; features in {precision}; {threads} threads. Load average {Machine.LoadAverage()}.");
        var clock = Stopwatch.StartNew();
        using var probe = new ValidationProbe(reference, limit, precision, m => Console.WriteLine("  " + m));
        Console.WriteLine($"Probe: fitted on {probe.PoolSize:N0} labelled training samples, scored on {probe.ValidationSize:N0} validation samples " +
                          $"(loaded in {clock.Elapsed.TotalSeconds:F0} s).");

        var summary = new JsonObject();
        var curves = new Dictionary<string, List<CurvePoint>>();
        foreach (var (name, saves, checkpointOf, done) in sides)
        {
            string csv = Path.Combine(outDir, $"curve-{name}.csv");
            var points = ReadCurve(csv);
            int todo = saves.Count(s => !points.ContainsKey(s.Step));
            Console.WriteLine($"{name}: {saves.Count} saved encoders, {saves.Count - todo} already scored in {csv}, {todo} to score.");
            int k = 0;
            foreach (var save in saves)
            {
                if (points.ContainsKey(save.Step)) continue;
                clock.Restart();
                int quarter = 0;
                double accuracy = 100 * probe.Score(checkpointOf(save), (done, total) =>
                {
                    // A save takes minutes to score on a few cores: say how far the feature extraction has got, every quarter.
                    if (total <= 0 || 4 * done < (quarter + 1) * total) return;
                    quarter = (int)Math.Min(4, 4 * done / total);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} step {save.Step}: features {done:N0}/{total:N0} ({clock.Elapsed.TotalSeconds:F0} s)"));
                });
                done(save);
                points[save.Step] = new CurvePoint(save.Step, save.PretrainSeconds / 60, Math.Round(accuracy, 2));
                WriteCurve(csv, points.Values);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name} [{++k}/{todo}] step {save.Step}, {save.PretrainSeconds / 60:F2} min of pretraining: {accuracy:F2} % on validation ({clock.Elapsed.TotalSeconds:F0} s to score)"));
            }
            // Only the saves the run still lists count (a curve row of a save that is gone is kept in the CSV, not used).
            var steps = saves.Select(s => s.Step).ToHashSet();
            curves[name] = points.Values.Where(p => steps.Contains(p.Step)).OrderBy(p => p.Step).ToList();
        }

        var json = new JsonObject
        {
            ["bench"] = "time_to_accuracy", ["dataset"] = reference.Dataset, ["split"] = "validation",
            ["probe_labelled"] = probe.PoolSize, ["validation_samples"] = probe.ValidationSize, ["feature_precision"] = precision.ToString(),
            ["threads"] = threads, ["thresholds"] = new JsonArray(thresholds.Select(t => (JsonNode)t).ToArray()),
            ["pretext_run"] = pretextRun, ["peer_run"] = peerRun, ["load_average_end"] = Machine.LoadAverage(),
        };
        var reachedBy = new Dictionary<string, Dictionary<double, CurvePoint?>>();
        foreach (var (name, curve) in curves)
        {
            var reached = thresholds.ToDictionary(t => t, t => TimeToAccuracy.FirstAtOrAbove(curve, t));
            reachedBy[name] = reached;
            var best = curve.MaxBy(p => p.Accuracy);
            json[name] = new JsonObject
            {
                ["curve"] = new JsonArray(curve.Select(p => (JsonNode)new JsonObject { ["step"] = p.Step, ["minutes"] = Math.Round(p.Minutes, 3), ["accuracy"] = p.Accuracy }).ToArray()),
                ["reached"] = new JsonObject(thresholds.Select(t => KeyValuePair.Create(Key(t), reached[t] is { } r
                    ? (JsonNode?)new JsonObject { ["minutes"] = Math.Round(r.Minutes, 3), ["step"] = r.Step, ["accuracy"] = r.Accuracy } : null))),
                ["best"] = best is null ? null : new JsonObject { ["minutes"] = Math.Round(best.Minutes, 3), ["step"] = best.Step, ["accuracy"] = best.Accuracy },
            };
            foreach (var t in thresholds)
                Console.WriteLine(reached[t] is { } r
                    ? string.Create(CultureInfo.InvariantCulture, $"{name}: {t} % first reached at step {r.Step}, {r.Minutes:F2} min of pretraining ({r.Accuracy:F2} %).")
                    : string.Create(CultureInfo.InvariantCulture, $"{name}: {t} % not reached (best {best?.Accuracy:F2} % at {best?.Minutes:F2} min, {curve.Count} saves scored)."));
        }
        if (reachedBy.TryGetValue("pretext", out var pt) && reachedBy.TryGetValue("peer", out var pe))
            json["ratio_pretext_to_peer_minutes"] = new JsonObject(thresholds.Select(t => KeyValuePair.Create(Key(t),
                pt[t] is { } x && pe[t] is { } y && y.Minutes > 0 ? (JsonNode?)Math.Round(x.Minutes / y.Minutes, 3) : null)));

        var combined = new StringBuilder("side,step,minutes,accuracy\n");
        foreach (var (name, curve) in curves)
            foreach (var p in curve)
                combined.Append(CultureInfo.InvariantCulture, $"{name},{p.Step},{p.Minutes:R},{p.Accuracy:R}\n");
        File.WriteAllText(Path.Combine(outDir, "curve.csv"), combined.ToString());
        // The picture people look at first: accuracy against minutes of pretraining, one line per side.
        var drawn = curves.Where(c => c.Value.Count > 0).Select(c => (c.Key, c.Value.Select(p => p.Minutes).ToArray(), c.Value.Select(p => p.Accuracy).ToArray())).ToList();
        if (drawn.Count > 0)
            Pretext.Reporting.Plots.LinePlot(Path.Combine(outDir, "curve.png"), "Time to accuracy: linear probe on the validation split",
                "minutes of pretraining", "validation accuracy (%)", drawn);
        File.WriteAllText(Path.Combine(outDir, "time-to-accuracy.json"), json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    private static string Key(double threshold) => threshold.ToString(CultureInfo.InvariantCulture);

    private static Dictionary<long, CurvePoint> ReadCurve(string csv)
    {
        var points = new Dictionary<long, CurvePoint>();
        if (!File.Exists(csv)) return points;
        foreach (var line in File.ReadLines(csv).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length != Columns.Length) continue;
            long step = long.Parse(f[0], CultureInfo.InvariantCulture);
            points[step] = new CurvePoint(step, double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture));
        }
        return points;
    }

    private static void WriteCurve(string csv, IEnumerable<CurvePoint> points)
    {
        var sb = new StringBuilder(string.Join(',', Columns)).Append('\n');
        foreach (var p in points.OrderBy(p => p.Step))
            sb.Append(CultureInfo.InvariantCulture, $"{p.Step},{p.Minutes:R},{p.Accuracy:R}\n");
        File.WriteAllText(csv + ".tmp", sb.ToString());
        File.Move(csv + ".tmp", csv, overwrite: true);
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }
}
