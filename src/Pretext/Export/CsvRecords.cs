using System.Text;

namespace Pretext.Export;

/// <summary>Minimal RFC 4180 reader: comma-separated, double-quoted fields that may hold commas,
/// doubled quotes and line breaks; CRLF or LF record ends.</summary>
internal static class CsvRecords
{
    /// <summary>A field as RFC 4180 wants it: quoted (inner quotes doubled) when it holds a comma, quote, line break or edge spaces.</summary>
    public static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 && value.Trim() == value
            ? value
            : "\"" + value.Replace("\"", "\"\"") + "\"";

    /// <summary>Yields the records of <paramref name="reader"/>; <paramref name="path"/> only names the file in errors.</summary>
    /// <exception cref="InvalidDataException">A quoted field is never closed, or text follows a closing quote.</exception>
    public static IEnumerable<List<string>> Read(TextReader reader, string path) => ReadWithLines(reader, path).Select(r => r.Fields);

    /// <summary>
    /// Yields the records of <paramref name="reader"/> with the 1-based line each starts on (a quoted field may span
    /// lines, so records and lines can differ), for messages that point users at a line of the file.
    /// </summary>
    /// <exception cref="InvalidDataException">A quoted field is never closed, or text follows a closing quote.</exception>
    public static IEnumerable<(int Line, List<string> Fields)> ReadWithLines(TextReader reader, string path)
    {
        var field = new StringBuilder();
        var record = new List<string>();
        int recordNumber = 1, line = 1, recordLine = 1;
        bool inQuotes = false, wasQuoted = false, any = false;
        int c;
        while ((c = reader.Read()) >= 0)
        {
            any = true;
            char ch = (char)c;
            if (inQuotes)
            {
                if (ch == '\n') line++;
                if (ch != '"') { field.Append(ch); continue; }
                if (reader.Peek() == '"') { reader.Read(); field.Append('"'); continue; }
                inQuotes = false;
                continue;
            }
            switch (ch)
            {
                case '"' when field.Length == 0 && !wasQuoted:
                    inQuotes = wasQuoted = true;
                    break;
                case '"':
                    throw new InvalidDataException($"'{path}' record {recordNumber}: stray quote inside an unquoted field or after a quoted one. Quote the whole field and double inner quotes.");
                case ',':
                    record.Add(field.ToString());
                    field.Clear();
                    wasQuoted = false;
                    break;
                case '\r':
                    break;
                case '\n':
                    record.Add(field.ToString());
                    field.Clear();
                    wasQuoted = false;
                    yield return (recordLine, record);
                    record = [];
                    recordNumber++;
                    recordLine = ++line;
                    any = false;
                    break;
                default:
                    if (wasQuoted)
                        throw new InvalidDataException($"'{path}' record {recordNumber}: text after a closing quote. Quote the whole field and double inner quotes.");
                    field.Append(ch);
                    break;
            }
        }
        if (inQuotes)
            throw new InvalidDataException($"'{path}' record {recordNumber}: a quoted field is never closed; the file is probably truncated. Re-export it.");
        if (any)
        {
            record.Add(field.ToString());
            yield return (recordLine, record);
        }
    }
}
