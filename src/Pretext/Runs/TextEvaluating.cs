using System.Diagnostics;
using System.Globalization;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>What the text evaluation runs, with how many labels; part of <see cref="EvaluationConfig"/>.</summary>
public sealed record TextEvaluationOptions
{
    /// <summary>Label fractions of the training documents (class-stratified subsets, the same for every model).</summary>
    public double[] Fractions { get; init; } = [1.0, 0.1, 0.01];
    /// <summary>Weighted kNN on the frozen embeddings, with all labels.</summary>
    public bool Knn { get; init; } = true;
    /// <summary>Linear probe on the frozen embeddings.</summary>
    public bool LinearProbe { get; init; } = true;
    /// <summary>Fine-tune the whole pretrained encoder with a linear classifier.</summary>
    public bool FineTune { get; init; } = true;
    /// <summary>The same encoder trained from random weights on the same labels.</summary>
    public bool FromScratch { get; init; } = true;
    /// <summary>TF-IDF of the whole documents + logistic regression.</summary>
    public bool TfIdf { get; init; } = true;
    /// <summary>Fine-tuning: AdamW at a small learning rate so the pretrained weights are adjusted, not overwritten
    /// (BERT's fine-tuning range is 2e-5 to 5e-5 for a 110M model; this small one takes 1e-4).</summary>
    public SupervisedOptions FineTuning { get; init; } = new() { Steps = 150, MinEpochs = 3, BatchSize = 32, LearningRate = 1e-4, WeightDecay = 0.01, StandardizeFeatures = true };
    /// <summary>From scratch: the same budget at the pretraining learning rate.</summary>
    public SupervisedOptions Scratch { get; init; } = new() { Steps = 150, MinEpochs = 3, BatchSize = 32, LearningRate = 5e-4, WeightDecay = 0.01 };
    public TfIdfOptions TfIdfFeatures { get; init; } = new();
    /// <summary>Class whose F1 is reported for two-class data (spam); class 1 when no class has this name. More classes: macro F1.</summary>
    public string PositiveClass { get; init; } = "spam";
}

/// <summary>One model's test scores with a number of labels: the mean over the label subsets (one subset at 10 % and
/// above, <see cref="EvaluationConfig.Seeds"/> below), with the standard deviation when there are several.</summary>
/// <param name="Model">knn, linear (frozen encoder), finetune, scratch or tfidf.</param>
public sealed record TextScore(string Model, double Fraction, int Labels, double Accuracy, double F1)
{
    /// <summary>Label subsets the means are over.</summary>
    public int Subsets { get; init; } = 1;
    /// <summary>Sample standard deviation of the accuracy over the subsets (0 for one subset).</summary>
    public double AccuracyStd { get; init; }
    /// <summary>Sample standard deviation of the F1 over the subsets (0 for one subset).</summary>
    public double F1Std { get; init; }
}

/// <summary>Scores of a text evaluation. <paramref name="F1Kind"/> says which F1 (e.g. "F1 of spam", "macro F1").</summary>
public sealed record TextEvaluationResult(IReadOnlyList<TextScore> Scores, string F1Kind, double Seconds)
{
    public TextScore? Find(string model, double fraction) => Scores.FirstOrDefault(s => s.Model == model && Math.Abs(s.Fraction - fraction) < 1e-12);
}

/// <summary>
/// Downstream evaluation of a text encoder on a labelled train/test split: kNN and linear probes on frozen
/// embeddings, fine-tuning of the pretrained encoder, and two baselines on the same label subsets (the same
/// encoder from scratch, TF-IDF with logistic regression). Reports accuracy and F1 (binary F1 of the positive
/// class for two classes, macro F1 otherwise). Test labels are never used for any choice.
/// </summary>
public static class TextEvaluating
{
    public static TextEvaluationResult Run(ISslMethod method, RunConfig config, TextDataset train, TextDataset test, ITextTokenizer tokenizer, IRunObserver? observer = null)
    {
        observer ??= NullObserver.Instance;
        if (train.Labels is null || test.Labels is null)
            throw new ArgumentException($"Evaluation needs labelled data; '{(train.Labels is null ? train.Name : test.Name)}' has no labels.");
        if (config.Encoder.Modality != Data.Modality.Text)
            throw new ArgumentException($"The checkpoint's encoder ({config.Encoder.Kind}) does not read text; evaluate it on an image data set.");
        var clock = Stopwatch.StartNew();
        var o = config.Evaluation.Text;
        int classes = Math.Max(train.ClassNames.Count, Math.Max(train.Labels.Max(), test.Labels.Max()) + 1);
        int positive = PositiveClass(train.ClassNames, o.PositiveClass);
        string f1Kind = classes == 2 ? $"F1 of {(positive < train.ClassNames.Count ? train.ClassNames[positive] : positive.ToString(CultureInfo.InvariantCulture))}" : "macro F1";
        var testY = test.Labels;
        double F1(int[] predicted) => classes == 2 ? Metrics.F1(predicted, testY, positive) : Metrics.MacroF1(predicted, testY, classes);
        var scores = new List<TextScore>();
        void Add(string model, double fraction, int labels, IReadOnlyList<int[]> predicted, string stage)
        {
            var acc = predicted.Select(p => Metrics.Accuracy(p, testY)).ToArray();
            var f1 = predicted.Select(F1).ToArray();
            var s = new TextScore(model, fraction, labels, acc.Average(), f1.Average()) { Subsets = predicted.Count, AccuracyStd = Metrics.SampleStd(acc), F1Std = Metrics.SampleStd(f1) };
            scores.Add(s);
            observer.Message(predicted.Count == 1
                ? string.Create(CultureInfo.InvariantCulture, $"{stage}: accuracy {s.Accuracy:P2}, {f1Kind} {s.F1:F4}")
                : string.Create(CultureInfo.InvariantCulture, $"{stage}, {predicted.Count} subsets: accuracy {100 * s.Accuracy:F2} ± {100 * s.AccuracyStd:F2} %, {f1Kind} {s.F1:F4} ± {s.F1Std:F4}"));
        }
        // One class-stratified subset per fraction, several (seeds SubsetSeed, SubsetSeed + 1, ...) below 10 %: a few dozen labels vary a lot.
        var subsets = o.Fractions.Select(f => (Fraction: f, Sets: LabelSubsets.SeedsFor(f, config.Evaluation.Seeds, config.Evaluation.SubsetSeed)
            .Select(seed => (Seed: seed, Indices: LabelSubsets.Stratified(train.Labels, f, seed))).ToList())).ToList();
        string Pct(double f) => RunReport.Key(f) + " %";
        string Of(int i, int n) => n > 1 ? $", subset {i + 1}/{n}" : "";

        using var trainTok = TokenizedDataset.From(train, tokenizer, config.Encoder.Text.MaxLength);
        using var testTok = TokenizedDataset.From(test, tokenizer, config.Encoder.Text.MaxLength);
        if (o.Knn || o.LinearProbe)
        {
            observer.BeginStage("Extracting features", trainTok.Count + testTok.Count);
            using var trainF = Features.Extract(method.Encoder, trainTok, null, batchSize: 128, progress: (d, _) => observer.Report(d));
            using var testF = Features.Extract(method.Encoder, testTok, null, batchSize: 128, progress: (d, _) => observer.Report(trainTok.Count + d));
            observer.EndStage();
            if (o.Knn)
            {
                var ev = config.Evaluation;
                Add("knn", 1.0, train.Count, [Knn.Predict(trainF, train.Labels, testF, classes, ev.KnnK, ev.KnnTemperature)], "kNN, all labels");
            }
            if (o.LinearProbe)
                foreach (var (f, sets) in subsets)
                    Add("linear", f, sets[0].Indices.Length, sets.Select(set =>
                    {
                        using var scope = NewDisposeScope();
                        var idx = set.Indices;
                        return LinearProbe.Evaluate(trainF.index_select(0, tensor(idx)), idx.Select(i => train.Labels[i]).ToArray(), testF, testY, classes, config.Evaluation.Probe).Predictions;
                    }).ToList(), $"Linear probe, {Pct(f)} labels");
        }
        if (o.FineTune)
            foreach (var (f, sets) in subsets)
                Add("finetune", f, sets[0].Indices.Length, sets.Select((set, i) => Supervised(() => CopyOf(method.Encoder, config), trainTok, set.Indices, testTok, classes,
                    o.FineTuning with { Seed = set.Seed }, $"Fine-tuning, {Pct(f)} labels ({set.Indices.Length}){Of(i, sets.Count)}", observer)).ToList(), $"Fine-tuning, {Pct(f)} labels");
        if (o.FromScratch)
            foreach (var (f, sets) in subsets)
                Add("scratch", f, sets[0].Indices.Length, sets.Select((set, i) => Supervised(config.Encoder.Build, trainTok, set.Indices, testTok, classes,
                    o.Scratch with { Seed = set.Seed }, $"From scratch, {Pct(f)} labels ({set.Indices.Length}){Of(i, sets.Count)}", observer)).ToList(), $"From scratch, {Pct(f)} labels");
        if (o.TfIdf)
        {
            observer.BeginStage("TF-IDF + logistic regression", subsets.Sum(s => s.Sets.Count));
            // Vocabulary and idf from all training documents, without their labels (as pretraining sees them).
            var vectorizer = TfIdfVectorizer.Fit(train.Texts, o.TfIdfFeatures);
            using var trainX = vectorizer.Transform(train.Texts);
            using var testX = vectorizer.Transform(test.Texts);
            var probe = config.Evaluation.Probe with { Standardize = false };
            int done = 0;
            foreach (var (f, sets) in subsets)
                Add("tfidf", f, sets[0].Indices.Length, sets.Select(set =>
                {
                    using var scope = NewDisposeScope();
                    var idx = set.Indices;
                    var r = LinearProbe.Evaluate(trainX.index_select(0, tensor(idx)), idx.Select(i => train.Labels[i]).ToArray(), testX, testY, classes, probe);
                    observer.Report(++done);
                    return r.Predictions;
                }).ToList(), $"TF-IDF, {Pct(f)} labels");
            observer.EndStage();
        }
        return new TextEvaluationResult(scores, f1Kind, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Index of the class named <paramref name="name"/> (any case), else 1 (the usual positive label of two classes).</summary>
    public static int PositiveClass(IReadOnlyList<string> classNames, string name)
    {
        for (int i = 0; i < classNames.Count; i++)
            if (string.Equals(classNames[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        return 1;
    }

    private static int[] Supervised(Func<Encoders.Encoder> make, TokenizedDataset train, long[] idx, TokenizedDataset test, int classes,
        Evaluation.SupervisedOptions options, string stage, IRunObserver observer)
    {
        observer.BeginStage(stage, SupervisedTraining.StepsFor(idx.Length, options));
        manual_seed(options.Seed);
        using var encoder = make();
        // Text fine-tuning trains encoder and head at one rate (options.FineTuning sets the lower, BERT-style rate for both).
        var predicted = SupervisedTraining.TrainAndPredict(encoder, encoderLrScale: 1.0, train, idx, test, null, null, classes, options, (d, _) => observer.Report(d));
        observer.EndStage();
        return predicted;
    }

    /// <summary>A fresh encoder of the run's architecture holding a copy of <paramref name="encoder"/>'s weights (fine-tuning must not change the pretrained one).</summary>
    private static Encoders.Encoder CopyOf(Encoders.Encoder encoder, RunConfig config)
    {
        var copy = config.Encoder.Build();
        SupervisedTraining.CopyWeights(encoder, copy);
        return copy;
    }
}
