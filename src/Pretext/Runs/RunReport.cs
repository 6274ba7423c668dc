using System.Globalization;
using Pretext.Reporting;

namespace Pretext.Runs;

/// <summary>Writes a run's pictures, summary.json and self-contained report.html from its files and results.</summary>
public static class RunReport
{
    private static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + " %";

    /// <summary>Summary keys: knn, linear_100, linear_10, linear_1, supervised_10, supervised_1 (accuracies in [0, 1]; means over label subsets), pretrain_seconds, samples_per_second, and those of <see cref="EvaluationReport.AddSummary"/>.</summary>
    public static Dictionary<string, object> Summary(PretrainResult pre, EvaluationResult ev)
    {
        var d = new Dictionary<string, object> { ["knn"] = ev.Knn };
        EvaluationReport.AddSummary(d, ev);
        // Evaluating a checkpoint on its own knows nothing of its pretraining: leave those keys out rather than write NaN.
        void Add(string key, double v) { if (double.IsFinite(v)) d[key] = v; }
        Add("pretrain_seconds", pre.Seconds);
        Add("samples_per_second", pre.SamplesPerSecond);
        d["steps"] = pre.Steps;
        Add("final_loss", pre.FinalLoss);
        Add("collapse_std", pre.FinalCollapseStd);
        d["evaluation_seconds"] = ev.Seconds;
        d["checkpoint"] = pre.FinalCheckpoint;
        return d;
    }

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
            var (x, y) = MetricsLog.Series(rows, "step", col);
            if (x.Length == 0) return;
            var p = Path.Combine(plots, file);
            Plots.LinePlot(p, title, "step", yLabel, [(col, x, y)], logY);
            images.Add((title, p));
        }
        Line("loss.png", "Training loss", "loss", "loss");
        Line("lr.png", "Learning rate", "lr", "learning rate");
        Line("collapse.png", "Collapse monitor (std of L2-normalised embeddings x sqrt(D); 0 = collapsed)", "collapse_std", "normalised std");
        var bars = new List<(string, double)> { ("kNN", 100 * ev.Knn) };
        bars.AddRange(ev.Linear.Select(l => ($"linear {Key(l.Fraction)}%", 100 * l.Accuracy)));
        bars.AddRange(ev.Supervised.Select(s => ($"scratch {Key(s.Fraction)}%", 100 * s.Accuracy)));
        var accPath = Path.Combine(plots, "accuracy.png");
        Plots.BarPlot(accPath, $"Test accuracy on {datasetName} (%)", "accuracy (%)", bars);
        images.Insert(0, ("Test accuracy: frozen SimCLR encoder vs training from scratch", accPath));

        var summary = Summary(pre, ev);
        Export.JsonFile.WriteAtomic(Path.Combine(runDir, "summary.json"), summary);

        var report = new HtmlReport { Title = $"Pretext run: {config.Method} on {datasetName}" };
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
        foreach (var (c, p) in images) report.AddImage(c, p);
        report.AddHeading("Configuration");
        report.AddPreformatted(config.ToJson());
        var html = Path.Combine(runDir, "report.html");
        report.Save(html);
        return html;
    }
}
