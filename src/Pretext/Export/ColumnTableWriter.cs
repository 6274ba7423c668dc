using Parquet;
using Parquet.Schema;

namespace Pretext.Export;

/// <summary>
/// Writes a <see cref="ColumnTable"/> that arrives in chunks (rows of a file too long to hold) to CSV or Parquet, in the same format
/// <see cref="ColumnTable.Write"/> gives the whole table: CSV rows are appended, Parquet gets one row group per chunk. The file appears
/// atomically at <see cref="Complete"/>; disposing without completing leaves nothing behind.
/// </summary>
public sealed class ColumnTableWriter : IDisposable
{
    private readonly string path;
    private readonly string temp;
    private readonly bool csv;
    private FileStream? stream;
    private StreamWriter? text;
    private ParquetWriter? parquet;
    private ParquetSchema? schema;
    private string[]? names;
    private bool completed;

    /// <exception cref="ArgumentException">Neither .csv nor .parquet.</exception>
    public ColumnTableWriter(string path)
    {
        if (!ColumnTable.Writable(path)) throw new ArgumentException($"'{path}': write a .csv or .parquet file.");
        this.path = path;
        csv = path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
        temp = AtomicFile.PrepareTemp(path);
        stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        if (csv) text = new StreamWriter(stream, AtomicFile.Utf8NoBom, 1 << 16, leaveOpen: true) { NewLine = "\n" };
    }

    /// <summary>Rows written so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Appends <paramref name="chunk"/>; every chunk has the first one's columns.</summary>
    /// <exception cref="ArgumentException">A chunk with other columns than the first.</exception>
    public void Append(ColumnTable chunk)
    {
        ObjectDisposedException.ThrowIf(stream is null || completed, this);
        if (names is null)
        {
            names = [.. chunk.Names];
            if (csv) chunk.WriteCsvHeader(text!);
            else
            {
                schema = chunk.Schema();
                parquet = ParquetWriter.CreateAsync(schema, stream!).GetAwaiter().GetResult();
            }
        }
        else if (!chunk.Names.SequenceEqual(names))
            throw new ArgumentException($"A chunk with columns {string.Join(", ", chunk.Names)} after chunks with {string.Join(", ", names)}.");
        if (chunk.Rows == 0) return;
        if (csv) chunk.WriteCsvRows(text!);
        else chunk.WriteRowGroup(parquet!, schema!).GetAwaiter().GetResult();
        Rows += chunk.Rows;
    }

    /// <summary>Finishes the file and moves it into place.</summary>
    /// <exception cref="InvalidOperationException">Nothing was appended (not even an empty chunk: the columns are unknown).</exception>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(stream is null || completed, this);
        if (names is null) throw new InvalidOperationException($"'{path}': no chunk was written, so its columns are unknown.");
        text?.Flush();
        text?.Dispose();
        parquet?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        stream!.Flush(flushToDisk: true);
        stream.Dispose();
        stream = null;
        File.Move(temp, path, overwrite: true);
        completed = true;
    }

    public void Dispose()
    {
        if (stream is null) return;
        text?.Dispose();
        parquet?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        stream.Dispose();
        stream = null;
        AtomicFile.TryDelete(temp);
    }
}

/// <summary>
/// Chunks of a <see cref="ColumnTable"/> parked in a temporary binary file and read back in order: rows whose last column can only be
/// filled once every row is seen (a threshold chosen on scores of the whole file) wait here instead of in memory. The file is deleted on
/// dispose.
/// </summary>
public sealed class ColumnSpool : IDisposable
{
    private readonly string file;
    private FileStream? stream;
    private BinaryWriter? writer;

    /// <param name="nextTo">A file the spool lies beside (same folder, hidden name), so it uses the output's disk, not /tmp's.</param>
    public ColumnSpool(string nextTo)
    {
        file = AtomicFile.PrepareTemp(nextTo + ".spool");
        stream = new FileStream(file, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
    }

    /// <summary>Rows parked so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Parks <paramref name="chunk"/>.</summary>
    public void Append(ColumnTable chunk)
    {
        ObjectDisposedException.ThrowIf(writer is null, this);
        writer.Write(chunk.Rows);
        writer.Write(chunk.Names.Count);
        foreach (var name in chunk.Names)
        {
            writer.Write(name);
            switch (chunk.Column(name))
            {
                case string[] s: writer.Write((byte)0); foreach (var v in s) writer.Write(v); break;
                case double[] d: writer.Write((byte)1); foreach (var v in d) writer.Write(v); break;
                case int[] i: writer.Write((byte)2); foreach (var v in i) writer.Write(v); break;
                case bool[] b: writer.Write((byte)3); foreach (var v in b) writer.Write(v); break;
            }
        }
        Rows += chunk.Rows;
    }

    /// <summary>The parked chunks in the order they came; no more may be appended after.</summary>
    public IEnumerable<ColumnTable> Read()
    {
        ObjectDisposedException.ThrowIf(writer is null || stream is null, this);
        writer.Flush();
        writer.Dispose();
        writer = null;
        long end = stream.Position;
        stream.Position = 0;
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        while (stream.Position < end)
        {
            int rows = reader.ReadInt32(), count = reader.ReadInt32();
            var table = new ColumnTable(rows);
            for (int j = 0; j < count; j++)
            {
                string name = reader.ReadString();
                switch (reader.ReadByte())
                {
                    case 0: table.Add(name, Enumerable.Range(0, rows).Select(_ => reader.ReadString()).ToArray()); break;
                    case 1: table.Add(name, Enumerable.Range(0, rows).Select(_ => reader.ReadDouble()).ToArray()); break;
                    case 2: table.Add(name, Enumerable.Range(0, rows).Select(_ => reader.ReadInt32()).ToArray()); break;
                    default: table.Add(name, Enumerable.Range(0, rows).Select(_ => reader.ReadBoolean()).ToArray()); break;
                }
            }
            yield return table;
        }
    }

    public void Dispose()
    {
        writer?.Dispose();
        writer = null;
        stream?.Dispose();
        stream = null;
    }
}
