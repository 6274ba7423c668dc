using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Anomaly detection on a catalogued table (issue #22): the pretrained scorers of `pretext score` (kNN in embedding space; reconstruction
/// error for vime and dae) against no-learning scorers on the same encoded raw columns (kNN, PCA reconstruction, an isolation forest),
/// on the parts `pretext score` uses (reference: training rows less validation; validation: a sixth of the training rows, stratified;
/// test: the held-out fifth). The rarest class (or the preset's positive class) is the anomaly; labels are used for nothing but the
/// metrics. Each scorer's setting is chosen by validation AUPRC (then AUROC, then the order tried); test is read once per setting. With
/// so few anomalies (unbalanced: 2 in validation, 2 in test) one run says little, so it is repeated over --seeds run seeds (pretraining,
/// validation carve, isolation forest); the test part stays the fixed held-out fifth. --anomaly-classes names several classes as the
/// anomalies instead, and --ignore-classes leaves classes out of the metrics (they stay in pretraining and in the reference records):
/// Shuttle as ODDS uses it is --anomaly-classes Fpv.Close,Fpv.Open,Bypass,Bpv.Close,Bpv.Open --ignore-classes High.
///   Pretext.Bench tables-anomaly [--dataset unbalanced] [--methods scarf,vime,dae] [--steps 300] [--seeds 5] [--threads 1]
///       [--anomaly-classes A,B] [--ignore-classes C] [--run-dir runs/bench-tables-anomaly] [--out runs/bench-tables-anomaly/results.json]
/// </summary>
internal static class TableAnomalyBench
{
    private sealed record Candidate(string Group, string Scorer, string Setting, double[] Scores);

    private sealed record Row(string Group, string Scorer, string Setting, double ValAuprc, double ValAuroc, double TestAuroc, double TestAuprc);

    private const string Pretrained = "pretrained", NoLearning = "no learning";

    public static int Run(BenchArgs a)
    {
        string dataset = a.Get("dataset", "unbalanced");
        var methods = a.Get("methods", "scarf,vime,dae").Split(',', StringSplitOptions.RemoveEmptyEntries);
        int steps = a.Int("steps", 300), threads = a.Int("threads", 1), seeds = a.Int("seeds", 5);
        var anomalyClasses = a.Get("anomaly-classes", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ignoredClasses = a.Get("ignore-classes", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string runDir = a.Get("run-dir", Path.Combine("runs", "bench-tables-anomaly"));
        string output = a.Get("out", Path.Combine(runDir, "results.json"));
        string load = Machine.LoadAverage();
        var clock = Stopwatch.StartNew();
        var perSeed = new List<Seeded>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var result = RunSeed(dataset, methods, steps, threads, seed, Path.Combine(runDir, $"seed{seed}"), clock, anomalyClasses, ignoredClasses);
            perSeed.Add(result);
            Print($"{dataset}, seed {seed} ({result.AnomalyClass} as anomalies; validation {result.ValidationRecords} records with {result.ValidationAnomalies}, test {result.TestRecords} with {result.TestAnomalies}): each scorer's setting chosen by validation AUPRC", result.Rows);
            Console.WriteLine("Reference records by class (share): " + string.Join(", ", result.ReferenceClassShare.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:P1}"))));
            if (result.ValidationAurocByClass.Values.FirstOrDefault()?.Count > 1)
                foreach (var (scorer, perClass) in result.ValidationAurocByClass)
                    Console.WriteLine($"  validation AUROC by anomalous class, {scorer}: " + string.Join(", ", perClass.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F3}"))));
        }
        // Over seeds (pretraining seed and validation carve; the test part is the fixed held-out fifth): each scorer's chosen setting's test numbers.
        var summary = perSeed.SelectMany(r => r.Rows).GroupBy(r => (r.Group, r.Scorer)).Select(g => new
        {
            group = g.Key.Group, scorer = g.Key.Scorer,
            test_auroc = Math.Round(g.Average(r => r.TestAuroc), 3), test_auroc_sd = Math.Round(Sd(g.Select(r => r.TestAuroc)), 3),
            test_auprc = Math.Round(g.Average(r => r.TestAuprc), 3), test_auprc_sd = Math.Round(Sd(g.Select(r => r.TestAuprc)), 3),
            settings = string.Join("; ", g.Select(r => r.Setting).Distinct()),
        }).OrderBy(x => x.group).ThenByDescending(x => x.test_auroc).ToList();
        var best = perSeed.Select(r => new { pretrained = r.BestPretrained, baseline = r.BestBaseline }).ToList();
        Console.WriteLine($"\n{dataset}: mean (sd) over {seeds} seeds of each scorer's test AUROC and AUPRC at its setting chosen on validation");
        Console.WriteLine("| group | scorer | test AUROC | test AUPRC | settings chosen |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var x in summary)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {x.group} | {x.scorer} | {x.test_auroc:F3} ({x.test_auroc_sd:F3}) | {x.test_auprc:F3} ({x.test_auprc_sd:F3}) | {x.settings} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"best pretrained scorer by validation, per seed: mean test AUROC {best.Average(b => b.pretrained?.TestAuroc ?? double.NaN):F3}, AUPRC {best.Average(b => b.pretrained?.TestAuprc ?? double.NaN):F3}; ") +
            string.Create(CultureInfo.InvariantCulture, $"best baseline by validation: AUROC {best.Average(b => b.baseline?.TestAuroc ?? double.NaN):F3}, AUPRC {best.Average(b => b.baseline?.TestAuprc ?? double.NaN):F3}"));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(new
        {
            bench = "tables-anomaly", dataset, steps, threads, seeds, seconds = Math.Round(clock.Elapsed.TotalSeconds), summary, best_by_validation = best, per_seed = perSeed,
            load_average_start = load, load_average_end = Machine.LoadAverage(),
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"Results in {output}");
        return 0;
    }

    private sealed record Seeded(int Seed, string AnomalyClass, int ValidationRecords, int ValidationAnomalies, int TestRecords, int TestAnomalies,
        Dictionary<string, double> PretrainSeconds, List<Row> Rows, Row? BestPretrained, Row? BestBaseline, List<Row> AllSettings,
        Dictionary<string, double> ReferenceClassShare, Dictionary<string, Dictionary<string, double>> ValidationAurocByClass);

    /// <summary>
    /// A diagnostic, on validation only (it chooses nothing): each chosen scorer's AUROC for every anomalous class alone against the normal
    /// records, so a scorer that ranks one class of anomalies well and another backwards shows which.
    /// </summary>
    private static Dictionary<string, Dictionary<string, double>> ValidationAurocByClass(List<Row> rows, List<Candidate> candidates, ReadingPart[] parts,
        bool[] anomalous, bool[] counted, int[] labels, string[] classNames)
    {
        var validation = Enumerable.Range(0, parts.Length).Where(i => parts[i] == ReadingPart.Validation && counted[i]).ToArray();
        var normal = validation.Where(i => !anomalous[i]).ToArray();
        var anomalyLabels = validation.Where(i => anomalous[i]).Select(i => labels[i]).Distinct().Order().ToArray();
        var result = new Dictionary<string, Dictionary<string, double>>();
        foreach (var row in rows)
        {
            var scores = candidates.First(c => c.Scorer == row.Scorer && c.Setting == row.Setting).Scores;
            var perClass = new Dictionary<string, double>();
            foreach (int c in anomalyLabels)
            {
                var idx = normal.Concat(validation.Where(i => anomalous[i] && labels[i] == c)).ToArray();
                var metrics = DetectionMetrics.Of([.. idx.Select(i => scores[i])], [.. idx.Select(i => anomalous[i])], double.PositiveInfinity);
                perClass[$"{classNames[c]} ({idx.Length - normal.Length})"] = Math.Round(metrics?.Auroc ?? double.NaN, 3);
            }
            result[$"{row.Scorer} ({row.Setting})"] = perClass;
        }
        return result;
    }

    private static double Sd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length < 2) return 0;
        double mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
    }

    private static void Print(string title, List<Row> rows)
    {
        Console.WriteLine("\n" + title);
        Console.WriteLine("| group | scorer | chosen setting | validation AUPRC | test AUROC | test AUPRC |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var r in rows.OrderBy(r => r.Group).ThenByDescending(r => r.ValAuprc))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Group} | {r.Scorer} | {r.Setting} | {r.ValAuprc:F3} | {r.TestAuroc:F3} | {r.TestAuprc:F3} |"));
    }

    /// <summary>Pretraining with run seed <paramref name="seed"/>, the validation part carved with it, every scorer measured.</summary>
    private static Seeded RunSeed(string dataset, string[] methods, int steps, int threads, int seed, string runDir, Stopwatch clock,
        string[] anomalyClasses, string[] ignoredClasses)
    {
        var candidates = new List<Candidate>();
        bool[]? anomalous = null, counted = null;
        ReadingPart[]? parts = null;
        string? anomalyClass = null;
        int[]? labels = null;
        string[]? classNames = null;
        long[]? referenceRecords = null;
        var pretrainSeconds = new Dictionary<string, double>();
        foreach (var name in methods)
        {
            var cfg = Presets.For(name, dataset, threads);
            cfg = cfg with { Train = cfg.Train with { MaxSteps = steps, CheckpointEvery = steps, KeepCheckpoints = 1, Seed = seed } };
            string dir = Path.Combine(runDir, name);
            var watch = Stopwatch.StartNew();
            string checkpoint;
            using (var train = PretrainRequest.TrainingSamples(cfg, null, null))
                checkpoint = Pretraining.Run(cfg, train, dir, resume: Directory.Exists(Path.Combine(dir, "checkpoints"))).FinalCheckpoint;
            pretrainSeconds[name] = Math.Round(watch.Elapsed.TotalSeconds);
            set_num_threads(threads);
            var (method, saved, _) = Pretraining.LoadMethod(checkpoint);
            using (method)
            using (var records = RecordSet.Load(method, saved, checkpoint, null, [], null, ValidationSplit.DefaultFraction, seed))
            {
                var reference = records.IndicesOf(ReadingPart.Reference);
                if (anomalous is null)
                {
                    foreach (var c in anomalyClasses.Concat(ignoredClasses))
                        if (!records.ClassNames.Contains(c)) throw new ArgumentException($"{dataset} has no class '{c}'; its classes are {string.Join(", ", records.ClassNames)}.");
                    if (anomalyClasses.Length > 0)
                    {
                        anomalyClass = string.Join(", ", anomalyClasses);
                        anomalous = [.. records.Labels!.Select(l => anomalyClasses.Contains(records.ClassNames[l]))];
                    }
                    else
                    {
                        anomalyClass = RecordScoring.AnomalyClassOf(records.ClassNames, records.Labels, saved.Evaluation.Table.PositiveClass is { Length: > 0 } p ? p : null)!;
                        anomalous = [.. records.Labels!.Select(l => records.ClassNames[l] == anomalyClass)];
                    }
                    if (ignoredClasses.Length > 0) anomalyClass += $" (left out of the metrics: {string.Join(", ", ignoredClasses)})";
                    counted = [.. records.Labels!.Select(l => !ignoredClasses.Contains(records.ClassNames[l]))];
                    parts = records.Parts;
                    labels = [.. records.Labels!];
                    classNames = [.. records.ClassNames];
                    referenceRecords = reference;
                    Baselines(records, saved, checkpoint, reference, seed, candidates);
                }
                foreach (int k in new[] { 5, 10, 20 })
                    candidates.Add(new Candidate(Pretrained, $"{name}: kNN in embedding space", $"k {k}", RecordScoring.KnnScores(records, reference, Math.Min(k, reference.Length))));
                if (method is Pretext.Methods.IReconstructionScorer scorer)
                    candidates.Add(new Candidate(Pretrained, $"{name}: reconstruction error", "8 corruptions", records.ReconstructionErrors(scorer, method.Module, seed, draws: 8)));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,5:F0} s] seed {seed}, {name}: {steps} steps ({pretrainSeconds[name]} s), scored"));
        }
        var all = candidates.Select(c => Measure(c, parts!, anomalous!, counted!)).ToList();
        var rows = all.GroupBy(r => r.Scorer).Select(g => Choose(g).First()).ToList();
        Row? Best(string group) => Choose(rows.Where(r => r.Group == group)).FirstOrDefault();
        int Count(ReadingPart part, bool onlyAnomalies) => Enumerable.Range(0, parts!.Length).Count(i => parts[i] == part && counted![i] && (!onlyAnomalies || anomalous![i]));
        var byClass = ValidationAurocByClass(rows, candidates, parts!, anomalous!, counted!, labels!, classNames!);
        var referenceShare = classNames!.Select((name, c) => (name, share: referenceRecords!.Count(i => labels![i] == c) / (double)referenceRecords!.Length))
            .Where(x => x.share > 0).ToDictionary(x => x.name, x => Math.Round(x.share, 4));
        return new Seeded(seed, anomalyClass!, Count(ReadingPart.Validation, false), Count(ReadingPart.Validation, true), Count(ReadingPart.Test, false), Count(ReadingPart.Test, true),
            pretrainSeconds, rows, Best(Pretrained), Best(NoLearning), all, referenceShare, byClass);
    }

    /// <summary>No-learning scorers on the encoded raw columns (standardised numbers, missing indicators, categories one-hot), fitted on the reference records.</summary>
    private static void Baselines(RecordSet records, RunConfig config, string checkpoint, long[] reference, int seed, List<Candidate> candidates)
    {
        using var inputs = new TableModality.TableInputs(config, checkpoint);
        var samples = new TableSamples(records.Rows!);
        var (raw, again, _) = inputs.BaselineFeatures(samples, samples);
        again.Dispose();
        using (raw)
        using (var scope = NewDisposeScope())
        {
            var referenceRows = raw.index_select(0, tensor(reference));
            var all = Enumerable.Range(0, records.Count).Select(i => (long)i).ToArray();
            var spans = new WindowSpans(all, new double[all.Length], new double[all.Length]);
            var referenceSpans = new WindowSpans(reference, new double[reference.Length], new double[reference.Length]);
            foreach (var distance in new[] { KnnDistance.UnitLength, KnnDistance.Euclidean })
                foreach (int k in new[] { 5, 10, 20 })
                    candidates.Add(new Candidate(NoLearning, "kNN on raw columns", $"k {k}, {(distance == KnnDistance.UnitLength ? "cosine" : "euclidean")}",
                        KnnAnomalyScorer.Score(referenceRows, raw, k, referenceSpans, spans, distance)));
            foreach (var share in new[] { 0.9, 0.99 })
            {
                using var pca = PcaReconstruction.Fit(referenceRows, share);
                candidates.Add(new Candidate(NoLearning, "PCA reconstruction", string.Create(CultureInfo.InvariantCulture, $"{share:P0} variance ({pca.Components} components)"), pca.Score(raw)));
            }
            var forest = IsolationForest.Fit(referenceRows.contiguous().data<float>().ToArray(), (int)referenceRows.shape[0], (int)referenceRows.shape[1], seed);
            candidates.Add(new Candidate(NoLearning, "isolation forest", "100 trees of 256", forest.Score(raw.contiguous().data<float>().ToArray(), (int)raw.shape[0])));
        }
    }

    private static IOrderedEnumerable<Row> Choose(IEnumerable<Row> rows) => rows.OrderByDescending(r => r.ValAuprc).ThenByDescending(r => r.ValAuroc);

    private static Row Measure(Candidate c, ReadingPart[] parts, bool[] anomalous, bool[] counted)
    {
        DetectionMetrics? Of(ReadingPart part)
        {
            var idx = Enumerable.Range(0, parts.Length).Where(i => parts[i] == part && counted[i]).ToArray();
            return DetectionMetrics.Of([.. idx.Select(i => c.Scores[i])], [.. idx.Select(i => anomalous[i])], double.PositiveInfinity);
        }
        var val = Of(ReadingPart.Validation);
        var test = Of(ReadingPart.Test);
        return new Row(c.Group, c.Scorer, c.Setting, Math.Round(val?.Auprc ?? double.NaN, 4), Math.Round(val?.Auroc ?? double.NaN, 4),
            Math.Round(test?.Auroc ?? double.NaN, 4), Math.Round(test?.Auprc ?? double.NaN, 4));
    }

}
