using System.Text.Json;
using System.Text.Json.Serialization;
using Pretext.Augmentations;
using Pretext.Data.Series;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Training;

namespace Pretext.Runs;

/// <summary>Everything that defines a pretraining run. Written as config.json and into each checkpoint.</summary>
public sealed record RunConfig
{
    public string Method { get; init; } = "simclr";
    public string Dataset { get; init; } = "fashion-mnist";
    /// <summary>
    /// Pretrain on every sample of a folder or file, the part evaluation later holds out as test included (unlabelled). Off by
    /// default: a folder's held-out test fifth (<see cref="Modalities.HeldOut"/>) stays out of pretraining, as a catalogued data
    /// set's test split always does.
    /// </summary>
    public bool Transductive { get; init; }
    /// <summary>
    /// A checkpoint whose encoder weights a new run starts from instead of fresh ones (pretrain --init-from; e.g. an encoder imported by
    /// `pretext import --onnx`, for domain-adaptive pretraining); the encoder's shape and, for text, its tokenizer come from it. The
    /// method's heads and the optimiser start fresh. Null: weights from the seed.
    /// </summary>
    public string? InitFrom { get; init; }
    public EncoderConfig Encoder { get; init; } = new();
    /// <summary>Per-method options, one property per method (each method's file adds its own).</summary>
    public MethodSettings Methods { get; init; } = new();
    public ImageAugmentationConfig Augment { get; init; } = new();
    /// <summary>Views of series windows (series methods).</summary>
    public SeriesAugmentationConfig SeriesAugment { get; init; } = new();
    public TrainerOptions Train { get; init; } = new();
    public EvaluationConfig Evaluation { get; init; } = new();
    /// <summary>How a series is read, split, windowed and normalised (series runs; the fitted normalisation travels with checkpoints).</summary>
    public SeriesDataConfig Series { get; init; } = new();
    /// <summary>How a table is read and encoded (table runs; the encoding fitted on the training rows travels with checkpoints).</summary>
    public Data.Tables.TableDataConfig Table { get; init; } = new();
    /// <summary>How clips are read or generated (video runs).</summary>
    public Data.Video.VideoDataConfig Video { get; init; } = new();
    /// <summary>How an image folder is read (image runs): undecodable files, the largest image decoded, entities for same-entity positives.</summary>
    public Data.ImageDataConfig Images { get; init; } = new();

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <exception cref="InvalidDataException">The JSON is not a run config; the message names <paramref name="source"/>.</exception>
    public static RunConfig FromJson(string json, string source)
    {
        try { return JsonSerializer.Deserialize<RunConfig>(json, JsonOptions) ?? throw new InvalidDataException($"{source}: empty run config."); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not a valid Pretext run config ({e.Message})."); }
    }

    /// <summary>The part of the config a method is built from and its preset changes.</summary>
    [JsonIgnore]
    public MethodSetup Setup => new() { Encoder = Encoder, Methods = Methods, Augment = Augment, SeriesAugment = SeriesAugment, Train = Train };

    /// <summary>This config with <paramref name="setup"/>'s encoder, method options, views and schedule.</summary>
    public RunConfig With(MethodSetup setup) => this with
    {
        Encoder = setup.Encoder, Methods = setup.Methods, Augment = setup.Augment, SeriesAugment = setup.SeriesAugment, Train = setup.Train,
    };

    /// <summary>
    /// The fields that must match for --resume to continue a run: not threads, checkpointing or diagnostics cadence,
    /// not evaluation, and of the per-method options only the run's own method's (other methods' defaults may change
    /// between versions without touching this run).
    /// </summary>
    public string ResumeFingerprint()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse((this with
        {
            Train = Train with { Threads = 0, CheckpointEvery = 0, KeepCheckpoints = 1, Prefetch = true, DiagnosticsEvery = 0 }, Evaluation = new(),
        }).ToJson())!.AsObject();
        if (node[nameof(Methods)] is System.Text.Json.Nodes.JsonObject methods)
            foreach (var key in methods.Select(p => p.Key).ToList())
                if (!string.Equals(key, Method, StringComparison.OrdinalIgnoreCase)) methods.Remove(key);
        node.Remove(nameof(Evaluation));
        return node.ToJsonString();
    }

    /// <summary>
    /// The settings that differ between this config (what a run folder's checkpoint was written with) and <paramref name="now"/> in the
    /// fields <see cref="ResumeFingerprint"/> compares, as "key: value in the checkpoint, value now" with keys spelt as --set takes
    /// them (train.batchSize); at most <paramref name="max"/>, then how many more. Empty when --resume may continue.
    /// </summary>
    public IReadOnlyList<string> ResumeDifferences(RunConfig now, int max = 6)
    {
        var found = new List<string>();
        Compare(System.Text.Json.Nodes.JsonNode.Parse(ResumeFingerprint()), System.Text.Json.Nodes.JsonNode.Parse(now.ResumeFingerprint()), "", found);
        return found.Count <= max ? found : [.. found.Take(max), $"and {found.Count - max} more"];

        static void Compare(System.Text.Json.Nodes.JsonNode? a, System.Text.Json.Nodes.JsonNode? b, string path, List<string> found)
        {
            if (a is System.Text.Json.Nodes.JsonObject oa && b is System.Text.Json.Nodes.JsonObject ob)
            {
                foreach (var key in oa.Select(p => p.Key).Union(ob.Select(p => p.Key)))
                    Compare(oa[key], ob[key], path.Length == 0 ? Key(key) : $"{path}.{Key(key)}", found);
                return;
            }
            string before = a?.ToJsonString() ?? "(absent)", after = b?.ToJsonString() ?? "(absent)";
            if (before != after) found.Add($"{path}: {before} in the checkpoint, {after} now");
        }

        static string Key(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];
    }
}
