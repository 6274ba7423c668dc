using System.Globalization;
using Pretext.Evaluation;
using Pretext.Reporting;

namespace Pretext.Runs;

/// <summary>
/// The parts of summary.json and report.html that go beyond the quickstart's table: the label-efficiency
/// curve (mean and standard deviation over label subsets, linear probe vs fine-tuning vs from scratch),
/// clustering and one-class anomaly detection.
/// </summary>
public static class EvaluationReport
{
    private static readonly LabelProtocol[] Protocols = [LabelProtocol.LinearProbe, LabelProtocol.FineTune, LabelProtocol.FromScratch];

    /// <summary>Summary-key prefix of a protocol (linear_1, finetune_1, supervised_1).</summary>
    public static string KeyPrefix(LabelProtocol protocol) => protocol switch
    {
        LabelProtocol.LinearProbe => "linear",
        LabelProtocol.FineTune => "finetune",
        LabelProtocol.FromScratch => "supervised",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };

    /// <summary>Name in tables and legends.</summary>
    public static string Title(LabelProtocol protocol) => protocol switch
    {
        LabelProtocol.LinearProbe => "linear probe (frozen)",
        LabelProtocol.FineTune => "fine-tuned",
        LabelProtocol.FromScratch => "from scratch",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };

    /// <summary>
    /// Adds to <paramref name="summary"/>: {prefix}_{percent} (mean accuracy; the quickstart's keys), {prefix}_{percent}_std
    /// where several subsets were drawn, seeds, label_efficiency (every point with its per-subset accuracies), and the
    /// clustering_* and anomaly_* headline numbers with their details.
    /// </summary>
    public static void AddSummary(Dictionary<string, object> summary, EvaluationResult ev)
    {
        var curve = new List<Dictionary<string, object>>();
        foreach (var protocol in Protocols)
            foreach (var r in ev.For(protocol))
            {
                string key = $"{KeyPrefix(protocol)}_{RunReport.Key(r.Fraction)}";
                summary[key] = r.Accuracy;
                if (r.Accuracies.Count > 1) summary[key + "_std"] = r.Std;
                curve.Add(new Dictionary<string, object>
                {
                    ["protocol"] = KeyPrefix(protocol), ["fraction"] = r.Fraction, ["labels"] = r.Labels,
                    ["mean"] = r.Accuracy, ["std"] = r.Std, ["accuracies"] = r.Accuracies.ToArray(),
                });
            }
        summary["seeds"] = ev.Seeds;
        summary["label_efficiency"] = curve;
        if (ev.Clustering is { } c)
        {
            summary["clustering_nmi"] = c.Embedding.Nmi;
            summary["clustering_ari"] = c.Embedding.Ari;
            summary["clustering_raw_nmi"] = c.Raw.Nmi;
            summary["clustering_raw_ari"] = c.Raw.Ari;
            summary["clustering"] = c;
        }
        if (ev.Anomaly is { } a)
        {
            summary["anomaly_auroc"] = a.MeanEmbedding.Auroc;
            summary["anomaly_auprc"] = a.MeanEmbedding.Auprc;
            summary["anomaly_raw_auroc"] = a.MeanRaw.Auroc;
            summary["anomaly_raw_auprc"] = a.MeanRaw.Auprc;
            if (a.MeanReconstruction is { } m)
            {
                summary["anomaly_reconstruction_auroc"] = m.Auroc;
                summary["anomaly_reconstruction_auprc"] = m.Auprc;
            }
            summary["anomaly"] = a;
        }
    }

    /// <summary>Adds the label-efficiency table and curve (plot written into <paramref name="plotsDirectory"/>), clustering and anomaly tables.</summary>
    public static void AddSections(HtmlReport report, string plotsDirectory, EvaluationResult ev, EvaluationConfig config, string datasetName)
    {
        AddLabelEfficiency(report, plotsDirectory, ev, config, datasetName);
        if (ev.Clustering is { } c) AddClustering(report, c);
        if (ev.Anomaly is { } a) AddAnomaly(report, a);
    }

    private static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture);
    private static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static string Cell(LabelResult r) =>
        r.Accuracies.Count > 1 ? $"{Pct(r.Accuracy)} ± {Pct(r.Std)}" : Pct(r.Accuracy);

    private static void AddLabelEfficiency(HtmlReport report, string plotsDirectory, EvaluationResult ev, EvaluationConfig config, string datasetName)
    {
        var used = Protocols.Where(p => ev.For(p).Count > 0).ToArray();
        if (used.Length == 0) return;
        report.AddHeading("Label efficiency");
        string subsets = ev.Seeds > 1
            ? $"below {RunReport.Key(LabelSubsets.ResampledBelow)} % labels {ev.Seeds} subsets (seeds {config.SubsetSeed}..{config.SubsetSeed + ev.Seeds - 1}) are drawn and the cells show mean ± standard deviation. "
            : "one subset per fraction. ";
        string trained = ev.FineTune.Count + ev.Supervised.Count == 0 ? "" :
            $"End-to-end training (encoder + linear head) uses the same subsets, crop/flip augmentation, AdamW schedule and step budget " +
            $"({config.Supervised.Steps} steps or {config.Supervised.MinEpochs} epochs of batch {config.Supervised.BatchSize}, whichever is more) from scratch and when fine-tuning. ";
        if (ev.FineTune.Count > 0)
            trained += $"Fine-tuning starts from the pretrained encoder, which learns at {config.FineTuneEncoderLrScale.ToString("G3", CultureInfo.InvariantCulture)} times the new head's learning rate.";
        report.AddParagraph("Test accuracy (%) against the number of labelled training samples. Each fraction uses a class-stratified subset; " + subsets + trained);
        var fractions = used.SelectMany(p => ev.For(p).Select(r => r.Fraction)).Distinct().OrderByDescending(f => f).ToArray();
        var rows = new List<string[]>();
        foreach (var f in fractions)
        {
            int labels = used.SelectMany(p => ev.For(p)).First(r => r.Fraction == f).Labels;
            var row = new List<string> { $"{RunReport.Key(f)} % ({labels})" };
            foreach (var p in used)
            {
                var match = ev.For(p).Where(r => r.Fraction == f).ToArray();
                row.Add(match.Length > 0 ? Cell(match[0]) : "-");
            }
            rows.Add(row.ToArray());
        }
        report.AddTable("Test accuracy (%) by labels", ["labels", .. used.Select(Title)], rows);

        var series = used.Select(p =>
        {
            var rs = ev.For(p).OrderBy(r => r.Labels).ToArray();
            return (Title(p), rs.Select(r => (double)r.Labels).ToArray(), rs.Select(r => 100 * r.Accuracy).ToArray(), rs.Select(r => 100 * r.Std).ToArray());
        }).ToList();
        var path = Path.Combine(plotsDirectory, "label_efficiency.png");
        Plots.ErrorBarPlot(path, $"Label efficiency on {datasetName}", "labelled training samples", "test accuracy (%)", series, logX: true);
        report.AddImage("Label-efficiency curve: test accuracy against labelled samples (error bars: standard deviation over label subsets)", path);
    }

    private static void AddClustering(HtmlReport report, ClusteringResult c)
    {
        report.AddHeading("Clustering");
        report.AddParagraph($"k-means (k = {c.K}, k-means++ starts, lowest inertia kept) on the {c.Samples} test samples, every vector scaled to unit length first; " +
            "agreement with the true classes as normalised mutual information (0 = none, 1 = identical) and adjusted Rand index (0 = chance, 1 = identical). " +
            "Raw inputs are the no-learning baseline.");
        report.AddTable("Clustering of the test set", ["input", "NMI", "ARI"],
        [
            ["encoder embeddings", F3(c.Embedding.Nmi), F3(c.Embedding.Ari)],
            ["raw inputs", F3(c.Raw.Nmi), F3(c.Raw.Ari)],
        ]);
    }

    private static void AddAnomaly(HtmlReport report, AnomalyResult a)
    {
        bool recon = a.MeanReconstruction is not null;
        report.AddHeading("Anomaly detection (one class vs rest)");
        report.AddParagraph($"For each class: its training samples are the normal set, every test sample of another class is an anomaly. " +
            $"Score: mean distance to the {a.K} nearest normal training samples, vectors scaled to unit length (DN2), in embedding space and, as the no-learning baseline, in raw-input space" +
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
            rows.Add(row.ToArray());
        }
        var mean = new List<string> { "mean", "", "", F3(a.MeanEmbedding.Auroc), F3(a.MeanEmbedding.Auprc), F3(a.MeanRaw.Auroc), F3(a.MeanRaw.Auprc) };
        if (a.MeanReconstruction is { } m) { mean.Add(F3(m.Auroc)); mean.Add(F3(m.Auprc)); }
        rows.Add(mean.ToArray());
        report.AddTable("One-class anomaly detection per class", header, rows);
    }
}
