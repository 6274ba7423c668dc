using System.Globalization;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Serving;

/// <summary>One reference item near a query: its index in the reference, and the distance between the two unit-length embeddings.</summary>
public readonly record struct Neighbour(int Index, double Distance);

/// <summary>
/// A checkpoint's frozen encoder, the reader of its modality and, when given, the embedded reference collection. Embeds exactly as
/// `pretext embed` does (<see cref="ModelInputs"/> of the modality, then <see cref="Features.Extract"/>). Not thread-safe: the service
/// calls it from its batcher's one thread only.
/// </summary>
public sealed class ServedModel : IDisposable
{
    private readonly ISslMethod method;
    private readonly ModelInputs inputs;
    /// <summary>(N, D) fp32 reference embeddings scaled to unit length, or null.</summary>
    private readonly Tensor? bank;

    private ServedModel(ISslMethod method, RunConfig config, long step, string checkpoint, IInputReader reader, ModelInputs inputs,
        Tensor? bank, string? referencePath, string[] referenceIds, string?[]? referenceLabels)
    {
        this.method = method; Config = config; Step = step; Checkpoint = checkpoint; Reader = reader; this.inputs = inputs; this.bank = bank;
        ReferencePath = referencePath; ReferenceIds = referenceIds; ReferenceLabels = referenceLabels;
    }

    public RunConfig Config { get; }
    public long Step { get; }
    public string Checkpoint { get; }
    public IInputReader Reader { get; }
    public string MethodName => method.Name;
    public int Dim => method.Encoder.FeatureDim;
    public string? ReferencePath { get; }
    /// <summary>Each reference item's id (an image's or document's path, a row's id column or line, a window's "ENTITY@TIME").</summary>
    public string[] ReferenceIds { get; }
    /// <summary>Each reference item's class when the reference is labelled, else null.</summary>
    public string?[]? ReferenceLabels { get; }
    public int ReferenceCount => ReferenceIds.Length;

    /// <summary>
    /// Loads <see cref="ServeOptions.Checkpoint"/> and embeds <see cref="ServeOptions.Reference"/> (its training split when catalogued;
    /// a table file typed as the model was).
    /// </summary>
    /// <exception cref="InvalidDataException">Not a Pretext checkpoint, or a reference the model cannot read; the message names the file.</exception>
    /// <exception cref="NotSupportedException">A video checkpoint.</exception>
    /// <exception cref="FileNotFoundException">The checkpoint or the reference does not exist.</exception>
    public static ServedModel Load(ServeOptions options, Action<string>? log = null)
    {
        if (!File.Exists(options.Checkpoint)) throw new FileNotFoundException($"Checkpoint '{options.Checkpoint}' does not exist.", options.Checkpoint);
        var (method, config, step) = Pretraining.LoadMethod(options.Checkpoint);
        ModelInputs? inputs = null;
        Tensor? bank = null;
        IInputReader? reader = null;
        try
        {
            reader = InputReaders.For(config, options.Checkpoint, options);
            var modality = ModalityCatalog.Get(config.Encoder.Modality);
            inputs = modality.InputsFor(config, options.Checkpoint);
            string[] ids = [];
            string?[]? labels = null;
            if (options.Reference is { } reference)
            {
                var readAs = config.Encoder.Modality == Modality.Table ? TableModality.TypedAsModel(config, options.Checkpoint) : config;
                var (train, test) = modality.Load(reference, readAs, options.DataDirectory, log, needTest: false);
                test?.Dispose();
                using (train)
                {
                    if (train.Count < 1) throw new InvalidDataException($"Reference '{reference}' holds no items.");
                    ids = [.. Enumerable.Range(0, train.Count).Select(train.SampleId)];
                    labels = train.Labels is { } y ? [.. y.Select(l => train.ClassNames[l])] : null;
                    using var features = Embed(method, inputs, train);
                    bank = nn.functional.normalize(features, dim: 1).DetachFromDisposeScope();
                }
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"Reference: {ids.Length:N0} items of {reference} embedded."));
            }
            return new ServedModel(method, config, step, Path.GetFullPath(options.Checkpoint), reader, inputs, bank, options.Reference, ids, labels);
        }
        catch
        {
            (reader as IDisposable)?.Dispose();
            bank?.Dispose();
            inputs?.Dispose();
            method.Dispose();
            throw;
        }
    }

    /// <summary>(N, D) fp32 embeddings of <paramref name="samples"/>, as `pretext embed` computes them (the caller disposes them).</summary>
    /// <exception cref="ArgumentException">The samples do not fit the model (the library's message).</exception>
    public Tensor Embed(ISampleSet samples) => Embed(method, inputs, samples);

    private static Tensor Embed(ISslMethod method, ModelInputs inputs, ISampleSet samples)
    {
        using var encoded = inputs.EncodeForCaller(samples);
        return Features.Extract(method.Encoder, encoded.Data, inputs.Normalization, inputs.FeatureBatchSize);
    }

    /// <summary>
    /// The <paramref name="k"/> reference items nearest each row of <paramref name="queries"/> (M, D), nearest first, by the distance
    /// between unit-length embeddings, sqrt(2 - 2 cos) (what <see cref="KnnAnomalyScorer"/> and curation measure); and each row's mean
    /// distance to them, its anomaly score.
    /// </summary>
    /// <exception cref="InvalidOperationException">No reference was loaded.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k is not in [1, reference size].</exception>
    public (double[] Scores, Neighbour[][] Neighbours) Nearest(Tensor queries, int k)
    {
        if (bank is null) throw new InvalidOperationException("The service was started without --reference.");
        if (k < 1 || k > ReferenceCount) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in [1, {ReferenceCount}] (the reference size).");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var q = nn.functional.normalize(queries.to(ScalarType.Float32), dim: 1);
        var (similarity, index) = q.matmul(bank.t()).topk(k, dim: 1);
        var distance = similarity.clamp(-1, 1).neg().add(1).mul(2).clamp_min(0).sqrt().to(ScalarType.Float64);
        int m = (int)queries.shape[0];
        var d = distance.data<double>().ToArray();
        var idx = index.data<long>().ToArray();
        var scores = new double[m];
        var neighbours = new Neighbour[m][];
        for (int i = 0; i < m; i++)
        {
            neighbours[i] = new Neighbour[k];
            double sum = 0;
            for (int j = 0; j < k; j++)
            {
                neighbours[i][j] = new Neighbour((int)idx[i * k + j], d[i * k + j]);
                sum += d[i * k + j];
            }
            scores[i] = sum / k;
        }
        return (scores, neighbours);
    }

    /// <summary>What GET /info answers.</summary>
    public JsonObject Describe(ServeOptions options) => new()
    {
        ["method"] = MethodName,
        ["modality"] = Config.Encoder.Modality.ToString().ToLowerInvariant(),
        ["encoder"] = Config.Encoder.Kind.ToString(),
        ["embedding_dim"] = Dim,
        ["checkpoint"] = Checkpoint,
        ["step"] = Step,
        ["dataset"] = Config.Dataset,
        ["input"] = Reader.Describe(),
        ["accepts"] = new JsonArray([.. new[] { "application/json" }.Concat(Reader.RawMediaTypes).Select(t => (JsonNode)t)]),
        ["reference"] = ReferencePath is null ? null : new JsonObject
        {
            ["path"] = ReferencePath,
            ["items"] = ReferenceCount,
            ["labelled"] = ReferenceLabels is not null,
            ["k"] = ScoreK(options),
        },
        ["limits"] = new JsonObject
        {
            ["max_body_bytes"] = options.MaxBodyBytes,
            ["max_items"] = options.MaxItems,
            ["max_batch"] = options.MaxBatch,
            ["max_wait_ms"] = options.MaxWait.TotalMilliseconds,
            ["max_neighbors"] = Math.Min(options.MaxNeighbours, Math.Max(1, ReferenceCount)),
        },
    };

    /// <summary>The k of /score: <see cref="ServeOptions.K"/>, at most the reference size.</summary>
    public int ScoreK(ServeOptions options) => Math.Min(options.K, ReferenceCount);

    public void Dispose()
    {
        (Reader as IDisposable)?.Dispose();
        bank?.Dispose();
        inputs.Dispose();
        method.Dispose();
    }
}
