using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pretext.Data;
using Pretext.Data.Series;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Anomaly scores on the Suthaharan sensor sets (issue #20): every pretrained scorer against no-learning baselines run here, and
/// one-step forecasting against naive forecasts.
///   Pretext.Bench series [--sets suthaharan-single-hop,suthaharan-multi-hop] [--methods cpc,ts2vec,maskedpatches,forecast] [--forecast-residual true|false]
///       [--steps 60] [--stride 4] [--threads 2] [--run-dir runs/bench-series] [--out runs/bench-series/results.json]
/// Each set is laid out as `pretext score` lays it out (<see cref="SeriesScoringData"/>): test = the run's held-out blocks; validation =
/// every 5th training block plus the training blocks with labelled anomalies; reference = the rest. Every scorer gives reading
/// scores from windows every --stride readings. Each scorer's settings (k, distance, aggregation, PCA variance) are chosen by AUPRC
/// on the validation readings, and so are the best pretrained scorer and the best baseline; test readings are scored once, for the
/// report. Pretraining runs are kept in --run-dir and reused when they are complete (same options).
/// </summary>
internal static class SeriesBench
{
    /// <summary>A scorer's reading scores under one setting.</summary>
    private sealed record Candidate(string Group, string Scorer, string Setting, double[][] Readings);

    /// <summary>A scorer with its setting chosen on validation, and its test numbers.</summary>
    private sealed record Row(string Group, string Scorer, string Setting, double ValAuprc, double ValAuroc, double TestAuroc, double TestAuprc);

    private const string Pretrained = "pretrained", Scratch = "from scratch", NoLearning = "no learning";

    public static int Run(BenchArgs a)
    {
        var sets = a.Get("sets", "suthaharan-single-hop,suthaharan-multi-hop").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var methods = a.Get("methods", "cpc,ts2vec,maskedpatches,forecast").Split(',', StringSplitOptions.RemoveEmptyEntries);
        int steps = a.Int("steps", 60), stride = a.Int("stride", 4), threads = a.Int("threads", 2);
        bool residual = a.Get("forecast-residual", "true") != "false";
        string runDir = a.Get("run-dir", Path.Combine("runs", "bench-series"));
        string output = a.Get("out", Path.Combine(runDir, "results.json"));
        set_num_threads(threads);
        var clock = Stopwatch.StartNew();
        var report = new List<object>();
        foreach (var set in sets) report.Add(Bench(set, methods, steps, stride, threads, residual, Path.Combine(runDir, set)));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(new
        {
            bench = "series", steps, stride, threads, seconds = Math.Round(clock.Elapsed.TotalSeconds), load_average = Machine.LoadAverage(), sets = report,
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"All done in {clock.Elapsed.TotalSeconds:F0} s; results in {output}"));
        return 0;
    }

    private static object Bench(string set, string[] methods, int steps, int stride, int threads, bool residual, string runDir)
    {
        var clock = Stopwatch.StartNew();
        void Log(string m) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{set} {clock.Elapsed.TotalSeconds,5:F0} s] {m}"));
        var base_ = Presets.Series(set, threads);
        var (table, _, _) = SeriesModality.ReadTable(set, base_.Series, null, null);
        using var data = SeriesScoringData.Build(table, base_.Series, split: true, stride, validationEvery: 5);
        var stats = ChannelStats.Fit(data.ReferenceSegments.Concat(data.ValidationSegments), table.Channels);
        Log(string.Create(CultureInfo.InvariantCulture, $"{table.Readings:N0} readings: reference {data.ReferenceSegments.Sum(s => s.Count):N0}, validation {data.ValidationSegments.Sum(s => s.Count):N0} ") +
            string.Create(CultureInfo.InvariantCulture, $"({data.ReadingsOf(data.ReadingScores(new double[data.Scored.Count], ReadingAggregate.Mean), ReadingPart.Validation).Anomalous.Count(x => x)} anomalous), ") +
            string.Create(CultureInfo.InvariantCulture, $"test {data.TestSegments.Sum(s => s.Count):N0}; {data.Scored.Count:N0} windows scored, {data.ReferenceWindows.Count:N0} reference windows."));

        var candidates = new List<Candidate>();
        void FromWindows(string group, string scorer, string setting, double[] windowScores)
        {
            foreach (var agg in new[] { ReadingAggregate.Mean, ReadingAggregate.Max })
                candidates.Add(new Candidate(group, scorer, $"{setting}{(setting.Length > 0 ? ", " : "")}{agg.ToString().ToLowerInvariant()}", data.ReadingScores(windowScores, agg)));
        }
        void Knn(string group, string scorer, Tensor reference, Tensor scored)
        {
            foreach (var distance in new[] { KnnDistance.UnitLength, KnnDistance.Euclidean })
                foreach (int k in new[] { 5, 10, 20 })
                    FromWindows(group, scorer, $"k {k}, {(distance == KnnDistance.UnitLength ? "cosine" : "euclidean")}",
                        KnnAnomalyScorer.Score(reference, scored, k, data.ReferenceSpans, data.ScoredSpans, distance));
        }

        // No learning: z-score of each reading against its own mote's reference readings; raw normalised windows: kNN, PCA, isolation forest.
        candidates.Add(new Candidate(NoLearning, "z-score per mote", "", ReadingZScore.Score(data.ReferenceSegments, table.Segments, table.Channels)));
        using (var rawReference = Flat(stats, data.ReferenceWindows))
        using (var rawScored = Flat(stats, data.ScoredWindows))
        {
            Knn(NoLearning, "kNN on raw windows", rawReference, rawScored);
            foreach (var share in new[] { 0.9, 0.99 })
            {
                using var pca = PcaReconstruction.Fit(rawReference, share);
                FromWindows(NoLearning, "PCA reconstruction", string.Create(CultureInfo.InvariantCulture, $"{share:P0} variance ({pca.Components} components)"), pca.Score(rawScored));
            }
            var forest = IsolationForest.Fit(rawReference.data<float>().ToArray(), (int)rawReference.shape[0], (int)rawReference.shape[1], seed: 0);
            FromWindows(NoLearning, "isolation forest", "100 trees of 256", forest.Score(rawScored.data<float>().ToArray(), (int)rawScored.shape[0]));
        }
        Log("baselines scored");

        object? forecasting = null;
        var pretrainSeconds = new Dictionary<string, double>();
        foreach (var name in methods)
        {
            var cfg = Presets.For(name, set, threads);
            cfg = cfg with
            {
                Train = cfg.Train with { MaxSteps = steps, CheckpointEvery = steps, KeepCheckpoints = 1 },
                Methods = cfg.Methods with { Forecast = cfg.Methods.Forecast with { Residual = residual } },
            };
            string dir = Path.Combine(runDir, name);
            var watch = Stopwatch.StartNew();
            using (var train = PretrainRequest.TrainingSamples(cfg, null, null))
            {
                var pre = Pretraining.Run(cfg, train, dir, resume: Directory.Exists(Path.Combine(dir, "checkpoints")));
                pretrainSeconds[name] = Math.Round(watch.Elapsed.TotalSeconds);
                Log(string.Create(CultureInfo.InvariantCulture, $"{name}: {pre.Steps} steps ({watch.Elapsed.TotalSeconds:F0} s), final loss {pre.FinalLoss:F4}"));
                var (method, saved, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
                using (method)
                {
                    var norm = saved.Series.Normalization!;
                    // Forecasting trained from scratch is the issue's reference: its forecast error is a score of its own group.
                    string group = name == "forecast" ? Scratch : Pretrained;
                    using (var reference = SeriesScoring.Embed(method, norm, data.ReferenceWindows))
                    using (var scored = SeriesScoring.Embed(method, norm, data.ScoredWindows))
                        Knn(Pretrained, $"{name}: kNN in embedding space", reference, scored);
                    if (method is IReconstructionScorer scorer)
                        FromWindows(group, name == "forecast" ? "forecast: forecast error (trained from scratch)" : $"{name}: reconstruction error", "",
                            SeriesScoring.ReconstructionScores(scorer, method.Module, norm, data, seed: 0));
                    if (method is Forecasting f) forecasting = OneStep(f, norm, data, table);
                }
                Log($"{name} scored");
            }
        }

        // Each scorer at its best validation setting; then the best pretrained scorer and the best baseline, also by validation.
        // Ties (validation is nearly saturated by one obvious event) go to the better validation AUROC, then to the order tried.
        var rows = candidates.GroupBy(c => c.Scorer).Select(g => Choose(g.Select(c => Measure(c, data))).First()).ToList();
        Row? Best(params string[] groups) => Choose(rows.Where(r => groups.Contains(r.Group))).FirstOrDefault();
        var oracle = rows.Where(r => r.Group != Pretrained).OrderByDescending(r => r.TestAuprc).First();
        var bestPretrained = Best(Pretrained);
        var bestBaseline = Best(NoLearning, Scratch);
        Console.WriteLine($"\n{set}: reading-level AUROC and AUPRC; each scorer's setting chosen by validation AUPRC");
        Console.WriteLine($"| group | scorer | chosen setting | validation AUPRC | test AUROC | test AUPRC |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var r in rows.OrderBy(r => r.Group).ThenByDescending(r => r.ValAuprc))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Group} | {r.Scorer} | {r.Setting} | {r.ValAuprc:F3} | {r.TestAuroc:F3} | {r.TestAuprc:F3} |"));
        if (bestPretrained is not null && bestBaseline is not null)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"best pretrained (by validation): {bestPretrained.Scorer}, test AUPRC {bestPretrained.TestAuprc:F3}; best baseline (by validation): {bestBaseline.Scorer}, test AUPRC {bestBaseline.TestAuprc:F3}; difference {bestPretrained.TestAuprc - bestBaseline.TestAuprc:+0.000;-0.000}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(for reference only, chosen on test: the best baseline there is {oracle.Scorer}, test AUPRC {oracle.TestAuprc:F3})"));
        if (forecasting is not null) Console.WriteLine("one-step forecasting (test readings, normalised units): " + JsonSerializer.Serialize(forecasting));
        var (_, testAnomalous) = data.ReadingsOf(data.ReadingScores(new double[data.Scored.Count], ReadingAggregate.Mean), ReadingPart.Test);
        return new
        {
            set, seconds = Math.Round(clock.Elapsed.TotalSeconds), pretrain_seconds = pretrainSeconds,
            test_readings = testAnomalous.Length, test_anomalies = testAnomalous.Count(x => x),
            rows, best_pretrained = bestPretrained, best_baseline = bestBaseline, best_baseline_on_test = oracle,
            difference = bestPretrained is null || bestBaseline is null ? double.NaN : Math.Round(bestPretrained.TestAuprc - bestBaseline.TestAuprc, 3),
            all_settings = candidates.Select(c => Measure(c, data)).ToList(), forecasting,
        };
    }

    private static IOrderedEnumerable<Row> Choose(IEnumerable<Row> rows) => rows.OrderByDescending(r => r.ValAuprc).ThenByDescending(r => r.ValAuroc);

    private static Row Measure(Candidate c, SeriesScoringData data)
    {
        var (vs, va) = data.ReadingsOf(c.Readings, ReadingPart.Validation);
        var (ts, ta) = data.ReadingsOf(c.Readings, ReadingPart.Test);
        var val = DetectionMetrics.Of(vs, va, double.PositiveInfinity);
        var test = DetectionMetrics.Of(ts, ta, double.PositiveInfinity);
        return new Row(c.Group, c.Scorer, c.Setting, Math.Round(val?.Auprc ?? double.NaN, 4), Math.Round(val?.Auroc ?? double.NaN, 4),
            Math.Round(test?.Auroc ?? double.NaN, 4), Math.Round(test?.Auprc ?? double.NaN, 4));
    }

    /// <summary>Raw windows normalised with the training readings' statistics, flattened to (N, C * L).</summary>
    private static Tensor Flat(ChannelStats stats, TensorDataset windows)
    {
        using var normalised = stats.Apply(windows.Data);
        return normalised.reshape(normalised.shape[0], -1).contiguous().clone();
    }

    /// <summary>
    /// One-step forecasting error on the test readings, in normalised units: the forecasting head at the last step of each scored window
    /// (63 readings of context) against the naive forecast (the previous reading) and the seasonal-naive one (the reading m steps back, m
    /// chosen from 12, 60, 120, 360, 720 readings, 1 minute to 1 hour, by validation error). All three are measured on the same readings:
    /// normal ones that end a scored window and have m readings before them in their segment.
    /// </summary>
    private static object OneStep(Forecasting f, ChannelStats stats, SeriesScoringData data, SeriesTable table)
    {
        int c = table.Channels, length = data.Length;
        var forecast = new Dictionary<(int Segment, int Reading), float[]>();
        using (var mode = Compute.ModeScope.Eval(f))
        using (var noGrad = no_grad())
        {
            for (int start = 0; start < data.Scored.Count; start += 256)
            {
                int n = Math.Min(256, data.Scored.Count - start);
                using var scope = NewDisposeScope();
                var idx = Enumerable.Range(start, n).Select(i => (long)i).ToArray();
                var x = stats.Apply(data.ScoredWindows.Gather(idx));
                var (pred, _, _) = f.Forward(x);                                   // (B, T', H, C): the last step forecasts the window's last reading
                var last = pred.select(1, pred.shape[1] - 1).select(1, 0).contiguous().data<float>().ToArray();
                for (int i = 0; i < n; i++)
                {
                    var p = data.Scored[start + i];
                    forecast[(p.Segment, p.Start + length - 1)] = last[(i * c)..((i + 1) * c)];
                }
            }
        }
        float Norm(int si, int t, int ch) => (table.Segments[si].Values[t * c + ch] - stats.Mean[ch]) / stats.Std[ch];
        // Mean squared error per channel over the normal readings of a part that have a model forecast and m readings before them.
        double Mse(ReadingPart part, int m, Func<int, int, int, double> predict)
        {
            double sum = 0;
            long n = 0;
            foreach (var ((si, t), _) in forecast)
            {
                if (t < m || data.Parts[si][t] != part || data.Anomalous![si][t]) continue;
                for (int ch = 0; ch < c; ch++) { double e = predict(si, t, ch) - Norm(si, t, ch); sum += e * e; }
                n++;
            }
            return n == 0 ? double.NaN : sum / (n * c);
        }
        int[] seasons = [12, 60, 120, 360, 720];
        int season = seasons.OrderBy(m => Mse(ReadingPart.Validation, m, (si, t, ch) => Norm(si, t - m, ch))).First();
        return new
        {
            readings = "normal test readings with a model forecast and at least m readings before them in their segment; mean squared error per channel in training standard deviations",
            validation_model = Math.Round(Mse(ReadingPart.Validation, season, (si, t, ch) => forecast[(si, t)][ch]), 6),
            validation_naive = Math.Round(Mse(ReadingPart.Validation, season, (si, t, ch) => Norm(si, t - 1, ch)), 6),
            model = Math.Round(Mse(ReadingPart.Test, season, (si, t, ch) => forecast[(si, t)][ch]), 5),
            naive = Math.Round(Mse(ReadingPart.Test, season, (si, t, ch) => Norm(si, t - 1, ch)), 5),
            seasonal_naive = Math.Round(Mse(ReadingPart.Test, season, (si, t, ch) => Norm(si, t - season, ch)), 5),
            season_readings = season,
        };
    }

}
