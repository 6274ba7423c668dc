using System.Diagnostics;
using System.Globalization;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs.Modalities;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>
/// Results of one evaluation, for any modality: one <see cref="Score"/> per protocol and label fraction (fractions
/// are of the training labels, accuracies in [0, 1]), and the extras that were asked for.
/// </summary>
/// <param name="F1Kind">Which F1 the scores carry ("F1 of spam", "macro F1"), or null when F1 was not measured.</param>
/// <param name="Baseline">What the no-learning baseline is ("raw pixels", "TF-IDF").</param>
public sealed record EvaluationResult(IReadOnlyList<Score> Scores, string? F1Kind, string Baseline, double Seconds)
{
    /// <summary>Label subsets drawn per fraction under 10 % and per count per class.</summary>
    public int Seeds { get; init; } = 1;
    /// <summary>Samples in the validation split the choices were made on (0: none).</summary>
    public int ValidationSize { get; init; }
    public ClusteringResult? Clustering { get; init; }
    public AnomalyResult? Anomaly { get; init; }
    /// <summary>Diagnostics and PCA/t-SNE maps of the frozen features on a test sample (null when maps are off).</summary>
    public EmbeddingInsight? Insight { get; init; }

    /// <summary>The scores of one protocol, largest label fraction first.</summary>
    public IReadOnlyList<Score> For(Protocol protocol) => Scores.Where(s => s.Protocol == protocol).OrderByDescending(s => s.Labels).ThenByDescending(s => s.Fraction).ToList();

    /// <summary>The score of <paramref name="protocol"/> at <paramref name="fraction"/>, or null when it was not run.</summary>
    public Score? Find(Protocol protocol, double fraction) => Scores.FirstOrDefault(s => s.Protocol == protocol && s.PerClass is null && Math.Abs(s.Fraction - fraction) < 1e-12);

    /// <summary>kNN accuracy with all training labels (NaN when kNN was not run).</summary>
    public double Knn => Find(Protocol.Knn, 1.0)?.Accuracy ?? double.NaN;

    /// <summary>The score of <paramref name="protocol"/> at the label budget <paramref name="budget"/> (<see cref="Score.Budget"/>), or null.</summary>
    public Score? Find(Protocol protocol, string budget) => Scores.FirstOrDefault(s => s.Protocol == protocol && s.Budget == budget);

    /// <summary>The label budgets scored (fractions and counts per class), most labels first.</summary>
    public IReadOnlyList<string> Budgets => Scores.Where(s => s.Protocol is not (Protocol.Knn or Protocol.ResNet18Knn)).OrderByDescending(s => s.Labels).Select(s => s.Budget).Distinct().ToList();

    /// <summary>
    /// The pretrained pipeline (frozen linear probe, fine-tuning, fine-tuning then distillation, label propagation, or the probe on frozen
    /// and baseline features together) with the best mean validation accuracy at
    /// <paramref name="budget"/>; the linear probe when there is no validation split (never chosen by test accuracy).
    /// </summary>
    public Score? BestPretrained(string budget)
    {
        var candidates = Scores.Where(s => s.Protocol is Protocol.LinearProbe or Protocol.FineTune or Protocol.Distilled or Protocol.Propagated or Protocol.LinearWithBaseline && s.Budget == budget).ToList();
        return candidates.All(s => s.ValidationAccuracy is not null)
            ? candidates.OrderByDescending(s => s.ValidationAccuracy).ThenBy(s => s.Protocol).FirstOrDefault()
            : candidates.FirstOrDefault(s => s.Protocol == Protocol.LinearProbe);
    }

    /// <summary>
    /// The headline: <see cref="LabelsNeeded"/> at 10 labels per class when that budget was run, else at the smallest budget
    /// with a pretrained score; null when there is none.
    /// </summary>
    public LabelsNeeded? Headline()
    {
        var budget = Budgets.FirstOrDefault(b => b == "10_per_class" && BestPretrained(b) is not null)
            ?? Budgets.LastOrDefault(b => BestPretrained(b) is not null);
        return budget is null ? null : NeededAt(budget);
    }

    /// <summary>
    /// The baselines the pretrained pipeline is measured against, in the order ties go to: those that learn from the labels alone, and
    /// the ImageNet ResNet-18 features (pretrained elsewhere, on labelled ImageNet) when that row was asked for.
    /// </summary>
    public static readonly Protocol[] BaselineProtocols = [Protocol.FromScratch, Protocol.Baseline, Protocol.Trees, Protocol.ResNet18];

    /// <summary>
    /// The strongest of <see cref="BaselineProtocols"/> at <paramref name="budget"/>: the highest test accuracy among those run there (ties to
    /// the earlier in that order); null when fewer than two were run. Test numbers are compared here, not chosen on: the pretrained pipeline
    /// is chosen on validation (<see cref="BestPretrained"/>) before this, and taking the strongest baseline on test can only favour the
    /// baselines.
    /// </summary>
    public Score? BestBaseline(string budget)
    {
        var run = BaselineProtocols.Select(p => Find(p, budget)).OfType<Score>().ToList();
        return run.Count < 2 ? null : run.Aggregate((a, b) => b.Accuracy > a.Accuracy ? b : a);
    }

    /// <summary><see cref="LabelsNeeded"/> at <paramref name="budget"/> (<see cref="Score.Budget"/>); null without a pretrained score there.</summary>
    public LabelsNeeded? NeededAt(string budget)
    {
        if (BestPretrained(budget) is not { } best) return null;
        var scratch = Find(Protocol.FromScratch, budget);
        var strongest = BestBaseline(budget);
        return new LabelsNeeded(best.PerClass is int n ? $"{n} per class" : $"{RunReport.Key(best.Fraction)} %", best.Labels, best.Subsets, RunReport.Key(best.Protocol),
            100 * best.Accuracy, 100 * best.AccuracyStd, scratch is null ? null : 100 * scratch.Accuracy, scratch is null ? null : 100 * scratch.AccuracyStd,
            Find(Protocol.Baseline, budget) is { } b ? 100 * b.Accuracy : null, ScratchLabelsToReach(best.Accuracy))
        {
            Trees = Find(Protocol.Trees, budget) is { } t ? 100 * t.Accuracy : null,
            ResNet18 = Find(Protocol.ResNet18, budget) is { } r ? 100 * r.Accuracy : null,
            BestBaseline = strongest is null ? null : RunReport.Key(strongest.Protocol),
            BestBaselineAccuracy = strongest is null ? null : 100 * strongest.Accuracy,
            BestBaselineStd = strongest is null ? null : 100 * strongest.AccuracyStd,
        };
    }

    /// <summary>
    /// How many labels training from scratch needs to reach <paramref name="accuracy"/> on test, read off its curve by
    /// linear interpolation in log(labels) between the budgets it was run at; null when its best point stays below.
    /// </summary>
    public double? ScratchLabelsToReach(double accuracy)
    {
        var curve = For(Protocol.FromScratch).OrderBy(s => s.Labels).ToList();
        if (curve.Count == 0 || curve[^1].Accuracy < accuracy) return null;
        if (curve[0].Accuracy >= accuracy) return curve[0].Labels;
        for (int i = 1; i < curve.Count; i++)
        {
            var (a, b) = (curve[i - 1], curve[i]);
            if (b.Accuracy < accuracy) continue;
            double t = (accuracy - a.Accuracy) / (b.Accuracy - a.Accuracy);
            return Math.Exp(Math.Log(a.Labels) + t * (Math.Log(b.Labels) - Math.Log(a.Labels)));
        }
        return null;
    }
}

/// <summary>
/// What pretraining buys at one label budget: the best pretrained pipeline (chosen on validation) against the same
/// architecture trained from scratch, the no-learning baseline and (tables) gradient-boosted trees, the strongest of those, and how
/// many labels from scratch needs to match it. Accuracies in %, means over the label subsets, with their standard deviations.
/// </summary>
/// <param name="Budget">"10 per class", "1 %".</param>
/// <param name="Pipeline">"linear" (frozen encoder, linear probe) or "finetune".</param>
/// <param name="ScratchLabelsToMatch">Labels from scratch needs to reach <paramref name="Pretrained"/>, read off its curve; null when
/// it does not within the budgets run.</param>
public sealed record LabelsNeeded(string Budget, int Labels, int Subsets, string Pipeline, double Pretrained, double PretrainedStd,
    double? Scratch, double? ScratchStd, double? Baseline, double? ScratchLabelsToMatch)
{
    /// <summary>Gradient-boosted trees on the baseline's features (tables), or null when they were not run.</summary>
    public double? Trees { get; init; }
    /// <summary>Logistic regression on the ImageNet ResNet-18 features (<see cref="EvaluationConfig.ResNet18"/>), or null when it was not run.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("resnet18")]
    public double? ResNet18 { get; init; }
    /// <summary>
    /// The strongest of the baselines run at this budget (<see cref="EvaluationResult.BestBaseline"/>): "scratch", "baseline" or "trees";
    /// null when fewer than two were run.
    /// </summary>
    public string? BestBaseline { get; init; }
    /// <summary>Its test accuracy (%) and standard deviation over the subsets.</summary>
    public double? BestBaselineAccuracy { get; init; }
    public double? BestBaselineStd { get; init; }
}

/// <summary>k-means agreement with the labels on one input representation.</summary>
public sealed record ClusterScore(double Nmi, double Ari, double Inertia);

/// <summary>k-means (k = number of classes) on test embeddings and, as the no-learning baseline, on the baseline's features.</summary>
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
/// Evaluation of a pretrained encoder on labelled data of any modality: frozen-encoder kNN and linear probes,
/// fine-tuning and training from scratch on the same label subsets, the no-learning baseline (raw pixels, TF-IDF) on
/// those subsets too, and optionally k-means clustering and one-class anomaly detection. The modality decides what runs
/// (<see cref="IModality.Plan"/>) and how samples reach the encoder (<see cref="ModelInputs"/>). Test labels are used
/// for scoring only.
/// </summary>
public static class Evaluating
{
    /// <summary>Evaluates <paramref name="method"/>'s encoder, reading samples through <paramref name="inputs"/>.</summary>
    /// <param name="baselines">Run training from scratch and the no-learning baseline (they do not depend on the checkpoint).</param>
    /// <remarks>
    /// Order of work: the validation split is carved from <paramref name="train"/> and label subsets are drawn from the
    /// rest; every protocol predicts the validation and test samples; choices (the probe's penalty, which pretrained
    /// pipeline is best) are made on validation. Test labels are read only at the end, to score predictions already made.
    /// </remarks>
    /// <exception cref="ArgumentException">Train or test data without labels.</exception>
    /// <param name="cache">
    /// Where the rows that do not depend on the checkpoint (from scratch, the no-learning baseline, trees) are kept between evaluations
    /// (<see cref="BaselineCache"/>); null: always computed.
    /// </param>
    public static EvaluationResult Run(ISslMethod method, RunConfig config, ModelInputs inputs, ISampleSet train, ISampleSet test,
        IRunObserver? observer = null, bool baselines = true, BaselineCache? cache = null)
    {
        observer ??= NullObserver.Instance;
        if (train.Labels is null || test.Labels is null)
            throw new ArgumentException($"Evaluation needs labelled data; '{(train.Labels is null ? train.Name : test.Name)}' has no labels.");
        var clock = Stopwatch.StartNew();
        var modality = ModalityCatalog.Get(config.Encoder.Modality);
        var plan = modality.Plan(config.Evaluation);
        if (!baselines) plan = plan with { FromScratch = false, Baseline = false, Trees = false };
        var ev = config.Evaluation;
        if (ev.ResNet18 && baselines) CheckImageNetRow(modality);
        var trainY = train.Labels;
        // The number of classes comes from the training side alone; a test label outside it is simply never predicted.
        int classes = Math.Max(train.ClassNames.Count, trainY.Max() + 1);
        int positive = PositiveClass(train.ClassNames, plan.PositiveClass);
        string? f1Kind = !plan.F1 ? null
            : classes == 2 ? $"F1 of {(positive < train.ClassNames.Count ? train.ClassNames[positive] : positive.ToString(CultureInfo.InvariantCulture))}" : "macro F1";

        var (pool, valIdx) = ValidationSplit.Carve(trainY, train.SampleId, ev.ValidationFraction, ev.ValidationSeed, train.GroupId);
        var valY = valIdx.Select(i => trainY[i]).ToArray();
        bool validating = valIdx.Length > 0;
        if (validating)
            observer.Message($"Validation split: {valIdx.Length} of the {train.Count} training samples (seed {ev.ValidationSeed}) for every choice; label subsets come from the other {pool.Length}.");

        // Label budgets: fractions of the labelled pool, then counts per class; several subsets where labels are few.
        var budgets = new Dictionary<Protocol, List<Budget>>();
        foreach (var protocol in new[] { Protocol.LinearProbe, Protocol.FineTune, Protocol.FromScratch, Protocol.Baseline, Protocol.Trees })
        {
            var perClass = protocol is Protocol.FineTune or Protocol.FromScratch ? ev.TrainedPerClass : ev.PerClass;
            budgets[protocol] = !plan.Runs(protocol) ? [] :
                [.. plan.FractionsOf(protocol).Select(f => Budget.OfFraction(f, pool, trainY, ev)), .. perClass.Select(n => Budget.OfPerClass(n, pool, trainY, ev))];
        }
        var pending = new List<Pending>();

        var trainData = inputs.Encode(train);
        var testData = inputs.Encode(test);
        var valData = new SubsetView(trainData, valIdx);

        // The checkpoint-independent rows, from an earlier evaluation of the same data and settings when the cache holds them all.
        var independent = budgets[Protocol.FromScratch].Select(b => (Protocol.FromScratch, b))
            .Concat(ev.Distill ? budgets[Protocol.FromScratch].Select(b => (Protocol.ScratchDistilled, b)) : [])
            .Concat(budgets[Protocol.Baseline].Select(b => (Protocol.Baseline, b)))
            .Concat(budgets[Protocol.Trees].Select(b => (Protocol.Trees, b))).ToList();
        string? cacheKey = null;
        Dictionary<Protocol, List<Pending>>? cached = null;
        if (cache is not null && independent.Count > 0)
        {
            var keyClock = Stopwatch.StartNew();
            cacheKey = BaselineCache.Key(config, trainData, testData, valIdx);
            cached = FromCache(cache.TryLoad(cacheKey, observer.Message), independent, validating, (int)testData.Count, valIdx.Length);
            if (cached is not null)
                observer.Message(string.Create(CultureInfo.InvariantCulture,
                    $"From scratch and {modality.BaselineName}: {independent.Count} rows reused from an earlier evaluation of the same data and settings (baseline cache {cache.Folder}, key checked in {keyClock.Elapsed.TotalSeconds:F1} s; {BaselineCache.EnvironmentVariable}=off computes them again)."));
        }
        Tensor? trainF = null, testF = null, valF = null;
        try
        {
            bool frozen = plan.Knn || budgets[Protocol.LinearProbe].Count > 0 || plan.Maps || ev.Extras != EvaluationExtras.None;
            if (frozen)
            {
                observer.BeginStage("Extracting features", trainData.Count + testData.Count);
                trainF = Features.Extract(method.Encoder, trainData, inputs.Normalization, inputs.FeatureBatchSize, (d, _) => observer.Report(d));
                testF = Features.Extract(method.Encoder, testData, inputs.Normalization, inputs.FeatureBatchSize, (d, _) => observer.Report(trainData.Count + d));
                observer.EndStage();
                using (var vi = tensor(valIdx)) valF = trainF.index_select(0, vi);
                pending.AddRange(FrozenRows("kNN and linear probes", Protocol.Knn, Protocol.LinearProbe, trainF, testF, validating ? valF : null, pool, trainY, valY,
                    budgets[Protocol.LinearProbe], plan.Knn, classes, ev, observer));
                if (ev.Propagate)
                    pending.AddRange(Propagated(Protocol.Propagated, Few(budgets[Protocol.LinearProbe]), pool, trainF, trainY, testF,
                        validating ? (valF, valY) : null, classes, ev, ev.Probe, observer));
            }

            // Fine-tuning and training from scratch: the same routine, subsets, augmentation and step budget; only the
            // starting weights (and the encoder's learning-rate scale) differ.
            // Distillation needs the unlabelled samples: the training split outside validation, labels hidden.
            var unlabelled = new UnlabelledView(new SubsetView(trainData, pool));
            void Trained(Protocol protocol, Evaluation.SupervisedOptions options, double encoderLrScale)
            {
                string what = protocol == Protocol.FineTune ? "Fine-tuning" : "From scratch";
                bool distil = ev.Distill;
                var distilled = protocol == Protocol.FineTune ? Protocol.Distilled : Protocol.ScratchDistilled;
                IReadOnlyList<IDataset> targets = [.. validating ? new[] { testData, valData } : [testData], .. distil ? new IDataset[] { unlabelled } : []];
                foreach (var budget in budgets[protocol])
                {
                    var onTest = new List<int[]>();
                    var onValidation = new List<int[]>();
                    var studentTest = new List<int[]>();
                    var studentValidation = new List<int[]>();
                    foreach (var (set, i) in budget.Subsets.Select((s, i) => (s, i)))
                    {
                        string subset = budget.Subsets.Length > 1 ? $", subset {i + 1}/{budget.Subsets.Length}" : "";
                        var o = options with { Seed = set.Seed };
                        observer.BeginStage($"{what}, {budget.Describe()} ({set.Indices.Length} labels){subset}", SupervisedTraining.StepsFor(set.Indices.Length, o));
                        manual_seed(o.Seed);
                        using var encoder = config.Encoder.Build();
                        if (protocol == Protocol.FineTune) SupervisedTraining.CopyWeights(method.Encoder, encoder);
                        var logits = SupervisedTraining.TrainAndScore(encoder, encoderLrScale, trainData, set.Indices, targets,
                            inputs.LabelledAugmentationFor(o), inputs.Normalization, classes, o, (d, _) => observer.Report(d));
                        try
                        {
                            var predicted = logits.Select(Features.Classes).ToArray();
                            onTest.Add(predicted[0]);
                            if (validating) onValidation.Add(predicted[1]);
                            observer.EndStage(validating ? string.Create(CultureInfo.InvariantCulture, $"validation {Metrics.Accuracy(predicted[1], valY):P2}") : "");
                            if (!distil) continue;
                            // The teacher's softened view of every unlabelled sample; the student starts where the teacher started.
                            var d = ev.Distillation with { Seed = set.Seed };
                            using var teacher = nn.functional.softmax(logits[^1].div(d.Temperature), 1);
                            observer.BeginStage($"Distilling it into a student, {budget.Describe()}{subset}", (long)d.Epochs * (unlabelled.Count / Math.Min(d.BatchSize, unlabelled.Count)));
                            manual_seed(o.Seed);
                            using var student = config.Encoder.Build();
                            if (protocol == Protocol.FineTune) SupervisedTraining.CopyWeights(method.Encoder, student);
                            var byStudent = SupervisedTraining.Distill(student, encoderLrScale, unlabelled, teacher, targets.Take(validating ? 2 : 1).ToList(),
                                inputs.LabelledAugmentationFor(o), inputs.Normalization, classes, o, d, (s, _) => observer.Report(s));
                            studentTest.Add(byStudent[0]);
                            if (validating) studentValidation.Add(byStudent[1]);
                            observer.EndStage(validating ? string.Create(CultureInfo.InvariantCulture, $"validation {Metrics.Accuracy(byStudent[1], valY):P2}") : "");
                        }
                        finally
                        {
                            foreach (var l in logits) l.Dispose();
                        }
                    }
                    pending.Add(new Pending(protocol, budget, onTest, validating ? onValidation : null));
                    if (distil) pending.Add(new Pending(distilled, budget, studentTest, validating ? studentValidation : null));
                }
            }
            Trained(Protocol.FineTune, plan.FineTuning, plan.FineTuneEncoderLrScale);
            if (cached is null) Trained(Protocol.FromScratch, plan.Scratch, 1.0);
            else
                foreach (var budget in budgets[Protocol.FromScratch])
                {
                    pending.Add(cached[Protocol.FromScratch].Single(p => p.Budget == budget));
                    if (ev.Distill) pending.Add(cached[Protocol.ScratchDistilled].Single(p => p.Budget == budget));
                }

            Tensor? baseTrain = null, baseTest = null, baseVal = null;
            try
            {
                bool joint = ev.ProbeWithBaseline && trainF is not null && budgets[Protocol.LinearProbe].Count > 0;
                bool propagate = ev.Propagate && Few(budgets[Protocol.Baseline]).Count > 0;
                bool needBaseline = (cached is null && (budgets[Protocol.Baseline].Count > 0 || budgets[Protocol.Trees].Count > 0))
                    || ev.Extras != EvaluationExtras.None || joint || propagate;
                if (cached is not null)
                {
                    pending.AddRange(cached[Protocol.Baseline]);
                    pending.AddRange(cached[Protocol.Trees]);
                }
                if (needBaseline)
                {
                    var baselineBudgets = cached is null ? budgets[Protocol.Baseline] : [];
                    observer.BeginStage($"{modality.BaselineName} (no learning) + logistic regression", baselineBudgets.Sum(b => b.Subsets.Length));
                    (baseTrain, baseTest, bool standardize) = inputs.BaselineFeatures(train, test);
                    using (var vi = tensor(valIdx)) baseVal = baseTrain.index_select(0, vi);
                    var probe = ev.Probe with { Standardize = standardize };
                    int done = 0;
                    foreach (var budget in baselineBudgets)
                        pending.Add(Probed(Protocol.Baseline, budget, baseTrain, trainY, baseTest, validating ? (baseVal, valY) : null, classes, probe, () => observer.Report(++done)));
                    observer.EndStage();
                    if (cached is null && budgets[Protocol.Trees].Count > 0)
                    {
                        observer.BeginStage($"{modality.BaselineName} (no learning) + gradient-boosted trees", budgets[Protocol.Trees].Sum(b => b.Subsets.Length));
                        done = 0;
                        foreach (var budget in budgets[Protocol.Trees])
                            pending.Add(Boosted(budget, baseTrain, trainY, baseTest, validating ? (baseVal, valY) : null, classes, plan.TreeSettings, plan.TreeCandidates,
                                observer, () => observer.Report(++done)));
                        observer.EndStage();
                    }
                    if (joint)
                        pending.AddRange(JointlyProbed(budgets[Protocol.LinearProbe], pool, trainF!, testF!, valIdx, baseTrain, baseTest, trainY, validating ? valY : null,
                            classes, ev.Probe, modality.BaselineName, observer));
                    if (propagate)
                        pending.AddRange(Propagated(Protocol.BaselinePropagated, Few(budgets[Protocol.Baseline]), pool, baseTrain, trainY, baseTest,
                            validating ? (baseVal, valY) : null, classes, ev, probe, observer));
                }

                if (ev.ResNet18 && baselines)
                    pending.AddRange(ImageNetRows(modality, trainData, testData, pool, valIdx, trainY, valY, budgets[Protocol.LinearProbe], plan.Knn, classes, ev, observer));

                if (cache is not null && cacheKey is not null && cached is null)
                    cache.Save(cacheKey, [.. pending.Where(p => BaselineCache.Protocols.Contains(p.Protocol)).Select(p => p.ToRow())], observer.Message);

                // Final scoring: the only place test labels are read, after every prediction and choice is made.
                var testY = test.Labels;
                var scores = pending.Select(p => p.Score(testY, valY, classes, positive, plan.F1)).ToList();
                foreach (var s in scores) observer.Message(Describe(s, f1Kind, modality.BaselineName));
                EmbeddingInsight? insight = null;
                if (plan.Maps && test.Count >= 4)
                {
                    observer.BeginStage("Embedding maps and diagnostics", ev.Maps.Tsne ? 3 : 2);
                    insight = Insight(method, config, testData, testY, test.ClassNames, testF!, ev.Maps, observer);
                    observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"RankMe {insight.Readings.RankMe:F1} of {insight.Readings.MaxRank}"));
                }
                ClusteringResult? clustering = null;
                AnomalyResult? anomaly = null;
                if (ev.Extras.HasFlag(EvaluationExtras.Clustering)) clustering = Cluster(testF!, baseTest!, testY, ev.Clustering, observer);
                if (ev.Extras.HasFlag(EvaluationExtras.Anomaly))
                    anomaly = DetectAnomalies(method, trainY, testY, test.ClassNames, testData, trainF!, testF!, baseTrain!, baseTest!, inputs.Normalization, ev.Anomaly, observer);
                return new EvaluationResult(scores, f1Kind, modality.BaselineName, clock.Elapsed.TotalSeconds)
                {
                    Seeds = ev.Seeds, Clustering = clustering, Anomaly = anomaly, Insight = insight, ValidationSize = valIdx.Length,
                };
            }
            finally
            {
                baseTrain?.Dispose(); baseTest?.Dispose(); baseVal?.Dispose();
            }
        }
        finally
        {
            trainF?.Dispose(); testF?.Dispose(); valF?.Dispose();
        }
    }

    /// <summary>A label budget and the subsets drawn for it from the labelled pool.</summary>
    private sealed record Budget(double? Fraction, int? PerClass, (int Seed, long[] Indices)[] Subsets, int PoolSize)
    {
        public static Budget OfFraction(double f, long[] pool, int[] labels, EvaluationConfig ev) =>
            new(f, null, [.. LabelSubsets.SeedsFor(f, ev.Seeds, ev.SubsetSeed).Select(seed => (seed, LabelSubsets.Stratified(labels, f, seed, pool)))], pool.Length);

        public static Budget OfPerClass(int n, long[] pool, int[] labels, EvaluationConfig ev) =>
            new(null, n, [.. Enumerable.Range(ev.SubsetSeed, ev.Seeds).Select(seed => (seed, LabelSubsets.PerClass(labels, n, seed, pool)))], pool.Length);

        public string Describe() => PerClass is int n ? $"{n} per class" : Percent(Fraction!.Value);
    }

    /// <summary>
    /// The cached rows of <paramref name="expected"/> as pending scores by protocol, when <paramref name="rows"/> holds every one of them
    /// (the same budget, subset seeds and validation split, a prediction for every test and validation sample); else null, and they are
    /// all computed.
    /// </summary>
    private static Dictionary<Protocol, List<Pending>>? FromCache(IReadOnlyList<BaselineCache.Row>? rows, List<(Protocol Protocol, Budget Budget)> expected, bool validating,
        int testCount, int validationCount)
    {
        if (rows is null) return null;
        var result = BaselineCache.Protocols.ToDictionary(p => p, _ => new List<Pending>());
        foreach (var (protocol, budget) in expected)
        {
            var seeds = budget.Subsets.Select(s => s.Seed).ToArray();
            var row = rows.FirstOrDefault(r => r.Protocol == protocol && r.Budget == budget.Describe() && r.Seeds.SequenceEqual(seeds) && (r.Validation is not null) == validating
                && r.Test.All(p => p?.Length == testCount) && (r.Validation is null || r.Validation.All(p => p?.Length == validationCount)));
            if (row is null) return null;
            result[protocol].Add(new Pending(protocol, budget, row.Test, row.Validation));
        }
        return result;
    }

    /// <summary>Predictions of one protocol at one budget, waiting for the final scoring.</summary>
    private sealed record Pending(Protocol Protocol, Budget Budget, IReadOnlyList<int[]> Test, IReadOnlyList<int[]>? Validation)
    {
        public BaselineCache.Row ToRow() => new(Protocol, Budget.Describe(), [.. Budget.Subsets.Select(s => s.Seed)], [.. Test], Validation is null ? null : [.. Validation]);

        public Score Score(int[] testY, int[] valY, int classes, int positive, bool f1)
        {
            int labels = Budget.Subsets[0].Indices.Length;
            double F1(int[] p) => classes == 2 ? Metrics.F1(p, testY, positive) : Metrics.MacroF1(p, testY, classes);
            return new Score(Protocol, Budget.Fraction ?? (double)labels / Budget.PoolSize, labels, Budget.Subsets.Select(s => s.Seed).ToArray(),
                Test.Select(p => Metrics.Accuracy(p, testY)).ToArray(), f1 ? Test.Select(F1).ToArray() : null)
            {
                PerClass = Budget.PerClass,
                ValidationAccuracies = Validation?.Select(p => Metrics.Accuracy(p, valY)).ToArray(),
            };
        }
    }

    /// <summary>A linear probe per subset of <paramref name="budget"/>; its penalty chosen on <paramref name="validation"/> when given.</summary>
    private static Pending Probed(Protocol protocol, Budget budget, Tensor trainX, int[] trainY, Tensor testX, (Tensor X, int[] Y)? validation,
        int classes, LinearProbeOptions options, Action progress)
    {
        var test = new List<int[]>();
        var val = new List<int[]>();
        foreach (var set in budget.Subsets)
        {
            using var scope = NewDisposeScope();
            using var ix = tensor(set.Indices);
            using var model = LinearProbe.Train(trainX.index_select(0, ix), set.Indices.Select(i => trainY[i]).ToArray(), classes, options, validation);
            test.Add(model.Predict(testX));
            if (validation is { } v) val.Add(model.Predict(v.X));
            progress();
        }
        return new Pending(protocol, budget, test, validation is null ? null : val);
    }

    /// <summary>
    /// <see cref="Protocol.LinearWithBaseline"/>: the linear probe of every budget on the frozen features and the baseline's side by side.
    /// Each block is standardised column by column with the moments of the labelled pool's features (no label is read), then scaled so
    /// that both blocks carry the same total variance (D / 2 each, D the joint width): standardising every column alike would give a
    /// 512-wide block 13 times the weight of a 40-wide one under the probe's L2 penalty, and on the speaker task the probe then
    /// followed the wide block alone.
    /// </summary>
    /// <exception cref="ArgumentException">Sparse baseline features (TF-IDF), which cannot sit beside dense ones.</exception>
    private static IEnumerable<Pending> JointlyProbed(List<Budget> budgets, long[] pool, Tensor trainF, Tensor testF, long[] valIdx, Tensor baseTrain, Tensor baseTest,
        int[] trainY, int[]? valY, int classes, LinearProbeOptions probe, string baselineName, IRunObserver observer)
    {
        if (baseTrain.is_sparse)
            throw new ArgumentException($"evaluation.probeWithBaseline puts the frozen features beside the {baselineName} features, which are sparse here; it needs dense ones (images, audio, series, tables).");
        using var scope = NewDisposeScope();
        var rows = tensor(pool);
        double width = trainF.shape[1] + baseTrain.shape[1];
        (Tensor Train, Tensor Test) Block(Tensor train, Tensor test)
        {
            var (mean, std) = Features.Moments(train.index_select(0, rows).to(trainF.dtype));
            double scale = Math.Sqrt(width / (2.0 * train.shape[1]));
            return (train.to(trainF.dtype).sub(mean).div(std).mul(scale), test.to(trainF.dtype).sub(mean).div(std).mul(scale));
        }
        var (pretrainedTrain, pretrainedTest) = Block(trainF, testF);
        var (baselineTrain, baselineTest) = Block(baseTrain, baseTest);
        var jointTrain = cat([pretrainedTrain, baselineTrain], 1);
        var jointTest = cat([pretrainedTest, baselineTest], 1);
        var jointVal = jointTrain.index_select(0, tensor(valIdx));
        observer.BeginStage($"Linear probes on frozen features + {baselineName}", budgets.Sum(b => b.Subsets.Length));
        int done = 0;
        var result = budgets.Select(b => Probed(Protocol.LinearWithBaseline, b, jointTrain, trainY, jointTest, valY is null ? null : (jointVal, valY), classes,
            probe with { Standardize = false }, () => observer.Report(++done))).ToList();
        observer.EndStage();
        return result;
    }

    /// <summary>
    /// Gradient-boosted trees per subset of <paramref name="budget"/>: with a validation split and <paramref name="candidates"/>, each
    /// subset keeps the candidate its validation rows score best (<see cref="GradientBoostedTrees.FitChosen"/>); else <paramref name="fixedOptions"/>.
    /// </summary>
    private static Pending Boosted(Budget budget, Tensor trainX, int[] trainY, Tensor testX, (Tensor X, int[] Y)? validation, int classes,
        TreeOptions fixedOptions, IReadOnlyList<TreeOptions> candidates, IRunObserver observer, Action progress)
    {
        var test = new List<int[]>();
        var val = new List<int[]>();
        var chosen = new List<string>();
        foreach (var set in budget.Subsets)
        {
            using var scope = NewDisposeScope();
            using var ix = tensor(set.Indices);
            var x = trainX.index_select(0, ix);
            int[] y = [.. set.Indices.Select(i => trainY[i])];
            if (validation is { } v && candidates.Count > 0)
            {
                var fit = GradientBoostedTrees.FitChosen(x, y, classes, testX, v.X, v.Y, candidates, set.Seed);
                test.Add(fit.Test);
                val.Add(fit.Validation);
                var c = candidates[fit.Chosen];
                chosen.Add($"{c.Leaves} leaves, >= {c.MinimumLeafRows} rows, {c.Iterations} rounds");
            }
            else
            {
                var predicted = GradientBoostedTrees.FitPredict(x, y, classes, validation is null ? [testX] : [testX, validation.Value.X], fixedOptions, set.Seed);
                test.Add(predicted[0]);
                if (validation is not null) val.Add(predicted[1]);
            }
            progress();
        }
        if (chosen.Count > 0) observer.Message($"Trees, {budget.Describe()}: chosen on validation: {string.Join("; ", chosen)}.");
        return new Pending(Protocol.Trees, budget, test, validation is null ? null : val);
    }

    /// <summary>
    /// The ImageNet ResNet-18 rows (<see cref="EvaluationConfig.ResNet18"/>): its 512 features of every training and test image, then the
    /// frozen encoder's probes on them: kNN over the labelled pool when <paramref name="knn"/>, and a linear probe on each subset of
    /// <paramref name="budgets"/> (the linear probe's, so the same labelled samples), its penalty chosen on the validation split.
    /// </summary>
    private static List<Pending> ImageNetRows(IModality modality, IDataset trainData, IDataset testData, long[] pool, long[] valIdx, int[] trainY, int[] valY,
        List<Budget> budgets, bool knn, int classes, EvaluationConfig ev, IRunObserver observer)
    {
        using var network = ImageNetResNet18.Load();
        observer.Message($"{ImageNetResNet18.Title}: {network.Source}; images resized to {ImageNetResNet18.Side} x {ImageNetResNet18.Side}, batches of {ev.ResNet18BatchSize}.");
        observer.BeginStage($"Extracting {ImageNetResNet18.Title}", trainData.Count + testData.Count);
        using var trainF = network.Extract(trainData, ev.ResNet18BatchSize, (d, _) => observer.Report(d));
        using var testF = network.Extract(testData, ev.ResNet18BatchSize, (d, _) => observer.Report(trainData.Count + d));
        observer.EndStage();
        using var vi = tensor(valIdx);
        using var valF = trainF.index_select(0, vi);
        return FrozenRows($"kNN and linear probes on the {ImageNetResNet18.Title}", Protocol.ResNet18Knn, Protocol.ResNet18, trainF, testF,
            valIdx.Length > 0 ? valF : null, pool, trainY, valY, budgets, knn, classes, ev, observer);
    }

    /// <summary>
    /// The probes on frozen features: kNN (protocol <paramref name="knnProtocol"/>) with every labelled training sample outside the
    /// validation split in its bank when <paramref name="knn"/>, and a linear probe (<paramref name="linearProtocol"/>) on each subset of
    /// <paramref name="budgets"/>, its penalty chosen on the validation features <paramref name="valF"/> (null: no validation split).
    /// </summary>
    private static List<Pending> FrozenRows(string stage, Protocol knnProtocol, Protocol linearProtocol, Tensor trainF, Tensor testF, Tensor? valF,
        long[] pool, int[] trainY, int[] valY, List<Budget> budgets, bool knn, int classes, EvaluationConfig ev, IRunObserver observer)
    {
        var result = new List<Pending>();
        observer.BeginStage(stage, (knn ? 1 : 0) + budgets.Sum(b => b.Subsets.Length));
        int done = 0;
        if (knn)
        {
            using var ix = tensor(pool);
            using var bank = trainF.index_select(0, ix);
            var bankY = pool.Select(i => trainY[i]).ToArray();
            int[] Neighbours(Tensor q) => Knn.Predict(bank, bankY, q, classes, ev.KnnK, ev.KnnTemperature);
            var all = new Budget(1.0, null, [(ev.SubsetSeed, pool)], pool.Length);
            result.Add(new Pending(knnProtocol, all, [Neighbours(testF)], valF is null ? null : [Neighbours(valF)]));
            observer.Report(++done);
        }
        foreach (var budget in budgets)
            result.Add(Probed(linearProtocol, budget, trainF, trainY, testF, valF is null ? null : (valF, valY), classes, ev.Probe, () => observer.Report(++done)));
        observer.EndStage();
        return result;
    }

    /// <summary>Refuses the ResNet-18 row before any work is done where it cannot run.</summary>
    /// <exception cref="ArgumentException">Not image data.</exception>
    /// <exception cref="FileNotFoundException">The package is not in the NuGet cache; the message names the fix.</exception>
    private static void CheckImageNetRow(IModality modality)
    {
        if (modality.Kind != Modality.Image)
            throw new ArgumentException($"evaluation.resnet18 adds the {ImageNetResNet18.Title} row to image data; this is {modality.Kind.ToString().ToLowerInvariant()} data.");
        if (ImageNetResNet18.FindPackage() is null) throw new FileNotFoundException(ImageNetResNet18.MissingMessage(null));
    }

    /// <summary>The budgets label propagation runs at: counts per class and fractions under 10 %, where labels are few.</summary>
    private static List<Budget> Few(IEnumerable<Budget> budgets) => budgets.Where(b => b.PerClass is not null || b.Fraction < 0.1).ToList();

    /// <summary>
    /// Label propagation over the neighbour graph of the labelled pool's <paramref name="features"/> (built once), then a linear
    /// probe on every pool sample's pseudo-label; one pending score per budget. The pool's labels outside each subset are not read.
    /// </summary>
    private static IEnumerable<Pending> Propagated(Protocol protocol, List<Budget> budgets, long[] pool, Tensor features, int[] trainY, Tensor testX,
        (Tensor X, int[] Y)? validation, int classes, EvaluationConfig ev, LinearProbeOptions probe, IRunObserver observer)
    {
        if (budgets.Count == 0) return [];
        var result = new List<Pending>();
        observer.BeginStage($"Label propagation ({RunReport.Title(protocol)})", 1 + budgets.Sum(b => b.Subsets.Length));
        using var ix = tensor(pool);
        using var poolF = features.index_select(0, ix);
        using var graph = AffinityGraph.Build(poolF, ev.Propagation.Neighbours, ev.Propagation.Gamma);
        int done = 0;
        observer.Report(++done);
        var position = new Dictionary<long, long>(pool.Length);
        for (int i = 0; i < pool.Length; i++) position[pool[i]] = i;
        foreach (var budget in budgets)
        {
            var test = new List<int[]>();
            var val = new List<int[]>();
            foreach (var set in budget.Subsets)
            {
                using var scope = NewDisposeScope();
                var nodes = set.Indices.Select(i => position[i]).ToArray();
                var labels = set.Indices.Select(i => trainY[i]).ToArray();
                var scores = LabelPropagation.Propagate(graph, nodes, labels, classes, ev.Propagation);
                var (pseudo, _) = LabelPropagation.PseudoLabels(scores, nodes, labels);
                using var model = LinearProbe.Train(poolF, pseudo, classes, probe with { Seed = set.Seed }, validation);
                test.Add(model.Predict(testX));
                if (validation is { } v) val.Add(model.Predict(v.X));
                observer.Report(++done);
            }
            result.Add(new Pending(protocol, budget, test, validation is null ? null : val));
        }
        observer.EndStage();
        return result;
    }

    /// <summary>"100 %" for 1.0, "1 %" for 0.01.</summary>
    private static string Percent(double fraction) => RunReport.Key(fraction) + " %";

    /// <summary>One line for a score: protocol, labels, accuracy (and F1) with their spread over subsets; rows of the no-learning
    /// baseline are named by what it is when <paramref name="baseline"/> is given ("raw pixels (no learning)").</summary>
    public static string Describe(Score s, string? f1Kind, string? baseline = null)
    {
        var c = CultureInfo.InvariantCulture;
        string acc = s.Subsets > 1 ? string.Create(c, $"{100 * s.Accuracy:F2} ± {100 * s.AccuracyStd:F2} %") : string.Create(c, $"{100 * s.Accuracy:F2} %");
        string f1 = s.F1 is double f ? (s.Subsets > 1 ? string.Create(c, $", {f1Kind} {f:F4} ± {s.F1Std:F4}") : string.Create(c, $", {f1Kind} {f:F4}")) : "";
        string budget = s.PerClass is int n ? $"{n} per class" : Percent(s.Fraction);
        string val = s.ValidationAccuracy is double v ? string.Create(c, $" (validation {100 * v:F2} %)") : "";
        return $"{(baseline is null ? RunReport.Title(s.Protocol) : RunReport.Title(s.Protocol, baseline))}, {budget} ({s.Labels} labels): {acc}{f1}{val}";
    }

    /// <summary>Index of the class named <paramref name="name"/> (any case), else 1 (the usual positive label of two classes).</summary>
    public static int PositiveClass(IReadOnlyList<string> classNames, string name)
    {
        for (int i = 0; i < classNames.Count; i++)
            if (string.Equals(classNames[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        return 1;
    }

    /// <summary>k-means with k = number of test classes on L2-normalised embeddings and on the L2-normalised baseline features.</summary>
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
    /// One class normal, the rest anomalous, for each class present in both splits: kNN distance to the normal training
    /// samples in embedding space and in the baseline's feature space, and the method's reconstruction error when it has one.
    /// </summary>
    private static AnomalyResult DetectAnomalies(ISslMethod method, int[] trainLabels, int[] testLabels, IReadOnlyList<string> classNames, IDataset test,
        Tensor trainF, Tensor testF, Tensor rawTrain, Tensor rawTest, Augmentations.Normalize? normalize, AnomalyOptions options, IRunObserver observer)
    {
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
            using var ix = tensor(normalIdx);
            var embedding = OneClass.Evaluate(KnnAnomalyScorer.Score(trainF.index_select(0, ix), testF, k), testLabels, c);
            var raw = OneClass.Evaluate(KnnAnomalyScorer.Score(rawTrain.index_select(0, ix), rawTest, k), testLabels, c);
            var recon = reconstruction is null ? null : OneClass.Evaluate(reconstruction, testLabels, c);
            int testNormal = testLabels.Count(l => l == c);
            string name = c < classNames.Count ? classNames[c] : c.ToString(CultureInfo.InvariantCulture);
            results.Add(new OneClassResult(c, name, normalIdx.Length, testNormal, testLabels.Length - testNormal, embedding, raw, recon));
            observer.Report(results.Count, string.Create(CultureInfo.InvariantCulture, $"{name}: AUROC {embedding.Auroc:F3} (raw {raw.Auroc:F3})"));
        }
        var result = new AnomalyResult(options.K, results);
        observer.EndStage(string.Create(CultureInfo.InvariantCulture, $"mean AUROC {result.MeanEmbedding.Auroc:F3} (raw {result.MeanRaw.Auroc:F3})"));
        return result;
    }

    /// <summary>Diagnostics and PCA/t-SNE maps of the frozen features of a class-stratified, seeded sample of the test set.</summary>
    private static EmbeddingInsight Insight(ISslMethod method, RunConfig config, IDataset test, int[] testLabels, IReadOnlyList<string> classNames,
        Tensor testF, EmbeddingMapOptions options, IRunObserver observer)
    {
        var idx = options.Samples >= test.Count
            ? Enumerable.Range(0, (int)test.Count).Select(i => (long)i).ToArray()
            : LabelSubsets.Stratified(testLabels, (double)options.Samples / test.Count, options.Seed);
        using var scope = NewDisposeScope();
        using var ix = tensor(idx);
        var f = testF.index_select(0, ix);
        var labels = idx.Select(i => testLabels[i]).ToArray();
        var readings = Diagnostics.MeasureEncoder(method.Encoder, test, idx, f, MethodRegistry.Get(config.Method).Views(config.Setup), options.Seed);
        observer.Report(1);
        var maps = new List<EmbeddingMap> { EmbeddingMaps.PcaMap(f, labels, classNames) };
        observer.Report(2);
        if (options.Tsne)
        {
            maps.Add(EmbeddingMaps.TsneMap(f, labels, classNames, options.TsneOptions));
            observer.Report(3);
        }
        return new EmbeddingInsight(readings, idx.Length, maps);
    }
}
