using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;

namespace Pretext.Export;

/// <summary>
/// A small table of named, typed columns (text, numbers, integers, flags) written to CSV or Parquet by the file's extension, atomically.
/// For results that are rows of a few columns (anomaly scores per reading or window); embeddings have their own writer.
/// </summary>
/// <remarks>
/// CSV: a header row, invariant culture, doubles in shortest round-trip form, a non-finite number as an empty cell, flags as
/// <c>true</c>/<c>false</c>, text quoted per RFC 4180 where needed. Parquet: flat columns; numbers are optional doubles (null where
/// the value is not finite), text, integers and flags are required.
/// </remarks>
public sealed class ColumnTable(int rows)
{
    private readonly List<(string Name, Array Values)> columns = [];

    public int Rows { get; } = rows >= 0 ? rows : throw new ArgumentOutOfRangeException(nameof(rows), rows, "A table has 0 or more rows.");
    public IReadOnlyList<string> Names => [.. columns.Select(c => c.Name)];

    /// <summary>Adds a column of text, double, int or bool values, one per row; returns this table.</summary>
    /// <exception cref="ArgumentException">Another length than <see cref="Rows"/>, a repeated name, or another element type.</exception>
    public ColumnTable Add<T>(string name, T[] values)
    {
        if (values.Length != Rows) throw new ArgumentException($"Column '{name}' has {values.Length} values for {Rows} rows.");
        if (typeof(T) != typeof(string) && typeof(T) != typeof(double) && typeof(T) != typeof(int) && typeof(T) != typeof(bool))
            throw new ArgumentException($"Column '{name}' holds {typeof(T).Name}; a table holds string, double, int or bool columns.");
        if (columns.Any(c => c.Name == name)) throw new ArgumentException($"The table already has a column '{name}'.");
        columns.Add((name, values));
        return this;
    }

    /// <summary>Writes the table to <paramref name="path"/>: .csv or .parquet.</summary>
    /// <exception cref="ArgumentException">Another extension.</exception>
    public void Write(string path)
    {
        if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) WriteCsv(path);
        else if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)) WriteParquet(path).GetAwaiter().GetResult();
        else throw new ArgumentException($"'{path}': write a .csv or .parquet file.");
    }

    /// <summary>Whether <paramref name="path"/> names a file <see cref="Write"/> can write.</summary>
    public static bool Writable(string path) =>
        path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    /// <summary>The column named <paramref name="name"/> (string[], double[], int[] or bool[]).</summary>
    /// <exception cref="KeyNotFoundException">No such column.</exception>
    public Array Column(string name) => columns.FirstOrDefault(c => c.Name == name).Values
        ?? throw new KeyNotFoundException($"The table has no column '{name}'; it has {string.Join(", ", Names)}.");

    private void WriteCsv(string path) => AtomicFile.WriteText(path, w =>
    {
        WriteCsvHeader(w);
        WriteCsvRows(w);
    });

    internal void WriteCsvHeader(TextWriter w) => w.WriteLine(string.Join(',', columns.Select(col => CsvRecords.Quote(col.Name))));

    internal void WriteCsvRows(TextWriter w)
    {
        var c = CultureInfo.InvariantCulture;
        var line = new StringBuilder();
        for (int r = 0; r < Rows; r++)
        {
            line.Clear();
            for (int j = 0; j < columns.Count; j++)
            {
                if (j > 0) line.Append(',');
                switch (columns[j].Values)
                {
                    case string[] s: line.Append(CsvRecords.Quote(s[r])); break;
                    case double[] d: if (double.IsFinite(d[r])) line.Append(d[r].ToString("R", c)); break;
                    case int[] i: line.Append(i[r].ToString(c)); break;
                    case bool[] b: line.Append(b[r] ? "true" : "false"); break;
                }
            }
            w.WriteLine(line);
        }
    }

    internal ParquetSchema Schema() => new([.. columns.Select(col => col.Values switch
    {
        string[] => (DataField)new DataField<string>(col.Name, nullable: false),
        double[] => new DataField<double?>(col.Name),
        int[] => new DataField<int>(col.Name, nullable: false),
        _ => new DataField<bool>(col.Name, nullable: false),
    })]);

    /// <summary>Writes the rows as one row group of <paramref name="writer"/>, whose schema is <see cref="Schema"/>'s.</summary>
    internal async Task WriteRowGroup(ParquetWriter writer, ParquetSchema schema)
    {
        var fields = schema.GetDataFields();
        using var group = writer.CreateRowGroup();
        for (int j = 0; j < columns.Count; j++)
        {
            switch (columns[j].Values)
            {
                case string[] s: await group.WriteAsync(fields[j], new ArraySegment<string>(s)).ConfigureAwait(false); break;
                case double[] d:
                    var nullable = d.Select(v => double.IsFinite(v) ? v : (double?)null).ToArray();
                    await group.WriteAsync<double>(fields[j], new ReadOnlyMemory<double?>(nullable)).ConfigureAwait(false);
                    break;
                case int[] i: await group.WriteAsync(fields[j], new ReadOnlyMemory<int>(i)).ConfigureAwait(false); break;
                case bool[] b: await group.WriteAsync(fields[j], new ReadOnlyMemory<bool>(b)).ConfigureAwait(false); break;
            }
        }
        group.CompleteValidate();
    }

    private Task WriteParquet(string path)
    {
        var schema = Schema();
        return AtomicFile.WriteAsync(path, async stream =>
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream).ConfigureAwait(false);
            await WriteRowGroup(writer, schema).ConfigureAwait(false);
        });
    }
}
