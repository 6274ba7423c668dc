using System.Diagnostics;
using System.Globalization;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Results of one evaluation; fractions are of the training labels, accuracies in [0, 1].</summary>
/// <param name="Knn">Weighted kNN accuracy with all training labels.</param>
/// <param name="Linear">Linear probe on the frozen encoder, per label fraction.</param>
/// <param name="Supervised">The same architecture trained from scratch, per label fraction.</param>
/// <param name="Seconds">Wall-clock time of the evaluation.</param>
public sealed record EvaluationResult(double Knn, IReadOnlyList<LabelResult> Linear, IReadOnlyList<LabelResult> Supervised, double Seconds)
{
    /// <summary>The pretrained encoder fine-tuned end to end, per label fraction (empty when not run).</summary>
    public IReadOnlyList<LabelResult> FineTune { get; init; } = [];
    /// <summary>Label subsets drawn per fraction under 10 %.</summary>
    public int Seeds { get; init; } = 1;
    public ClusteringResult? Clustering { get; init; }
    public AnomalyResult? Anomaly { get; init; }
    /// <summary>Diagnostics and PCA/t-SNE maps of the frozen features on a test sample (null when maps are off).</summary>
    public EmbeddingInsight? Insight { get; init; }

    /// <summary>The results of one protocol.</summary>
    public IReadOnlyList<LabelResult> For(LabelProtocol protocol) => protocol switch
    {
        LabelProtocol.LinearProbe => Linear,
        LabelProtocol.FineTune => FineTune,
        LabelProtocol.FromScratch => Supervised,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };
}

/// <summary>k-means agreement with the labels on one input representation.</summary>
public sealed record ClusterScore(double Nmi, double Ari, double Inertia);

/// <summary>k-means (k = number of classes) on test embeddings and, as the no-learning baseline, on raw inputs.</summary>
public sealed record ClusteringResult(int K, int Samples, ClusterScore Embedding, ClusterScore Raw);

/// <summary>One-class anomaly detection with <paramref name="NormalClass"/> as the normal class and every other class anomalous.</summary>
public sealed record OneClassResult(int NormalClass, string ClassName, int TrainNormal, int TestNormal, int TestAnomalous,
    AnomalyScore Embedding, AnomalyScore Raw, AnomalyScore? Reconstruction);

/// <summary>One-class-vs-rest results for each class, kNN with <paramref name="K"/> neighbours.</summary>
public sealed record AnomalyResult(int K, IReadOnlyList<OneClassResult> Classes)
{
    public AnomalyScore MeanEmbedding => Mean(c => c.Embedding);
    public AnomalyScore MeanRaw => Mean(c => c.Raw);
    /// <summary>Null when the method has no reconstruction scorer.</summary>
    public AnomalyScore? MeanReconstruction => Classes.Count > 0 && Classes.All(c => c.Reconstruction is not null) ? Mean(c => c.Reconstruction!) : null;

    private AnomalyScore Mean(Func<OneClassResult, AnomalyScore> pick) =>
        new(Classes.Average(c => pick(c).Auroc), Classes.Average(c => pick(c).Auprc));
}

/// <summary>
/// Evaluation of a pretrained encoder on labelled data: frozen-encoder kNN and linear probes, fine-tuning
/// and training from scratch on the same label subsets, and optionally k-means clustering and one-class
/// anomaly detection, each next to a baseline that learns nothing from the unlabelled data.
/// </summary>
public static class Evaluating
{
    public static EvaluationResult Run(ISslMethod method, RunConfig config, IDataset train, IDataset test, IRunObserver? observer = null, bool supervisedBaseline = true)
    {
        observer ??= NullObserver.Instance;
        if (train.Labels is null || test.Labels is null)
            throw new ArgumentException($"Evaluation needs labelled data; '{(train.Labels is null ? train.Name : test.Name)}' has no labels.");
        var clock = Stopwatch.StartNew();
        var trainLabels = train.Labels;
        int classes = Math.Max(trainLabels.Max(), test.Labels.Max()) + 1;
        // Token ids (text) are neither normalised nor augmented.
        bool images = config.Encoder.Modality == Modality.Image;
        var normalize = images ? config.Augment.BuildNormalize() : null;
        var ev = config.Evaluation;
        int[] Seeds(double f) => LabelSubsets.SeedsFor(f, ev.Seeds, ev.SubsetSeed);
        string Percent(double f) => RunReport.Key(f) + " %";

        observer.BeginStage("Extracting features", train.Count + test.Count);
        using var trainF = Features.Extract(method.Encoder, train, normalize, progress: (d, _) => observer.Report(d));
        using var testF = Features.Extract(method.Encoder, test, normalize, progress: (d, _) => observer.Report(train.Count + d));
        observer.EndStage();

        observer.BeginStage("kNN and linear probes", 1 + ev.LinearFractions.Sum(f => Seeds(f).Length));
        double knn = Knn.Accuracy(trainF, trainLabels, testF, test.Labels, classes, ev.KnnK, ev.KnnTemperature);
        int done = 1;
        observer.Report(done, string.Create(CultureInfo.InvariantCulture, $"kNN {knn:P2}"));
        var linear = new List<LabelResult>();
        foreach (var f in ev.LinearFractions)
        {
            var r = OverSubsets(trainLabels, f, Seeds(f), (idx, _) =>
            {
                using var scope = NewDisposeScope();
                using var ix = tensor(idx);
                double acc = LinearProbe.Evaluate(trainF.index_select(0, ix), idx.Select(i => trainLabels[i]).ToArray(), testF, test.Labels, classes, ev.Probe).Accuracy;
                observer.Report(++done, string.Create(CultureInfo.InvariantCulture, $"linear {Percent(f)}: {acc:P2}"));
                return acc;
            });
            linear.Add(r);
        }
        observer.EndStage();

        EmbeddingInsight? insight = null;
        if (ev.Maps.Samples > 0 && test.Count >= 4)
        {
            observer.BeginStage("Embedding maps and diagnostics", ev.Maps.Tsne ? 3 : 2);
            insight = Insight(method, config, test, testF, ev.Maps, observer);
            observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"RankMe {insight.Readings.RankMe:F1} of {insight.Readings.MaxRank}"));
        }

        // Fine-tuning and training from scratch share one routine, subsets, augmentation and step budget.
        List<LabelResult> Trained(LabelProtocol protocol, double[] fractions)
        {
            var results = new List<LabelResult>();
            string what = protocol == LabelProtocol.FineTune ? "Fine-tuning" : "Supervised from scratch";
            foreach (var f in fractions)
            {
                var seeds = Seeds(f);
                results.Add(OverSubsets(trainLabels, f, seeds, (idx, seed) =>
                {
                    string subset = seeds.Length > 1 ? $", subset {seed - seeds[0] + 1}/{seeds.Length}" : "";
                    observer.BeginStage($"{what}, {Percent(f)} labels ({idx.Length}){subset}", SupervisedTraining.StepsFor(idx.Length, ev.Supervised));
                    var options = ev.Supervised with { Seed = seed };
                    double acc = protocol == LabelProtocol.FineTune
                        ? SupervisedTraining.FineTune(method.Encoder, config.Encoder.Build, ev.FineTuneEncoderLrScale, train, idx, test,
                            images ? config.Augment.BuildSupervised() : null, normalize, classes, options, (d, _) => observer.Report(d))
                        : SupervisedTraining.FromScratch(config.Encoder.Build, train, idx, test,
                            images ? config.Augment.BuildSupervised() : null, normalize, classes, options, (d, _) => observer.Report(d));
                    observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"{acc:P2}"));
                    return acc;
                }));
            }
            return results;
        }
        var fineTune = Trained(LabelProtocol.FineTune, ev.FineTuneFractions);
        var supervised = supervisedBaseline ? Trained(LabelProtocol.FromScratch, ev.SupervisedFractions) : [];

        ClusteringResult? clustering = null;
        AnomalyResult? anomaly = null;
        if (ev.Extras != EvaluationExtras.None)
        {
            using var rawTest = Features.Raw(test);
            if (ev.Extras.HasFlag(EvaluationExtras.Clustering)) clustering = Cluster(testF, rawTest, test.Labels, ev.Clustering, observer);
            if (ev.Extras.HasFlag(EvaluationExtras.Anomaly)) anomaly = DetectAnomalies(method, train, test, trainF, testF, rawTest, normalize, ev.Anomaly, observer);
        }
        return new EvaluationResult(knn, linear, supervised, clock.Elapsed.TotalSeconds)
        {
            FineTune = fineTune, Seeds = ev.Seeds, Clustering = clustering, Anomaly = anomaly, Insight = insight,
        };
    }

    private static LabelResult OverSubsets(int[] labels, double fraction, int[] seeds, Func<long[], int, double> run)
    {
        var accuracies = new List<double>();
        int n = 0;
        foreach (var seed in seeds)
        {
            var idx = LabelSubsets.Stratified(labels, fraction, seed);
            n = idx.Length;
            accuracies.Add(run(idx, seed));
        }
        return new LabelResult(fraction, n, accuracies);
    }

    /// <summary>k-means with k = number of test classes on L2-normalised embeddings and on L2-normalised raw inputs.</summary>
    public static ClusteringResult Cluster(Tensor testFeatures, Tensor rawTest, int[] testLabels, KMeansOptions options, IRunObserver observer)
    {
        int k = testLabels.Distinct().Count();
        observer.BeginStage($"k-means (k = {k}) on embeddings and raw inputs", 2L * options.Restarts);
        ClusterScore Score(Tensor x, long offset)
        {
            using var unit = nn.functional.normalize(x, dim: 1);
            using var r = KMeans.Fit(unit, k, options, d => observer.Report(offset + d));
            return new ClusterScore(ClusterMetrics.NormalizedMutualInformation(testLabels, r.Assignments),
                ClusterMetrics.AdjustedRandIndex(testLabels, r.Assignments), r.Inertia);
        }
        var embedding = Score(testFeatures, 0);
        var raw = Score(rawTest, options.Restarts);
        observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"NMI {embedding.Nmi:F3} (raw {raw.Nmi:F3}), ARI {embedding.Ari:F3} (raw {raw.Ari:F3})"));
        return new ClusteringResult(k, testLabels.Length, embedding, raw);
    }

    /// <summary>
    /// One class normal, the rest anomalous, for each class present in both splits: kNN distance to the
    /// normal training samples in embedding space and in raw-input space, and the method's reconstruction
    /// error when it has one.
    /// </summary>
    private static AnomalyResult DetectAnomalies(ISslMethod method, IDataset train, IDataset test, Tensor trainF, Tensor testF, Tensor rawTest,
        Augmentations.Normalize? normalize, AnomalyOptions options, IRunObserver observer)
    {
        var trainLabels = train.Labels!;
        var testLabels = test.Labels!;
        var normalClasses = testLabels.Distinct().Order().Where(c => trainLabels.Contains(c)).ToArray();
        if (testLabels.Distinct().Count() < 2)
            throw new ArgumentException($"Anomaly detection needs at least two classes in the test data; '{test.Name}' has one.");
        double[]? reconstruction = null;
        if (method is IReconstructionScorer scorer)
        {
            observer.BeginStage($"Reconstruction errors ({method.Name})", test.Count);
            reconstruction = OneClass.ReconstructionScores(scorer, method.Module, test, normalize, options.Seed, progress: d => observer.Report(d));
            observer.EndStage();
        }
        observer.BeginStage($"Anomaly detection, one class vs rest ({normalClasses.Length} classes)", normalClasses.Length);
        var results = new List<OneClassResult>();
        foreach (var c in normalClasses)
        {
            using var scope = NewDisposeScope();
            var normalIdx = OneClass.IndicesOf(trainLabels, c);
            int k = Math.Min(options.K, normalIdx.Length);
            var bank = trainF.index_select(0, tensor(normalIdx));
            var embedding = OneClass.Evaluate(KnnAnomalyScorer.Score(bank, testF, k), testLabels, c);
            using var rawBank = Features.Raw(train, normalIdx);
            var raw = OneClass.Evaluate(KnnAnomalyScorer.Score(rawBank, rawTest, k), testLabels, c);
            var recon = reconstruction is null ? null : OneClass.Evaluate(reconstruction, testLabels, c);
            int testNormal = testLabels.Count(l => l == c);
            string name = c < test.ClassNames.Count ? test.ClassNames[c] : c.ToString(CultureInfo.InvariantCulture);
            results.Add(new OneClassResult(c, name, normalIdx.Length, testNormal, testLabels.Length - testNormal, embedding, raw, recon));
            observer.Report(results.Count, string.Create(CultureInfo.InvariantCulture, $"{name}: AUROC {embedding.Auroc:F3} (raw {raw.Auroc:F3})"));
        }
        var result = new AnomalyResult(options.K, results);
        observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"mean AUROC {result.MeanEmbedding.Auroc:F3} (raw {result.MeanRaw.Auroc:F3})"));
        return result;
    }

    /// <summary>Diagnostics and PCA/t-SNE maps of the frozen features of a class-stratified, seeded sample of the test set.</summary>
    private static EmbeddingInsight Insight(ISslMethod method, RunConfig config, IDataset test, Tensor testF, EmbeddingMapOptions options, IRunObserver observer)
    {
        var idx = options.Samples >= test.Count
            ? Enumerable.Range(0, (int)test.Count).Select(i => (long)i).ToArray()
            : LabelSubsets.Stratified(test.Labels!, (double)options.Samples / test.Count, options.Seed);
        using var scope = NewDisposeScope();
        using var ix = tensor(idx);
        var f = testF.index_select(0, ix);
        var labels = idx.Select(i => test.Labels![i]).ToArray();
        var readings = Diagnostics.MeasureEncoder(method.Encoder, test, idx, f, MethodRegistry.Get(config.Method).Views(config), options.Seed);
        observer.Report(1);
        var maps = new List<EmbeddingMap> { EmbeddingMaps.PcaMap(f, labels, test.ClassNames) };
        observer.Report(2);
        if (options.Tsne)
        {
            maps.Add(EmbeddingMaps.TsneMap(f, labels, test.ClassNames, options.TsneOptions));
            observer.Report(3);
        }
        return new EmbeddingInsight(readings, idx.Length, maps);
    }
}
