using System.Text;

namespace Pretext.Data.Tables;

/// <summary>
/// Reads Weka's ARFF format (dense form): <c>@relation</c>, one <c>@attribute NAME TYPE</c> per column (numeric, real,
/// integer, string, date, or a nominal list <c>{a, 'b c', ...}</c>), then <c>@data</c> rows of comma-separated values.
/// Values and names may be single- or double-quoted (with backslash escapes), '?' is a missing value, '%' starts a
/// comment line. Every problem names the file, the line and the fix. Sparse rows (<c>{0 x, 3 y}</c>) are refused.
/// </summary>
public static class ArffReader
{
    /// <summary>Reads <paramref name="path"/> into a <see cref="RawTable"/> whose columns carry their declared types.</summary>
    /// <exception cref="InvalidDataException">The file breaks the format; the message names the line and the fix.</exception>
    public static RawTable Read(string path)
    {
        using var reader = new StreamReader(path);
        var names = new List<string>();
        var declared = new List<DeclaredType>();
        var rows = new List<RawRow>();
        bool data = false;
        int lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            var t = line.Trim();
            if (t.Length == 0 || t[0] == '%') continue;
            string where = $"'{path}' line {lineNo}";
            if (!data)
            {
                if (t[0] != '@') throw new InvalidDataException($"{where}: expected @relation, @attribute or @data before the data, got '{Short(t)}'. Put the header first.");
                var keyword = t.Split((char[])[' ', '\t'], 2)[0].ToLowerInvariant();
                var rest = t[keyword.Length..].Trim();
                switch (keyword)
                {
                    case "@relation": break;
                    case "@attribute":
                        var (name, type) = Attribute(rest, where);
                        if (names.Contains(name, StringComparer.OrdinalIgnoreCase))
                            throw new InvalidDataException($"{where}: attribute '{name}' is declared twice. Give every attribute its own name.");
                        names.Add(name);
                        declared.Add(type);
                        break;
                    case "@data":
                        if (names.Count == 0) throw new InvalidDataException($"{where}: @data before any @attribute. Declare the columns first.");
                        data = true;
                        break;
                    default:
                        throw new InvalidDataException($"{where}: unknown keyword '{keyword}'; ARFF headers use @relation, @attribute and @data.");
                }
                continue;
            }
            if (t[0] == '{') throw new InvalidDataException($"{where}: sparse ARFF rows ({{index value, ...}}) are not read. Save the file as dense ARFF or CSV.");
            var cells = Split(t, where);
            if (cells.Count != names.Count)
                throw new InvalidDataException($"{where}: {cells.Count} values where {names.Count} attributes are declared ({string.Join(", ", names)}). Give every row one value per attribute.");
            rows.Add(new RawRow(lineNo, [.. cells]));
        }
        if (!data) throw new InvalidDataException($"'{path}' has no @data section. An ARFF file declares its attributes and then lists rows after @data.");
        return new RawTable(path, "line", [.. names], [.. declared], rows);
    }

    private static (string Name, DeclaredType Type) Attribute(string rest, string where)
    {
        int i = 0;
        var name = Token(rest, ref i, where, stopAtSpace: true);
        if (string.IsNullOrEmpty(name)) throw new InvalidDataException($"{where}: @attribute without a name. Write @attribute NAME TYPE.");
        var type = rest[i..].Trim();
        if (type.StartsWith('{'))
        {
            int close = type.LastIndexOf('}');
            if (close < 0) throw new InvalidDataException($"{where}: the nominal values of '{name}' are not closed with '}}'.");
            var values = Split(type[1..close], where).Select(v => v ?? "?").ToArray();
            return (name, new DeclaredType(ColumnKind.Categorical, values));
        }
        var word = type.Split((char[])[' ', '\t'], 2)[0].ToLowerInvariant();
        return word switch
        {
            "numeric" or "real" or "integer" => (name, new DeclaredType(ColumnKind.Numeric, null)),
            "string" or "date" => (name, new DeclaredType(ColumnKind.Text, null)),
            "relational" => throw new InvalidDataException($"{where}: relational attribute '{name}' is not supported. Flatten it into columns."),
            _ => throw new InvalidDataException($"{where}: attribute '{name}' has unknown type '{type}'. Use numeric, real, integer, string, date or {{value, ...}}."),
        };
    }

    /// <summary>Comma-separated values with ARFF quoting; an unquoted '?' is missing (null), a quoted one is a value.</summary>
    internal static List<string?> Split(string s, string where)
    {
        var values = new List<string?>();
        int i = 0;
        while (true)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            bool quoted = i < s.Length && s[i] is '\'' or '"';
            var v = Token(s, ref i, where, stopAtSpace: false);
            values.Add(!quoted && v == "?" ? null : v);
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length) break;
            if (s[i] != ',') throw new InvalidDataException($"{where}: expected ',' at column {i + 1}, got '{s[i]}'. Quote values that hold spaces or commas.");
            i++;
        }
        return values;
    }

    private static string Token(string s, ref int i, string where, bool stopAtSpace)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        if (i < s.Length && s[i] is '\'' or '"')
        {
            char q = s[i++];
            var sb = new StringBuilder();
            while (true)
            {
                if (i >= s.Length) throw new InvalidDataException($"{where}: a value opened with {q} is never closed. Close the quote.");
                char c = s[i++];
                if (c == '\\' && i < s.Length) { sb.Append(s[i++] switch { 'n' => '\n', 't' => '\t', var e => e }); continue; }
                if (c == q) break;
                sb.Append(c);
            }
            return sb.ToString();
        }
        int start = i;
        while (i < s.Length && s[i] != ',' && !(stopAtSpace && char.IsWhiteSpace(s[i]))) i++;
        return s[start..i].Trim();
    }

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
