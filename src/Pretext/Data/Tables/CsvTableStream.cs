using Pretext.Export;

namespace Pretext.Data.Tables;

/// <summary>
/// A chunk of a table file read by <see cref="CsvTableStream"/>: its rows in source form (no labels: the classes of a file are only known
/// once it has been read through), the raw label of each row (null for an unlabelled file) and where the chunk starts.
/// </summary>
/// <param name="First">The 0-based record number (data rows, header excluded) of the chunk's first row.</param>
/// <param name="Bytes">About how far into the file the chunk ends (the reader's buffered position), for progress.</param>
public sealed record TableChunk(long First, TableRows Rows, string[]? Labels, long Bytes);

/// <summary>
/// A CSV table file read in chunks of rows, typed as a model's <see cref="TableEncoding"/> (its numeric and categorical columns, in its
/// order), so a file of any length is read with bounded memory. Each <see cref="Chunks"/> call reads the file again from the top. Rows are
/// typed by the same <see cref="RowLayout"/> as <see cref="TableFiles.Read"/>, so they hold the same values and a bad cell gets the same
/// message naming the file, line and column; unlike a whole-file read, a bad cell is found when its chunk is read.
/// </summary>
/// <remarks>
/// Boolean columns: a whole-file read calls a column boolean when every value in the file is true/false/yes/no; a chunked read cannot
/// look ahead, so a model column whose training vocabulary was {false, true} reads yes/no/t/f/y/n as booleans (a file that mixed other
/// words into such a column would read them as the unknown bucket in a whole-file read, and as false here).
/// </remarks>
public sealed class CsvTableStream
{
    private readonly string path;
    private readonly string[]? names;
    private readonly RowLayout layout;
    private readonly TableEncoding encoding;

    private CsvTableStream(string path, string[]? names, RowLayout layout, TableEncoding encoding)
    {
        this.path = path; this.names = names; this.layout = layout; this.encoding = encoding;
    }

    /// <summary>The label column's name, or null for an unlabelled file.</summary>
    public string? LabelColumn => layout.Label >= 0 ? layout.Names[layout.Label] : null;
    /// <summary>Whether rows carry an entity.</summary>
    public bool HasEntity => layout.Entity >= 0;
    /// <summary>The file's length in bytes.</summary>
    public long Length => new FileInfo(path).Length;

    /// <summary>Reads the header of <paramref name="path"/> and maps its columns onto <paramref name="encoding"/>'s.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">An empty file, a column named in <paramref name="columns"/> that the file lacks, a model column the
    /// file lacks, or a feature column the model was not fitted on; the message names the columns and the fix.</exception>
    public static CsvTableStream Open(string path, TableColumns columns, TableEncoding encoding)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Table file '{path}' does not exist.", path);
        string[] header;
        if (columns.Names.Length > 0) header = columns.Names;
        else
        {
            using var reader = new StreamReader(path);
            using var records = CsvRecords.ReadWithLines(reader, path).GetEnumerator();
            if (!records.MoveNext()) throw new InvalidDataException($"'{path}' is empty; a table file starts with a header row naming its columns (or give the names with --set table.columns.names=[...]).");
            header = [.. records.Current.Fields.Select(h => h.Trim())];
        }
        int label = columns.Label is { } l ? TableFiles.Column(header, l, path, "label", "table.columns.label")
            : Array.FindIndex(header, h => h.Equals("class", StringComparison.OrdinalIgnoreCase) || h.Equals("label", StringComparison.OrdinalIgnoreCase));
        int entity = columns.Entity is { } e ? TableFiles.Column(header, e, path, "entity", "table.columns.entity") : -1;
        int id = columns.Id is { } d ? TableFiles.Column(header, d, path, "id", "table.columns.id") : -1;
        var ignored = new HashSet<int>(columns.Ignore.Select(x => TableFiles.Column(header, x, path, "ignored", "table.columns.ignore")));
        var numeric = encoding.NumericNames.Select(x => TableFiles.Column(header, x, path, "numeric", "table.columns.numeric")).ToArray();
        var categorical = encoding.CategoricalNames.Select((x, k) =>
        {
            int j = TableFiles.Column(header, x, path, "categorical", "table.columns.categorical");
            var vocabulary = encoding.Vocabularies[k];
            bool boolean = vocabulary.Length > 0 && vocabulary.All(v => v is "false" or "true");
            return (j, boolean ? ColumnKind.Boolean : ColumnKind.Categorical, (string[]?)null);
        }).ToArray();
        var used = new HashSet<int>([.. numeric, .. categorical.Select(x => x.j), label, entity, id, .. ignored]);
        var extra = Enumerable.Range(0, header.Length).Where(j => !used.Contains(j)).Select(j => header[j]).ToArray();
        if (extra.Length > 0)
            throw new InvalidDataException($"'{path}' has columns the model was not fitted on ({string.Join(", ", extra)}); its columns are {string.Join(", ", encoding.NumericNames.Concat(encoding.CategoricalNames))}. " +
                $"Leave them out with --set 'table.columns.ignore=[{string.Join(",", extra)}]', or name them as the label, entity or id.");
        var layout = new RowLayout(path, "line", header, numeric, categorical, label, entity, id, new DeclaredType?[header.Length], [.. numeric]);
        return new CsvTableStream(path, columns.Names.Length > 0 ? columns.Names : null, layout, encoding);
    }

    /// <summary>The file's rows, <paramref name="size"/> at a time, in file order; blank lines are skipped as a whole-file read skips them.</summary>
    /// <exception cref="InvalidDataException">A row with another number of fields than the header, or a bad cell (<see cref="RowLayout.ReadRow"/>).</exception>
    public IEnumerable<TableChunk> Chunks(int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "A chunk holds at least one row.");
        var header = layout.Names;
        int nn = encoding.NumericNames.Length, nc = encoding.CategoricalNames.Length;
        using var reader = new StreamReader(path);
        using var records = CsvRecords.ReadWithLines(reader, path).GetEnumerator();
        if (names is null) records.MoveNext();
        long first = 0;
        while (true)
        {
            var values = new float[size * nn];
            var cats = new string?[size * nc];
            var ids = new string[size];
            var entities = layout.Entity >= 0 ? new string[size] : null;
            var labels = layout.Label >= 0 ? new string[size] : null;
            int n = 0;
            while (n < size && records.MoveNext())
            {
                var (line, fields) = records.Current;
                if (fields.Count == 1 && fields[0].Trim().Length == 0) continue;
                if (fields.Count != header.Length)
                    throw new InvalidDataException($"'{path}' line {line}: {fields.Count} fields where the header has {header.Length} ({string.Join(",", header)}). Give every row one value per column.");
                var cells = new string?[fields.Count];
                for (int j = 0; j < cells.Length; j++) cells[j] = fields[j].Trim();
                var (y, e, rowId) = layout.ReadRow(new RawRow(line, cells), values.AsSpan(n * nn, nn), cats.AsSpan(n * nc, nc));
                if (labels is not null) labels[n] = y!;
                if (entities is not null) entities[n] = e!;
                ids[n] = rowId;
                n++;
            }
            if (n == 0) yield break;
            if (n < size)
            {
                Array.Resize(ref values, n * nn);
                Array.Resize(ref cats, n * nc);
                Array.Resize(ref ids, n);
                if (entities is not null) Array.Resize(ref entities, n);
                if (labels is not null) Array.Resize(ref labels, n);
            }
            var rows = new TableRows(path, encoding.NumericNames, encoding.CategoricalNames, [.. encoding.CategoricalNames.Select(_ => Array.Empty<string>())],
                values, cats, null, [], ids, entities);
            yield return new TableChunk(first, rows, labels, reader.BaseStream.Position);
            first += n;
            if (n < size) yield break;
        }
    }
}
