using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;

namespace Pretext.Export;

/// <summary>
/// Writes embeddings to CSV and Parquet for use outside Pretext (pandas, DuckDB, R, Spark), and
/// reads both formats back. Writes are atomic: a temp file in the same directory, then a rename.
/// </summary>
/// <remarks>
/// <para><b>Columns, both formats:</b> <c>id</c> (string), <c>label</c> (int32), then one column per
/// embedding dimension <c>e0</c> .. <c>e{D-1}</c> (float32).</para>
/// <para><b>CSV:</b> header <c>id,label,e0,...</c>; invariant culture; floats in shortest
/// round-trip form, so reading back gives the identical bits; the label cell is empty when there
/// are no labels; ids are quoted per RFC 4180 when they contain a comma, quote or line break.</para>
/// <para><b>Parquet:</b> flat required columns, with <c>label</c> absent when there are no labels.
/// One float column per dimension was chosen over a single list column because every Parquet
/// reader handles flat primitive columns, column statistics stay per dimension, and no
/// repetition levels are involved. Rows are split into row groups of <see cref="RowGroupSize"/>.</para>
/// </remarks>
public static class EmbeddingWriter
{
    /// <summary>Rows per Parquet row group: bounds writer memory for large exports.</summary>
    public const int RowGroupSize = 65_536;

    private const string IdColumn = "id";
    private const string LabelColumn = "label";

    /// <summary>Writes embeddings of shape (<paramref name="n"/>, <paramref name="d"/>) to CSV.</summary>
    /// <exception cref="ArgumentException">Array lengths disagree with the shape.</exception>
    public static void WriteCsv(string path, float[] data, int n, int d, string[] ids, int[]? labels = null) =>
        WriteCsv(path, new EmbeddingTable(data, n, d, ids, labels));

    /// <summary>Writes an <see cref="EmbeddingTable"/> to CSV.</summary>
    public static void WriteCsv(string path, EmbeddingTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        AtomicFile.WriteText(path, w =>
        {
            var line = new StringBuilder();
            line.Append(IdColumn).Append(',').Append(LabelColumn);
            for (int j = 0; j < table.Dim; j++) line.Append(",e").Append(j);
            w.WriteLine(line);
            for (int i = 0; i < table.Count; i++)
            {
                line.Clear();
                line.Append(QuoteCsv(table.Ids[i])).Append(',');
                if (table.Labels is not null) line.Append(table.Labels[i].ToString(CultureInfo.InvariantCulture));
                foreach (var v in table.Row(i)) line.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
                w.WriteLine(line);
            }
        });
    }

    /// <summary>Reads a CSV file written by <see cref="WriteCsv(string, EmbeddingTable)"/>.</summary>
    /// <exception cref="InvalidDataException">The header or a record does not match the format;
    /// the message names the file and the record.</exception>
    public static EmbeddingTable ReadCsv(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var records = CsvRecords.Read(reader, path).GetEnumerator();
        if (!records.MoveNext())
            throw new InvalidDataException($"'{path}' is empty; expected a header 'id,label,e0,...'. Re-export the embeddings.");
        var header = records.Current;
        int d = header.Count - 2;
        bool headerOk = d >= 1 && header[0] == IdColumn && header[1] == LabelColumn;
        for (int j = 0; headerOk && j < d; j++) headerOk = header[j + 2] == $"e{j}";
        if (!headerOk)
            throw new InvalidDataException($"'{path}' has header '{string.Join(',', header)}'; expected 'id,label,e0,...,e{{D-1}}'. Re-export the embeddings with {nameof(EmbeddingWriter)}.");

        var ids = new List<string>();
        var labels = new List<int>();
        var data = new List<float>();
        int labelled = 0, record = 1;
        while (records.MoveNext())
        {
            record++;
            var cells = records.Current;
            if (cells.Count != d + 2)
                throw new InvalidDataException($"'{path}' record {record} has {cells.Count} cells, expected {d + 2}. Re-export the embeddings.");
            ids.Add(cells[0]);
            if (cells[1].Length > 0)
            {
                labels.Add(ParseInt(cells[1], path, record));
                labelled++;
            }
            for (int j = 0; j < d; j++) data.Add(ParseFloat(cells[j + 2], path, record, j));
        }
        if (labelled != 0 && labelled != ids.Count)
            throw new InvalidDataException($"'{path}' has labels on {labelled} of {ids.Count} rows; either every row or none must have one. Fill in the missing labels.");
        return new EmbeddingTable(data.ToArray(), ids.Count, d, ids.ToArray(), labelled == 0 ? null : labels.ToArray());
    }

    /// <summary>Writes embeddings of shape (<paramref name="n"/>, <paramref name="d"/>) to Parquet.</summary>
    /// <exception cref="ArgumentException">Array lengths disagree with the shape.</exception>
    public static Task WriteParquetAsync(string path, float[] data, int n, int d, string[] ids, int[]? labels = null, CancellationToken cancellationToken = default) =>
        WriteParquetAsync(path, new EmbeddingTable(data, n, d, ids, labels), cancellationToken);

    /// <summary>Writes an <see cref="EmbeddingTable"/> to Parquet.</summary>
    public static Task WriteParquetAsync(string path, EmbeddingTable table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        var idField = new DataField<string>(IdColumn, nullable: false);
        var labelField = table.Labels is null ? null : new DataField<int>(LabelColumn, nullable: false);
        var valueFields = Enumerable.Range(0, table.Dim).Select(j => new DataField<float>($"e{j}", nullable: false)).ToArray();
        var fields = new List<Field> { idField };
        if (labelField is not null) fields.Add(labelField);
        fields.AddRange(valueFields);
        var schema = new ParquetSchema(fields);

        return AtomicFile.WriteAsync(path, async stream =>
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            var column = new float[Math.Min(RowGroupSize, table.Count)];
            // An empty table still gets one (empty) row group so readers find the schema's columns.
            for (int start = 0; start < table.Count || start == 0; start += RowGroupSize)
            {
                int rows = Math.Min(RowGroupSize, table.Count - start);
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(idField, new ArraySegment<string>(table.Ids, start, rows)).ConfigureAwait(false);
                if (labelField is not null)
                    await group.WriteAsync(labelField, new ReadOnlyMemory<int>(table.Labels!, start, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
                for (int j = 0; j < table.Dim; j++)
                {
                    // Parquet is columnar: gather dimension j of this group's rows into one column.
                    for (int r = 0; r < rows; r++) column[r] = table.Data[(long)(start + r) * table.Dim + j];
                    await group.WriteAsync(valueFields[j], new ReadOnlyMemory<float>(column, 0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                group.CompleteValidate();
                if (rows == 0) break;
            }
        });
    }

    /// <summary>Reads a Parquet file written by <see cref="WriteParquetAsync(string, EmbeddingTable, CancellationToken)"/>.</summary>
    /// <exception cref="InvalidDataException">The columns do not match the format; the message names the file.</exception>
    public static async Task<EmbeddingTable> ReadParquetAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        var fields = reader.Schema.GetDataFields();
        // Parquet.Net 6 reports a file's string columns as ReadOnlyMemory<char> unless asked otherwise.
        var idField = fields.FirstOrDefault(f => f.Name == IdColumn && (f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>)));
        var labelField = fields.FirstOrDefault(f => f.Name == LabelColumn);
        var valueFields = new List<DataField>();
        while (fields.FirstOrDefault(f => f.Name == $"e{valueFields.Count}") is { } f) valueFields.Add(f);
        if (idField is null || valueFields.Count == 0 || valueFields.Any(f => f.ClrType != typeof(float) || f.IsNullable)
            || (labelField is not null && (labelField.ClrType != typeof(int) || labelField.IsNullable)))
            throw new InvalidDataException(
                $"'{path}' has columns [{string.Join(", ", fields.Select(f => $"{f.Name}:{f.ClrType.Name}{(f.IsNullable ? "?" : "")}"))}]; " +
                $"expected id:String, optional label:Int32, e0..e{{D-1}}:Single (all required). Re-export the embeddings with {nameof(EmbeddingWriter)}.");

        int d = valueFields.Count;
        long total = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            total += group.RowCount;
        }
        if (total * d > Array.MaxLength)
            throw new InvalidDataException($"'{path}' holds {total} x {d} values, more than one array can hold; split the export.");

        var ids = new string?[total];
        var labels = labelField is null ? null : new int[total];
        var data = new float[total * d];
        var column = Array.Empty<float>();
        int offset = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            int rows = checked((int)group.RowCount);
            await group.ReadAsync(idField, ids.AsMemory(offset, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (labelField is not null)
                await group.ReadAsync<int>(labelField, labels.AsMemory(offset, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (column.Length < rows) column = new float[rows];
            for (int j = 0; j < d; j++)
            {
                await group.ReadAsync<float>(valueFields[j], column.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
                for (int r = 0; r < rows; r++) data[(long)(offset + r) * d + j] = column[r];
            }
            offset += rows;
        }
        int missing = Array.IndexOf(ids, null);
        if (missing >= 0)
            throw new InvalidDataException($"'{path}' row {missing} has no id; every embedding needs one. Re-export the embeddings.");
        return new EmbeddingTable(data, (int)total, d, ids!, labels);
    }

    private static string QuoteCsv(string value) => CsvRecords.Quote(value);

    private static int ParseInt(string cell, string path, int record) =>
        int.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new InvalidDataException($"'{path}' record {record}: label '{cell}' is not an integer. Fix the label or leave it empty on every row.");

    private static float ParseFloat(string cell, string path, int record, int dim) =>
        float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float v)
            ? v
            : throw new InvalidDataException($"'{path}' record {record}, column e{dim}: '{cell}' is not a number. Re-export the embeddings.");
}
