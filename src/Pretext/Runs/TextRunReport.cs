using System.Globalization;
using Pretext.Reporting;

namespace Pretext.Runs;

/// <summary>Writes a text run's summary.json, plots and self-contained report.html (the text counterpart of <see cref="RunReport"/>).</summary>
public static class TextRunReport
{
    /// <summary>Row order and display names of the models.</summary>
    public static readonly (string Key, string Name)[] Models =
    [
        ("linear", "pretrained, linear probe"), ("finetune", "pretrained, fine-tuned"), ("scratch", "same encoder from scratch"),
        ("tfidf", "TF-IDF + logistic regression"), ("knn", "pretrained, kNN"),
    ];

    /// <summary>Keys {model}_{percent}_accuracy and {model}_{percent}_f1 (e.g. linear_10_f1; means over the label subsets, with
    /// _accuracy_std, _f1_std and _subsets where there are several), plus the pretraining facts known.</summary>
    public static Dictionary<string, object> Summary(PretrainResult pre, TextEvaluationResult ev)
    {
        var d = new Dictionary<string, object>();
        foreach (var s in ev.Scores)
        {
            d[$"{s.Model}_{RunReport.Key(s.Fraction)}_accuracy"] = s.Accuracy;
            d[$"{s.Model}_{RunReport.Key(s.Fraction)}_f1"] = s.F1;
            if (s.Subsets > 1)
            {
                d[$"{s.Model}_{RunReport.Key(s.Fraction)}_accuracy_std"] = s.AccuracyStd;
                d[$"{s.Model}_{RunReport.Key(s.Fraction)}_f1_std"] = s.F1Std;
                d[$"{s.Model}_{RunReport.Key(s.Fraction)}_subsets"] = s.Subsets;
            }
        }
        d["f1"] = ev.F1Kind;
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

    /// <summary>One line per model and label fraction, for the console.</summary>
    public static IEnumerable<string> Lines(TextEvaluationResult ev) => ev.Scores.Select(s => string.Create(CultureInfo.InvariantCulture,
        $"{s.Model,-9} {RunReport.Key(s.Fraction),4} % ({s.Labels,5} labels)  accuracy {100 * s.Accuracy,6:F2} %  {ev.F1Kind} {s.F1:F4}")
        + (s.Subsets > 1 ? string.Create(CultureInfo.InvariantCulture, $"  (mean of {s.Subsets} subsets; std {100 * s.AccuracyStd:F2} %, {s.F1Std:F4})") : ""));

    public static string Write(string runDir, RunConfig config, PretrainResult pre, TextEvaluationResult ev, string datasetName)
    {
        string P(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + " %";
        string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
        var plots = Path.Combine(runDir, "plots");
        Directory.CreateDirectory(plots);
        var images = new List<(string Caption, string Path)>();
        var metrics = Path.Combine(runDir, "metrics.csv");
        if (File.Exists(metrics))
        {
            var rows = MetricsLog.Read(metrics);
            foreach (var (file, title, col) in new[] { ("loss.png", "Training loss", "loss"), ("lr.png", "Learning rate", "lr"),
                         ("collapse.png", "Collapse monitor (std of L2-normalised embeddings x sqrt(D); 0 = collapsed)", "collapse_std") })
            {
                var (x, y) = MetricsLog.Series(rows, "step", col);
                if (x.Length == 0) continue;
                var path = Path.Combine(plots, file);
                Plots.LinePlot(path, title, "step", col, [(col, x, y)]);
                images.Add((title, path));
            }
        }
        var scoreImages = new List<(string Caption, string Path)>();
        var fractions = ev.Scores.Select(s => s.Fraction).Distinct().OrderByDescending(f => f).ToList();
        foreach (var (metric, pick) in new (string, Func<TextScore, double>)[] { ("accuracy", s => s.Accuracy), (ev.F1Kind, s => s.F1) })
        {
            var bars = ev.Scores.OrderBy(s => Array.FindIndex(Models, m => m.Key == s.Model)).ThenByDescending(s => s.Fraction)
                .Select(s => ($"{s.Model} {RunReport.Key(s.Fraction)}%", 100 * pick(s))).ToList();
            if (bars.Count == 0) continue;
            var path = Path.Combine(plots, metric == "accuracy" ? "accuracy.png" : "f1.png");
            Plots.BarPlot(path, $"Test {metric} on {datasetName} (%)", metric + " (%)", bars);
            scoreImages.Add(($"Test {metric} by model and label fraction", path));
        }

        Export.JsonFile.WriteAtomic(Path.Combine(runDir, "summary.json"), Summary(pre, ev));
        var report = new HtmlReport { Title = $"Pretext run: {config.Method} on {datasetName}" };
        report.AddParagraph($"Self-supervised pretraining with {config.Method} on the {datasetName} texts without labels, then the encoder "
            + "with few labels (frozen with a linear probe, and fine-tuned) against the same encoder trained from scratch and TF-IDF with "
            + $"logistic regression on the same labelled documents. F1 is the {ev.F1Kind}.");
        var header = new List<string> { "labels" };
        var present = Models.Where(m => m.Key != "knn" && ev.Scores.Any(s => s.Model == m.Key)).ToList();
        foreach (var (_, name) in present) { header.Add($"{name}: accuracy"); header.Add("F1"); }
        var table = new List<string[]>();
        foreach (var f in fractions)
        {
            var cells = new List<string> { $"{RunReport.Key(f)} % ({ev.Scores.First(s => Math.Abs(s.Fraction - f) < 1e-12).Labels})" };
            foreach (var (key, _) in present)
            {
                var s = ev.Find(key, f);
                cells.Add(s is null ? "-" : s.Subsets > 1 ? $"{P(s.Accuracy)} ± {(100 * s.AccuracyStd).ToString("F2", CultureInfo.InvariantCulture)}" : P(s.Accuracy));
                cells.Add(s is null ? "-" : s.Subsets > 1 ? $"{F(s.F1)} ± {F(s.F1Std)}" : F(s.F1));
            }
            table.Add([.. cells]);
        }
        report.AddTable("Test accuracy and F1" + (ev.Scores.Any(s => s.Subsets > 1) ? $" (mean ± std over {ev.Scores.Max(s => s.Subsets)} label subsets below 10 %)" : ""), [.. header], table);
        if (ev.Find("knn", 1.0) is { } knn)
            report.AddKeyValueTable("kNN on the frozen embeddings (all labels)", [("accuracy", P(knn.Accuracy)), (ev.F1Kind, F(knn.F1))]);
        var facts = new List<(string, string)>();
        if (double.IsFinite(pre.Seconds)) facts.Add(("pretraining time", pre.Seconds.ToString("F0", CultureInfo.InvariantCulture) + " s"));
        if (double.IsFinite(pre.SamplesPerSecond)) facts.Add(("documents per second", pre.SamplesPerSecond.ToString("F1", CultureInfo.InvariantCulture)));
        facts.Add(("steps", pre.Steps.ToString(CultureInfo.InvariantCulture)));
        if (double.IsFinite(pre.FinalLoss)) facts.Add(("final loss", F(pre.FinalLoss)));
        facts.Add(("evaluation time", ev.Seconds.ToString("F0", CultureInfo.InvariantCulture) + " s"));
        facts.Add(("checkpoint", pre.FinalCheckpoint));
        report.AddKeyValueTable("Run", facts);
        foreach (var (c, p) in scoreImages.Concat(images)) report.AddImage(c, p);
        report.AddHeading("Configuration");
        report.AddPreformatted(config.ToJson());
        var html = Path.Combine(runDir, "report.html");
        report.Save(html);
        return html;
    }
}
