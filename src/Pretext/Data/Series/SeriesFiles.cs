using System.Globalization;
using Parquet;
using Pretext.Export;

namespace Pretext.Data.Series;

/// <summary>
/// Reads a time series from a CSV file (header row, comma-separated, RFC 4180 quoting) or a Parquet file: a time column,
/// numeric channels, optionally a label and an entity column (<see cref="SeriesColumns"/>). Every problem is reported
/// with the file, the line (CSV) or row (Parquet), the column and the fix: a missing column, a value that is not a
/// number, a missing value, a repeated time stamp, rows out of time order (unless <see cref="SeriesReadOptions.Sort"/>)
/// and gaps (unless <see cref="GapPolicy.Split"/>).
/// </summary>
public static class SeriesFiles
{
    /// <summary>Label column used when <see cref="SeriesColumns.Label"/> is not set and the file has one of this name.</summary>
    public const string DefaultLabelColumn = "label";

    /// <summary>Whether <paramref name="path"/> names a file this reader takes (.csv or .parquet).</summary>
    public static bool IsSeriesFile(string path) =>
        File.Exists(path) && (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads <paramref name="path"/> (.csv or .parquet).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The content breaks one of the rules above; the message names the place and the fix.</exception>
    public static SeriesTable Read(string path, SeriesColumns columns, SeriesReadOptions? options = null)
    {
        options ??= new SeriesReadOptions();
        options.Validate();
        if (!File.Exists(path)) throw new FileNotFoundException($"Series file '{path}' does not exist.", path);
        var (header, rows, unit) = path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)
            ? ReadParquet(path)
            : ReadCsv(path);
        return Build(path, unit, header, rows, columns, options);
    }

    /// <summary>One data row: where it is in the file, and its cells by column (null: missing in Parquet).</summary>
    private readonly record struct Row(int Line, string?[] Cells);

    private static (string[] Header, List<Row> Rows, string Unit) ReadCsv(string path)
    {
        using var reader = new StreamReader(path);
        using var records = CsvRecords.ReadWithLines(reader, path).GetEnumerator();
        if (!records.MoveNext()) throw new InvalidDataException($"'{path}' is empty; a series file starts with a header row naming its columns (e.g. time,value).");
        var header = records.Current.Fields.Select(h => h.Trim()).ToArray();
        var rows = new List<Row>();
        while (records.MoveNext())
        {
            var (line, fields) = records.Current;
            if (fields.Count == 1 && fields[0].Trim().Length == 0) continue; // blank line
            if (fields.Count != header.Length)
                throw new InvalidDataException($"'{path}' line {line}: {fields.Count} fields where the header has {header.Length} ({string.Join(",", header)}). Give every row one value per column.");
            rows.Add(new Row(line, [.. fields]));
        }
        return (header, rows, "line");
    }

    private static (string[] Header, List<Row> Rows, string Unit) ReadParquet(string path)
    {
        return ReadAsync().GetAwaiter().GetResult();

        async Task<(string[], List<Row>, string)> ReadAsync()
        {
            await using var stream = File.OpenRead(path);
            ParquetReader reader;
            try
            {
                reader = await ParquetReader.CreateAsync(stream).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or NotSupportedException)
            {
                throw new InvalidDataException($"'{path}' is not a readable Parquet file ({e.Message}). Re-export it, or export CSV instead.", e);
            }
            await using (reader)
            {
                var fields = reader.Schema.GetDataFields();
                var header = fields.Select(f => f.Name).ToArray();
                var rows = new List<Row>();
                for (int g = 0; g < reader.RowGroupCount; g++)
                {
                    using var group = reader.OpenRowGroupReader(g);
                    int n = checked((int)group.RowCount);
                    var columns = new string?[fields.Length][];
                    for (int j = 0; j < fields.Length; j++) columns[j] = await ParquetCells.Read(group, fields[j], n, path).ConfigureAwait(false);
                    for (int r = 0; r < n; r++)
                    {
                        var cells = new string?[fields.Length];
                        for (int j = 0; j < fields.Length; j++) cells[j] = columns[j][r];
                        rows.Add(new Row(rows.Count + 1, cells));
                    }
                }
                return (header, rows, "row");
            }
        }
    }

    private static int Column(string[] header, string name, string path, string what, string option, bool optional = false)
    {
        int i = Array.FindIndex(header, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
        return i >= 0 ? i : throw new InvalidDataException(
            $"'{path}' has no {what} column '{name}'; its columns are {string.Join(", ", header)}. Name the right one with --set {option}=NAME" +
            (optional ? $", or pass --set {option}=null if the file has none." : "."));
    }

    private static SeriesTable Build(string path, string unit, string[] header, List<Row> rows, SeriesColumns names, SeriesReadOptions options)
    {
        int time = Column(header, names.Time, path, "time", "series.columns.time");
        int entity = names.Entity is { } e ? Column(header, e, path, "entity", "series.columns.entity", optional: true) : -1;
        int label = names.Label is { } l ? Column(header, l, path, "label", "series.columns.label", optional: true)
            : Array.FindIndex(header, h => string.Equals(h, DefaultLabelColumn, StringComparison.OrdinalIgnoreCase));
        int[] channels = names.Channels.Length > 0
            ? [.. names.Channels.Select(c => Column(header, c, path, "channel", "series.columns.channels"))]
            : [.. Enumerable.Range(0, header.Length).Where(i => i != time && i != entity && i != label)];
        if (channels.Length == 0)
            throw new InvalidDataException($"'{path}' has no channel columns besides time, label and entity ({string.Join(", ", header)}). A series needs at least one numeric column.");
        if (rows.Count == 0) throw new InvalidDataException($"'{path}' has a header but no readings.");
        int c = channels.Length;
        string channelFix = names.Channels.Length > 0
            ? "Fix the value, or drop the row."
            : $"Fix the value, drop the row, or list the numeric channels with --set series.columns.channels=[...] (now every column but time, label and entity: {string.Join(", ", channels.Select(i => header[i]))}).";

        // Rows grouped by entity in order of first appearance; each keeps its place in the file for messages.
        var order = new List<string>();
        var byEntity = new Dictionary<string, List<(double Time, float[] Values, int Label, int Line)>>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            string where = $"'{path}' {unit} {row.Line}";
            string key = entity >= 0 ? (row.Cells[entity] ?? "").Trim() : "";
            if (entity >= 0 && key.Length == 0)
                throw new InvalidDataException($"{where}: the entity column '{header[entity]}' is empty. Give every row its entity.");
            double t = ParseTime(row.Cells[time], where, header[time]);
            var values = new float[c];
            for (int j = 0; j < c; j++) values[j] = ParseValue(row.Cells[channels[j]], where, header[channels[j]], channelFix);
            int y = label >= 0 ? ParseLabel(row.Cells[label], where, header[label]) : 0;
            if (!byEntity.TryGetValue(key, out var list))
            {
                byEntity[key] = list = [];
                order.Add(key);
            }
            list.Add((t, values, y, row.Line));
        }

        var segments = new List<SeriesSegment>();
        var labels = new SortedSet<int>();
        for (int ei = 0; ei < order.Count; ei++)
        {
            var list = byEntity[order[ei]];
            string who = entity >= 0 ? $" ({header[entity]} {order[ei]})" : "";
            for (int i = 1; i < list.Count; i++)
            {
                if (list[i].Time >= list[i - 1].Time || options.Sort) continue;
                throw new InvalidDataException(
                    $"'{path}' {unit} {list[i].Line}{who}: time {Num(list[i].Time)} comes after {Num(list[i - 1].Time)} at {unit} {list[i - 1].Line}; the rows are not in time order. " +
                    "Sort the file by time (per entity), or pass --set series.sort=true to sort while reading.");
            }
            if (options.Sort) list = [.. list.OrderBy(r => r.Time)]; // stable: equal times keep file order for the message below
            for (int i = 1; i < list.Count; i++)
                if (list[i].Time == list[i - 1].Time)
                    throw new InvalidDataException(
                        $"'{path}' {unit} {list[i].Line}{who}: time {Num(list[i].Time)} repeats {unit} {list[i - 1].Line}'s. Each entity may have one reading per time stamp; " +
                        (entity >= 0 ? "drop the duplicate." : "drop the duplicate, or name the column that tells the series apart with --set series.columns.entity=NAME."));
            double limit = options.GapFactor * MedianStep(list.Select(r => r.Time).ToArray());
            int start = 0;
            for (int i = 1; i <= list.Count; i++)
            {
                bool gap = i < list.Count && list[i].Time - list[i - 1].Time > limit;
                if (gap && options.Gaps == GapPolicy.Error)
                    throw new InvalidDataException(
                        $"'{path}' {unit} {list[i].Line}{who}: a gap of {Num(list[i].Time - list[i - 1].Time)} after time {Num(list[i - 1].Time)} ({unit} {list[i - 1].Line}), " +
                        $"more than {Num(options.GapFactor)} times the usual step of {Num(limit / options.GapFactor)}. Fill in the missing readings, or pass --set series.gaps=Split " +
                        "to treat the parts before and after it as separate segments (no window spans a gap).");
                if (!gap && i < list.Count) continue;
                var part = list.GetRange(start, i - start);
                segments.Add(new SeriesSegment(order[ei], ei, [.. part.Select(r => r.Time)], [.. part.SelectMany(r => r.Values)],
                    label >= 0 ? [.. part.Select(r => r.Label)] : null, [.. part.Select(r => r.Line)]));
                if (label >= 0) labels.UnionWith(part.Select(r => r.Label));
                start = i;
            }
        }
        return new SeriesTable(path, [.. channels.Select(i => header[i])], segments, [.. labels]);
    }

    /// <summary>Median of the positive steps between consecutive times (infinity when there are none, so nothing is a gap).</summary>
    private static double MedianStep(double[] times)
    {
        var steps = new List<double>(Math.Max(0, times.Length - 1));
        for (int i = 1; i < times.Length; i++) steps.Add(times[i] - times[i - 1]);
        if (steps.Count == 0) return double.PositiveInfinity;
        steps.Sort();
        return steps[steps.Count / 2];
    }

    /// <summary>A time stamp as this reader takes it: a finite number (seconds, a counter), or an ISO 8601 date-time as Unix seconds.</summary>
    public static bool TryParseTime(string? text, out double time)
    {
        text = text?.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out time) && double.IsFinite(time)) return true;
        if (!string.IsNullOrEmpty(text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dt))
        {
            time = dt.ToUnixTimeMilliseconds() / 1000.0;
            return true;
        }
        time = double.NaN;
        return false;
    }

    /// <summary>A channel value as this reader takes it: a finite number (invariant culture).</summary>
    public static bool TryParseValue(string? text, out float value) =>
        float.TryParse(text?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && float.IsFinite(value);

    private static double ParseTime(string? cell, string where, string column)
    {
        var text = cell?.Trim();
        if (string.IsNullOrEmpty(text))
            throw new InvalidDataException($"{where}: the time column '{column}' is empty. Every reading needs its time stamp.");
        if (TryParseTime(text, out double t)) return t;
        throw new InvalidDataException($"{where}, column '{column}': '{text}' is neither a number nor a date-time (ISO 8601, e.g. 2010-05-09T10:00:05Z). Fix the time stamp.");
    }

    private static float ParseValue(string? cell, string where, string column, string fix)
    {
        var text = cell?.Trim();
        if (string.IsNullOrEmpty(text))
            throw new InvalidDataException($"{where}, column '{column}': the value is missing. {fix}");
        if (TryParseValue(text, out float v)) return v;
        throw new InvalidDataException($"{where}, column '{column}': '{text}' is not a finite number. {fix}");
    }

    private static int ParseLabel(string? cell, string where, string column)
    {
        var text = cell?.Trim();
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int y)) return y;
        // Exports often write integer labels as 1.0.
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
        throw new InvalidDataException($"{where}, column '{column}': label '{text}' is not an integer. Labels are integers (0 = normal); fix it, or name another label column with --set series.columns.label=NAME.");
    }

    private static string Num(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>Parquet columns as text cells, so both file formats go through one set of checks.</summary>
internal static class ParquetCells
{
    public static async Task<string?[]> Read(ParquetRowGroupReader group, Parquet.Schema.DataField field, int n, string path)
    {
        var c = CultureInfo.InvariantCulture;
        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            var cells = new string?[n];
            await group.ReadAsync(field, cells.AsMemory()).ConfigureAwait(false);
            return cells;
        }
        if (type == typeof(double)) return await Typed<double>(v => v.ToString("R", c)).ConfigureAwait(false);
        if (type == typeof(float)) return await Typed<float>(v => v.ToString("R", c)).ConfigureAwait(false);
        if (type == typeof(int)) return await Typed<int>(v => v.ToString(c)).ConfigureAwait(false);
        if (type == typeof(long)) return await Typed<long>(v => v.ToString(c)).ConfigureAwait(false);
        if (type == typeof(short)) return await Typed<short>(v => v.ToString(c)).ConfigureAwait(false);
        if (type == typeof(bool)) return await Typed<bool>(v => v ? "1" : "0").ConfigureAwait(false);
        if (type == typeof(DateTime)) return await Typed<DateTime>(v => DateTime.SpecifyKind(v, v.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : v.Kind).ToString("O", c)).ConfigureAwait(false);
        if (type == typeof(DateTimeOffset)) return await Typed<DateTimeOffset>(v => v.ToString("O", c)).ConfigureAwait(false);
        throw new InvalidDataException($"'{path}' column '{field.Name}' holds {type.Name} values; series columns must be numbers, date-times or text.");

        async Task<string?[]> Typed<T>(Func<T, string> format) where T : struct
        {
            var cells = new string?[n];
            if (field.IsNullable)
            {
                var values = new T?[n];
                await group.ReadAsync(field, values.AsMemory()).ConfigureAwait(false);
                for (int i = 0; i < n; i++) cells[i] = values[i] is T v ? format(v) : null;
            }
            else
            {
                var values = new T[n];
                await group.ReadAsync(field, values.AsMemory()).ConfigureAwait(false);
                for (int i = 0; i < n; i++) cells[i] = format(values[i]);
            }
            return cells;
        }
    }
}
