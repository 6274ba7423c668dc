using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Data.Tables;
using Pretext.Runs;
using Pretext.Runs.Modalities;

namespace Pretext.Serving;

/// <summary>
/// Table rows: each item a JSON object with every feature column the model reads (null for a missing value), or an array of the
/// values in <see cref="Columns"/> order (numeric columns, then categorical ones). Numeric columns take numbers, categorical ones
/// strings (numbers and booleans are read as their text). The run's id, label, entity and ignored columns may be present and are
/// left out, so rows can be posted as they stand in the training file. Encoded with the checkpoint's fitted
/// <see cref="TableEncoding"/> (a category never seen in training reads as the unknown bucket, as in `pretext embed`).
/// </summary>
public sealed class TableRowInputReader : IInputReader
{
    private readonly string[] numeric, categorical;
    private readonly HashSet<string> passed;
    private readonly Dictionary<string, int> index;

    private TableRowInputReader(TableEncoding encoding, TableColumns columns)
    {
        numeric = encoding.NumericNames;
        categorical = encoding.CategoricalNames;
        index = Columns.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        // Without a named label column a file's "class" or "label" column is the label (TableColumns.Label): never a feature either.
        string[] labels = columns.Label is { } l ? [l] : ["class", "label"];
        passed = new HashSet<string>(new[] { columns.Id, columns.Entity }.OfType<string>().Concat(labels).Concat(columns.Ignore), StringComparer.Ordinal);
        passed.ExceptWith(index.Keys);
    }

    /// <exception cref="InvalidDataException">The checkpoint has no table encoding.</exception>
    public static TableRowInputReader For(RunConfig config, string checkpoint)
    {
        var encoding = config.Table.Encoding
            ?? throw new InvalidDataException($"Checkpoint '{checkpoint}' has no table encoding (table.encoding is empty); it was not written by a table pretraining run.");
        return new TableRowInputReader(encoding, config.Table.Columns);
    }

    /// <summary>The feature columns in array order: numeric, then categorical.</summary>
    public IEnumerable<string> Columns => numeric.Concat(categorical);
    public Modality Kind => Modality.Table;
    public IReadOnlyList<string> RawMediaTypes { get; } = [];

    public JsonObject Describe() => new()
    {
        ["item"] = "a row: an object with every column (null for a missing value), or an array of the values in column order",
        ["columns"] = new JsonArray([.. Columns.Select(c => (JsonNode)c)]),
        ["numeric"] = new JsonArray([.. numeric.Select(c => (JsonNode)c)]),
        ["categorical"] = new JsonArray([.. categorical.Select(c => (JsonNode)c)]),
        ["ignored"] = new JsonArray([.. passed.Order(StringComparer.Ordinal).Select(c => (JsonNode)c)]),
    };

    public JsonObject ItemSchema()
    {
        var properties = new JsonObject();
        foreach (var c in numeric) properties[c] = new JsonObject { ["type"] = "number", ["nullable"] = true };
        foreach (var c in categorical) properties[c] = new JsonObject { ["type"] = "string", ["nullable"] = true };
        var asObject = new JsonObject
        {
            ["type"] = "object",
            ["required"] = new JsonArray([.. Columns.Select(c => (JsonNode)c)]),
            ["properties"] = properties,
        };
        var asArray = new JsonObject
        {
            ["type"] = "array",
            ["minItems"] = numeric.Length + categorical.Length,
            ["maxItems"] = numeric.Length + categorical.Length,
            ["description"] = $"The values in column order: {string.Join(", ", Columns)}.",
            ["items"] = new JsonObject { ["nullable"] = true },
        };
        return new JsonObject { ["oneOf"] = new JsonArray(asObject, asArray) };
    }

    public RequestItems Read(JsonElement inputs)
    {
        int n = inputs.GetArrayLength(), nn = numeric.Length, nc = categorical.Length;
        var values = new float[n * nn];
        var categories = new string?[n * nc];
        int i = 0;
        foreach (var item in inputs.EnumerateArray())
        {
            var row = new JsonElement?[nn + nc];
            if (item.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in item.EnumerateObject())
                {
                    if (index.TryGetValue(p.Name, out int k)) row[k] = p.Value;
                    else if (!passed.Contains(p.Name))
                        throw new RequestException(RequestProblem.UnknownColumn,
                            $"{RequestException.Item(i)} has a column '{p.Name}' the model does not read; its columns are {string.Join(", ", Columns)}.");
                }
                var missing = Columns.Where((_, k) => row[k] is null).ToList();
                if (missing.Count > 0)
                    throw new RequestException(RequestProblem.MissingColumn,
                        $"{RequestException.Item(i)} lacks column(s) {string.Join(", ", missing)}; send every column the model reads, null for a missing value.");
            }
            else if (item.ValueKind == JsonValueKind.Array)
            {
                int length = item.GetArrayLength();
                if (length != nn + nc)
                    throw new RequestException(RequestProblem.MissingColumn, string.Create(CultureInfo.InvariantCulture,
                        $"{RequestException.Item(i)} has {length} values; the model reads {nn + nc} columns, in this order: {string.Join(", ", Columns)}."));
                int k = 0;
                foreach (var v in item.EnumerateArray()) row[k++] = v;
            }
            else
            {
                throw new RequestException(RequestProblem.WrongType,
                    $"{RequestException.Item(i)} is {InputReaders.KindOf(item)}; a table model takes each row as an object of its columns or an array of their values.");
            }
            for (int k = 0; k < nn; k++) values[i * nn + k] = Number(row[k]!.Value, i, numeric[k]);
            for (int k = 0; k < nc; k++) categories[i * nc + k] = Category(row[nn + k]!.Value, i, categorical[k]);
            i++;
        }
        return new Rows(values, categories, n);
    }

    public RequestItems ReadRaw(string mediaType, byte[] body) =>
        throw new RequestException(RequestProblem.UnsupportedMediaType, "A table model takes rows as JSON.");

    public ISampleSet Samples(IReadOnlyList<RequestItems> parts)
    {
        var rows = InputReaders.Of<Rows>(parts).ToList();
        int n = rows.Sum(r => r.Count);
        var ids = Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        return new TableSamples(new TableRows("request", numeric, categorical, [.. categorical.Select(_ => Array.Empty<string>())],
            [.. rows.SelectMany(r => r.Values)], [.. rows.SelectMany(r => r.Categories)], null, [], ids, null));
    }

    private static float Number(JsonElement v, int item, string column)
    {
        if (v.ValueKind == JsonValueKind.Null) return float.NaN;
        if (v.ValueKind != JsonValueKind.Number)
            throw new RequestException(RequestProblem.WrongType, $"{RequestException.Item(item)}: column '{column}' is numeric; got {InputReaders.KindOf(v)}. Send a number, or null when missing.");
        float f = (float)v.GetDouble();
        return float.IsFinite(f) ? f
            : throw new RequestException(RequestProblem.BadValue, $"{RequestException.Item(item)}: column '{column}' is {v.GetRawText()}, beyond the range of a 32-bit float.");
    }

    private static string? Category(JsonElement v, int item, string column) => v.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => throw new RequestException(RequestProblem.WrongType,
            $"{RequestException.Item(item)}: column '{column}' is categorical; got {InputReaders.KindOf(v)}. Send a string, or null when missing."),
    };

    private sealed class Rows(float[] values, string?[] categories, int count) : RequestItems
    {
        public float[] Values { get; } = values;
        public string?[] Categories { get; } = categories;
        public override int Count => count;
    }
}
