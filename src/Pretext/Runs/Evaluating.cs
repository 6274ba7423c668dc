using System.Diagnostics;
using System.Globalization;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Accuracies of one evaluation; fractions are of the training labels.</summary>
public sealed record EvaluationResult(
    double Knn,
    IReadOnlyList<(double Fraction, int Labels, double Accuracy)> Linear,
    IReadOnlyList<(double Fraction, int Labels, double Accuracy)> Supervised,
    double Seconds);

/// <summary>Frozen-encoder evaluation (kNN, linear probes at label fractions) and the supervised-from-scratch baseline.</summary>
public static class Evaluating
{
    public static EvaluationResult Run(ISslMethod method, RunConfig config, IDataset train, IDataset test, IRunObserver? observer = null, bool supervisedBaseline = true)
    {
        observer ??= NullObserver.Instance;
        if (train.Labels is null || test.Labels is null)
            throw new ArgumentException($"Evaluation needs labelled data; '{(train.Labels is null ? train.Name : test.Name)}' has no labels.");
        var clock = Stopwatch.StartNew();
        int classes = Math.Max(train.Labels.Max(), test.Labels.Max()) + 1;
        // Token ids (text) are neither normalised nor augmented.
        bool images = config.Encoder.Modality == Modality.Image;
        var normalize = images ? config.Augment.BuildNormalize() : null;
        var ev = config.Evaluation;

        observer.BeginStage("Extracting features", train.Count + test.Count);
        using var trainF = Features.Extract(method.Encoder, train, normalize, progress: (d, _) => observer.Report(d));
        using var testF = Features.Extract(method.Encoder, test, normalize, progress: (d, _) => observer.Report(train.Count + d));
        observer.EndStage();

        observer.BeginStage("kNN and linear probes", 1 + ev.LinearFractions.Length);
        double knn = Knn.Accuracy(trainF, train.Labels, testF, test.Labels, classes, ev.KnnK, ev.KnnTemperature);
        observer.Report(1, string.Create(CultureInfo.InvariantCulture, $"kNN {knn:P2}"));
        var linear = new List<(double, int, double)>();
        foreach (var f in ev.LinearFractions)
        {
            var idx = LabelSubsets.Stratified(train.Labels, f, ev.SubsetSeed);
            using var scope = NewDisposeScope();
            using var ix = tensor(idx);
            var r = LinearProbe.Evaluate(trainF.index_select(0, ix), idx.Select(i => train.Labels[i]).ToArray(), testF, test.Labels, classes, ev.Probe);
            linear.Add((f, idx.Length, r.Accuracy));
            observer.Report(1 + linear.Count, string.Create(CultureInfo.InvariantCulture, $"linear {f:P0}: {r.Accuracy:P2}"));
        }
        observer.EndStage();

        var supervised = new List<(double, int, double)>();
        if (supervisedBaseline)
        {
            foreach (var f in ev.SupervisedFractions)
            {
                var idx = LabelSubsets.Stratified(train.Labels, f, ev.SubsetSeed);
                observer.BeginStage($"Supervised from scratch, {f.ToString("P0", CultureInfo.InvariantCulture)} labels ({idx.Length})", SupervisedBaseline.StepsFor(idx.Length, ev.Supervised));
                double acc = SupervisedBaseline.TrainAndTest(config.Encoder.Build, train, idx, test, images ? config.Augment.BuildSupervised() : null, normalize, classes,
                    ev.Supervised with { Seed = ev.SubsetSeed }, (d, _) => observer.Report(d));
                supervised.Add((f, idx.Length, acc));
                observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"{acc:P2}"));
            }
        }
        return new EvaluationResult(knn, linear, supervised, clock.Elapsed.TotalSeconds);
    }
}
