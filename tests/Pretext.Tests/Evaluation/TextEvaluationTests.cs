using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Tests.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class TextEvaluationTests
{
    public TextEvaluationTests() => set_num_threads(1);

    [Fact]
    public void F1IsTheHarmonicMeanOfPrecisionAndRecallOfThePositiveClass()
    {
        int[] truth = [1, 1, 1, 0, 0, 0, 0];
        int[] pred = [1, 1, 0, 1, 0, 0, 0];
        // TP 2, FP 1, FN 1: precision 2/3, recall 2/3.
        Assert.Equal(2.0 / 3, Metrics.F1(pred, truth, 1), 12);
        // Class 0: TP 3, FP 1, FN 1.
        Assert.Equal(0.75, Metrics.F1(pred, truth, 0), 12);
        Assert.Equal((2.0 / 3 + 0.75) / 2, Metrics.MacroF1(pred, truth, 2), 12);
        // Precision 1, recall 1/3.
        Assert.Equal(0.5, Metrics.F1([1, 0, 0, 0], [1, 1, 1, 0], 1), 12);
        // Never predicted and never present: 0 (scikit-learn's zero_division=0).
        Assert.Equal(0, Metrics.F1([0, 0], [0, 0], 1));
        Assert.Equal(1, Metrics.F1([2, 0], [2, 0], 2));
        Assert.Throws<ArgumentException>(() => Metrics.F1([1], [1, 0], 1));
        Assert.Throws<ArgumentException>(() => Metrics.F1([], [], 1));
    }

    [Fact]
    public void TfIdfMatchesTheFormulaByHand()
    {
        string[] docs = ["Spam spam spam offer", "offer meeting", "meeting notes, notes!", "x y"];
        var v = TfIdfVectorizer.Fit(docs, new TfIdfOptions { MinDocumentFrequency = 2, SublinearTf = true });
        // Words in two or more documents: offer (2), meeting (2); "x"/"y" are single characters (not words); spam, notes in one.
        Assert.Equal(new[] { "meeting", "offer" }, v.Vocabulary);
        double idf = Math.Log(5.0 / 3) + 1;
        Assert.Equal(idf, v.Idf[0], 12);
        using var x = v.Transform(["offer offer offer meeting", "nothing known here", "MEETING"]);
        Assert.True(x.is_sparse);
        using var dense = x.to_dense();
        var a = dense.data<float>().ToArray();
        double wOffer = (1 + Math.Log(3)) * idf, wMeeting = idf, norm = Math.Sqrt(wOffer * wOffer + wMeeting * wMeeting);
        Assert.Equal(wMeeting / norm, a[0], 6);
        Assert.Equal(wOffer / norm, a[1], 6);
        Assert.Equal(new float[] { 0, 0 }, a[2..4]);
        Assert.Equal(new float[] { 1, 0 }, a[4..6]);
        var capped = TfIdfVectorizer.Fit(docs, new TfIdfOptions { MinDocumentFrequency = 1, MaxFeatures = 3 });
        Assert.Equal(new[] { "meeting", "offer", "notes" }, capped.Vocabulary);
        Assert.Throws<ArgumentException>(() => TfIdfVectorizer.Fit(["a b", "c d"], new TfIdfOptions { MinDocumentFrequency = 2 }));
    }

    [Fact]
    public void PretrainThenEvaluateReportsEveryModelAndFraction()
    {
        var corpus = TestText.Corpus(96, seed: 1);
        var train = corpus.Subset(Enumerable.Range(0, 64).ToArray(), "topics/train");
        var test = corpus.Subset(Enumerable.Range(64, 32).ToArray(), "topics/test");
        var tok = TestText.Tokenizer();
        using var dir = new TempDirectory();
        var cfg = TestText.Tiny("mlm");
        var small = new SupervisedOptions { Steps = 8, MinEpochs = 1, BatchSize = 16 };
        cfg = cfg with
        {
            Evaluation = cfg.Evaluation with
            {
                KnnK = 10,
                Probe = cfg.Evaluation.Probe with { Iterations = 50, WeightDecays = [0, 1e-2] },
                Text = cfg.Evaluation.Text with { Fractions = [1.0, 0.25], FineTuning = small, Scratch = small },
            },
        };
        using (var data = Pretext.Text.TokenizedDataset.From(train, tok, cfg.Encoder.Text.MaxLength))
            Pretraining.Run(cfg, new UnlabelledView(data), dir.Path, resume: false);
        var pre = new PretrainResult(dir.Path, new Pretext.Training.CheckpointFolder(Path.Combine(dir.Path, "checkpoints"), 3).Latest!, 6, double.NaN, double.NaN, double.NaN, double.NaN);
        var (method, loaded, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
        using (method)
        {
            var ev = Evaluating.Run(method, loaded, new TextModality.TextInputs(loaded, tok), new TextSamples(train), new TextSamples(test));
            Assert.Equal("F1 of spam", ev.F1Kind);
            Assert.Equal("TF-IDF", ev.Baseline);
            foreach (var protocol in new[] { Protocol.LinearProbe, Protocol.FineTune, Protocol.FromScratch, Protocol.Baseline })
                foreach (var f in new[] { 1.0, 0.25 })
                {
                    var s = ev.Find(protocol, f);
                    Assert.NotNull(s);
                    Assert.InRange(s.Accuracy, 0, 1);
                    Assert.InRange(s.F1!.Value, 0, 1);
                    Assert.Equal(f == 1.0 ? 54 : 14, s.Labels); // 5 of each class's 32 documents form the validation split
                }
            Assert.NotNull(ev.Find(Protocol.Knn, 1.0));
            // The topics are separable by their words: TF-IDF and a linear probe on the pretrained encoder get nearly all.
            Assert.True(ev.Find(Protocol.Baseline, 1.0)!.Accuracy >= 0.9, $"TF-IDF {ev.Find(Protocol.Baseline, 1.0)!.Accuracy}");
            Assert.True(ev.Find(Protocol.LinearProbe, 1.0)!.Accuracy >= 0.9, $"linear probe {ev.Find(Protocol.LinearProbe, 1.0)!.Accuracy}");

            // A folder holding a causal model's continuations shows them in the report (evaluate copies them there).
            File.WriteAllText(Path.Combine(dir.Path, Continuations.FileName), "- prompt `cheap`\n  - greedy: offer money");
            var html = RunReport.Write(dir.Path, loaded, pre, ev, "topics");
            Assert.True(File.Exists(html));
            Assert.Contains("Sampled continuations", File.ReadAllText(html));
            Assert.Contains("greedy: offer money", File.ReadAllText(html));
            var summary = File.ReadAllText(Path.Combine(dir.Path, "summary.json"));
            foreach (var key in new[] { "linear_100", "finetune_25_f1", "scratch_100", "baseline_25", "knn_f1", "scores", "f1_kind" })
                Assert.Contains($"\"{key}\"", summary);
            Assert.DoesNotContain("NaN", summary);
        }
    }
}
