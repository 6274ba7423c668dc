using System.Globalization;
using Parquet;
using Pretext.Data.Series;
using Pretext.Export;

namespace Pretext.Data.Tables;

/// <summary>What a column holds once read.</summary>
public enum ColumnKind
{
    /// <summary>Numbers (missing values allowed); standardised, with a missing indicator.</summary>
    Numeric,
    /// <summary>Values from a vocabulary (ARFF nominal, or text in CSV/Parquet); one embedding per value plus an unknown bucket.</summary>
    Categorical,
    /// <summary>true/false or yes/no; read as a categorical column of two values.</summary>
    Boolean,
    /// <summary>Free text (ARFF string/date); not a feature, usable only as the label, entity or id column.</summary>
    Text,
}

/// <summary>A column's type as the file declares it (ARFF), with its nominal values in declared order.</summary>
public sealed record DeclaredType(ColumnKind Kind, string[]? Values);

/// <summary>One data row: its line (CSV, ARFF) or row (Parquet) number and its cells (null: missing).</summary>
public readonly record struct RawRow(int Line, string?[] Cells);

/// <summary>A file's cells before inference: column names, declared types (ARFF; null elsewhere) and rows.</summary>
/// <param name="Unit">"line" or "row": how messages point into the file.</param>
public sealed record RawTable(string Path, string Unit, string[] Names, DeclaredType?[] Declared, List<RawRow> Rows);

/// <summary>Which columns of a table hold what; the rest are features.</summary>
public sealed record TableColumns
{
    /// <summary>The class column; null: a column named "class" or "label" when there is one (unlabelled otherwise).</summary>
    public string? Label { get; init; }
    /// <summary>Which customer, patient or machine a row belongs to (kept as the row's entity, never a feature). Null: none.</summary>
    public string? Entity { get; init; }
    /// <summary>A column of record ids (used in exports, never a feature). Null: the row's line in the file.</summary>
    public string? Id { get; init; }
    /// <summary>Columns left out.</summary>
    public string[] Ignore { get; init; } = [];
    /// <summary>Column names of a CSV file without a header row (empty: the first row is the header).</summary>
    public string[] Names { get; init; } = [];
    /// <summary>Columns read as categorical even when every value is a number (codes such as zip codes).</summary>
    public string[] Categorical { get; init; } = [];
    /// <summary>Columns read as numbers whatever their values: a value that is not a number is an error naming its line (a model's numeric columns when it scores a file).</summary>
    public string[] Numeric { get; init; } = [];

    public bool Equals(TableColumns? o) => o is not null && Label == o.Label && Entity == o.Entity && Id == o.Id
        && Ignore.SequenceEqual(o.Ignore) && Names.SequenceEqual(o.Names) && Categorical.SequenceEqual(o.Categorical) && Numeric.SequenceEqual(o.Numeric);

    public override int GetHashCode() => HashCode.Combine(Label, Entity, Id, Ignore.Length, Names.Length, Categorical.Length);
}

/// <summary>
/// Reads a table from CSV (RFC 4180, header row unless <see cref="TableColumns.Names"/> gives the names), Parquet or ARFF
/// (<see cref="ArffReader"/>) and infers its schema: a column is numeric when every present value is a number, boolean when
/// every present value is true/false or yes/no, categorical otherwise (ARFF declarations win). Missing values are empty cells,
/// '?', NA, N/A, null or NaN. Errors name the file, the line or row, the column and the fix.
/// </summary>
public static class TableFiles
{
    private static readonly string[] Extensions = [".csv", ".parquet", ".arff", ".data", ".rda", ".rdata"];
    private static readonly HashSet<string> MissingTokens = new(["", "?", "NA", "N/A", "null", "NaN", "nan"], StringComparer.OrdinalIgnoreCase);
    internal static readonly HashSet<string> TrueTokens = new(["true", "yes", "t", "y"], StringComparer.OrdinalIgnoreCase);
    internal static readonly HashSet<string> FalseTokens = new(["false", "no", "f", "n"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="path"/> is an existing .csv, .parquet, .arff, .data (CSV) or .rda/.RData (R data frame) file.</summary>
    public static bool IsTableFile(string path) => File.Exists(path) && Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads and types <paramref name="path"/>.</summary>
    /// <param name="name">The rows' name in messages and reports (default: the path).</param>
    /// <param name="formatName">The file name whose extension says the format (default: the path's; the fetcher checks copies under temporary names).</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">A rule above is broken; the message names the place and the fix.</exception>
    public static TableRows Read(string path, TableColumns columns, string? name = null, string? formatName = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Table file '{path}' does not exist.", path);
        formatName ??= path;
        var raw = formatName.EndsWith(".arff", StringComparison.OrdinalIgnoreCase) ? ArffReader.Read(path)
            : formatName.EndsWith(".rda", StringComparison.OrdinalIgnoreCase) || formatName.EndsWith(".rdata", StringComparison.OrdinalIgnoreCase) ? RDataReader.Read(path)
            : formatName.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? ReadParquet(path)
            : ReadCsv(path, columns.Names);
        return Infer(raw, columns, name ?? path);
    }

    private static RawTable ReadCsv(string path, string[] names)
    {
        using var reader = new StreamReader(path);
        using var records = CsvRecords.ReadWithLines(reader, path).GetEnumerator();
        string[] header;
        var rows = new List<RawRow>();
        if (names.Length > 0) header = names;
        else
        {
            if (!records.MoveNext()) throw new InvalidDataException($"'{path}' is empty; a table file starts with a header row naming its columns (or give the names with --set table.columns.names=[...]).");
            header = [.. records.Current.Fields.Select(h => h.Trim())];
        }
        while (records.MoveNext())
        {
            var (line, fields) = records.Current;
            if (fields.Count == 1 && fields[0].Trim().Length == 0) continue;
            if (fields.Count != header.Length)
                throw new InvalidDataException($"'{path}' line {line}: {fields.Count} fields where the header has {header.Length} ({string.Join(",", header)}). Give every row one value per column.");
            rows.Add(new RawRow(line, [.. fields.Select(f => f.Trim())]));
        }
        return new RawTable(path, "line", header, new DeclaredType?[header.Length], rows);
    }

    private static RawTable ReadParquet(string path)
    {
        return ReadAsync().GetAwaiter().GetResult();

        async Task<RawTable> ReadAsync()
        {
            await using var stream = File.OpenRead(path);
            ParquetReader reader;
            try { reader = await ParquetReader.CreateAsync(stream).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or InvalidOperationException or NotSupportedException)
            {
                throw new InvalidDataException($"'{path}' is not a readable Parquet file ({e.Message}). Re-export it, or export CSV instead.", e);
            }
            await using (reader)
            {
                var fields = reader.Schema.GetDataFields();
                var rows = new List<RawRow>();
                for (int g = 0; g < reader.RowGroupCount; g++)
                {
                    using var group = reader.OpenRowGroupReader(g);
                    int n = checked((int)group.RowCount);
                    var cols = new string?[fields.Length][];
                    for (int j = 0; j < fields.Length; j++) cols[j] = await ParquetCells.Read(group, fields[j], n, path).ConfigureAwait(false);
                    for (int r = 0; r < n; r++)
                    {
                        var cells = new string?[fields.Length];
                        for (int j = 0; j < fields.Length; j++) cells[j] = cols[j][r];
                        rows.Add(new RawRow(rows.Count + 1, cells));
                    }
                }
                return new RawTable(path, "row", [.. fields.Select(f => f.Name)], new DeclaredType?[fields.Length], rows);
            }
        }
    }

    internal static bool IsMissing(string? cell) => cell is null || MissingTokens.Contains(cell.Trim());

    internal static int Column(string[] names, string name, string path, string what, string option)
    {
        int i = Array.FindIndex(names, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
        return i >= 0 ? i : throw new InvalidDataException(
            $"'{path}' has no {what} column '{name}'; its columns are {string.Join(", ", names)}. Name the right one with --set {option}=NAME.");
    }

    /// <summary>Types the columns of <paramref name="raw"/> and splits them into features, label, entity and ids.</summary>
    /// <exception cref="InvalidDataException">A missing column, a missing label, a value that breaks a declared type, or no feature.</exception>
    public static TableRows Infer(RawTable raw, TableColumns columns, string name)
    {
        string path = raw.Path;
        var names = raw.Names;
        if (raw.Rows.Count == 0) throw new InvalidDataException($"'{path}' has a header but no rows.");
        int label = columns.Label is { } l ? Column(names, l, path, "label", "table.columns.label")
            : Array.FindIndex(names, h => h.Equals("class", StringComparison.OrdinalIgnoreCase) || h.Equals("label", StringComparison.OrdinalIgnoreCase));
        int entity = columns.Entity is { } e ? Column(names, e, path, "entity", "table.columns.entity") : -1;
        int id = columns.Id is { } d ? Column(names, d, path, "id", "table.columns.id") : -1;
        var ignored = new HashSet<int>(columns.Ignore.Select(x => Column(names, x, path, "ignored", "table.columns.ignore")));
        var forcedCategorical = new HashSet<int>(columns.Categorical.Select(x => Column(names, x, path, "categorical", "table.columns.categorical")));
        var forcedNumeric = new HashSet<int>(columns.Numeric.Select(x => Column(names, x, path, "numeric", "table.columns.numeric")));
        var numeric = new List<int>();
        var categorical = new List<(int Index, ColumnKind Kind, string[]? Declared)>();
        for (int j = 0; j < names.Length; j++)
        {
            if (j == label || j == entity || j == id || ignored.Contains(j)) continue;
            var kind = raw.Declared[j]?.Kind ?? (forcedNumeric.Contains(j) ? ColumnKind.Numeric : InferKind(raw.Rows, j, forcedCategorical.Contains(j)));
            if (kind == ColumnKind.Text) continue;
            if (kind == ColumnKind.Numeric) numeric.Add(j);
            else categorical.Add((j, kind, raw.Declared[j]?.Values));
        }
        if (numeric.Count + categorical.Count == 0)
            throw new InvalidDataException($"'{path}' has no feature columns besides the label, entity, id and ignored ones ({string.Join(", ", names)}).");

        int n = raw.Rows.Count, nn = numeric.Count, nc = categorical.Count;
        var layout = new RowLayout(path, raw.Unit, names, [.. numeric], [.. categorical], label, entity, id, raw.Declared, forcedNumeric);
        var values = new float[n * nn];
        var cats = new string?[n * nc];
        var ids = new string[n];
        var entities = entity >= 0 ? new string[n] : null;
        string[] classNames = [];
        int[]? labels = null;
        Dictionary<string, int>? classIndex = null;
        if (label >= 0)
        {
            classNames = raw.Declared[label]?.Values is { } declared ? declared
                : [.. raw.Rows.Select(r => r.Cells[label]).Where(v => !IsMissing(v)).Select(v => v!.Trim()).Distinct().Order(StringComparer.Ordinal)];
            classIndex = classNames.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal);
            labels = new int[n];
        }
        for (int i = 0; i < n; i++)
        {
            var row = raw.Rows[i];
            var (y, ent, rowId) = layout.ReadRow(row, values.AsSpan(i * nn, nn), cats.AsSpan(i * nc, nc));
            if (labels is not null)
            {
                if (!classIndex!.TryGetValue(y!, out var yi))
                    throw new InvalidDataException($"{layout.Where(row)}, column '{names[label]}': '{row.Cells[label]}' is not one of its declared classes {{{string.Join(", ", classNames)}}}. Fix the value or add it to the @attribute line.");
                labels[i] = yi;
            }
            if (entities is not null) entities[i] = ent!;
            ids[i] = rowId;
        }
        return new TableRows(name, [.. numeric.Select(j => names[j])], [.. categorical.Select(p => names[p.Index])],
            [.. categorical.Select(p => p.Kind == ColumnKind.Boolean ? ["false", "true"] : p.Declared ?? [])],
            values, cats, labels, classNames, ids, entities);
    }

    private static readonly HashSet<string> NonFiniteTokens = new(StringComparer.OrdinalIgnoreCase)
        { "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan", "∞", "-∞" };

    /// <summary>How files write infinity and NaN (Python, R, Excel exports), which a numeric column must not take silently.</summary>
    internal static bool IsNonFiniteToken(string value) => NonFiniteTokens.Contains(value.Trim());

    private static ColumnKind InferKind(List<RawRow> rows, int j, bool forceCategorical)
    {
        bool number = !forceCategorical, boolean = true, any = false;
        foreach (var row in rows)
        {
            var cell = row.Cells[j];
            if (IsMissing(cell)) continue;
            any = true;
            var v = cell!.Trim();
            // "inf" or "nan" in a column of numbers is a bad number (refused when the row is read), not a reason to read the column as categories.
            if (number && !IsNonFiniteToken(v) && !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) number = false;
            if (boolean && !TrueTokens.Contains(v) && !FalseTokens.Contains(v)) boolean = false;
            if (!number && !boolean) return ColumnKind.Categorical;
        }
        return !any || number ? ColumnKind.Numeric : boolean ? ColumnKind.Boolean : ColumnKind.Categorical;
    }
}

/// <summary>
/// Where a file's columns go (numeric and categorical features, label, entity, id) and how one row is typed by it: shared by
/// whole-file reads (<see cref="TableFiles.Infer"/>) and chunked ones (<see cref="CsvTableStream"/>), so both read the same values and
/// refuse the same cells with the same messages.
/// </summary>
internal sealed class RowLayout(string path, string unit, string[] names, int[] numeric, (int Index, ColumnKind Kind, string[]? Declared)[] categorical,
    int label, int entity, int id, DeclaredType?[] declared, HashSet<int> forcedNumeric)
{
    public string[] Names => names;
    public int[] Numeric => numeric;
    public (int Index, ColumnKind Kind, string[]? Declared)[] Categorical => categorical;
    public int Label => label;
    public int Entity => entity;
    public int Id => id;

    /// <summary>"'file' line 12": where messages point.</summary>
    public string Where(RawRow row) => $"'{path}' {unit} {row.Line}";

    /// <summary>
    /// Types <paramref name="row"/>: its numbers into <paramref name="values"/> (NaN: missing), its categories into <paramref name="cats"/>
    /// (null: missing); returns its label (trimmed; null without a label column), entity and id (the id column, else its line).
    /// </summary>
    /// <exception cref="InvalidDataException">A number that does not parse, a value outside a declared list, a missing label or entity; the message names the file, line and column.</exception>
    public (string? Label, string? Entity, string Id) ReadRow(RawRow row, Span<float> values, Span<string?> cats)
    {
        var c = CultureInfo.InvariantCulture;
        for (int k = 0; k < numeric.Length; k++)
        {
            var cell = row.Cells[numeric[k]];
            if (TableFiles.IsMissing(cell)) { values[k] = float.NaN; continue; }
            bool parsed = double.TryParse(cell, NumberStyles.Float, c, out var v);
            if ((parsed && !double.IsFinite(v)) || (!parsed && TableFiles.IsNonFiniteToken(cell!)))
                throw new InvalidDataException($"{Where(row)}, column '{names[numeric[k]]}': '{cell!.Trim()}' is not a finite number. Fix the value, or write '?' or leave it empty for a missing value.");
            if (!parsed)
                throw new InvalidDataException($"{Where(row)}, column '{names[numeric[k]]}': '{cell}' is not a number, and the column is numeric{(declared[numeric[k]] is not null ? " (declared so)" : forcedNumeric.Contains(numeric[k]) ? " (table.columns.numeric, or the model's)" : " (its other values are)")}. Fix the value, write '?' or leave it empty for a missing value, or read the column as categorical (--set table.columns.categorical=[{names[numeric[k]]}]).");
            values[k] = (float)v;
        }
        for (int k = 0; k < categorical.Length; k++)
        {
            var (j, kind, declaredValues) = categorical[k];
            var cell = row.Cells[j];
            if (TableFiles.IsMissing(cell)) { cats[k] = null; continue; }
            var v = cell!.Trim();
            if (kind == ColumnKind.Boolean) v = TableFiles.TrueTokens.Contains(v) ? "true" : "false";
            else if (declaredValues is not null && !declaredValues.Contains(v, StringComparer.Ordinal))
                throw new InvalidDataException($"{Where(row)}, column '{names[j]}': '{v}' is not one of its declared values {{{string.Join(", ", declaredValues)}}}. Fix the value or add it to the @attribute line.");
            cats[k] = v;
        }
        string? y = null, e = null;
        if (label >= 0)
        {
            var cell = row.Cells[label];
            if (TableFiles.IsMissing(cell))
                throw new InvalidDataException($"{Where(row)}, column '{names[label]}': the label is missing. Label every row, drop the unlabelled ones, or name another label column (--set table.columns.label=NAME).");
            y = cell!.Trim();
        }
        if (entity >= 0)
        {
            var cell = row.Cells[entity];
            if (TableFiles.IsMissing(cell)) throw new InvalidDataException($"{Where(row)}, column '{names[entity]}': the entity is missing. Give every row its entity.");
            e = cell!.Trim();
        }
        string rowId = id >= 0 && !TableFiles.IsMissing(row.Cells[id]) ? row.Cells[id]!.Trim() : row.Line.ToString(c);
        return (y, e, rowId);
    }
}
