using System.Text.Json;
using Pretext.Export;
using Pretext.Runs;

namespace Pretext.Tests.Cli;

/// <summary>`pretext evaluate` with every evaluation switched on, end to end on a tiny image folder.</summary>
[Collection("console")]
public class EvaluateCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void LabelCurveFineTuningClusteringAndAnomalyDetectionOnAnImageFolder()
    {
        using var dir = new TempDirectory();
        var images = Path.Combine(dir.Path, "images");
        EndToEndTests.WriteBlobFolder(images, 30);   // 3 classes: 72 train, 18 held-out test images
        var run = Path.Combine(dir.Path, "run");
        var (c1, o1, e1) = Run("pretrain", "--dataset", images, "--run-dir", run, "--widths", "8,16", "--blocks", "1,1", "--batch-size", "16",
            "--max-steps", "2", "--threads", "1", "--precision", "Float32", "--layout", "Contiguous");
        Assert.True(c1 == 0, o1 + e1);
        // The fifth evaluate holds out as test stays out of pretraining unless asked for.
        Assert.Contains("18 held-out test samples stay out of pretraining", o1);
        Assert.False(Pretraining.Recorded(run)!.Transductive);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000002.safetensors");
        var outDir = Path.Combine(dir.Path, "eval");

        string[] quick = ["--set", "evaluation.supervised.steps=3", "--set", "evaluation.supervised.min_epochs=1", "--set", "evaluation.supervised.batch_size=8",
                          "--set", "evaluation.probe.iterations=20", "--set", "evaluation.clustering.restarts=2", "--threads", "1"];
        var (c2, o2, e2) = Run(["evaluate", "--checkpoint", ckpt, "--fractions", "1,0.05", "--seeds", "2", "--fine-tune", "--clustering", "--anomaly",
                                "--limit-train", "60", "--out-dir", outDir, .. quick]);
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("fine-tuned, 5 % (3 labels)", o2);
        Assert.Contains("k-means: NMI", o2);
        Assert.Contains("anomaly detection, mean over 3 classes", o2);

        var summary = JsonFile.Read<Dictionary<string, JsonElement>>(Path.Combine(outDir, "summary.json"));
        foreach (var key in new[] { "knn", "linear_100", "linear_5", "finetune_100", "finetune_5", "scratch_100", "scratch_5", "baseline_100", "baseline_5",
                                    "clustering_nmi", "clustering_ari", "clustering_raw_nmi", "anomaly_auroc", "anomaly_auprc", "anomaly_raw_auroc" })
        {
            Assert.True(summary.ContainsKey(key), $"summary.json lacks '{key}'");
            double v = summary[key].GetDouble();
            Assert.True(v is >= -1 and <= 1, $"{key} = {v}");
        }
        // 5 % of the labels is under 10 %: two subsets, so a standard deviation; 100 % is drawn once.
        Assert.True(summary.ContainsKey("linear_5_std"));
        Assert.False(summary.ContainsKey("linear_100_std"));
        Assert.Equal("raw pixels", summary["baseline"].GetString());
        var curve = summary["scores"].EnumerateArray().Where(p => p.GetProperty("protocol").GetString() != "knn").ToList();
        // 4 protocols (linear, fine-tuned, from scratch, raw pixels) x 2 fractions, the frozen two at 1, 5, 10 and 25 labels per
        // class, the trained two at 10 per class (the defaults).
        Assert.Equal(8 + 2 * 4 + 2, curve.Count);
        Assert.Equal(15, curve.Single(p => p.GetProperty("protocol").GetString() == "linear" && p.GetProperty("per_class").ValueKind == JsonValueKind.Number
            && p.GetProperty("per_class").GetInt32() == 5).GetProperty("labels").GetInt32());
        foreach (var key in new[] { "linear_1_per_class", "baseline_25_per_class", "finetune_10_per_class", "scratch_10_per_class", "labels_30_pretrained", "labels_30_scratch" })
            Assert.True(summary.ContainsKey(key), $"summary.json lacks '{key}'");
        Assert.Contains(summary["pretrained_pipeline"].GetString(), new[] { "linear", "finetune" });
        Assert.Equal(30, summary["labels_needed"].GetProperty("labels").GetInt32());   // the headline: 10 per class
        var fiveLinear = curve.Single(p => p.GetProperty("protocol").GetString() == "linear" && p.GetProperty("fraction").GetDouble() == 0.05);
        Assert.Equal(2, fiveLinear.GetProperty("accuracies").GetArrayLength());
        Assert.Equal(3, fiveLinear.GetProperty("labels").GetInt32());   // 1 of each class's 20 training images
        Assert.Equal(51, curve.Single(p => p.GetProperty("protocol").GetString() == "scratch" && p.GetProperty("fraction").GetDouble() == 1).GetProperty("labels").GetInt32()); // 3 of each class's 20 are the validation split
        Assert.Equal(9, summary["validation_size"].GetInt32());
        Assert.Equal(3, summary["anomaly"].GetProperty("classes").GetArrayLength());
        Assert.Equal(3, summary["clustering"].GetProperty("k").GetInt32());

        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        foreach (var text in new[] { "Label efficiency", "fine-tuned", "from scratch", "Clustering", "Anomaly detection", "0 class0", "2 class2", "&#177;" })   // "±", HTML-escaped
            Assert.Contains(text, html);
        Assert.True(File.Exists(Path.Combine(outDir, "plots", "label_efficiency.png")));
    }

    [Fact]
    public void TransductivePretrainingSeesTheHeldOutPartAndTheReportSaysSo()
    {
        using var dir = new TempDirectory();
        var images = Path.Combine(dir.Path, "images");
        EndToEndTests.WriteBlobFolder(images, 30);
        var run = Path.Combine(dir.Path, "run");
        var (c1, o1, e1) = Run("pretrain", "--dataset", images, "--run-dir", run, "--widths", "8,16", "--blocks", "1,1", "--batch-size", "16",
            "--max-steps", "1", "--threads", "1", "--precision", "Float32", "--layout", "Contiguous", "--transductive");
        Assert.True(c1 == 0, o1 + e1);
        Assert.DoesNotContain("stay out of pretraining", o1);
        Assert.Contains("90 images", o1);   // every image, the held-out fifth included
        Assert.True(Pretraining.Recorded(run)!.Transductive);
        var (c2, o2, e2) = Run("evaluate", "--checkpoint", Path.Combine(run, "checkpoints", "step-00000001.safetensors"), "--fractions", "1", "--no-supervised",
            "--per-class", "none", "--threads", "1", "--set", "evaluation.probe.iterations=5");
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("transductive", File.ReadAllText(Path.Combine(run, "evaluation", "report.html")));
    }

    [Fact]
    public void BadEvaluateOptionsGiveOneLineErrors()
    {
        using var dir = new TempDirectory();
        var missing = dir.File("none.safetensors");
        var (c1, _, e1) = Run("evaluate", "--checkpoint", missing, "--fractions", "0.1,2");
        Assert.Equal(2, c1);
        Assert.Contains("--fractions", e1);
        var (c2, _, e2) = Run("evaluate", "--checkpoint", missing, "--seeds", "0");
        Assert.Equal(2, c2);
        Assert.Contains("--seeds", e2);
        var (c3, _, e3) = Run("evaluate", "--checkpoint", missing, "--set", "train.epochs=3");
        Assert.Equal(2, c3);
        Assert.Contains("evaluation.", e3);
    }
}
