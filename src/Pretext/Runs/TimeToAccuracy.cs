using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Compute;
using Pretext.Evaluation;
using Pretext.Reporting;
using Pretext.Runs.Modalities;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>A saved encoder and the pretraining time it took to get there (evaluation and checkpoint writing left out).</summary>
public sealed record TimedCheckpoint(long Step, double PretrainSeconds, string Path);

/// <summary>One point of an accuracy-against-pretraining-time curve.</summary>
public sealed record CurvePoint(long Step, double Minutes, double Accuracy);

/// <summary>
/// Time to accuracy (docs/benchmarks.md, "Time to accuracy"): the saved encoders of a run in order, each with its cumulative
/// pretraining seconds, and the first one whose linear probe reaches a threshold. Two kinds of runs: a Pretext run folder
/// (checkpoints/ and metrics.csv) and a folder of the PyTorch peer (bench/peer/simclr_peer.py --out: state dicts and manifest.json).
/// </summary>
public static class TimeToAccuracy
{
    /// <summary>The "format" field of the peer's manifest.json.</summary>
    public const string PeerFormat = "simclr-peer-checkpoints";

    /// <summary>
    /// The first point, in order of pretraining time (then step), whose accuracy is at or above <paramref name="threshold"/>;
    /// null when none is. No interpolation: the answer is a checkpoint that was measured.
    /// </summary>
    public static CurvePoint? FirstAtOrAbove(IEnumerable<CurvePoint> curve, double threshold) =>
        curve.Where(p => double.IsFinite(p.Accuracy) && double.IsFinite(p.Minutes))
            .OrderBy(p => p.Minutes).ThenBy(p => p.Step).FirstOrDefault(p => p.Accuracy >= threshold);

    /// <summary>
    /// Cumulative pretraining seconds at each step of a metrics.csv, as (step, elapsed_seconds) rows in file order, less the
    /// time spent writing checkpoints. The trainer's clock restarts with each session (a resumed run), so a clock that goes
    /// back adds the previous session's last reading. A checkpoint written after step c (<paramref name="isWriteStep"/>) shows as
    /// extra time in step c+1's interval; that extra, over the median interval of the steps around it (up to 10 on each side that
    /// follow no write), is taken off every later step. Steps whose interval cannot be judged (the first of a session) keep theirs.
    /// </summary>
    public static Dictionary<long, double> PretrainSeconds(IReadOnlyList<(long Step, double Elapsed)> rows, Func<long, bool> isWriteStep)
    {
        int n = rows.Count;
        var interval = new double[n];
        var sessionStart = new bool[n];
        for (int i = 0; i < n; i++)
        {
            sessionStart[i] = i == 0 || rows[i].Elapsed < rows[i - 1].Elapsed || rows[i].Step != rows[i - 1].Step + 1;
            interval[i] = sessionStart[i] ? double.NaN : rows[i].Elapsed - rows[i - 1].Elapsed;
        }
        bool Clean(int i) => !sessionStart[i] && !isWriteStep(rows[i - 1].Step);
        var result = new Dictionary<long, double>();
        double offset = 0, removed = 0;
        for (int i = 0; i < n; i++)
        {
            if (i > 0 && rows[i].Elapsed < rows[i - 1].Elapsed) offset += rows[i - 1].Elapsed;
            if (!sessionStart[i] && isWriteStep(rows[i - 1].Step))
            {
                var around = new List<double>();
                for (int j = i - 1; j >= 0 && around.Count < 10 && j >= i - 40; j--) if (Clean(j)) around.Add(interval[j]);
                int before = around.Count;
                for (int j = i + 1; j < n && around.Count < before + 10 && j <= i + 40; j++) if (Clean(j)) around.Add(interval[j]);
                if (around.Count > 0)
                {
                    around.Sort();
                    removed += Math.Max(0, interval[i] - around[around.Count / 2]);
                }
            }
            result[rows[i].Step] = offset + rows[i].Elapsed - removed;
        }
        return result;
    }

    /// <summary>
    /// The step checkpoints of a Pretext run folder in step order with their pretraining seconds from its metrics.csv
    /// (<see cref="PretrainSeconds"/>; a checkpoint is written every <c>train.checkpointEvery</c> steps of the run's config.json
    /// and after the last step). A checkpoint whose step metrics.csv lacks gets NaN.
    /// </summary>
    /// <exception cref="ArgumentException">The folder has no config.json or no checkpoints.</exception>
    public static IReadOnlyList<TimedCheckpoint> PretextCheckpoints(string runDirectory)
    {
        if (Pretraining.Recorded(runDirectory) is not RunConfig cfg)
            throw new ArgumentException($"'{runDirectory}' has no config.json; pass the folder of a `pretext pretrain` run.");
        var checkpoints = new CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), int.MaxValue).List();
        if (checkpoints.Count == 0) throw new ArgumentException($"'{runDirectory}' has no step checkpoints in checkpoints/.");
        string metrics = Path.Combine(runDirectory, "metrics.csv");
        var rows = File.Exists(metrics)
            ? MetricsLog.Read(metrics).Select(r => ((long)r["step"], r["elapsed_seconds"])).ToList()
            : [];
        long every = cfg.Train.CheckpointEvery;
        var kept = checkpoints.Select(c => c.Step).ToHashSet();
        var seconds = PretrainSeconds(rows, s => kept.Contains(s) || (every > 0 && s % every == 0));
        return checkpoints.OrderBy(c => c.Step)
            .Select(c => new TimedCheckpoint(c.Step, seconds.TryGetValue(c.Step, out var s) ? s : double.NaN, c.Path)).ToList();
    }

    /// <summary>What the peer's manifest.json says about its encoder.</summary>
    public sealed record PeerRun(int[] Widths, int[] Blocks, IReadOnlyList<TimedCheckpoint> Saves, JsonObject Manifest);

    /// <summary>The peer's saves (bench/peer/simclr_peer.py --out DIR) in step order, from DIR/manifest.json.</summary>
    /// <exception cref="ArgumentException">No manifest, or one of another format; a listed file that is missing.</exception>
    public static PeerRun PeerCheckpoints(string peerDirectory)
    {
        string path = Path.Combine(peerDirectory, "manifest.json");
        if (!File.Exists(path)) throw new ArgumentException($"'{peerDirectory}' has no manifest.json; pass the --out folder of bench/peer/simclr_peer.py.");
        JsonObject manifest;
        try { manifest = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object"); }
        catch (JsonException e) { throw new ArgumentException($"'{path}' is not JSON ({e.Message})."); }
        if ((string?)manifest["format"] != PeerFormat)
            throw new ArgumentException($"'{path}' is not a peer manifest (no \"format\": \"{PeerFormat}\").");
        int[] Ints(string key) => manifest[key]?.AsArray().Select(v => v!.GetValue<int>()).ToArray()
            ?? throw new ArgumentException($"'{path}' has no \"{key}\".");
        var saves = new List<TimedCheckpoint>();
        foreach (var s in manifest["saves"]?.AsArray() ?? [])
        {
            string file = Path.Combine(peerDirectory, (string)s!["file"]!);
            if (!File.Exists(file)) throw new ArgumentException($"'{path}' lists '{file}', which does not exist.");
            saves.Add(new TimedCheckpoint(s["step"]!.GetValue<long>(), s["pretrain_seconds"]!.GetValue<double>(), file));
        }
        return new PeerRun(Ints("widths"), Ints("blocks"), saves.OrderBy(s => s.Step).ToList(), manifest);
    }
}

/// <summary>
/// The frozen linear probe of `pretext evaluate` at 100 % of the labels, scored on the validation split only: the training
/// split's validation part is carved as evaluation carves it (<see cref="ValidationSplit"/>, the config's fraction and seed),
/// the probe is fitted on every other training label with its penalty chosen on validation
/// (<see cref="LinearProbe.Train"/>, the config's probe options), and its accuracy on validation is the score (as evaluate's
/// validation figures: the penalty choice makes it slightly optimistic, alike for every encoder scored). The test split
/// is never read. The training split is loaded once, so many checkpoints of one data set are cheap to score one after another.
/// </summary>
public sealed class ValidationProbe : IDisposable
{
    private readonly ISampleSet train;
    private readonly ISampleSet? slice;
    private readonly long[] pool, validation;
    private readonly int[] poolY, validationY;
    private readonly int classes;
    private readonly Precision? precision;

    public int PoolSize => pool.Length;
    public int ValidationSize => validation.Length;
    public string Dataset { get; }

    /// <param name="reference">A run config naming the data set and the evaluation settings (validation fraction and seed, probe options).</param>
    /// <param name="limitTrain">Score on this many training samples (class-stratified, as evaluate's --limit-train) instead of all: for tests.</param>
    /// <param name="precision">Compute the features in this precision whatever each checkpoint's config says (null: the checkpoint's),
    /// so that encoders trained in different precisions are read alike.</param>
    public ValidationProbe(RunConfig reference, int? limitTrain = null, Precision? precision = null, Action<string>? log = null)
    {
        Dataset = reference.Dataset;
        this.precision = precision;
        var modality = ModalityCatalog.Get(reference.Encoder.Modality);
        (train, var test) = modality.Load(reference.Dataset, reference, null, log, needTest: false);
        test?.Dispose();
        slice = CheckpointEvaluation.Slice(train, limitTrain, "limitTrain");
        var set = slice ?? train;
        var labels = set.Labels ?? throw new ArgumentException($"'{reference.Dataset}' has no labels; the probe needs labelled data.");
        var ev = reference.Evaluation;
        if (!(ev.ValidationFraction > 0)) throw new ArgumentException("The validation probe needs a validation split (evaluation.validationFraction > 0).");
        (pool, validation) = ValidationSplit.Carve(labels, set.SampleId, ev.ValidationFraction, ev.ValidationSeed, set.GroupId);
        poolY = pool.Select(i => labels[i]).ToArray();
        validationY = validation.Select(i => labels[i]).ToArray();
        classes = Math.Max(set.ClassNames.Count, labels.Max() + 1);
    }

    /// <summary>Validation accuracy (0-1) of the linear probe on the encoder of <paramref name="checkpoint"/>.</summary>
    /// <param name="progress">Called with (images embedded, images to embed) as the features are extracted.</param>
    public double Score(string checkpoint, Action<long, long>? progress = null)
    {
        var (method, cfg, _) = Pretraining.LoadMethod(checkpoint, precision is Precision p ? c => c with { Encoder = c.Encoder with { Precision = p } } : null);
        using (method)
        {
            if (cfg.Dataset != Dataset)
                throw new ArgumentException($"'{checkpoint}' was trained on '{cfg.Dataset}'; this probe scores on '{Dataset}'.");
            var modality = ModalityCatalog.Get(cfg.Encoder.Modality);
            using var inputs = modality.InputsFor(cfg, checkpoint);
            using var scope = NewDisposeScope();
            var data = inputs.Encode(slice ?? train);
            var features = Features.Extract(method.Encoder, data, inputs.Normalization, inputs.FeatureBatchSize, progress);
            var poolF = features.index_select(0, tensor(pool));
            var valF = features.index_select(0, tensor(validation));
            using var probe = LinearProbe.Train(poolF, poolY, classes, cfg.Evaluation.Probe, (valF, validationY));
            return Metrics.Accuracy(probe.Predict(valF), validationY);
        }
    }

    public void Dispose()
    {
        slice?.Dispose();
        train.Dispose();
    }
}
