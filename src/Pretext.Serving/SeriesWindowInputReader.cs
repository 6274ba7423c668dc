using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Data.Series;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Serving;

/// <summary>
/// Series windows: each item an array of <c>length</c> readings in time order, each reading an array of one number per channel (a
/// plain number when the model reads one channel), in raw units: the checkpoint's per-channel normalisation is applied as
/// `pretext embed` applies it.
/// </summary>
public sealed class SeriesWindowInputReader : IInputReader
{
    private readonly int channels, length;
    private readonly string[] names;
    private readonly ChannelStats stats;

    private SeriesWindowInputReader(int channels, int length, string[] names, ChannelStats stats)
    {
        this.channels = channels; this.length = length; this.names = names; this.stats = stats;
    }

    /// <exception cref="InvalidDataException">The checkpoint has no series normalisation.</exception>
    public static SeriesWindowInputReader For(RunConfig config, string checkpoint)
    {
        var stats = config.Series.Normalization
            ?? throw new InvalidDataException($"Checkpoint '{checkpoint}' has no series normalisation (series.normalization is empty); it was not written by a series pretraining run.");
        int c = config.Encoder.Series.Channels;
        var named = config.Series.Columns.Channels;
        string[] names = named.Length == c ? named : [.. Enumerable.Range(0, c).Select(i => $"channel{i}")];
        return new SeriesWindowInputReader(c, config.Encoder.Series.Length, names, stats);
    }

    public Modality Kind => Modality.Series;
    public IReadOnlyList<string> RawMediaTypes { get; } = [];

    public JsonObject Describe() => new()
    {
        ["item"] = "a window: an array of readings in time order, each an array of one number per channel (a number for one channel), in raw units",
        ["shape"] = new JsonArray(length, channels),
        ["length"] = length,
        ["channels"] = new JsonArray([.. names.Select(n => (JsonNode)n)]),
    };

    public JsonObject ItemSchema()
    {
        JsonObject reading = channels == 1
            ? new JsonObject { ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "number" }, Numbers(1)) }
            : Numbers(channels);
        return new JsonObject
        {
            ["type"] = "array", ["minItems"] = length, ["maxItems"] = length, ["items"] = reading,
            ["description"] = string.Create(CultureInfo.InvariantCulture, $"{length} readings in time order; channels {string.Join(", ", names)}."),
        };
    }

    private static JsonObject Numbers(int n) => new() { ["type"] = "array", ["minItems"] = n, ["maxItems"] = n, ["items"] = new JsonObject { ["type"] = "number" } };

    public RequestItems Read(JsonElement inputs)
    {
        int n = inputs.GetArrayLength();
        // (N, C, L): the encoders read channels first.
        var values = new float[n * channels * length];
        int i = 0;
        var c = CultureInfo.InvariantCulture;
        foreach (var window in inputs.EnumerateArray())
        {
            string item = RequestException.Item(i);
            if (window.ValueKind != JsonValueKind.Array)
                throw new RequestException(RequestProblem.WrongType, $"{item} is {InputReaders.KindOf(window)}; a series model takes each window as an array of {length} readings.");
            if (window.GetArrayLength() != length)
                throw new RequestException(RequestProblem.MissingColumn, string.Create(c, $"{item} has {window.GetArrayLength()} readings; the model reads windows of {length}."));
            int t = 0;
            foreach (var reading in window.EnumerateArray())
            {
                if (channels == 1 && reading.ValueKind == JsonValueKind.Number)
                    values[i * length + t] = Value(reading, item, t);
                else if (reading.ValueKind == JsonValueKind.Array && reading.GetArrayLength() == channels)
                {
                    int ch = 0;
                    foreach (var v in reading.EnumerateArray()) values[(i * channels + ch++) * length + t] = Value(v, item, t);
                }
                else if (reading.ValueKind == JsonValueKind.Array)
                    throw new RequestException(RequestProblem.MissingColumn, string.Create(c,
                        $"{item}[{t}] has {reading.GetArrayLength()} values; the model reads {channels} channel(s) per reading ({string.Join(", ", names)})."));
                else
                    throw new RequestException(RequestProblem.WrongType, string.Create(c,
                        $"{item}[{t}] is {InputReaders.KindOf(reading)}; a reading is an array of {channels} number(s){(channels == 1 ? " or a number" : "")}."));
                t++;
            }
            i++;
        }
        return new Windows(values, n);
    }

    private static float Value(JsonElement v, string item, int t)
    {
        if (v.ValueKind != JsonValueKind.Number)
            throw new RequestException(RequestProblem.WrongType, string.Create(CultureInfo.InvariantCulture, $"{item}[{t}] holds {InputReaders.KindOf(v)}; readings are numbers."));
        float f = (float)v.GetDouble();
        return float.IsFinite(f) ? f
            : throw new RequestException(RequestProblem.BadValue, string.Create(CultureInfo.InvariantCulture, $"{item}[{t}] holds {v.GetRawText()}, beyond the range of a 32-bit float."));
    }

    public RequestItems ReadRaw(string mediaType, byte[] body) =>
        throw new RequestException(RequestProblem.UnsupportedMediaType, "A series model takes windows as JSON.");

    public ISampleSet Samples(IReadOnlyList<RequestItems> parts)
    {
        var windows = InputReaders.Of<Windows>(parts).ToList();
        int n = windows.Sum(w => w.Count);
        float[] all = [.. windows.SelectMany(w => w.Values)];
        return new SeriesSamples(new TensorDataset("request", tensor(all, [n, channels, length])), names, stats);
    }

    private sealed class Windows(float[] values, int count) : RequestItems
    {
        public float[] Values { get; } = values;
        public override int Count => count;
    }
}
