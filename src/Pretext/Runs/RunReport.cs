using System.Globalization;
using System.Text.Json.Serialization;
using Pretext.Evaluation;
using Pretext.Reporting;
using Pretext.Runs.Modalities;

namespace Pretext.Runs;

/// <summary>One score as summary.json lists it (accuracies and F1 in [0, 1]; std over the label subsets).</summary>
public sealed record ScoreSummary(string Protocol, double Fraction, int? PerClass, int Labels, int Subsets, IReadOnlyList<int> Seeds,
    double Accuracy, double AccuracyStd, IReadOnlyList<double> Accuracies, double? F1, double? F1Std, IReadOnlyList<double>? F1s,
    double? ValidationAccuracy, IReadOnlyList<double>? ValidationAccuracies);

/// <summary>
/// summary.json, the same schema for every modality (docs/evaluation.md, "summary.json"). The collapse verdict comes
/// first, so nobody reads accuracies of a collapsed run without seeing it. Besides the typed fields, each score also
/// appears as a flat key <c>{protocol}_{percent}</c> (mean accuracy; kNN as <c>knn</c>), with <c>_std</c> when several
/// label subsets were drawn, and <c>_f1</c> / <c>_f1_std</c> when F1 was measured; protocols are
/// <see cref="RunReport.Key(Protocol)"/>'s names; counts per class read <c>linear_10_per_class</c>. The headline: for every
/// budget below all labels, <c>labels_{L}_pretrained</c> (L labels in all; <c>labels_{p}pct_*</c> for a fraction p %),
/// <c>labels_{L}_pipeline</c>, <c>labels_{L}_scratch</c>, <c>labels_{L}_baseline</c> and <c>labels_{L}_trees</c>, accuracies in % (means
/// over the subsets), the pretrained one being the pipeline with the best validation accuracy; where two or more of those baselines ran,
/// <c>labels_{L}_best_baseline</c> (its protocol key) and <c>labels_{L}_best_baseline_accuracy</c>, the strongest on test. Clustering and anomaly detection add clustering_nmi, clustering_ari,
/// clustering_raw_nmi, clustering_raw_ari, anomaly_auroc, anomaly_auprc, anomaly_raw_auroc, anomaly_raw_auprc and, for
/// methods that reconstruct, anomaly_reconstruction_auroc and anomaly_reconstruction_auprc ("raw": the no-learning baseline's features).
/// </summary>
public sealed record RunSummary
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? Collapsed { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? CollapseReason { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CollapseStep { get; init; }
    /// <summary>The headline: what pretraining buys at 10 labels per class (<see cref="EvaluationResult.Headline"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public LabelsNeeded? LabelsNeeded { get; init; }
    public required string Method { get; init; }
    public required string Dataset { get; init; }
    public required string Modality { get; init; }
    /// <summary>Which F1 the scores carry ("F1 of spam", "macro F1"); null when only accuracy was measured.</summary>
    public string? F1Kind { get; init; }
    /// <summary>What the no-learning baseline (protocol "baseline") is: "raw pixels", "TF-IDF".</summary>
    public required string Baseline { get; init; }
    /// <summary>Label subsets per fraction under 10 % and per count per class.</summary>
    public int Seeds { get; init; }
    /// <summary>Label subsets the headline means are over (= <see cref="Seeds"/>).</summary>
    public int Subsets => Seeds;
    /// <summary>Samples in the validation split every choice was made on (0: none).</summary>
    public int ValidationSize { get; init; }
    /// <summary>
    /// The pretrained pipeline with the best validation accuracy at the headline budget (10 labels per class when it was
    /// run, else the fewest labels): "linear" (frozen probe) or "finetune"; null without pretrained scores.
    /// </summary>
    public string? PretrainedPipeline { get; init; }
    /// <summary>
    /// Labels training from scratch needs to match the pretrained pipeline at the headline budget, read off its curve
    /// (log-linear between the budgets it ran at); null when it never gets there within the budgets run.
    /// </summary>
    public double? LabelsNeededScratch { get; init; }
    public required IReadOnlyList<ScoreSummary> Scores { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? PretrainSeconds { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? SamplesPerSecond { get; init; }
    public long Steps { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? FinalLoss { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? CollapseStd { get; init; }
    /// <summary>Diagnostics of the last training batch (RankMe, alignment, uniformity), when measured.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonPropertyName("rankme")] public double? RankMe { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Alignment { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Uniformity { get; init; }
    /// <summary>Diagnostics of the frozen features on test samples, when measured.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? FeaturesCollapseStd { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonPropertyName("features_rankme")] public double? FeaturesRankMe { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? FeaturesAlignment { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? FeaturesUniformity { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ClusteringResult? Clustering { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public AnomalyResult? Anomaly { get; init; }
    public double EvaluationSeconds { get; init; }
    public required string Checkpoint { get; init; }
    /// <summary>The flat keys (see the type's summary), written after the typed fields.</summary>
    [JsonExtensionData] public Dictionary<string, object> Flat { get; init; } = [];
}

/// <summary>Writes a run's pictures, summary.json and self-contained report.html from its files and results, for every modality.</summary>
public static class RunReport
{
    private static readonly Protocol[] Curve = [Protocol.LinearProbe, Protocol.FineTune, Protocol.Distilled, Protocol.Propagated, Protocol.LinearWithBaseline, Protocol.FromScratch, Protocol.ScratchDistilled, Protocol.Baseline, Protocol.BaselinePropagated, Protocol.Trees, Protocol.ResNet18];

    /// <summary>"100" for 1.0, "10" for 0.1, "1" for 0.01, "0.1" for 0.001.</summary>
    public static string Key(double fraction) => LabelSubsets.PercentKey(fraction);

    /// <summary>A protocol's name in summary keys: knn, linear, finetune, scratch, baseline.</summary>
    public static string Key(Protocol protocol) => protocol switch
    {
        Protocol.Knn => "knn",
        Protocol.LinearProbe => "linear",
        Protocol.FineTune => "finetune",
        Protocol.FromScratch => "scratch",
        Protocol.Baseline => "baseline",
        Protocol.Distilled => "distilled",
        Protocol.ScratchDistilled => "scratch_distilled",
        Protocol.Propagated => "propagated",
        Protocol.BaselinePropagated => "baseline_propagated",
        Protocol.Trees => "trees",
        Protocol.LinearWithBaseline => "linear_with_baseline",
        Protocol.ResNet18 => "resnet18",
        Protocol.ResNet18Knn => "resnet18_knn",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };

    /// <summary>
    /// The quickstart's console table of test accuracy: per budget the frozen probe, fine-tuning (a column only when it ran),
    /// from scratch, the gain of the pipeline validation chose there over from scratch (named when fine-tuning ran) and the
    /// no-learning baseline; kNN first. Budgets without a probe are left out.
    /// </summary>
    public static (string[] Header, IReadOnlyList<string[]> Rows) AccuracyTable(EvaluationResult ev)
    {
        bool tuned = ev.For(Protocol.FineTune).Count > 0;
        bool resnet = ev.For(Protocol.ResNet18).Count > 0 || ev.For(Protocol.ResNet18Knn).Count > 0;
        string P(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + " %";
        string[] Row(string labels, string probe, string? fineTuned, string scratch, string gain, string baseline, string imageNet) =>
            [labels, probe, .. tuned ? new[] { fineTuned ?? "-" } : [], scratch, gain, baseline, .. resnet ? new[] { imageNet } : []];
        var header = Row("labels", "pretrained (frozen, linear)", "pretrained (fine-tuned)", "from scratch",
            tuned ? "gain (best on validation)" : "gain", $"{ev.Baseline} (no learning)", ImageNetResNet18.Title);
        var resnetKnn = ev.Find(Protocol.ResNet18Knn, 1.0);
        var rows = new List<string[]> { Row("kNN, all labels", double.IsNaN(ev.Knn) ? "-" : P(ev.Knn), "", "", "", "", resnetKnn is null ? "-" : P(resnetKnn.Accuracy)) };
        foreach (var budget in ev.Budgets)
        {
            if (ev.Find(Protocol.LinearProbe, budget) is not { } l) continue;
            var f = ev.Find(Protocol.FineTune, budget);
            var s = ev.Find(Protocol.FromScratch, budget);
            var b = ev.Find(Protocol.Baseline, budget);
            var best = ev.BestPretrained(budget) ?? l;
            string gain = s is null ? "-" : (100 * (best.Accuracy - s.Accuracy)).ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + " pts"
                + (tuned ? $" ({(best.Protocol == Protocol.LinearProbe ? "linear" : Title(best.Protocol))})" : "");
            rows.Add(Row(l.PerClass is int n ? $"{n} per class ({l.Labels})" : $"{Key(l.Fraction)} % ({l.Labels})", P(l.Accuracy),
                f is null ? "-" : P(f.Accuracy), s is null ? "-" : P(s.Accuracy), gain, b is null ? "-" : P(b.Accuracy),
                ev.Find(Protocol.ResNet18, budget) is { } r ? P(r.Accuracy) : "-"));
        }
        return (header, rows);
    }

    /// <summary>A protocol's name in tables, legends and console lines.</summary>
    public static string Title(Protocol protocol) => protocol switch
    {
        Protocol.Knn => "kNN (frozen)",
        Protocol.LinearProbe => "linear probe (frozen)",
        Protocol.FineTune => "fine-tuned",
        Protocol.FromScratch => "from scratch",
        Protocol.Baseline => "no-learning baseline",
        Protocol.Distilled => "fine-tuned + distilled",
        Protocol.ScratchDistilled => "from scratch + distilled",
        Protocol.Propagated => "labels propagated (frozen)",
        Protocol.BaselinePropagated => "labels propagated on the baseline",
        Protocol.Trees => "gradient-boosted trees",
        Protocol.LinearWithBaseline => "linear probe on frozen + baseline features",
        Protocol.ResNet18 => ImageNetResNet18.Title + ", linear probe",
        Protocol.ResNet18Knn => ImageNetResNet18.Title + ", kNN",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };

    private static string Title(Protocol protocol, EvaluationResult ev) => Title(protocol, ev.Baseline);

    /// <summary><see cref="Title(Protocol)"/>, with the rows that involve the no-learning baseline named by what it is (<paramref name="baseline"/>: "raw pixels", "TF-IDF").</summary>
    public static string Title(Protocol protocol, string baseline) => protocol switch
    {
        Protocol.Baseline => $"{baseline} (no learning)",
        Protocol.BaselinePropagated => $"{baseline}, labels propagated",
        Protocol.Trees => $"gradient-boosted trees on the {baseline} (no learning)",
        Protocol.LinearWithBaseline => $"linear probe on frozen features + {baseline}",
        _ => Title(protocol),
    };

    /// <summary>The flat key of a score: knn, or {protocol}_{percent}.</summary>
    public static string Key(Score s) => s.Protocol is Protocol.Knn or Protocol.ResNet18Knn ? Key(s.Protocol) : $"{Key(s.Protocol)}_{s.Budget}";

    /// <summary>The summary of a run (<paramref name="pre"/>: what is known of its pretraining) and its evaluation.</summary>
    /// <param name="sections">What the data's modality added beyond the label protocols; their numbers become flat keys.</param>
    public static RunSummary Summary(RunConfig config, string dataset, PretrainResult pre, EvaluationResult ev, IReadOnlyList<ReportSection>? sections = null)
    {
        // Evaluating a checkpoint on its own knows nothing of its pretraining: leave those keys out rather than write NaN.
        static double? Known(double v) => double.IsFinite(v) ? v : null;
        var flat = new Dictionary<string, object>();
        foreach (var s in ev.Scores)
        {
            string key = Key(s);
            flat[key] = s.Accuracy;
            if (s.Subsets > 1) flat[key + "_std"] = s.AccuracyStd;
            if (s.F1 is double f1)
            {
                flat[key + "_f1"] = f1;
                if (s.Subsets > 1) flat[key + "_f1_std"] = s.F1Std!.Value;
            }
        }
        // The headline: what pretraining buys at each budget below all labels, the pipeline chosen on validation.
        foreach (var budget in ev.Budgets)
        {
            if (ev.BestPretrained(budget) is not { } best || best.Fraction >= 1) continue;
            string name = best.PerClass is null ? $"{Key(best.Fraction)}pct" : best.Labels.ToString(CultureInfo.InvariantCulture);
            flat[$"labels_{name}_pretrained"] = 100 * best.Accuracy;
            flat[$"labels_{name}_pipeline"] = Key(best.Protocol);
            if (ev.Find(Protocol.FromScratch, budget) is { } scratch) flat[$"labels_{name}_scratch"] = 100 * scratch.Accuracy;
            if (ev.Find(Protocol.Baseline, budget) is { } baseline) flat[$"labels_{name}_baseline"] = 100 * baseline.Accuracy;
            if (ev.Find(Protocol.Trees, budget) is { } trees) flat[$"labels_{name}_trees"] = 100 * trees.Accuracy;
            if (ev.Find(Protocol.ResNet18, budget) is { } resnet) flat[$"labels_{name}_resnet18"] = 100 * resnet.Accuracy;
            if (ev.BestBaseline(budget) is { } strongest)
            {
                flat[$"labels_{name}_best_baseline"] = Key(strongest.Protocol);
                flat[$"labels_{name}_best_baseline_accuracy"] = 100 * strongest.Accuracy;
            }
        }
        var headline = ev.Headline();
        if (ev.Clustering is { } k)
        {
            flat["clustering_nmi"] = k.Embedding.Nmi; flat["clustering_ari"] = k.Embedding.Ari;
            flat["clustering_raw_nmi"] = k.Raw.Nmi; flat["clustering_raw_ari"] = k.Raw.Ari;
        }
        if (ev.Anomaly is { } a)
        {
            flat["anomaly_auroc"] = a.MeanEmbedding.Auroc; flat["anomaly_auprc"] = a.MeanEmbedding.Auprc;
            flat["anomaly_raw_auroc"] = a.MeanRaw.Auroc; flat["anomaly_raw_auprc"] = a.MeanRaw.Auprc;
            if (a.MeanReconstruction is { } m) { flat["anomaly_reconstruction_auroc"] = m.Auroc; flat["anomaly_reconstruction_auprc"] = m.Auprc; }
        }
        foreach (var (key, value) in (sections ?? []).SelectMany(x => x.Summary)) flat[key] = value;
        var c = pre.Collapse;
        var train = c?.Readings;
        var features = ev.Insight?.Readings;
        return new RunSummary
        {
            Collapsed = c?.Collapsed,
            CollapseReason = c is { Collapsed: true } ? c.Reason : null,
            CollapseStep = c is { Collapsed: true } ? c.Step : null,
            Method = config.Method, Dataset = dataset, Modality = config.Encoder.Modality.ToString().ToLowerInvariant(),
            F1Kind = ev.F1Kind, Baseline = ev.Baseline, Seeds = ev.Seeds, ValidationSize = ev.ValidationSize,
            PretrainedPipeline = headline?.Pipeline, LabelsNeededScratch = headline?.ScratchLabelsToMatch, LabelsNeeded = headline,
            Scores = ev.Scores.Select(s => new ScoreSummary(Key(s.Protocol), s.Fraction, s.PerClass, s.Labels, s.Subsets, s.Seeds, s.Accuracy, s.AccuracyStd, s.Accuracies,
                s.F1, s.F1Std, s.F1s, s.ValidationAccuracy, s.ValidationAccuracies)).ToList(),
            PretrainSeconds = Known(pre.Seconds), SamplesPerSecond = Known(pre.SamplesPerSecond), Steps = pre.Steps,
            FinalLoss = Known(pre.FinalLoss), CollapseStd = Known(pre.FinalCollapseStd),
            RankMe = train is null ? null : Known(train.RankMe), Alignment = train is null ? null : Known(train.Alignment),
            Uniformity = train is null ? null : Known(train.Uniformity),
            FeaturesCollapseStd = features is null ? null : Known(features.CollapseStd), FeaturesRankMe = features is null ? null : Known(features.RankMe),
            FeaturesAlignment = features is null ? null : Known(features.Alignment), FeaturesUniformity = features is null ? null : Known(features.Uniformity),
            Clustering = ev.Clustering, Anomaly = ev.Anomaly,
            EvaluationSeconds = ev.Seconds, Checkpoint = pre.FinalCheckpoint, Flat = flat,
        };
    }

    /// <summary>
    /// The headline in words: the pretrained pipeline against from scratch at the headline budget, and how many labels from
    /// scratch needs to match it; empty without a pretrained score below all labels.
    /// </summary>
    public static IReadOnlyList<string> HeadlineLines(EvaluationResult ev)
    {
        if (ev.Headline() is not { } h) return [];
        var c = CultureInfo.InvariantCulture;
        string pipeline = PipelineName(h.Pipeline);
        var lines = new List<string>
        {
            string.Create(c, $"Labels needed: with {h.Labels} labels ({h.Budget}), the pretrained encoder ({pipeline}, chosen on validation) reaches {h.Pretrained:F2} %")
            + (h.Scratch is double s ? string.Create(c, $", training from scratch {s:F2} % ({h.Pretrained - s:+0.00;-0.00} points)") : "")
            + (h.Baseline is double b ? string.Create(c, $", {ev.Baseline} {b:F2} %") : "")
            + (h.Trees is double t ? string.Create(c, $", gradient-boosted trees {t:F2} %") : "")
            + (h.ResNet18 is double r ? string.Create(c, $", {ImageNetResNet18.Title} {r:F2} %") : "") + (h.Subsets > 1 ? $" (means over {h.Subsets} label subsets)." : "."),
        };
        if (h.BestBaseline is { } strongest && h.BestBaselineAccuracy is double best)
            lines.Add(string.Create(c, $"Against the strongest baseline at this budget, {BaselineName(strongest, ev)} ({best:F2} %), the pretrained encoder is {h.Pretrained - best:+0.00;-0.00} points."));
        if (h.Scratch is not null)
            lines.Add(h.ScratchLabelsToMatch is double n
                ? string.Create(c, $"Training from scratch needs about {n:F0} labels to match that ({n / h.Labels:F1}x as many).")
                : $"Training from scratch does not match that with any label budget evaluated here (the most: {ev.For(Protocol.FromScratch).Max(x => x.Labels)} labels).");
        return lines;
    }

    /// <summary>One console line per score.</summary>
    public static IEnumerable<string> Lines(EvaluationResult ev) =>
        ev.Scores.Select(s => Evaluating.Describe(s, ev.F1Kind, ev.Baseline));

    /// <summary>Writes plots/, summary.json and report.html into <paramref name="runDir"/>; returns the report's path.</summary>
    /// <param name="sections">What the data's modality added beyond the label protocols (<see cref="IModality.EvaluateMore"/>).</param>
    public static string Write(string runDir, RunConfig config, PretrainResult pre, EvaluationResult ev, string datasetName, IReadOnlyList<ReportSection>? sections = null)
    {
        var plots = Path.Combine(runDir, "plots");
        Directory.CreateDirectory(plots);
        var images = new List<(string Caption, string Path)>();
        string metricsPath = Path.Combine(runDir, "metrics.csv");
        var rows = File.Exists(metricsPath) ? MetricsLog.Read(metricsPath) : [];
        void Lines(string file, string title, string yLabel, params string[] cols)
        {
            var series = new List<(string, double[], double[])>();
            foreach (var col in cols)
            {
                if (!rows.Any(r => r.ContainsKey(col))) continue; // a log from before this column existed
                var (x, y) = MetricsLog.Series(rows, "step", col);
                if (x.Length > 0) series.Add((col, x, y));
            }
            if (series.Count == 0) return;
            var p = Path.Combine(plots, file);
            Plots.LinePlot(p, title, "step", yLabel, series);
            images.Add((title, p));
        }
        Lines("loss.png", "Training loss", "loss", "loss");
        Lines("lr.png", "Learning rate", "learning rate", "lr");
        Lines("collapse.png", "Collapse monitor (std of L2-normalised embeddings x sqrt(D); 0 = collapsed)", "normalised std", "collapse_std");
        Lines("rankme.png", "RankMe: effective rank of batch embeddings (1 = collapsed)", "RankMe", "rankme");
        Lines("alignment_uniformity.png", "Alignment and uniformity (lower is better; both 0 = collapsed)", "value", "alignment", "uniformity");
        if (ev.Insight is { } insight)
            foreach (var map in insight.Maps)
            {
                var p = Path.Combine(plots, $"map_{(map.Method == "PCA" ? "pca" : "tsne")}.png");
                Plots.ScatterByLabel(p, $"{map.Method} of frozen features, {insight.Samples} test samples by class", map.Method == "PCA" ? "PC 1" : "t-SNE 1",
                    map.Method == "PCA" ? "PC 2" : "t-SNE 2", map.X, map.Y, map.Labels, map.ClassNames);
                images.Add((map.Note, p));
            }
        var ordered = ev.Scores.OrderBy(s => s.Protocol).ThenByDescending(s => s.Fraction).ToList();
        var scoreImages = new List<(string, string)>();
        foreach (var (metric, file, pick) in new (string, string, Func<Score, double?>)[] { ("accuracy", "accuracy.png", s => s.Accuracy), (ev.F1Kind ?? "", "f1.png", s => s.F1) })
        {
            var bars = ordered.Where(s => pick(s) is not null).Select(s => ($"{Key(s.Protocol)} {Key(s.Fraction)}%", 100 * pick(s)!.Value)).ToList();
            if (bars.Count == 0 || metric.Length == 0) continue;
            var path = Path.Combine(plots, file);
            Plots.BarPlot(path, $"Test {metric} on {datasetName} (%)", metric + " (%)", bars);
            scoreImages.Add(($"Test {metric}: pretrained {config.Method} encoder against training from scratch and {ev.Baseline}", path));
        }

        Export.JsonFile.WriteAtomic(Path.Combine(runDir, "summary.json"), Summary(config, datasetName, pre, ev, sections));

        var report = new HtmlReport { Title = $"Pretext run: {config.Method} on {datasetName}" };
        if (pre.Collapse is { Collapsed: true, Warning: { } warning }) report.AddWarning(warning);
        string seen = ModalityCatalog.Get(config.Encoder.Modality).IsCatalogued(config.Dataset) ? "its training split"
            : config.Transductive ? "every sample, the held-out test part included (transductive)" : "all but the held-out test part";
        report.AddParagraph($"Self-supervised pretraining with {config.Method} on {datasetName} ({seen}) without labels, then the encoder with few labels "
            + $"(frozen with a linear probe{(ev.For(Protocol.FineTune).Count > 0 ? ", and fine-tuned" : "")}) against the same architecture trained from scratch "
            + $"and {ev.Baseline} with logistic regression on the same labelled samples." + (ev.F1Kind is null ? "" : $" F1 is the {ev.F1Kind}."));
        AddHeadline(report, ev);
        AddScores(report, plots, ev, config.Evaluation, datasetName);
        if (ev.Clustering is { } c) AddClustering(report, c, ev.Baseline);
        if (ev.Anomaly is { } a) AddAnomaly(report, a, ev.Baseline);
        report.AddKeyValueTable("Run", Facts(pre, ev));
        var diag = new List<string[]>();
        // "+ 0.0" turns a negative zero (uniformity of a collapsed batch rounds to it) into "0.000", not "-0.000".
        string G(double v, string format) => double.IsFinite(v) ? (Math.Round(v, 3) + 0.0).ToString(format, CultureInfo.InvariantCulture) : "-";
        if (pre.Collapse?.Readings is { } tr)
            diag.Add([$"training batch at step {pre.Collapse.ReadingStep} (B={tr.Count}, D={tr.Dim})", G(tr.CollapseStd, "F3"), $"{G(tr.RankMe, "F1")} of {tr.MaxRank}", G(tr.Alignment, "F3"), G(tr.Uniformity, "F3")]);
        if (ev.Insight?.Readings is { } er)
            diag.Add([$"frozen features, {ev.Insight.Samples} test samples (D={er.Dim})", G(er.CollapseStd, "F3"), $"{G(er.RankMe, "F1")} of {er.MaxRank}", G(er.Alignment, "F3"), G(er.Uniformity, "F3")]);
        if (diag.Count > 0)
            report.AddTable("Embedding diagnostics (collapse: std near 0 or RankMe near 1; alignment 0..4 and uniformity 0..-4: lower is better)",
                ["embeddings", "normalised std", "RankMe", "alignment", "uniformity"], diag);
        foreach (var section in sections ?? [])
        {
            report.AddHeading(section.Heading);
            foreach (var paragraph in section.Paragraphs) report.AddParagraph(paragraph);
            if (section.Header.Count > 0) report.AddTable(section.Heading, [.. section.Header], section.Rows);
            foreach (var (caption, p) in section.Images) report.AddImage(caption, p);
        }
        foreach (var (caption, p) in scoreImages.Concat(images)) report.AddImage(caption, p);
        // A causal language model's run leaves sampled continuations (copied here by evaluate): a sanity check to read.
        string continuations = Path.Combine(runDir, Continuations.FileName);
        if (File.Exists(continuations))
        {
            report.AddHeading("Sampled continuations");
            report.AddPreformatted(File.ReadAllText(continuations));
        }
        report.AddHeading("Configuration");
        report.AddPreformatted(config.ToJson());
        var html = Path.Combine(runDir, "report.html");
        report.Save(html);
        return html;
    }

    /// <summary>A baseline protocol's key ("scratch", "baseline", "trees") in words, for the headline.</summary>
    private static string BaselineName(string key, EvaluationResult ev) => key switch
    {
        "scratch" => "training from scratch",
        "trees" => $"gradient-boosted trees on the {ev.Baseline}",
        "resnet18" => $"logistic regression on the {ImageNetResNet18.Title}",
        _ => $"logistic regression on the {ev.Baseline}",
    };

    private static string PipelineName(string key) => key switch
    {
        "finetune" => "fine-tuned",
        "distilled" => "fine-tuned, then distilled",
        _ => "frozen + linear probe",
    };

    /// <summary>The report's first section: what pretraining buys at every budget below all labels.</summary>
    private static void AddHeadline(HtmlReport report, EvaluationResult ev)
    {
        var rows = ev.Budgets.Select(ev.NeededAt).OfType<LabelsNeeded>().Where(h => h.Budget != "100 %").ToList();
        if (rows.Count == 0) return;
        report.AddHeading("Labels needed");
        foreach (var line in HeadlineLines(ev)) report.AddParagraph(line);
        string Mean(double? v, double? sd, int n) => v is null ? "-" : n > 1 && sd is not null ? $"{v:F2} ± {sd:F2}" : $"{v:F2}";
        // Trees and the strongest baseline get columns only where some budget has them (tables; several baselines run).
        bool trees = rows.Any(h => h.Trees is not null), strongest = rows.Any(h => h.BestBaseline is not null);
        string[] headers = ["labels", "pretrained pipeline", "pretrained", "from scratch", "gain (points)", $"{ev.Baseline} (no learning)",
            .. trees ? [$"trees on the {ev.Baseline}"] : Array.Empty<string>(),
            .. strongest ? ["strongest baseline (test)", "pretrained - strongest (points)"] : Array.Empty<string>(),
            "labels from scratch needs to match"];
        string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        string Points(double v) => v.ToString("+0.00;-0.00", CultureInfo.InvariantCulture);
        string[] Row(LabelsNeeded h)
        {
            var cells = new List<string>
            {
                $"{h.Budget} ({h.Labels})", PipelineName(h.Pipeline), Mean(h.Pretrained, h.PretrainedStd, h.Subsets),
                Mean(h.Scratch, h.ScratchStd, h.Subsets), h.Scratch is double s ? Points(h.Pretrained - s) : "-",
                h.Baseline is double b ? F2(b) : "-",
            };
            if (trees) cells.Add(h.Trees is double t ? F2(t) : "-");
            if (strongest)
            {
                cells.Add(h.BestBaseline is { } k ? $"{BaselineName(k, ev)}, {Mean(h.BestBaselineAccuracy, h.BestBaselineStd, h.Subsets)}" : "-");
                cells.Add(h.BestBaselineAccuracy is double best ? Points(h.Pretrained - best) : "-");
            }
            cells.Add(h.ScratchLabelsToMatch is double n ? n.ToString("F0", CultureInfo.InvariantCulture) : h.Scratch is null ? "-" : "more than evaluated");
            return [.. cells];
        }
        report.AddTable("Test accuracy (%) with few labels: the pretrained pipeline chosen on validation, from scratch, and no learning",
            headers, rows.Select(Row));
    }

    private static List<(string, string)> Facts(PretrainResult pre, EvaluationResult ev)
    {
        string F(double v, string format, string unit = "") => v.ToString(format, CultureInfo.InvariantCulture) + unit;
        var facts = new List<(string, string)>();
        if (double.IsFinite(pre.Seconds)) facts.Add(("pretraining time", F(pre.Seconds, "F0", " s")));
        if (double.IsFinite(pre.SamplesPerSecond)) facts.Add(("samples per second", F(pre.SamplesPerSecond, "F1")));
        facts.Add(("steps", pre.Steps.ToString(CultureInfo.InvariantCulture)));
        if (double.IsFinite(pre.FinalLoss)) facts.Add(("final loss", F(pre.FinalLoss, "F4")));
        if (double.IsFinite(pre.FinalCollapseStd)) facts.Add(("collapse monitor (final)", F(pre.FinalCollapseStd, "F3")));
        facts.Add(("evaluation time", F(ev.Seconds, "F0", " s")));
        facts.Add(("checkpoint", pre.FinalCheckpoint));
        return facts;
    }

    private static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture);
    private static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
    private static string F4(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>The score table by label count (mean ± std over subsets), kNN beside it, and the label-efficiency curve.</summary>
    private static void AddScores(HtmlReport report, string plots, EvaluationResult ev, EvaluationConfig config, string datasetName)
    {
        var used = Curve.Where(p => ev.For(p).Count > 0).ToArray();
        if (ev.Find(Protocol.Knn, 1.0) is { } knn)
            report.AddKeyValueTable($"kNN on the frozen embeddings (k={config.KnnK}, all labels)",
                ev.F1Kind is null ? [("accuracy", Pct(knn.Accuracy) + " %")] : [("accuracy", Pct(knn.Accuracy) + " %"), (ev.F1Kind, F4(knn.F1!.Value))]);
        if (ev.Find(Protocol.ResNet18Knn, 1.0) is { } resnetKnn)
            report.AddKeyValueTable($"kNN on the {ImageNetResNet18.Title} (k={config.KnnK}, all labels)",
                ev.F1Kind is null ? [("accuracy", Pct(resnetKnn.Accuracy) + " %")] : [("accuracy", Pct(resnetKnn.Accuracy) + " %"), (ev.F1Kind, F4(resnetKnn.F1!.Value))]);
        if (used.Length == 0) return;
        report.AddHeading("Label efficiency");
        string subsets = ev.Seeds > 1
            ? $"below {Key(LabelSubsets.ResampledBelow)} % labels {ev.Seeds} subsets (seeds {config.SubsetSeed}..{config.SubsetSeed + ev.Seeds - 1}) are drawn and the cells show mean ± standard deviation. "
            : "one subset per fraction. ";
        report.AddParagraph("Test scores against the number of labelled training samples. Each fraction uses a class-stratified subset of the training labels, "
            + "the same for every column; " + subsets + "Fine-tuning and training from scratch train encoder and linear head end to end with the same subsets, "
            + "augmentation, optimiser and step budget; only the starting weights differ.");
        string Cell(Score? s, Func<Score, double> mean, Func<Score, double> std, Func<double, string> fmt) =>
            s is null ? "-" : s.Subsets > 1 ? $"{fmt(mean(s))} ± {fmt(std(s))}" : fmt(mean(s));
        var header = new List<string> { "labels" };
        foreach (var p in used) { header.Add($"{Title(p, ev)}: accuracy (%)"); if (ev.F1Kind is not null) header.Add("F1"); }
        var rows = new List<string[]>();
        foreach (var budget in ev.Budgets)
        {
            var first = used.Select(p => ev.Find(p, budget)).First(x => x is not null)!;
            var row = new List<string> { first.PerClass is int n ? $"{n} per class ({first.Labels})" : $"{Key(first.Fraction)} % ({first.Labels})" };
            foreach (var p in used)
            {
                var s = ev.Find(p, budget);
                row.Add(Cell(s, x => x.Accuracy, x => x.AccuracyStd, Pct));
                if (ev.F1Kind is not null) row.Add(Cell(s, x => x.F1!.Value, x => x.F1Std!.Value, F4));
            }
            rows.Add([.. row]);
        }
        report.AddTable("Test scores by labels", [.. header], rows);

        var series = used.Select(p =>
        {
            var rs = ev.For(p).OrderBy(r => r.Labels).ToArray();
            return (Title(p, ev), rs.Select(r => (double)r.Labels).ToArray(), rs.Select(r => 100 * r.Accuracy).ToArray(), rs.Select(r => 100 * r.AccuracyStd).ToArray());
        }).ToList();
        var path = Path.Combine(plots, "label_efficiency.png");
        Plots.ErrorBarPlot(path, $"Label efficiency on {datasetName}", "labelled training samples", "test accuracy (%)", series, logX: true);
        report.AddImage("Label-efficiency curve: test accuracy against labelled samples (error bars: standard deviation over label subsets)", path);
    }

    private static void AddClustering(HtmlReport report, ClusteringResult c, string baseline)
    {
        report.AddHeading("Clustering");
        report.AddParagraph($"k-means (k = {c.K}, k-means++ starts, lowest inertia kept) on the {c.Samples} test samples, every vector scaled to unit length first; " +
            "agreement with the true classes as normalised mutual information (0 = none, 1 = identical) and adjusted Rand index (0 = chance, 1 = identical). " +
            $"{baseline} are the no-learning baseline.");
        report.AddTable("Clustering of the test set", ["input", "NMI", "ARI"],
        [
            ["encoder embeddings", F3(c.Embedding.Nmi), F3(c.Embedding.Ari)],
            [baseline, F3(c.Raw.Nmi), F3(c.Raw.Ari)],
        ]);
    }

    private static void AddAnomaly(HtmlReport report, AnomalyResult a, string baseline)
    {
        bool recon = a.MeanReconstruction is not null;
        report.AddHeading("Anomaly detection (one class vs rest)");
        report.AddParagraph($"For each class: its training samples are the normal set, every test sample of another class is an anomaly. " +
            $"Score: mean distance to the {a.K} nearest normal training samples, vectors scaled to unit length (DN2), in embedding space and, as the no-learning baseline, on {baseline}" +
            (recon ? "; and the method's reconstruction error. " : ". ") +
            "AUROC: 0.5 is chance. AUPRC (average precision, anomalies positive): chance is the anomaly rate, " +
            a.Classes.Average(c => (double)c.TestAnomalous / (c.TestNormal + c.TestAnomalous)).ToString("F3", CultureInfo.InvariantCulture) + " on average here. " +
            "Note that the encoder was pretrained on unlabelled training samples of every class; only the kNN reference set is one-class.");
        string[] header = recon
            ? ["normal class", "train normal", "test normal / anomalous", "AUROC (embedding)", "AUPRC (embedding)", "AUROC (raw)", "AUPRC (raw)", "AUROC (reconstruction)", "AUPRC (reconstruction)"]
            : ["normal class", "train normal", "test normal / anomalous", "AUROC (embedding)", "AUPRC (embedding)", "AUROC (raw)", "AUPRC (raw)"];
        var rows = new List<string[]>();
        foreach (var c in a.Classes)
        {
            var row = new List<string> { $"{c.NormalClass} {c.ClassName}", c.TrainNormal.ToString(CultureInfo.InvariantCulture), $"{c.TestNormal} / {c.TestAnomalous}",
                F3(c.Embedding.Auroc), F3(c.Embedding.Auprc), F3(c.Raw.Auroc), F3(c.Raw.Auprc) };
            if (recon) { row.Add(F3(c.Reconstruction!.Auroc)); row.Add(F3(c.Reconstruction.Auprc)); }
            rows.Add([.. row]);
        }
        var mean = new List<string> { "mean", "", "", F3(a.MeanEmbedding.Auroc), F3(a.MeanEmbedding.Auprc), F3(a.MeanRaw.Auroc), F3(a.MeanRaw.Auprc) };
        if (a.MeanReconstruction is { } m) { mean.Add(F3(m.Auroc)); mean.Add(F3(m.Auprc)); }
        rows.Add([.. mean]);
        report.AddTable("One-class anomaly detection per class", header, rows);
    }
}
