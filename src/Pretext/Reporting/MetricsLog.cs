using System.Globalization;
using System.Text;
using Pretext.Export;

namespace Pretext.Reporting;

/// <summary>
/// Append-only CSV log of training metrics with a fixed set of numeric columns, one row per call
/// to <see cref="Append(IReadOnlyDictionary{string, double})"/>.
/// </summary>
/// <remarks>
/// <para>Every row is flushed through to the disk before <c>Append</c> returns, so a crash (or a
/// killed job) loses nothing already logged. The cost, one fsync per row, is negligible at the
/// usual rate of a row every few steps.</para>
/// <para>Values are written with round-trip ("R") formatting in the invariant culture, so reading
/// the file back gives bit-identical doubles. A value not supplied is an empty cell and reads back
/// as <see cref="double.NaN"/>.</para>
/// <para>Resuming a run: <see cref="Open"/> drops rows logged after the checkpoint being resumed
/// from, so the resumed run does not log the same steps twice.</para>
/// </remarks>
public sealed class MetricsLog : IDisposable
{
    /// <summary>The column that <see cref="Open"/> truncates by.</summary>
    public const string StepColumn = "step";

    private readonly Dictionary<string, int> _index;
    private readonly FileStream _stream;
    private readonly StreamWriter _writer;
    private readonly string[] _cells;

    /// <summary>Path of the CSV file.</summary>
    public string Path { get; }

    /// <summary>Column names, in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    private MetricsLog(string path, string[] columns, FileStream stream)
    {
        Path = path;
        Columns = columns;
        _index = columns.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        _cells = new string[columns.Length];
        _stream = stream;
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
    }

    /// <summary>Creates a new log at <paramref name="path"/>, replacing any file there, and writes the header.</summary>
    /// <param name="path">CSV file; its directory is created if missing.</param>
    /// <param name="columns">Column names: unique, non-empty, without commas, quotes or line breaks.</param>
    /// <exception cref="ArgumentException">A column name is empty, duplicated or contains a forbidden character.</exception>
    public static MetricsLog Create(string path, IReadOnlyList<string> columns)
    {
        var cols = ValidateColumns(columns);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        var log = new MetricsLog(path, cols, stream);
        log.WriteLine(string.Join(',', cols));
        return log;
    }

    /// <summary>
    /// Opens a log for appending, creating it if it does not exist. Used to resume a run.
    /// </summary>
    /// <param name="path">CSV file written earlier by <see cref="Create"/> or <see cref="Open"/>.</param>
    /// <param name="columns">Expected columns; must equal the file's header, or extend it at the end (a log
    /// from before columns were added: the file is rewritten with the new columns, empty in its rows).</param>
    /// <param name="truncateAfterStep">When set, rows whose <c>step</c> exceeds this value are
    /// removed (rewritten through a temp file and a rename), because the resumed run will log
    /// those steps again. Requires a <c>step</c> column.</param>
    /// <remarks>A last line without its newline is the remains of a write cut short by a crash;
    /// it is dropped rather than glued to the next row.</remarks>
    /// <exception cref="InvalidDataException">The header differs from <paramref name="columns"/>,
    /// or a row is malformed; the message names the file, the line and the fix.</exception>
    /// <exception cref="ArgumentException"><paramref name="truncateAfterStep"/> is set but there
    /// is no <c>step</c> column, or a column name is invalid.</exception>
    public static MetricsLog Open(string path, IReadOnlyList<string> columns, long? truncateAfterStep = null)
    {
        var cols = ValidateColumns(columns);
        if (truncateAfterStep is not null && !cols.Contains(StepColumn, StringComparer.Ordinal))
            throw new ArgumentException($"Truncating by step needs a '{StepColumn}' column; columns are: {string.Join(", ", cols)}.", nameof(columns));
        if (!File.Exists(path)) return Create(path, cols);

        var text = File.ReadAllText(path, Encoding.UTF8);
        var lines = SplitCompleteLines(text, out bool hadPartialLine);
        if (lines.Count == 0) return Create(path, cols);

        var header = lines[0];
        var expected = string.Join(',', cols);
        var fileColumns = header.Split(',');
        // A log written before columns were appended to the run's set (an older version) keeps its
        // columns as a prefix: it is upgraded in place, the new columns empty in the old rows.
        bool upgrade = header != expected && fileColumns.Length < cols.Length && cols.Take(fileColumns.Length).SequenceEqual(fileColumns, StringComparer.Ordinal);
        if (header != expected && !upgrade)
            throw new InvalidDataException(
                $"'{path}' has columns '{header}' but the run expects '{expected}'. " +
                "Resume with the same metrics configuration, or start a new run directory.");
        string padding = new(',', cols.Length - fileColumns.Length);

        var keep = new List<string>(lines.Count) { expected };
        int stepIndex = Array.IndexOf(fileColumns, StepColumn);
        if (truncateAfterStep is not null && stepIndex < 0)
            throw new InvalidDataException($"'{path}' has no '{StepColumn}' column in its header '{header}'. Start a new run directory.");
        for (int i = 1; i < lines.Count; i++)
        {
            var cells = lines[i].Split(',');
            if (cells.Length != fileColumns.Length)
                throw new InvalidDataException($"'{path}' line {i + 1} has {cells.Length} cells, expected {fileColumns.Length}. Repair or delete the line.");
            if (truncateAfterStep is long last)
            {
                double step = ParseCell(cells[stepIndex], path, i + 1, StepColumn);
                if (step > last) continue;
            }
            keep.Add(lines[i] + padding);
        }

        if (keep.Count != lines.Count || hadPartialLine || upgrade)
            AtomicFile.WriteText(path, w => { foreach (var line in keep) w.WriteLine(line); });

        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        return new MetricsLog(path, cols, stream);
    }

    /// <summary>Appends one row. Columns missing from <paramref name="values"/> are left empty.</summary>
    /// <exception cref="ArgumentException">A key is not one of <see cref="Columns"/>.</exception>
    /// <exception cref="ObjectDisposedException">The log was disposed.</exception>
    public void Append(IReadOnlyDictionary<string, double> values)
    {
        Array.Fill(_cells, "");
        foreach (var (key, value) in values)
        {
            if (!_index.TryGetValue(key, out int i))
                throw new ArgumentException($"'{key}' is not a column of '{Path}'. Columns: {string.Join(", ", Columns)}.", nameof(values));
            _cells[i] = Format(value);
        }
        WriteLine(string.Join(',', _cells));
    }

    /// <summary>Appends one row given as values in <see cref="Columns"/> order.</summary>
    /// <exception cref="ArgumentException">The number of values differs from the number of columns.</exception>
    public void Append(params double[] values)
    {
        if (values.Length != _cells.Length)
            throw new ArgumentException($"Got {values.Length} values for the {_cells.Length} columns of '{Path}' ({string.Join(", ", Columns)}).", nameof(values));
        for (int i = 0; i < values.Length; i++) _cells[i] = Format(values[i]);
        WriteLine(string.Join(',', _cells));
    }

    /// <summary>Reads every row of a log as column name to value; empty cells read as NaN.</summary>
    /// <remarks>A trailing line cut short by a crash is ignored.</remarks>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A row has the wrong number of cells or a non-numeric cell.</exception>
    public static IReadOnlyList<IReadOnlyDictionary<string, double>> Read(string path)
    {
        // FileShare.ReadWrite: reading a log that a running training job still appends to is normal.
        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
            text = reader.ReadToEnd();

        var lines = SplitCompleteLines(text, out _);
        if (lines.Count == 0)
            throw new InvalidDataException($"'{path}' is empty; a metrics log starts with a header line. Delete the file or rerun.");
        var columns = lines[0].Split(',');
        var rows = new List<IReadOnlyDictionary<string, double>>(lines.Count - 1);
        for (int i = 1; i < lines.Count; i++)
        {
            var cells = lines[i].Split(',');
            if (cells.Length != columns.Length)
                throw new InvalidDataException($"'{path}' line {i + 1} has {cells.Length} cells, expected {columns.Length}. Repair or delete the line.");
            var row = new Dictionary<string, double>(columns.Length, StringComparer.Ordinal);
            for (int c = 0; c < columns.Length; c++) row[columns[c]] = ParseCell(cells[c], path, i + 1, columns[c]);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// Extracts an (x, y) series for plotting, skipping rows where either value is missing or not finite.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> or <paramref name="y"/> is not a column of the rows.</exception>
    public static (double[] X, double[] Y) Series(IEnumerable<IReadOnlyDictionary<string, double>> rows, string x, string y)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (var row in rows)
        {
            if (!row.TryGetValue(x, out double xv)) throw new ArgumentException($"No column '{x}' in the metrics rows.", nameof(x));
            if (!row.TryGetValue(y, out double yv)) throw new ArgumentException($"No column '{y}' in the metrics rows.", nameof(y));
            if (!double.IsFinite(xv) || !double.IsFinite(yv)) continue;
            xs.Add(xv);
            ys.Add(yv);
        }
        return (xs.ToArray(), ys.ToArray());
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writer.Dispose();
        _stream.Dispose();
    }

    private void WriteLine(string line)
    {
        _writer.WriteLine(line);
        _writer.Flush();
        _stream.Flush(flushToDisk: true);
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static double ParseCell(string cell, string path, int line, string column)
    {
        if (cell.Length == 0) return double.NaN;
        if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return v;
        throw new InvalidDataException($"'{path}' line {line}, column '{column}': '{cell}' is not a number. Repair or delete the line.");
    }

    private static List<string> SplitCompleteLines(string text, out bool hadPartialLine)
    {
        var lines = text.Split('\n').ToList();
        // Split leaves "" after a final newline; anything else there is a line the crash cut short.
        hadPartialLine = lines[^1].Length != 0;
        lines.RemoveAt(lines.Count - 1);
        for (int i = 0; i < lines.Count; i++) lines[i] = lines[i].TrimEnd('\r');
        return lines;
    }

    private static string[] ValidateColumns(IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0) throw new ArgumentException("A metrics log needs at least one column.", nameof(columns));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in columns)
        {
            if (string.IsNullOrWhiteSpace(c) || c.AsSpan().IndexOfAny(",\"\r\n") >= 0 || c.Trim() != c)
                throw new ArgumentException($"Column name '{c}' is invalid: use non-empty names without commas, quotes, line breaks or surrounding spaces.", nameof(columns));
            if (!seen.Add(c)) throw new ArgumentException($"Column '{c}' appears twice.", nameof(columns));
        }
        return columns.ToArray();
    }
}
