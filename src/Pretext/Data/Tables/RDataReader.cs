using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Pretext.Data.Tables;

/// <summary>
/// Reads a data.frame from an R data file (<c>.rda</c>/<c>.RData</c>, as <c>save()</c> writes it): the "RDX2"/"RDX3" header and R's
/// XDR serialization (format version 2 or 3, big-endian), gzip-compressed (R's default, read here), xz-compressed (decompressed
/// with the system's <c>xz</c>, Debian's xz-utils) or uncompressed. Numeric columns (double, or integer without levels) become
/// numbers, factors become categories with their levels in R's order, logical columns booleans, character columns cells to infer;
/// R's NA is a missing cell. Only the object types a data frame of such columns is made of are read (NULL, symbols, pair lists,
/// strings, logical/integer/double/character vectors, lists, back-references); anything else is refused with its type code and
/// byte offset. No R installation is needed.
/// </summary>
public static class RDataReader
{
    private const int NilValue = 254, RefSxp = 255, SymSxp = 1, ListSxp = 2, CharSxp = 9, LglSxp = 10, IntSxp = 13, RealSxp = 14, StrSxp = 16, VecSxp = 19;
    private const int NaInteger = int.MinValue;
    private static ReadOnlySpan<byte> XzMagic => [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

    /// <summary>An R object as read: its type, payload (double[], int[], string?[] or RObject[]) and attributes by name.</summary>
    private sealed record RObject(int Type, object? Value, Dictionary<string, RObject> Attributes)
    {
        public string? Tag { get; init; }
    }

    /// <summary>
    /// Reads the data frame in <paramref name="path"/>: its only object, or the one named <paramref name="objectName"/> when the file
    /// holds several. Rows are numbered from 1 (the <see cref="RawTable.Unit"/> is "row").
    /// </summary>
    /// <exception cref="InvalidDataException">Not an R data file in the XDR format, truncated, an unsupported object, no data frame,
    /// or columns of different lengths; the message names the file and, where it helps, the byte offset.</exception>
    public static RawTable Read(string path, string? objectName = null)
    {
        var bytes = Decompress(path);
        var r = new Reader(bytes, path);
        var header = r.Ascii(5);
        if (header is not ("RDX2\n" or "RDX3\n"))
            throw new InvalidDataException($"'{path}' is not an R data file saved by save() (it starts with '{Printable(header)}', not RDX2 or RDX3). Re-save it in R with save(x, file = ...), or export CSV with write.csv.");
        var format = r.Ascii(2);
        if (format != "X\n")
            throw new InvalidDataException($"'{path}' is an R data file in the {(format == "A\n" ? "ASCII" : format == "B\n" ? "native binary" : "unknown")} serialization; only the default XDR one is read. Re-save it with save(..., ascii = FALSE).");
        int version = r.Int();
        r.Int(); // the R version that wrote it
        r.Int(); // the oldest R version that reads it
        if (version is not (2 or 3)) throw new InvalidDataException($"'{path}' uses R serialization format {version}; versions 2 and 3 are read.");
        if (version == 3) r.Ascii(r.Int()); // native encoding name
        var top = r.Item();
        var objects = new List<RObject>();
        for (var node = top; node.Type == ListSxp; node = (RObject)((RObject[])node.Value!)[1])
            objects.Add(((RObject[])node.Value!)[0] with { Tag = node.Tag });
        if (objects.Count == 0) throw new InvalidDataException($"'{path}' holds no R objects.");
        var frames = objects.Where(IsDataFrame).ToList();
        RObject frame;
        if (objectName is not null)
            frame = frames.FirstOrDefault(o => o.Tag == objectName)
                ?? throw new InvalidDataException($"'{path}' has no data frame named '{objectName}'; its objects are {string.Join(", ", objects.Select(Describe))}.");
        else if (frames.Count == 1) frame = frames[0];
        else throw new InvalidDataException(frames.Count == 0
            ? $"'{path}' holds no data frame; its objects are {string.Join(", ", objects.Select(Describe))}."
            : $"'{path}' holds {frames.Count} data frames ({string.Join(", ", frames.Select(f => f.Tag))}); name one.");
        return ToTable(frame, path);
    }

    private static bool IsDataFrame(RObject o) =>
        o.Type == VecSxp && o.Attributes.TryGetValue("class", out var c) && c.Value is string[] classes && classes.Contains("data.frame");

    private static string Describe(RObject o) => $"{o.Tag} ({TypeName(o.Type)}{(o.Attributes.TryGetValue("class", out var c) && c.Value is string[] s ? ", class " + string.Join("/", s) : "")})";

    private static string TypeName(int type) => type switch
    {
        NilValue => "NULL", SymSxp => "symbol", ListSxp => "pairlist", CharSxp => "string", LglSxp => "logical", IntSxp => "integer",
        RealSxp => "double", StrSxp => "character", VecSxp => "list", _ => $"type {type}",
    };

    private static RawTable ToTable(RObject frame, string path)
    {
        var columns = (RObject[])frame.Value!;
        var names = frame.Attributes.TryGetValue("names", out var n) && n.Value is string[] ns && ns.Length == columns.Length
            ? ns.Select((x, j) => x ?? $"V{j + 1}").ToArray()
            : [.. Enumerable.Range(1, columns.Length).Select(j => $"V{j}")];
        if (columns.Length == 0) throw new InvalidDataException($"'{path}': data frame '{frame.Tag}' has no columns.");
        var declared = new DeclaredType?[columns.Length];
        var cells = new string?[columns.Length][];
        for (int j = 0; j < columns.Length; j++)
        {
            var c = columns[j];
            switch (c.Value)
            {
                case double[] d:
                    declared[j] = new DeclaredType(ColumnKind.Numeric, null);
                    cells[j] = [.. d.Select(v => double.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture))];
                    break;
                case int[] i when c.Type == IntSxp && c.Attributes.TryGetValue("levels", out var lv) && lv.Value is string[] levels:
                    var levelNames = levels.Select((l, k) => l ?? $"level{k + 1}").ToArray();
                    declared[j] = new DeclaredType(ColumnKind.Categorical, levelNames);
                    cells[j] = [.. i.Select(v => v == NaInteger ? null : v >= 1 && v <= levelNames.Length ? levelNames[v - 1]
                        : throw new InvalidDataException($"'{path}': factor column '{names[j]}' has code {v} but {levelNames.Length} levels."))];
                    break;
                case int[] i when c.Type == IntSxp:
                    declared[j] = new DeclaredType(ColumnKind.Numeric, null);
                    cells[j] = [.. i.Select(v => v == NaInteger ? null : v.ToString(CultureInfo.InvariantCulture))];
                    break;
                case int[] i: // logical
                    declared[j] = new DeclaredType(ColumnKind.Boolean, null);
                    cells[j] = [.. i.Select(v => v == NaInteger ? null : v != 0 ? "true" : "false")];
                    break;
                case string[] s:
                    cells[j] = s;
                    break;
                default:
                    throw new InvalidDataException($"'{path}': column '{names[j]}' of data frame '{frame.Tag}' is an R {TypeName(c.Type)}, not a number, factor, logical or character vector.");
            }
        }
        int rows = cells[0].Length;
        for (int j = 1; j < cells.Length; j++)
            if (cells[j].Length != rows) throw new InvalidDataException($"'{path}': column '{names[j]}' has {cells[j].Length} values where '{names[0]}' has {rows}.");
        var list = new List<RawRow>(rows);
        for (int r = 0; r < rows; r++)
        {
            var row = new string?[cells.Length];
            for (int j = 0; j < cells.Length; j++) row[j] = cells[j][r];
            list.Add(new RawRow(r + 1, row));
        }
        return new RawTable(path, "row", names, declared, list);
    }

    /// <summary>The file's bytes, decompressed: gzip here, xz through the system's <c>xz</c>; bzip2 is refused with the command that converts it.</summary>
    private static byte[] Decompress(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"R data file '{path}' does not exist.", path);
        var raw = File.ReadAllBytes(path);
        if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                return ms.ToArray();
            }
            catch (InvalidDataException e) { throw new InvalidDataException($"'{path}' is a damaged gzip file ({e.Message}).", e); }
        }
        if (raw.Length >= 6 && raw.AsSpan(0, 6).SequenceEqual(XzMagic)) return Unxz(path);
        if (raw.Length >= 3 && raw[0] == 'B' && raw[1] == 'Z' && raw[2] == 'h')
            throw new InvalidDataException($"'{path}' is bzip2-compressed; decompress it first (bunzip2 -c '{path}' > file.rda), or re-save it in R with compress = \"gzip\".");
        return raw;
    }

    private static byte[] Unxz(string path)
    {
        var start = new ProcessStartInfo("xz", ["-dc", "--", path]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        Process process;
        try { process = Process.Start(start) ?? throw new InvalidOperationException("xz did not start"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}' is xz-compressed and the xz command is not available to decompress it: apt-get install xz-utils.", e);
        }
        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            using var ms = new MemoryStream();
            process.StandardOutput.BaseStream.CopyTo(ms);
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidDataException($"'{path}' looks xz-compressed but xz could not decompress it: {errors.Result.Trim()}");
            return ms.ToArray();
        }
    }

    private static string Printable(string s) => new([.. s.Select(c => c is >= ' ' and < (char)127 ? c : '?')]);

    /// <summary>R's XDR stream: big-endian ints and doubles, the reference table of symbols.</summary>
    private sealed class Reader(byte[] bytes, string path)
    {
        private int pos;
        private readonly List<RObject> references = [];

        private InvalidDataException Truncated(int need) =>
            new($"'{path}' ends early: {need} more bytes needed at byte {pos} of {bytes.Length} (a truncated or damaged R data file).");

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || bytes.Length - pos < n) throw Truncated(n);
            var span = bytes.AsSpan(pos, n);
            pos += n;
            return span;
        }

        public int Int() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

        public string Ascii(int n) => Encoding.Latin1.GetString(Take(n));

        private int Length()
        {
            int n = Int();
            if (n >= 0) return n;
            if (n != -1) throw new InvalidDataException($"'{path}': negative vector length {n} at byte {pos - 4}.");
            long upper = (uint)Int(), lower = (uint)Int(); // a long vector: two ints
            long length = (upper << 32) | lower;
            return length <= Array.MaxLength ? (int)length : throw new InvalidDataException($"'{path}': a vector of {length} elements is too long to read.");
        }

        public RObject Item()
        {
            int at = pos;
            int flags = Int();
            int type = flags & 0xFF;
            bool hasAttributes = (flags & (1 << 9)) != 0, hasTag = (flags & (1 << 10)) != 0;
            switch (type)
            {
                case NilValue: return new RObject(NilValue, null, []);
                case RefSxp:
                    int index = flags >> 8;
                    if (index == 0) index = Int();
                    return index >= 1 && index <= references.Count ? references[index - 1]
                        : throw new InvalidDataException($"'{path}': reference {index} at byte {at} to one of {references.Count} earlier objects.");
                case SymSxp:
                    var name = Item();
                    var symbol = new RObject(SymSxp, name.Value, []);
                    references.Add(symbol);
                    return symbol;
                case ListSxp:
                    var attributes = hasAttributes ? Attributes(Item()) : [];
                    string? tag = hasTag ? Item().Value as string : null;
                    var car = Item();
                    var cdr = Item();
                    return new RObject(ListSxp, new[] { car, cdr }, attributes) { Tag = tag };
                case CharSxp:
                    int n = Int();
                    // The encoding bits (UTF-8 = 1 << 3, Latin-1 = 1 << 2, ASCII = 1 << 6 of the levels) decide how the bytes read.
                    int levels = flags >> 12;
                    string? value = n == -1 ? null : (levels & 4) != 0 ? Encoding.Latin1.GetString(Take(n)) : Encoding.UTF8.GetString(Take(n));
                    return new RObject(CharSxp, value, []);
                case LglSxp or IntSxp:
                    {
                        int len = Length();
                        var span = Take(checked(4 * len));
                        var v = new int[len];
                        for (int i = 0; i < len; i++) v[i] = BinaryPrimitives.ReadInt32BigEndian(span[(4 * i)..]);
                        return new RObject(type, v, hasAttributes ? Attributes(Item()) : []);
                    }
                case RealSxp:
                    {
                        int len = Length();
                        var span = Take(checked(8 * len));
                        var v = new double[len];
                        for (int i = 0; i < len; i++) v[i] = BinaryPrimitives.ReadDoubleBigEndian(span[(8 * i)..]);
                        return new RObject(type, v, hasAttributes ? Attributes(Item()) : []);
                    }
                case StrSxp:
                    {
                        int len = Length();
                        var v = new string?[len];
                        for (int i = 0; i < len; i++)
                        {
                            var s = Item();
                            v[i] = s.Type == CharSxp ? (string?)s.Value : throw new InvalidDataException($"'{path}': a character vector holds an R {TypeName(s.Type)} at byte {at}.");
                        }
                        return new RObject(type, v, hasAttributes ? Attributes(Item()) : []);
                    }
                case VecSxp:
                    {
                        int len = Length();
                        var v = new RObject[len];
                        for (int i = 0; i < len; i++) v[i] = Item();
                        return new RObject(type, v, hasAttributes ? Attributes(Item()) : []);
                    }
                default:
                    throw new InvalidDataException($"'{path}': R object type {type} at byte {at} is not read here (only the parts of a data frame of numbers, factors, logicals and strings). Export the table with write.csv instead.");
            }
        }

        /// <summary>A pair list of attributes as name -> value.</summary>
        private Dictionary<string, RObject> Attributes(RObject list)
        {
            var result = new Dictionary<string, RObject>(StringComparer.Ordinal);
            for (var node = list; node.Type == ListSxp; node = ((RObject[])node.Value!)[1])
                if (node.Tag is { } t) result[t] = ((RObject[])node.Value!)[0];
            return result;
        }
    }
}
