using System.Globalization;
using System.Text;
using System.Text.Json;
using Pretext.Export;

namespace Pretext.Data;

/// <summary>How <see cref="TextFiles.Load"/> cuts files into documents.</summary>
public enum TextFileFormat
{
    /// <summary>Each file is one document (UTF-8 text).</summary>
    Document,
    /// <summary>Each non-empty line of each file is one document (UTF-8 text).</summary>
    Lines,
    /// <summary>Each file is one RFC 822 mail, read with <see cref="MailParser"/> (any charset, MIME, HTML).</summary>
    Mail,
}

/// <summary>Settings of <see cref="TextFiles.Load"/>.</summary>
public sealed class TextFileOptions
{
    /// <summary>Documents per file. Default: <see cref="TextFileFormat.Document"/>.</summary>
    public TextFileFormat Format { get; init; } = TextFileFormat.Document;
    /// <summary>How mails are read with <see cref="TextFileFormat.Mail"/>. Default: the subject line and the body.</summary>
    public MailReadOptions Mail { get; init; } = new();
    /// <summary>Which files of a folder are read (a file-name pattern such as "*.txt"). Default: every file.</summary>
    public string SearchPattern { get; init; } = "*";
    /// <summary>Receives progress and skip reports; nothing is printed when null.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>Settings of <see cref="TextFiles.LoadJsonLines"/>.</summary>
public sealed class JsonLinesOptions
{
    /// <summary>Name of the string field holding the text. Default: "text".</summary>
    public string TextField { get; init; } = "text";
    /// <summary>Name of the field holding the label (string, number or boolean), or null for unlabelled data.</summary>
    public string? LabelField { get; init; }
}

/// <summary>Settings of <see cref="TextFiles.LoadCsv"/>.</summary>
public sealed class CsvTextOptions
{
    /// <summary>The text column: a header name, or a zero-based index when <see cref="HasHeader"/> is false. Default: "text".</summary>
    public string TextColumn { get; init; } = "text";
    /// <summary>The label column (name or index like <see cref="TextColumn"/>), or null for unlabelled data.</summary>
    public string? LabelColumn { get; init; }
    /// <summary>Whether the first record names the columns. Default: true.</summary>
    public bool HasHeader { get; init; } = true;
}

/// <summary>What a text reader produced: the documents and what it left out.</summary>
/// <param name="Dataset">The documents; sources are "file" or "file:line" relative to the path given.</param>
/// <param name="Skipped">"source: reason" for each document left out (empty files and lines, unreadable mails).</param>
/// <param name="MailProblems">For mail folders: how many mails had each kind of problem that was worked around.</param>
public sealed record TextLoad(TextDataset Dataset, IReadOnlyList<string> Skipped, IReadOnlyDictionary<MailProblem, int> MailProblems);

/// <summary>
/// Reads documents from plain-text files and folders, mail folders, JSON lines and CSV files into a
/// <see cref="TextDataset"/>. Errors name the file and the line or record and say how to fix it.
/// <para>Folders: either one sub-folder per class (labels are the sub-folder names in ordinal order; files may sit in
/// nested folders below a class folder), or files directly in the folder (unlabelled). Names starting with '.' are
/// ignored. Files are read in ordinal order of their relative paths. Text files must be UTF-8 (a BOM is allowed);
/// line breaks become "\n".</para>
/// </summary>
public static class TextFiles
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a file or a folder of files.</summary>
    /// <exception cref="FileNotFoundException">The path is neither a file nor a folder.</exception>
    /// <exception cref="InvalidDataException">
    /// A file is not valid UTF-8 (the message names the file and line), the folder mixes files with class folders, a
    /// class folder or the whole input holds no document.
    /// </exception>
    public static TextLoad Load(string path, TextFileOptions? options = null)
    {
        options ??= new TextFileOptions();
        var (root, files, labels, classNames) = ListFiles(path, options.SearchPattern);
        options.Log?.Invoke($"{path}: reading {files.Count} files{(classNames.Count > 0 ? $" in {classNames.Count} classes" : "")}.");
        var texts = new List<string>();
        var sources = new List<string>();
        var documentLabels = new List<int>();
        var skipped = new List<string>();
        var problems = new Dictionary<MailProblem, int>();
        for (int f = 0; f < files.Count; f++)
        {
            var file = files[f];
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative == ".") relative = Path.GetFileName(file);
            var bytes = File.ReadAllBytes(file);
            switch (options.Format)
            {
                case TextFileFormat.Mail:
                {
                    var mail = MailParser.Read(bytes, options.Mail);
                    foreach (var p in mail.Issues.Select(i => i.Problem).Distinct()) problems[p] = problems.GetValueOrDefault(p) + 1;
                    if (mail.Text.Length == 0) Skip(relative, "no readable text in the mail");
                    else Add(mail.Text, relative, f);
                    break;
                }
                case TextFileFormat.Lines:
                {
                    var lines = DecodeUtf8(bytes, file).Split('\n');
                    for (int i = 0; i < lines.Length; i++)
                    {
                        var line = lines[i].TrimEnd('\r');
                        if (line.Trim().Length == 0) continue; // empty lines separate nothing; they are not documents
                        Add(line, $"{relative}:{i + 1}", f);
                    }
                    break;
                }
                default:
                {
                    var text = DecodeUtf8(bytes, file).ReplaceLineEndings("\n");
                    if (text.Trim().Length == 0) Skip(relative, "empty file");
                    else Add(text, relative, f);
                    break;
                }
            }
        }
        if (texts.Count == 0)
            throw new InvalidDataException($"'{path}' holds no document ({files.Count} files read, {skipped.Count} left out). " +
                                           "Point it at non-empty text files, or pick the right format (documents, lines, mail).");
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
        var dataset = new TextDataset(name, texts, classNames.Count > 0 ? [.. documentLabels] : null, classNames, sources);
        return new TextLoad(dataset, skipped, problems);

        void Add(string text, string source, int fileIndex)
        {
            texts.Add(text);
            sources.Add(source);
            if (labels is not null) documentLabels.Add(labels[fileIndex]);
        }

        void Skip(string source, string reason)
        {
            skipped.Add($"{source}: {reason}");
            options.Log?.Invoke($"Skipped {source}: {reason}.");
        }
    }

    /// <summary>Reads a JSON lines file: one JSON object per line; blank lines are ignored.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A line is not valid UTF-8 or JSON, is not an object, lacks the text or label field, or the text is not a string;
    /// the message names the file and line. Also when the file holds no document.
    /// </exception>
    public static TextLoad LoadJsonLines(string path, JsonLinesOptions? options = null)
    {
        options ??= new JsonLinesOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"JSON lines file '{path}' does not exist.", path);
        var lines = DecodeUtf8(File.ReadAllBytes(path), path).Split('\n');
        var texts = new List<string>();
        var sources = new List<string>();
        var rawLabels = new List<(string Key, bool Numeric)>();
        var file = Path.GetFileName(path);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var where = $"'{path}' line {i + 1}";
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{where} is not valid JSON ({e.Message}). Each line must hold one JSON object.", e);
            }
            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{where} holds a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object with a '{options.TextField}' field.");
                if (!root.TryGetProperty(options.TextField, out var text))
                    throw new InvalidDataException($"{where} has no field '{options.TextField}' (it has: {FieldNames(root)}). Set the text field option to the right name.");
                if (text.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{where}: field '{options.TextField}' is a {text.ValueKind.ToString().ToLowerInvariant()}, not a string.");
                texts.Add(text.GetString()!.ReplaceLineEndings("\n"));
                sources.Add($"{file}:{i + 1}");
                if (options.LabelField is null) continue;
                if (!root.TryGetProperty(options.LabelField, out var label))
                    throw new InvalidDataException($"{where} has no label field '{options.LabelField}' (it has: {FieldNames(root)}). Every line needs a label, or leave the label field unset.");
                rawLabels.Add(label.ValueKind switch
                {
                    JsonValueKind.String => (label.GetString()!, false),
                    JsonValueKind.Number => (label.GetRawText(), true),
                    JsonValueKind.True or JsonValueKind.False => (label.GetRawText(), false),
                    _ => throw new InvalidDataException($"{where}: label field '{options.LabelField}' is a {label.ValueKind.ToString().ToLowerInvariant()}; use a string, number or boolean."),
                });
            }
        }
        return Finish(path, texts, sources, options.LabelField is null ? null : rawLabels);
    }

    /// <summary>Reads one text column (and optionally a label column) of a comma-separated file (RFC 4180 quoting).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is not valid UTF-8, a quoted field is broken, a column is unknown, or a record is too short; the
    /// message names the file and record (the header is record 1). Also when the file holds no document.
    /// </exception>
    public static TextLoad LoadCsv(string path, CsvTextOptions? options = null)
    {
        options ??= new CsvTextOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV file '{path}' does not exist.", path);
        using var reader = new StringReader(DecodeUtf8(File.ReadAllBytes(path), path));
        var texts = new List<string>();
        var sources = new List<string>();
        var rawLabels = new List<(string Key, bool Numeric)>();
        int textIndex = -1, labelIndex = -1, recordNumber = 0;
        var file = Path.GetFileName(path);
        foreach (var record in CsvRecords.Read(reader, path))
        {
            recordNumber++;
            if (recordNumber == 1)
            {
                textIndex = ColumnIndex(options.TextColumn, record, options.HasHeader, path, "text");
                labelIndex = options.LabelColumn is null ? -1 : ColumnIndex(options.LabelColumn, record, options.HasHeader, path, "label");
                if (options.HasHeader) continue;
            }
            if (record.Count == 1 && record[0].Length == 0) continue; // a blank line
            int needed = Math.Max(textIndex, labelIndex) + 1;
            if (record.Count < needed)
                throw new InvalidDataException($"'{path}' record {recordNumber} has {record.Count} fields; column {needed - 1} is needed. Check the quoting of the record before it.");
            texts.Add(record[textIndex].ReplaceLineEndings("\n"));
            sources.Add($"{file}:{recordNumber}");
            if (labelIndex >= 0)
            {
                var label = record[labelIndex].Trim();
                if (label.Length == 0)
                    throw new InvalidDataException($"'{path}' record {recordNumber} has an empty label. Every record needs a label, or leave the label column unset.");
                rawLabels.Add((label, double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out _)));
            }
        }
        return Finish(path, texts, sources, labelIndex >= 0 ? rawLabels : null);
    }

    /// <summary>
    /// Class indices from raw label values: classes in numeric order when every label is a number, else in ordinal
    /// order of their text.
    /// </summary>
    internal static (int[] Labels, string[] ClassNames) IndexLabels(IReadOnlyList<(string Key, bool Numeric)> raw)
    {
        var distinct = raw.Select(r => r.Key).Distinct(StringComparer.Ordinal);
        var names = raw.All(r => r.Numeric)
            ? distinct.OrderBy(k => double.Parse(k, NumberStyles.Float, CultureInfo.InvariantCulture)).ThenBy(k => k, StringComparer.Ordinal).ToArray()
            : distinct.Order(StringComparer.Ordinal).ToArray();
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        return (raw.Select(r => index[r.Key]).ToArray(), names);
    }

    private static TextLoad Finish(string path, List<string> texts, List<string> sources, List<(string Key, bool Numeric)>? rawLabels)
    {
        if (texts.Count == 0) throw new InvalidDataException($"'{path}' holds no document.");
        int[]? labels = null;
        string[]? classNames = null;
        if (rawLabels is not null) (labels, classNames) = IndexLabels(rawLabels);
        var dataset = new TextDataset(Path.GetFileName(path), texts, labels, classNames, sources);
        return new TextLoad(dataset, [], new Dictionary<MailProblem, int>());
    }

    private static int ColumnIndex(string column, List<string> firstRecord, bool hasHeader, string path, string what)
    {
        if (hasHeader)
        {
            int i = firstRecord.FindIndex(h => string.Equals(h.Trim(), column, StringComparison.Ordinal));
            if (i < 0) i = firstRecord.FindIndex(h => string.Equals(h.Trim(), column, StringComparison.OrdinalIgnoreCase));
            if (i < 0)
                throw new InvalidDataException($"'{path}' has no {what} column '{column}'; its header names: {string.Join(", ", firstRecord.Select(h => $"'{h}'"))}.");
            return i;
        }
        if (!int.TryParse(column, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            throw new ArgumentException($"The {what} column of '{path}' must be a zero-based index when the file has no header, not '{column}'.");
        return index;
    }

    private static string FieldNames(JsonElement o)
    {
        var names = o.EnumerateObject().Select(p => $"'{p.Name}'").ToList();
        return names.Count == 0 ? "no fields" : string.Join(", ", names);
    }

    /// <summary>Strict UTF-8 (BOM dropped); invalid bytes give an error with the file and line.</summary>
    /// <exception cref="InvalidDataException">The bytes are not valid UTF-8.</exception>
    internal static string DecodeUtf8(byte[] bytes, string path)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith(Encoding.UTF8.Preamble)) span = span[3..];
        try
        {
            return StrictUtf8.GetString(span);
        }
        catch (DecoderFallbackException e)
        {
            int offset = Math.Max(0, FirstInvalidUtf8(span));
            int line = 1 + span[..Math.Min(offset, span.Length)].Count((byte)'\n');
            throw new InvalidDataException(
                $"'{path}' line {line} is not valid UTF-8 (byte {offset}). Save the file as UTF-8, or read mail with the mail format, which handles any charset.", e);
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> span)
    {
        int i = 0;
        while (i < span.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(span[i..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) return i;
            i += consumed;
        }
        return -1;
    }

    private static (string Root, List<string> Files, int[]? Labels, List<string> ClassNames) ListFiles(string path, string pattern)
    {
        if (File.Exists(path)) return (Path.GetDirectoryName(Path.GetFullPath(path))!, [Path.GetFullPath(path)], null, []);
        if (!Directory.Exists(path)) throw new FileNotFoundException($"'{path}' is neither a file nor a folder.", path);
        var root = Path.GetFullPath(path);
        var looseFiles = Visible(Directory.GetFiles(root, pattern)).ToList();
        var subFolders = Visible(Directory.GetDirectories(root)).ToList();
        if (looseFiles.Count > 0 && subFolders.Count > 0)
            throw new InvalidDataException(
                $"'{path}' mixes files ({Path.GetFileName(looseFiles[0])}, ...) with sub-folders ({Path.GetFileName(subFolders[0])}, ...). " +
                "Use one sub-folder per class, or put all files directly in the folder for unlabelled text.");
        if (subFolders.Count == 0)
        {
            if (looseFiles.Count == 0) throw new InvalidDataException($"'{path}' holds no file matching '{pattern}'.");
            return (root, looseFiles, null, []);
        }
        var files = new List<string>();
        var labels = new List<int>();
        var classNames = new List<string>();
        foreach (var folder in subFolders)
        {
            var inClass = Visible(Directory.GetFiles(folder, pattern, SearchOption.AllDirectories), root).ToList();
            if (inClass.Count == 0)
                throw new InvalidDataException($"Class folder '{folder}' holds no file matching '{pattern}'. Remove it or add documents.");
            files.AddRange(inClass);
            labels.AddRange(Enumerable.Repeat(classNames.Count, inClass.Count));
            classNames.Add(Path.GetFileName(folder));
        }
        return (root, files, [.. labels], classNames);
    }

    /// <summary>Paths without hidden names (any segment starting with '.' below <paramref name="root"/>), ordinal order.</summary>
    private static IEnumerable<string> Visible(IEnumerable<string> paths, string? root = null) =>
        paths.Where(p => !(root is null ? Path.GetFileName(p) : Path.GetRelativePath(root, p)).Split('/', '\\').Any(s => s.StartsWith('.')))
             .Order(StringComparer.Ordinal);
}
