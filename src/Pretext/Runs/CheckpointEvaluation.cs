using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Reporting;
using Pretext.Runs.Modalities;

namespace Pretext.Runs;

/// <summary>What `pretext evaluate` asks of a checkpoint; null and empty values keep the checkpoint's evaluation settings.</summary>
public sealed record EvaluateRequest
{
    public required string Checkpoint { get; init; }
    /// <summary>Labelled data of the checkpoint's modality; null: the run's own data set.</summary>
    public string? Dataset { get; init; }
    /// <summary>Train from scratch and score the no-learning baseline (they do not depend on the checkpoint).</summary>
    public bool Baselines { get; init; } = true;
    /// <summary>Label fractions for every protocol, in (0, 1].</summary>
    public double[]? Fractions { get; init; }
    /// <summary>Label subsets per fraction under 10 % and per count per class (null: the checkpoint's preset, 3 for most data, 5 for video).</summary>
    public int? Seeds { get; init; }
    /// <summary>Labels per class for the frozen protocols (null: the checkpoint's, by default 1, 5, 10, 25).</summary>
    public int[]? PerClass { get; init; }
    /// <summary>Labels per class for fine-tuning and training from scratch (null: the checkpoint's, by default 10).</summary>
    public int[]? TrainedPerClass { get; init; }
    /// <summary>Fraction of the training split held out for choices (null: the checkpoint's, by default 1/6; 0: none).</summary>
    public double? ValidationFraction { get; init; }
    /// <summary>Fine-tune the whole pretrained network at the from-scratch fractions (images; text always fine-tunes).</summary>
    public bool FineTune { get; init; }
    /// <summary>Distil the fine-tuned and the from-scratch networks into students through the unlabelled samples (implies <see cref="FineTune"/>).</summary>
    public bool Distill { get; init; }
    /// <summary>Label propagation over the unlabelled training samples at the frozen budgets under 10 %, on the pretrained and the baseline's features.</summary>
    public bool Propagate { get; init; }
    public EvaluationExtras Extras { get; init; }
    /// <summary>Class-stratified slices of about this many training / test samples (quick checks).</summary>
    public int? LimitTrain { get; init; }
    public int? LimitTest { get; init; }
    /// <summary>Audio folders: classes from file names by this regular expression with a "label" group (<see cref="AudioModality.WithLabelPattern"/>).</summary>
    public string? LabelPattern { get; init; }
    /// <summary>
    /// A config file (JSON or YAML, <see cref="Runs.ConfigFile"/>): its <c>evaluation</c> section, and <c>encoder.text.pooling</c> /
    /// <c>encoder.video.embedding</c> if it gives them, are laid over the checkpoint's config before the options above and <see cref="Set"/>;
    /// the rest of it (a run's whole config.json, say) is left to the checkpoint, with a notice.
    /// </summary>
    public string? ConfigFile { get; init; }
    /// <summary><c>evaluation.key=value</c> overrides.</summary>
    public IReadOnlyList<string> Set { get; init; } = [];
    /// <summary>Where summary.json, plots and report.html go; null: &lt;run&gt;/evaluation.</summary>
    public string? OutDirectory { get; init; }
    public string? DataDirectory { get; init; }
    /// <summary>Where the rows that do not depend on the checkpoint are kept between evaluations (<see cref="Runs.BaselineCache"/>); null: computed every time.</summary>
    public BaselineCache? BaselineCache { get; init; }
}

/// <summary>The evaluation of a checkpoint and where its report went.</summary>
public sealed record CheckpointEvaluationResult(EvaluationResult Evaluation, RunConfig Config, string Dataset, string ReportPath)
{
    /// <summary>What the data's modality evaluated beyond the label protocols (<see cref="IModality.EvaluateMore"/>).</summary>
    public IReadOnlyList<ReportSection> Sections { get; init; } = [];
}

/// <summary>`pretext evaluate` as a library call: load the checkpoint, its data and its inputs, evaluate, write the report.</summary>
public static class CheckpointEvaluation
{
    /// <summary>A model setting evaluate may change: a text encoder's pooling (it has no weights).</summary>
    public const string PoolingKey = "encoder.text.pooling";
    /// <summary>A model setting evaluate may change: a video encoder's clip embedding (mean frame vector, last GRU state or both; no weights of its own).</summary>
    public const string VideoEmbeddingKey = "encoder.video.embedding";
    private static readonly string[] WeightlessKeys = [PoolingKey, VideoEmbeddingKey];

    /// <exception cref="ArgumentException">A bad request (an override outside evaluation, seeds below 1, unlabelled data, a slice below 1).</exception>
    public static CheckpointEvaluationResult Run(EvaluateRequest request, IRunObserver? observer = null, Action<string>? log = null)
    {
        observer ??= NullObserver.Instance;
        // A text encoder's pooling and a video encoder's clip embedding have no weights, so a checkpoint can be evaluated with any of them
        // (clm: Mean or Last; video: the mean frame vector, the last GRU state or both; chosen on validation).
        var pooling = request.Set.Where(a => WeightlessKeys.Any(k => a.TrimStart().StartsWith(k + "=", StringComparison.OrdinalIgnoreCase))).ToList();
        foreach (var a in request.Set.Except(pooling))
            if (!a.TrimStart().StartsWith("evaluation.", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--set '{a}': evaluate only changes evaluation settings (evaluation.<key>=<value>), {PoolingKey} and {VideoEmbeddingKey}; the rest of the config comes from the checkpoint.");
        if (request.Seeds is < 1) throw new ArgumentException($"--seeds must be at least 1; got {request.Seeds}.");
        var file = request.ConfigFile is null ? null : Runs.ConfigFile.Read(request.ConfigFile);
        var (fileModel, fileEvaluation) = file is null ? (null, null) : SplitConfigFile(file, log);
        Func<RunConfig, RunConfig>? model = fileModel is null && pooling.Count == 0 ? null : c =>
        {
            if (fileModel is not null) c = ConfigOverrides.Merge(c, fileModel, file!.Path);
            return ConfigOverrides.Apply(c, pooling);
        };
        var (method, cfg, step) = Pretraining.LoadMethod(request.Checkpoint, model);
        using (method)
        {
            if (fileEvaluation is not null) cfg = ConfigOverrides.Merge(cfg, fileEvaluation, file!.Path);
            var ev = cfg.Evaluation;
            if (request.Fractions is { } fr)
                ev = ev with { LinearFractions = fr, ScratchFractions = fr, Text = ev.Text with { Fractions = fr } };
            ev = ev with
            {
                Seeds = request.Seeds ?? ev.Seeds,
                FineTuneFractions = request.FineTune || request.Distill ? ev.ScratchFractions : [],
                FineTune = request.FineTune || ev.FineTune,
                Distill = request.Distill || ev.Distill,
                Propagate = request.Propagate || ev.Propagate,
                PerClass = request.PerClass ?? ev.PerClass,
                TrainedPerClass = request.TrainedPerClass ?? ev.TrainedPerClass,
                ValidationFraction = request.ValidationFraction ?? ev.ValidationFraction,
                Extras = request.Extras,
            };
            cfg = ConfigOverrides.Apply(cfg with { Evaluation = ev }, request.Set.Except(pooling));
            var modality = ModalityCatalog.Get(cfg.Encoder.Modality);
            string ds = request.Dataset ?? cfg.Dataset;
            cfg = AudioModality.WithLabelPattern(cfg, request.LabelPattern, ds);
            using var inputs = modality.InputsFor(cfg, request.Checkpoint);
            var (trainAll, testAll) = modality.Load(ds, cfg, request.DataDirectory, log, needTest: true);
            using (trainAll)
            using (testAll)
            {
                if (testAll is null || trainAll.Labels is null)
                    throw new ArgumentException($"'{ds}' has no labels; evaluation needs labelled {modality.Kind.ToString().ToLowerInvariant()} data (a catalogued data set with labels, or a folder with one sub-folder per class).");
                using var trainSlice = Slice(trainAll, request.LimitTrain, "--limit-train");
                using var testSlice = Slice(testAll, request.LimitTest, "--limit-test");
                var result = Evaluating.Run(method, cfg, inputs, trainSlice ?? trainAll, testSlice ?? testAll, observer, request.Baselines, request.BaselineCache);
                string run = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(request.Checkpoint)))!;
                string dir = request.OutDirectory ?? Path.Combine(run, "evaluation");
                Directory.CreateDirectory(dir);
                var pre = new PretrainResult(run, request.Checkpoint, step, double.NaN, double.NaN, double.NaN, double.NaN, Pretraining.ReadVerdict(run));
                if (File.Exists(Path.Combine(run, "metrics.csv"))) File.Copy(Path.Combine(run, "metrics.csv"), Path.Combine(dir, "metrics.csv"), overwrite: true);
                else MetricsLog.Create(Path.Combine(dir, "metrics.csv"), Pretraining.MetricColumns).Dispose();
                if (File.Exists(Path.Combine(run, Continuations.FileName))) File.Copy(Path.Combine(run, Continuations.FileName), Path.Combine(dir, Continuations.FileName), overwrite: true);
                var sections = modality.EvaluateMore(method, cfg, inputs, trainSlice ?? trainAll, testSlice ?? testAll, dir, observer, ds, request.DataDirectory);
                return new CheckpointEvaluationResult(result, cfg, ds, RunReport.Write(dir, cfg, pre, result, ds, sections)) { Sections = sections };
            }
        }
    }

    /// <summary>
    /// What evaluate takes from a config file: the weightless model keys (<see cref="WeightlessKeys"/>) it gives, and its
    /// <c>evaluation</c> section, each as an object for <see cref="ConfigOverrides.Merge"/> (null when the file gives none).
    /// Every other key is the checkpoint's to decide; they are named in one notice, so a run's whole config.json can be passed.
    /// </summary>
    private static (JsonObject? Model, JsonObject? Evaluation) SplitConfigFile(ConfigFile file, Action<string>? log)
    {
        JsonObject? model = null;
        foreach (var key in WeightlessKeys)
        {
            var path = key.Split('.');
            JsonNode? node = file.Values;
            foreach (var part in path)
                node = node is JsonObject o && ConfigOverrides.Match(o, part) is string k ? o[k] : null;
            if (node is null) continue;
            model ??= new JsonObject();
            var at = model;
            for (int i = 0; i < path.Length - 1; i++)
            {
                if (at[path[i]] is not JsonObject next) at[path[i]] = next = new JsonObject();
                at = next;
            }
            at[path[^1]] = node.DeepClone();
        }
        JsonObject? evaluation = null;
        string? e = ConfigOverrides.Match(file.Values, "evaluation");
        if (e is not null)
        {
            if (file.Values[e] is not JsonObject section)
                throw new InvalidDataException($"{file.Path}: 'evaluation' is a section of evaluation settings, but the file gives it {ConfigFile.Describe(file.Values[e])}. Give the keys inside it instead.");
            evaluation = new JsonObject { ["evaluation"] = section.DeepClone() };
        }
        var rest = file.Values.Select(p => p.Key).Where(k => k != e).ToList();
        if (rest.Count > 0)
            log?.Invoke($"{file.Path}: evaluate uses its 'evaluation' section{(model is null ? "" : $" and {string.Join(", ", WeightlessKeys)}")}; {string.Join(", ", rest.Select(k => $"'{k}'"))} come{(rest.Count == 1 ? "s" : "")} from the checkpoint and {(rest.Count == 1 ? "is" : "are")} left as {(rest.Count == 1 ? "it is" : "they are")} there.");
        if (evaluation is null && model is null)
            throw new InvalidDataException($"{file.Path}: gives no 'evaluation' section (nor {string.Join(" or ", WeightlessKeys)}), so it would change nothing; put the evaluation settings under 'evaluation:'.");
        return (model, evaluation);
    }

    /// <summary>A class-stratified slice of about <paramref name="limit"/> samples (seed 0), or null when no limit applies.</summary>
    /// <exception cref="ArgumentException">A limit below 1.</exception>
    public static ISampleSet? Slice(ISampleSet data, int? limit, string option)
    {
        if (limit is not int n || n >= data.Count) return null;
        if (n < 1) throw new ArgumentException($"{option} must be at least 1; got {n}.");
        var idx = data.Labels is null
            ? Enumerable.Range(0, n).Select(i => (long)i).ToArray()
            : LabelSubsets.Stratified(data.Labels, (double)n / data.Count, 0);
        return data.Subset(idx, $"{data.Name} ({option} {n})");
    }
}
