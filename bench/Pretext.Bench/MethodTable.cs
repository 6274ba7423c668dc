using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// The method table of docs/benchmarks.md: every registered image method pretrained on one data set with the
/// quickstart encoder under the same wall-clock budget, then judged under the evaluation protocol (Evaluating.Run):
/// a validation split of 10,000 training images for every choice, label subsets from the other 50,000, kNN and
/// linear probes with 100 % and 1 % of those labels and 10 per class, and the network fine-tuned end to end on 10
/// per class; 5 subsets wherever labels are few; the test split scores each finished row once. Baseline rows: raw
/// pixels, a randomly initialised encoder, and the network trained from scratch on the same subsets.
///
/// The budget is turned into a step count per method by timing a few steps first (methods differ in cost
/// per step); the cosine schedule then runs over exactly that many steps, and the table records the step
/// count, so `pretext pretrain --method M --max-steps N` reproduces a row on any machine.
///
/// Each row runs in a child process (`row` mode), so its peak RSS is its own and a crash costs one row.
/// Finished rows are kept in &lt;runs-dir&gt;/&lt;dataset&gt;/rows.jsonl; a rerun skips them unless --fresh (all rows) or --redo (the rows named).
///   dotnet run -c Release --project bench/Pretext.Bench -- methods [--dataset fashion-mnist] [--minutes 10]
///       [--methods all|simclr,byol] [--redo byol,simsiam] [--baselines true|false] [--threads 2] [--runs-dir bench/runs] [--doc docs/benchmarks.md] [--fresh]
/// </summary>
internal static class MethodTable
{
    private static readonly string[] Baselines = ["raw-pixels", "random-encoder", "supervised"];

    /// <summary>Label subsets per budget under 10 % (the issue's headline figures are means over 5).</summary>
    private const int Subsets = 5;

    public static int RunAll(BenchArgs a)
    {
        string dataset = a.Get("dataset", "fashion-mnist");
        double minutes = a.Double("minutes", 10);
        int threads = a.Int("threads", 2);
        string runsDir = Path.GetFullPath(Path.Combine(a.Get("runs-dir", Path.Combine("bench", "runs")), dataset));
        string doc = a.Get("doc", Path.Combine("docs", "benchmarks.md"));
        var methods = a.Get("methods", "all") == "all" ? MethodRegistry.All.Where(m => m.Modality == Modality.Image).Select(m => m.Name).ToList() : a.Get("methods", "").Split(',').Select(m => MethodRegistry.Get(m.Trim()).Name).ToList();
        var rows = new List<string>();
        if (a.Get("baselines", "true") == "true") rows.AddRange(Baselines);
        rows.AddRange(methods);

        Directory.CreateDirectory(runsDir);
        // rows-v2: rows judged under the validation protocol (rows.jsonl held the earlier test-only protocol).
        string store = Path.Combine(runsDir, "rows-v2.jsonl");
        if (a.Has("fresh") && File.Exists(store)) File.Delete(store);
        var done = ReadRows(store);
        // --redo a,b: measure these rows again (after a preset change), keeping every other finished row.
        var redo = a.Get("redo", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        if (redo.Count > 0)
        {
            foreach (var r in redo) done.Remove(r);
            File.WriteAllLines(store + ".tmp", done.Values.Select(o => o.ToJsonString()));
            File.Move(store + ".tmp", store, overwrite: true);
        }
        var clock = Stopwatch.StartNew();
        foreach (var row in rows)
        {
            if (done.ContainsKey(row)) { Console.WriteLine($"[{row}] kept from {store}"); continue; }
            Console.WriteLine($"[{row}] starting ({clock.Elapsed.TotalMinutes:F0} min so far)");
            var result = RunChild(row, dataset, minutes, threads, runsDir);
            if (result is null) { Console.WriteLine($"[{row}] FAILED (see above); continuing with the next row"); continue; }
            File.AppendAllText(store, result.ToJsonString() + "\n");
            done[row] = result;
            WriteTable(doc, dataset, minutes, threads, rows, done);
        }
        WriteTable(doc, dataset, minutes, threads, rows, done);
        Console.WriteLine($"Table for {dataset} written to {doc} ({clock.Elapsed.TotalMinutes:F0} min).");
        return done.Count == rows.Count ? 0 : 1;
    }

    private static Dictionary<string, JsonObject> ReadRows(string path)
    {
        var rows = new Dictionary<string, JsonObject>();
        if (!File.Exists(path)) return rows;
        foreach (var line in File.ReadLines(path))
            if (line.Length > 0 && JsonNode.Parse(line) is JsonObject o && o["row"]?.GetValue<string>() is string name) rows[name] = o;
        return rows;
    }

    private static JsonObject? RunChild(string row, string dataset, double minutes, int threads, string runsDir)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "row", "--row", row, "--dataset", dataset, "--minutes", minutes.ToString(CultureInfo.InvariantCulture),
                     "--threads", threads.ToString(CultureInfo.InvariantCulture), "--runs-dir", runsDir })
            psi.ArgumentList.Add(arg);
        using var p = Process.Start(psi)!;
        JsonObject? result = null;
        while (p.StandardOutput.ReadLine() is string line)
        {
            if (line.StartsWith("{\"row\"", StringComparison.Ordinal)) result = JsonNode.Parse(line) as JsonObject;
            else Console.WriteLine($"  {line}");
        }
        p.WaitForExit();
        return p.ExitCode == 0 ? result : null;
    }

    /// <summary>One row, in this process; prints progress lines and finally one JSON line starting with {"row".</summary>
    public static int RunRow(BenchArgs a)
    {
        string row = a.Get("row", "");
        string dataset = a.Get("dataset", "fashion-mnist");
        double minutes = a.Double("minutes", 10);
        int threads = a.Int("threads", 2);
        string runsDir = a.Get("runs-dir", Path.Combine("bench", "runs", dataset));
        set_num_threads(threads);
        using var fetcher = new DatasetFetcher();
        using var train = fetcher.LoadSplit(dataset, DataSplit.Train);
        using var test = fetcher.LoadSplit(dataset, DataSplit.Test);
        var baseConfig = Presets.For("simclr", dataset, threads);
        var clock = Stopwatch.StartNew();
        var r = new JsonObject { ["row"] = row };
        switch (row)
        {
            case "raw-pixels":
            {
                // Logistic regression (and kNN) on the pixels themselves: the Baseline protocol of the same evaluation.
                using var untrained = Pretraining.CreateMethod(baseConfig);
                var result = Judge(untrained, baseConfig with { Evaluation = TableEvaluation(baseConfig.Evaluation, fineTune: false) with { Baseline = true } }, train, test, baselines: true);
                Record(r, result, Protocol.Baseline, "linear");
                RawKnn(r, baseConfig, train, test);
                r["command"] = "bench row --row raw-pixels";
                break;
            }
            case "random-encoder":
            {
                using var untrained = Pretraining.CreateMethod(baseConfig);
                var result = Judge(untrained, baseConfig with { Evaluation = TableEvaluation(baseConfig.Evaluation, fineTune: false) }, train, test, baselines: false);
                Record(r, result, Protocol.Knn, "knn");
                Record(r, result, Protocol.LinearProbe, "linear");
                r["command"] = "bench row --row random-encoder";
                break;
            }
            case "supervised":
            {
                // The network trained end to end from random weights on the same subsets (100 %, 1 %, 10 per class).
                using var untrained = Pretraining.CreateMethod(baseConfig);
                var ev = TableEvaluation(baseConfig.Evaluation, fineTune: false) with { LinearFractions = [], PerClass = [], ScratchFractions = [1.0, 0.01], TrainedPerClass = [10] };
                var result = Judge(untrained, baseConfig with { Evaluation = ev }, train, test, baselines: true);
                Record(r, result, Protocol.FromScratch, "linear");
                Record(r, result, Protocol.FromScratch, "trained", onlyPerClass: true);
                r["steps"] = SupervisedTraining.StepsFor(50_000, ev.Supervised);
                r["command"] = "bench row --row supervised";
                break;
            }
            default:
                // --set "path=value;path=value": a row with overrides on top of the method's preset (short-run
                // learning-rate sweeps); the overrides go into the run dir's name and the recorded command.
                var sets = a.Get("set", "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                PretrainAndJudge(r, MethodRegistry.Get(row), baseConfig, train, test, minutes, runsDir, sets, a.Int("steps", 0));
                break;
        }
        r["wall_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 0);
        r["peak_rss_mb"] = PeakRssMb();
        r["threads"] = threads;
        Console.WriteLine(r.ToJsonString());
        return 0;
    }

    private static void PretrainAndJudge(JsonObject r, MethodEntry entry, RunConfig baseConfig, TensorDataset train, TensorDataset test, double minutes, string runsDir, string[] sets, long fixedSteps = 0)
    {
        var cfg = ConfigOverrides.Apply(entry.ApplyPreset(baseConfig), sets);
        var data = new UnlabelledView(train);
        long stepsPerEpoch = data.Count / cfg.Train.BatchSize;
        // --steps N (row mode): a fixed step count instead of the timed budget, e.g. a reference row's count when
        // redoing a row on a slower machine (the budget stays the reference machine's; only the time columns change).
        double stepSeconds = fixedSteps > 0 ? double.NaN : Pretraining.SecondsPerStep(cfg, data);
        long steps = fixedSteps > 0 ? fixedSteps : Math.Max(10, (long)(minutes * 60 / stepSeconds));
        cfg = cfg with { Train = cfg.Train with { MaxSteps = steps, Epochs = (int)Math.Ceiling((double)steps / stepsPerEpoch) } };
        Console.WriteLine(fixedSteps > 0
            ? $"{entry.Name}: {steps} steps ({(double)steps / stepsPerEpoch:F1} epochs), as --steps asked"
            : $"{entry.Name}: {stepSeconds:F2} s/step measured, so {steps} steps ({(double)steps / stepsPerEpoch:F1} epochs) fill {minutes} min");
        string runDir = Path.Combine(runsDir, sets.Length == 0 ? entry.Name : entry.Name + "@" + string.Join(",", sets).Replace('/', '_'));
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        var pre = Pretraining.Run(cfg, data, runDir, resume: false, new ProgressLines());
        var (method, _, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
        using (method)
        {
            var result = Judge(method, cfg with { Evaluation = TableEvaluation(cfg.Evaluation, fineTune: true) }, train, test, baselines: false);
            Record(r, result, Protocol.Knn, "knn");
            Record(r, result, Protocol.LinearProbe, "linear");
            Record(r, result, Protocol.FineTune, "trained");
        }
        r["family"] = entry.Family;
        r["steps"] = steps;
        r["epochs"] = Math.Round((double)steps / stepsPerEpoch, 2);
        r["pretrain_seconds"] = Math.Round(pre.Seconds, 0);
        r["samples_per_second"] = Math.Round(pre.SamplesPerSecond, 0);
        r["final_loss"] = Math.Round(pre.FinalLoss, 4);
        r["collapse_std"] = Math.Round(pre.FinalCollapseStd, 3);
        r["command"] = $"pretext pretrain --method {entry.Name} --dataset {cfg.Dataset} --max-steps {steps} --epochs {cfg.Train.Epochs} --threads {cfg.Train.Threads}" + string.Concat(sets.Select(x => $" --set {x}"));
        if (sets.Length > 0) r["overrides"] = string.Join(";", sets);
        r["precision"] = ComputeOptions.Resolve(cfg.Encoder.Precision).ToString();
        if (NativeBf16.Feature is null) r["cpu"] = "no native bf16";
    }

    /// <summary>
    /// What a row is judged with: kNN, linear probes at 100 % and 1 % of the labelled pool and at 10 per class, and (for
    /// pretrained rows) fine-tuning at 10 per class; 5 subsets under 10 %; no maps or extras.
    /// </summary>
    private static EvaluationConfig TableEvaluation(EvaluationConfig ev, bool fineTune) => ev with
    {
        LinearFractions = [1.0, 0.01], PerClass = [10], ScratchFractions = [], FineTuneFractions = [], FineTune = fineTune,
        TrainedPerClass = fineTune ? [10] : [], Seeds = Subsets, Baseline = false, Distill = false, Propagate = false,
        Extras = EvaluationExtras.None, Maps = ev.Maps with { Samples = 0 },
    };

    private static EvaluationResult Judge(ISslMethod method, RunConfig cfg, TensorDataset train, TensorDataset test, bool baselines) =>
        Evaluating.Run(method, cfg, new ImageModality.ImageInputs(cfg), new ImageSamples(train), new ImageSamples(test), new ProgressLines(), baselines);

    /// <summary>
    /// The row's figures of <paramref name="protocol"/> under <paramref name="prefix"/>: {prefix}_{budget} (mean test %), _std
    /// (over subsets), _val (mean validation %, what any choice saw). kNN is just "knn".
    /// </summary>
    private static void Record(JsonObject r, EvaluationResult result, Protocol protocol, string prefix, bool onlyPerClass = false)
    {
        foreach (var s in result.For(protocol).Where(s => !onlyPerClass || s.PerClass is not null))
        {
            string key = protocol == Protocol.Knn ? prefix : $"{prefix}_{s.Budget}";
            r[key] = Math.Round(100 * s.Accuracy, 2);
            if (s.Subsets > 1) r[key + "_std"] = Math.Round(100 * s.AccuracyStd, 2);
            if (s.ValidationAccuracy is double v) r[key + "_val"] = Math.Round(100 * v, 2);
        }
    }

    /// <summary>kNN on raw pixels with the same bank as the protocol's kNN: every training image outside the validation split.</summary>
    private static void RawKnn(JsonObject r, RunConfig cfg, TensorDataset train, TensorDataset test)
    {
        var ev = cfg.Evaluation;
        var (pool, _) = ValidationSplit.Carve(train.Labels!, i => train.SampleId(i), ev.ValidationFraction, ev.ValidationSeed);
        using var bank = train.Gather(pool).flatten(1);
        using var queries = test.Gather(Range(test.Count)).flatten(1);
        var bankY = pool.Select(i => train.Labels![i]).ToArray();
        r["knn"] = Math.Round(100 * Knn.Accuracy(bank, bankY, queries, test.Labels!, bankY.Max() + 1, ev.KnnK, ev.KnnTemperature), 2);
    }

    private static long[] Range(long n) => Enumerable.Range(0, (int)n).Select(i => (long)i).ToArray();

    private static double PeakRssMb() =>
        Math.Round(File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).FirstOrDefault() / 1024.0, 0);

    /// <summary>Rewrites the data set's section of the benchmarks page between its markers (atomically), keeping the rest.</summary>
    private static void WriteTable(string doc, string dataset, double minutes, int threads, List<string> rows, Dictionary<string, JsonObject> done)
    {
        string begin = $"<!-- methods:{dataset} -->", end = $"<!-- /methods:{dataset} -->";
        var sb = new StringBuilder();
        sb.AppendLine(begin);
        // The table's precision is its method rows' majority (this machine's while only baselines are in); rows measured
        // in another precision (redone on a different machine at the reference step count) are marked with a dagger.
        string tablePrecision = done.Values.Select(o => o["precision"]?.GetValue<string>()).OfType<string>()
            .GroupBy(p => p).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault() ?? (NativeBf16.Feature is null ? "Float32" : "BFloat16");
        bool bf16 = tablePrecision == "BFloat16";
        bool Odd(JsonObject o) => o["precision"]?.GetValue<string>() is string p && p != tablePrecision;
        sb.AppendLine(FormattableString.Invariant($"Written by `bench/methods.sh` on {DateTime.UtcNow:yyyy-MM-dd}: {dataset}, quickstart encoder (ResNet 32-64-128-256, one block per stage, {(bf16 ? "bf16" : "fp32")} + channels-last), ") +
            FormattableString.Invariant($"{minutes:0.#} minutes of pretraining per method on {threads} threads (the step count is measured per method and recorded), each method's own preset. ") +
            "Protocol: 10,000 of the 60,000 training images are the validation split (class-stratified, seed 0) on which every choice (the probe's penalty) is made; " +
            "label subsets come from the other 50,000; 1 % (500 labels) and 10 per class (100 labels): mean ± standard deviation over 5 class-stratified subsets; the test split (10,000) scores each finished row once. " +
            "kNN: k = 200, cosine, T = 0.1, all 50,000 labels; linear: logistic regression on frozen standardised features; end to end, 100 labels: the pretrained network fine-tuned " +
            "(encoder at 0.1x the head's learning rate), or for `supervised` trained from scratch, with crop and flip. The `raw-pixels` row's probes are logistic regression on the pixels; " +
            "the `supervised` row's linear columns are the network trained from scratch on those labels.");
        sb.AppendLine();
        sb.AppendLine("| row | family | kNN % | linear 100 % | linear 1 % | linear, 100 labels | end to end, 100 labels | steps | epochs | pretrain wall s | samples/s | peak RSS MB | final loss | collapse std | command |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            if (!done.TryGetValue(row, out var o)) { sb.AppendLine(CultureInfo.InvariantCulture, $"| {row} | | not run yet or failed | | | | | | | | | | | | |"); continue; }
            string V(string k) => o[k]?.ToJsonString() ?? "";
            string M(string k) => o[k] is null ? "" : o[k + "_std"] is null ? V(k) : $"{V(k)} ± {V(k + "_std")}";
            string family = o["family"]?.GetValue<string>() ?? "baseline";
            string mark = Odd(o) ? " †" : "";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {row}{mark} | {family} | {V("knn")} | {M("linear_100")} | {M("linear_1")} | {M("linear_10_per_class")} | {M("trained_10_per_class")} | {V("steps")} | {V("epochs")} | {V("pretrain_seconds")} | {V("samples_per_second")} | {V("peak_rss_mb")} | {V("final_loss")} | {V("collapse_std")} | `{o["command"]?.GetValue<string>()}` |");
        }
        if (rows.Any(r => done.TryGetValue(r, out var o) && Odd(o)))
            sb.AppendLine().AppendLine(bf16
                ? "† Redone on a 2-core CPU without native bf16 (so in fp32), at the step count this table's budget gave the row on the reference machine " +
                  "(`Pretext.Bench row --steps N`): the same budget in steps; its time columns are that slower machine's."
                : "† Measured in bf16 on a CPU with native bf16 (the reference machine), unlike the rest of this table.");
        if (!bf16)
            sb.AppendLine().AppendLine("This table was measured on a CPU without native bf16, so in fp32: the same minutes buy fewer steps than on the bf16 reference machine of the Fashion-MNIST table.");
        sb.Append(end);
        string text = File.Exists(doc) ? File.ReadAllText(doc) : "# Benchmarks\n";
        int b = text.IndexOf(begin, StringComparison.Ordinal), e = text.IndexOf(end, StringComparison.Ordinal);
        text = b >= 0 && e > b ? text[..b] + sb + text[(e + end.Length)..] : text.TrimEnd() + $"\n\n## Methods on {dataset}\n\n" + sb + "\n";
        string tmp = doc + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, doc, overwrite: true);
    }

    /// <summary>Plain progress lines every 30 s for a long pretraining inside a bench row.</summary>
    private sealed class ProgressLines : IRunObserver
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private double last = -30;
        private long total;
        private string stage = "";
        public void BeginStage(string name, long totalUnits) { stage = name; total = totalUnits; }
        public void Report(long done, string? detail = null)
        {
            if (clock.Elapsed.TotalSeconds - last < 30) return;
            last = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"{stage}: {done}/{total} {detail}");
        }
        public void EndStage(string? summary = null) => Console.WriteLine($"{stage}: done {summary}");
        public void Message(string text) => Console.WriteLine(text);
    }
}
