using System.Globalization;
using Pretext.Evaluation;
using Pretext.Reporting;

namespace Pretext.Runs;

/// <summary>Writes a run's pictures, summary.json and self-contained report.html from its files and results.</summary>
public static class RunReport
{
    private static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + " %";

    /// <summary>
    /// Summary keys: knn, linear_100, linear_10, linear_1, supervised_10, supervised_1 (accuracies in [0, 1]), pretrain_seconds,
    /// samples_per_second; collapsed (with collapse_reason and collapse_step when true) whenever a collapse verdict is known;
    /// rankme, alignment, uniformity (last training batch) and features_* (frozen features on test samples) when measured;
    /// and those of <see cref="EvaluationReport.AddSummary"/>. Accuracies are means over label subsets.
    /// </summary>
    public static Dictionary<string, object> Summary(PretrainResult pre, EvaluationResult ev)
    {
        var d = new Dictionary<string, object>();
        // A collapsed run's accuracies mean little: the flag comes first so nobody reads past it.
        if (Collapse(pre) is { } c)
        {
            d["collapsed"] = c.Collapsed;
            if (c.Collapsed)
            {
                d["collapse_reason"] = c.Reason!;
                if (c.Step is long step) d["collapse_step"] = step;
            }
        }
        d["knn"] = ev.Knn;
        EvaluationReport.AddSummary(d, ev);
        // Evaluating a checkpoint on its own knows nothing of its pretraining: leave those keys out rather than write NaN.
        void Add(string key, double v) { if (double.IsFinite(v)) d[key] = v; }
        Add("pretrain_seconds", pre.Seconds);
        Add("samples_per_second", pre.SamplesPerSecond);
        d["steps"] = pre.Steps;
        Add("final_loss", pre.FinalLoss);
        Add("collapse_std", pre.FinalCollapseStd);
        if (pre.Collapse?.Readings is { } r)
        {
            Add("rankme", r.RankMe);
            Add("alignment", r.Alignment);
            Add("uniformity", r.Uniformity);
        }
        if (ev.Insight?.Readings is { } e)
        {
            Add("features_collapse_std", e.CollapseStd);
            Add("features_rankme", e.RankMe);
            Add("features_alignment", e.Alignment);
            Add("features_uniformity", e.Uniformity);
        }
        d["evaluation_seconds"] = ev.Seconds;
        d["checkpoint"] = pre.FinalCheckpoint;
        return d;
    }

    /// <summary>
    /// Whether the run counts as collapsed: the training verdict (<see cref="Pretraining.DiagnosticsFile"/>), null when
    /// unknown. The frozen features' readings on test samples are reported but not judged: an encoder's
    /// post-ReLU features share a large mean direction, so they read low on std and RankMe even in healthy
    /// runs (measured: 0.04 and 1.7 of 16 on the tiny test run whose projections read 0.24 and 3.8).
    /// </summary>
    public static (bool Collapsed, string? Reason, long? Step, string? Warning)? Collapse(PretrainResult pre) =>
        pre.Collapse is { } v ? (v.Collapsed, v.Reason, v.Step, v.Warning) : null;

    /// <summary>"100" for 1.0, "10" for 0.1, "1" for 0.01, "0.1" for 0.001.</summary>
    public static string Key(double fraction) => (fraction * 100).ToString("0.###", CultureInfo.InvariantCulture);

    public static string Write(string runDir, RunConfig config, PretrainResult pre, EvaluationResult ev, string datasetName)
    {
        var plots = Path.Combine(runDir, "plots");
        Directory.CreateDirectory(plots);
        var rows = MetricsLog.Read(Path.Combine(runDir, "metrics.csv"));
        var images = new List<(string Caption, string Path)>();
        void Line(string file, string title, string col, string yLabel, bool logY = false)
        {
            if (!rows.Any(r => r.ContainsKey(col))) return; // a log from before this column existed
            var (x, y) = MetricsLog.Series(rows, "step", col);
            if (x.Length == 0) return;
            var p = Path.Combine(plots, file);
            Plots.LinePlot(p, title, "step", yLabel, [(col, x, y)], logY);
            images.Add((title, p));
        }
        void Lines(string file, string title, params string[] cols)
        {
            var series = new List<(string, double[], double[])>();
            foreach (var col in cols)
            {
                if (!rows.Any(r => r.ContainsKey(col))) continue;
                var (x, y) = MetricsLog.Series(rows, "step", col);
                if (x.Length > 0) series.Add((col, x, y));
            }
            if (series.Count == 0) return;
            var p = Path.Combine(plots, file);
            Plots.LinePlot(p, title, "step", "value", series);
            images.Add((title, p));
        }
        Line("loss.png", "Training loss", "loss", "loss");
        Line("lr.png", "Learning rate", "lr", "learning rate");
        Line("collapse.png", "Collapse monitor (std of L2-normalised embeddings x sqrt(D); 0 = collapsed)", "collapse_std", "normalised std");
        Line("rankme.png", "RankMe: effective rank of batch embeddings (1 = collapsed)", "rankme", "RankMe");
        Lines("alignment_uniformity.png", "Alignment and uniformity (lower is better; both 0 = collapsed)", "alignment", "uniformity");
        if (ev.Insight is { } insight)
            foreach (var map in insight.Maps)
            {
                var p = Path.Combine(plots, $"map_{(map.Method == "PCA" ? "pca" : "tsne")}.png");
                Plots.ScatterByLabel(p, $"{map.Method} of frozen features, {insight.Samples} test samples by class", map.Method == "PCA" ? "PC 1" : "t-SNE 1",
                    map.Method == "PCA" ? "PC 2" : "t-SNE 2", map.X, map.Y, map.Labels, map.ClassNames);
                images.Add((map.Note, p));
            }
        var bars = new List<(string, double)> { ("kNN", 100 * ev.Knn) };
        bars.AddRange(ev.Linear.Select(l => ($"linear {Key(l.Fraction)}%", 100 * l.Accuracy)));
        bars.AddRange(ev.Supervised.Select(s => ($"scratch {Key(s.Fraction)}%", 100 * s.Accuracy)));
        var accPath = Path.Combine(plots, "accuracy.png");
        Plots.BarPlot(accPath, $"Test accuracy on {datasetName} (%)", "accuracy (%)", bars);
        images.Insert(0, ($"Test accuracy: frozen {config.Method} encoder vs training from scratch", accPath));

        var summary = Summary(pre, ev);
        Export.JsonFile.WriteAtomic(Path.Combine(runDir, "summary.json"), summary);

        var report = new HtmlReport { Title = $"Pretext run: {config.Method} on {datasetName}" };
        if (Collapse(pre) is { Collapsed: true, Warning: { } warning }) report.AddWarning(warning);
        report.AddParagraph($"Self-supervised pretraining with {config.Method} on {datasetName} without labels, then evaluation of the frozen encoder with few labels against the same architecture trained from scratch.");
        var table = new List<string[]> { new[] { "kNN (k=" + config.Evaluation.KnnK + ", all labels)", Pct(ev.Knn), "", "" } };
        foreach (var (f, n, a) in ev.Linear)
        {
            var sup = ev.Supervised.FirstOrDefault(s => Math.Abs(s.Fraction - f) < 1e-12);
            table.Add([$"{Key(f)} % labels ({n})", Pct(a), sup.Labels > 0 ? Pct(sup.Accuracy) : "-", sup.Labels > 0 ? (100 * (a - sup.Accuracy)).ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + " pts" : "-"]);
        }
        report.AddTable("Test accuracy", ["labels", "pretrained (linear probe)", "from scratch (supervised)", "gain"], table);
        EvaluationReport.AddSections(report, plots, ev, config.Evaluation, datasetName);
        string F(double v, string format, string unit = "") => v.ToString(format, CultureInfo.InvariantCulture) + unit;
        var facts = new List<(string, string)>();
        if (double.IsFinite(pre.Seconds)) facts.Add(("pretraining time", F(pre.Seconds, "F0", " s")));
        if (double.IsFinite(pre.SamplesPerSecond)) facts.Add(("samples per second", F(pre.SamplesPerSecond, "F1")));
        facts.Add(("steps", pre.Steps.ToString(CultureInfo.InvariantCulture)));
        if (double.IsFinite(pre.FinalLoss)) facts.Add(("final loss", F(pre.FinalLoss, "F4")));
        if (double.IsFinite(pre.FinalCollapseStd)) facts.Add(("collapse monitor (final)", F(pre.FinalCollapseStd, "F3")));
        facts.Add(("evaluation time", F(ev.Seconds, "F0", " s")));
        facts.Add(("checkpoint", pre.FinalCheckpoint));
        report.AddKeyValueTable("Run", facts);
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
        foreach (var (c, p) in images) report.AddImage(c, p);
        report.AddHeading("Configuration");
        report.AddPreformatted(config.ToJson());
        var html = Path.Combine(runDir, "report.html");
        report.Save(html);
        return html;
    }
}
