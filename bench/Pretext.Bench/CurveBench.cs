using Pretext.Encoders;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Reporting;
using Pretext.Runs;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Accuracy against pretraining time for one run: every step checkpoint the run kept is judged on the test
/// split (kNN, and linear probes with 100 % and 1 % of the training labels, the method table's protocol), and put
/// against the pretraining time at that step, read from the run's metrics.csv. Writes &lt;run-dir&gt;/curve.csv
/// and curve.png, prints one JSON line per checkpoint and says when the probe first reached --target.
/// A second 100 %-label probe is fitted to convergence (--converged-iterations, default 1000 Adam iterations against
/// the table's 300): the figure linear evaluations in the literature report, a few tenths above the table's.
/// Checkpoints already in curve.csv are not judged again, so the curve can be extended while a run goes on.
/// Keep the checkpoints with `pretext pretrain --checkpoint-every N --keep-checkpoints 1000`.
///   dotnet run -c Release --project bench/Pretext.Bench -- curve --run-dir runs/long-simclr [--target 90] [--threads 2] [--converged-iterations 1000]
///       [--doc docs/benchmarks.md] (the doc's section between &lt;!-- curve:RUN --&gt; markers is rewritten, RUN being the
///       run folder's name, so each run keeps its own section; the plot is copied to images/curve-RUN.png beside the doc)
/// </summary>
internal static class CurveBench
{
    private static readonly string[] Columns = ["step", "epoch", "minutes", "knn", "linear_100", "linear_1", "linear_100_converged"];
    // A checkpoint whose step metrics.csv lacks has minutes NaN, which plain JSON cannot carry.
    private static readonly JsonSerializerOptions JsonNaN = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static int Run(BenchArgs a)
    {
        string runDir = a.Get("run-dir", "");
        if (!Directory.Exists(runDir)) return Fail($"No run folder '{runDir}'; pass --run-dir of a `pretext pretrain` run.");
        double target = a.Double("target", 90);
        int convergedIterations = a.Int("converged-iterations", 1000);
        if (convergedIterations <= 0) return Fail($"--converged-iterations must be positive, got {convergedIterations}.");
        set_num_threads(a.Int("threads", 2));
        var checkpoints = new CheckpointFolder(Path.Combine(runDir, "checkpoints"), int.MaxValue).List();
        if (checkpoints.Count == 0) return Fail($"'{runDir}' has no step checkpoints in checkpoints/.");
        if (Pretraining.Recorded(runDir) is not RunConfig run)
            return Fail($"'{runDir}' has no config.json; pass the folder of a `pretext pretrain` run.");
        string method = run.Method, setup = Setup(run);
        var minutesAt = PretrainMinutes(Path.Combine(runDir, "metrics.csv"));

        string csv = Path.Combine(runDir, "curve.csv");
        var rows = File.Exists(csv) ? MetricsLog.Read(csv).ToList() : [];
        using var fetcher = new DatasetFetcher();
        var splits = new Dictionary<string, (TensorDataset Train, TensorDataset Test)>();
        foreach (var (step, path) in checkpoints)
        {
            // A row from before the converged-probe column existed gets only that column filled in.
            var old = rows.FirstOrDefault(r => (long)r["step"] == step);
            if (old is not null && !double.IsNaN(Get(old, "linear_100_converged"))) continue;
            var (m, cfg, _) = Pretraining.LoadMethod(path);
            if (!splits.TryGetValue(cfg.Dataset, out var data))
                splits[cfg.Dataset] = data = (fetcher.LoadSplit(cfg.Dataset, DataSplit.Train), fetcher.LoadSplit(cfg.Dataset, DataSplit.Test));
            var (train, test) = data;
            using (m)
            using (var scope = NewDisposeScope())
            {
                var norm = cfg.Augment.BuildNormalize();
                var tf = Features.Extract(m.Encoder, train, norm);
                var sf = Features.Extract(m.Encoder, test, norm);
                var labels = train.Labels!;
                int classes = labels.Max() + 1;
                var row = old is null ? new Dictionary<string, double>() : new Dictionary<string, double>(old);
                if (old is null)
                {
                    double knn = Knn.Accuracy(tf, labels, sf, test.Labels!, classes);
                    double linear = LinearProbe.Evaluate(tf, labels, sf, test.Labels!, classes).Accuracy;
                    // 1 % of the labels (class-stratified, seed 0), as in the method table: how the few-label probe grows with pretraining.
                    var few = LabelSubsets.Stratified(labels, 0.01, 0);
                    var fewX = tf.index_select(0, tensor(few));
                    double linear1 = LinearProbe.Evaluate(fewX, few.Select(i => labels[i]).ToArray(), sf, test.Labels!, classes).Accuracy;
                    long stepsPerEpoch = Math.Max(1, train.Count / cfg.Train.BatchSize);
                    row["step"] = step;
                    row["epoch"] = Math.Round((double)step / stepsPerEpoch, 2);
                    row["minutes"] = Math.Round(minutesAt.TryGetValue(step, out var min) ? min : double.NaN, 2);
                    row["knn"] = Math.Round(100 * knn, 2);
                    row["linear_100"] = Math.Round(100 * linear, 2);
                    row["linear_1"] = Math.Round(100 * linear1, 2);
                }
                // The table's probe stops at 300 Adam iterations, a few tenths short of its optimum with 60,000 labels;
                // this column fits the same probe to convergence, as linear evaluations in the literature do.
                var converged = new LinearProbeOptions { Iterations = convergedIterations };
                row["linear_100_converged"] = Math.Round(100 * LinearProbe.Evaluate(tf, labels, sf, test.Labels!, classes, converged).Accuracy, 2);
                if (old is not null) rows.Remove(old);
                rows.Add(row);
                Console.WriteLine(JsonSerializer.Serialize(row, JsonNaN));
            }
            rows.Sort((x, y) => x["step"].CompareTo(y["step"]));
            WriteCsv(csv, rows);
        }
        foreach (var (tr, te) in splits.Values) { tr.Dispose(); te.Dispose(); }

        string verdict = Verdict(rows, "linear_100", $"The table's linear probe ({new LinearProbeOptions().Iterations} Adam iterations)", target)
            + " " + Verdict(rows, "linear_100_converged", $"Fitted to convergence ({convergedIterations} iterations), it", target);
        Console.WriteLine(verdict);
        Plots.LinePlot(Path.Combine(runDir, "curve.png"), $"{method} ({RunName(runDir)}): test accuracy against pretraining time", "pretraining minutes", "accuracy %",
            [("linear probe, 100 % labels", rows.Select(r => r["minutes"]).ToArray(), rows.Select(r => r["linear_100"]).ToArray()),
             ($"linear probe, 100 %, {convergedIterations} iterations", rows.Select(r => r["minutes"]).ToArray(), rows.Select(r => Get(r, "linear_100_converged")).ToArray()),
             ("kNN", rows.Select(r => r["minutes"]).ToArray(), rows.Select(r => r["knn"]).ToArray()),
             ("linear probe, 1 % labels", rows.Select(r => r["minutes"]).ToArray(), rows.Select(r => Get(r, "linear_1")).ToArray()),
             ($"{target} %", [rows.Min(r => r["minutes"]), rows.Max(r => r["minutes"])], [target, target])], legendOutside: true);
        if (a.Has("doc")) WriteSection(a.Get("doc", ""), method, runDir, setup, rows, verdict);
        return 0;
    }

    /// <summary>Pretraining minutes at each logged step. A resumed run restarts its clock, so each session's time adds to the previous ones.</summary>
    private static Dictionary<long, double> PretrainMinutes(string metricsPath)
    {
        var result = new Dictionary<long, double>();
        if (!File.Exists(metricsPath)) return result;
        double offset = 0, last = 0;
        foreach (var r in MetricsLog.Read(metricsPath))
        {
            double s = r["elapsed_seconds"];
            if (s < last) offset += last;
            last = s;
            result[(long)r["step"]] = (offset + s) / 60;
        }
        return result;
    }

    /// <summary>When the probe of <paramref name="column"/> first reached <paramref name="target"/> %, or its best so far.</summary>
    private static string Verdict(List<IReadOnlyDictionary<string, double>> rows, string column, string probe, double target)
    {
        var known = rows.Where(r => !double.IsNaN(Get(r, column))).ToList();
        if (known.Count == 0) return "";
        var reached = known.FirstOrDefault(r => r[column] >= target);
        var best = known.MaxBy(r => r[column])!;
        return reached is null
            ? string.Create(CultureInfo.InvariantCulture, $"{probe} has not reached {target} % (best {best[column]:F2} % at step {best["step"]}).")
            : string.Create(CultureInfo.InvariantCulture, $"{probe} first reached {target} % at step {reached["step"]} (epoch {reached["epoch"]}), after {reached["minutes"]:F1} minutes of pretraining: {reached[column]:F2} %.");
    }

    /// <summary>A column of a curve row; NaN where a curve.csv from before the column existed lacks it.</summary>
    private static double Get(IReadOnlyDictionary<string, double> row, string column) => row.TryGetValue(column, out var v) ? v : double.NaN;

    private static void WriteCsv(string path, List<IReadOnlyDictionary<string, double>> rows)
    {
        var sb = new StringBuilder(string.Join(',', Columns)).Append('\n');
        foreach (var r in rows) sb.AppendJoin(',', Columns.Select(c => Get(r, c).ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        AtomicWrite(path, sb.ToString());
    }

    /// <summary>The run folder's name, which keys its doc section and plot.</summary>
    private static string RunName(string runDir) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDir)));

    /// <summary>What a curve was measured on: the encoder and the schedule, from the run's recorded configuration.</summary>
    private static string Setup(RunConfig cfg)
    {
        var e = cfg.Encoder;
        string encoder = e.Kind == EncoderKind.ResNet
            ? $"ResNet, widths [{string.Join(", ", e.Widths)}], blocks [{string.Join(", ", e.Blocks)}] ({e.Widths[^1]} features)"
            : e.Kind.ToString();
        string length = cfg.Train.MaxSteps > 0 ? $"{cfg.Train.MaxSteps} steps" : $"{cfg.Train.Epochs} epochs";
        return string.Create(CultureInfo.InvariantCulture, $"{cfg.Method} on {cfg.Dataset}: {encoder}; schedule {length} at batch {cfg.Train.BatchSize}.");
    }

    private static void WriteSection(string doc, string method, string runDir, string setup, List<IReadOnlyDictionary<string, double>> rows, string verdict)
    {
        string run = RunName(runDir);
        string begin = $"<!-- curve:{run} -->", end = $"<!-- /curve:{run} -->";
        // The plot goes beside the doc, since run folders are not part of the repository.
        string image = $"curve-{run}.png";
        string imageDir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(doc))!, "images");
        Directory.CreateDirectory(imageDir);
        File.Copy(Path.Combine(runDir, "curve.png"), Path.Combine(imageDir, image), overwrite: true);
        var sb = new StringBuilder();
        sb.AppendLine(begin);
        sb.AppendLine(CultureInfo.InvariantCulture, $"Written by `Pretext.Bench curve --run-dir {runDir}` on {DateTime.UtcNow:yyyy-MM-dd}. {setup} {verdict}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"![{method}: accuracy against pretraining minutes](images/{image})");
        sb.AppendLine();
        sb.AppendLine("| step | epoch | pretraining minutes | kNN % | linear 100 % | linear 1 % | linear 100 %, converged |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r["step"]} | {r["epoch"]} | {r["minutes"]:F1} | {r["knn"]:F2} | {r["linear_100"]:F2} | {Get(r, "linear_1"):F2} | {Get(r, "linear_100_converged"):F2} |");
        sb.Append(end);
        string text = File.Exists(doc) ? File.ReadAllText(doc) : "# Benchmarks\n";
        int b = text.IndexOf(begin, StringComparison.Ordinal), e = text.IndexOf(end, StringComparison.Ordinal);
        text = b >= 0 && e > b ? text[..b] + sb + text[(e + end.Length)..] : text.TrimEnd() + $"\n\n## {method} ({run}): accuracy against pretraining time\n\n" + sb + "\n";
        AtomicWrite(doc, text);
    }

    private static void AtomicWrite(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }
}
