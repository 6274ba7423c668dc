using System.Text;
using System.Text.Unicode;

namespace Pretext.Data;

/// <summary>Which header fields of a mail end up in its text.</summary>
public enum MailHeaders
{
    /// <summary>Body text only.</summary>
    None,
    /// <summary>A "Subject: ..." line, then the body (default: the subject is often the most telling line).</summary>
    Subject,
    /// <summary>Every header field of the message (and of attached messages) as "Name: value" lines, then the body.</summary>
    All,
}

/// <summary>Something wrong with a mail that <see cref="MailParser"/> worked around.</summary>
public enum MailProblem
{
    /// <summary>The header block ends in a line that is neither a field nor a continuation; the rest is read as body.</summary>
    MalformedHeaders,
    /// <summary>A charset name that this platform does not know; the bytes were read as UTF-8 when valid, else Latin-1.</summary>
    UnknownCharset,
    /// <summary>A multipart entity without a boundary, or whose boundary never occurs; its body was read as plain text.</summary>
    MissingBoundary,
    /// <summary>A multipart entity without its closing boundary; the parts found were read.</summary>
    UnterminatedMultipart,
    /// <summary>A base64 body with characters outside the alphabet; they were skipped.</summary>
    BadBase64,
    /// <summary>A text part that decodes to mostly control or replacement characters; it was left out.</summary>
    BinaryPart,
    /// <summary>Multipart or attached messages nested deeper than <see cref="MailReadOptions.MaxDepth"/>; the deeper ones were left out.</summary>
    TooDeep,
    /// <summary>Nothing readable was left (no text part, or only empty or binary ones).</summary>
    NoText,
}

/// <summary>One problem found in a mail, with details for logs.</summary>
public sealed record MailIssue(MailProblem Problem, string Detail);

/// <summary>Settings of <see cref="MailParser.Read"/>.</summary>
public sealed class MailReadOptions
{
    /// <summary>Header fields kept in the text. Default: <see cref="MailHeaders.Subject"/>.</summary>
    public MailHeaders Headers { get; init; } = MailHeaders.Subject;
    /// <summary>Deepest nesting of multipart entities and attached messages that is read. Default: 16.</summary>
    public int MaxDepth { get; init; } = 16;
}

/// <summary>What <see cref="MailParser.Read"/> made of a mail.</summary>
/// <param name="Text">Kept header lines, an empty line, then the body text; "" when nothing was readable.</param>
/// <param name="Subject">The decoded subject, or null when the mail has none.</param>
/// <param name="SkippedAttachments">Non-text parts (images, applications, audio, ...) left out.</param>
/// <param name="Issues">What was wrong and worked around; empty for a well-formed mail.</param>
public sealed record MailText(string Text, string? Subject, int SkippedAttachments, IReadOnlyList<MailIssue> Issues);

/// <summary>
/// Reads the text of an RFC 822/5322 mail with MIME (RFC 2045-2047): header fields (folded lines unfolded, encoded
/// words decoded), nested multipart entities, quoted-printable and base64 bodies, any charset the platform knows
/// (code pages included), HTML parts turned into their visible text. Non-text parts are skipped and counted.
/// <para>It is written for real mail, spam included, and never throws on malformed input: a broken header block, a
/// missing boundary, an unknown charset, bad base64 or binary junk are worked around and reported in
/// <see cref="MailText.Issues"/>. An mbox "From " line at the start is ignored.</para>
/// <para>Choices: in multipart/alternative the first text/plain part wins unless another alternative holds more than
/// twice its text (then the plain part is a stub or broken, and the richest alternative is read); other multiparts give the text of every part, in order, separated by an empty line. A text/plain body that
/// starts like an HTML document (&lt;html, &lt;!doctype html, &lt;head, &lt;body) is read as HTML, since much spam is
/// sent that way. Unlabelled text, US-ASCII (often a lie) and unknown charsets are read as UTF-8 when valid, else
/// Latin-1; ISO-8859-1 is read as Windows-1252. Line breaks become "\n", control characters other than tab and line
/// break are removed, blanks at line ends are trimmed and runs of empty lines collapse into one.</para>
/// </summary>
public static class MailParser
{
    private static readonly byte[] MboxFrom = "From "u8.ToArray();
    private static readonly string[] HtmlStarts = ["<html", "<!doctype html", "<head", "<body"];

    /// <summary>Reads the text of one mail given as its raw bytes.</summary>
    public static MailText Read(byte[] raw, MailReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(raw);
        options ??= new MailReadOptions();
        if (options.MaxDepth < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxDepth, "MaxDepth must be at least 1.");
        var context = new Context(options);
        var message = ReadMessage(raw, 0, context, topLevel: true);
        if (message.Text.Length == 0) context.Issues.Add(new MailIssue(MailProblem.NoText, "no readable text"));
        return new MailText(message.Text, message.Subject, context.SkippedAttachments, context.Issues);
    }

    private sealed class Context(MailReadOptions options)
    {
        public MailReadOptions Options { get; } = options;
        public List<MailIssue> Issues { get; } = [];
        public int SkippedAttachments { get; set; }

        public void AddUnknownCharsets(IEnumerable<string> names)
        {
            foreach (var name in names.Distinct(StringComparer.OrdinalIgnoreCase))
                Issues.Add(new MailIssue(MailProblem.UnknownCharset, $"charset '{name}' is unknown; read as UTF-8 or Latin-1"));
        }
    }

    private enum Kind { Empty, Plain, Html, Mixed }

    private readonly record struct Extract(string Text, Kind Kind);

    private sealed record Header(string Name, byte[] RawValue);

    private sealed record Message(string Text, string? Subject);

    /// <summary>A whole message (top level or message/rfc822): its kept header lines and its body.</summary>
    private static Message ReadMessage(ReadOnlyMemory<byte> data, int depth, Context context, bool topLevel)
    {
        var (headers, bodyStart) = SplitHeaders(data.Span, topLevel, context);
        var charset = ContentType(headers).Parameters.GetValueOrDefault("charset");
        var unknown = new List<string>();
        string? subject = null;
        var headerLines = new StringBuilder();
        foreach (var h in headers)
        {
            bool isSubject = h.Name.Equals("Subject", StringComparison.OrdinalIgnoreCase);
            if (!isSubject && context.Options.Headers != MailHeaders.All) continue;
            var value = CollapseWhitespace(Mime.DecodeEncodedWords(HeaderString(h.RawValue, charset, unknown), unknown));
            if (isSubject) subject ??= value;
            if (context.Options.Headers == MailHeaders.All) headerLines.Append(h.Name).Append(": ").Append(value).Append('\n');
        }
        if (context.Options.Headers == MailHeaders.Subject && subject is { Length: > 0 }) headerLines.Append("Subject: ").Append(subject);
        context.AddUnknownCharsets(unknown);
        var body = ReadEntity(headers, data[bodyStart..], depth, context);
        var head = headerLines.ToString().TrimEnd('\n');
        var text = head.Length == 0 ? body.Text : body.Text.Length == 0 ? head : head + "\n\n" + body.Text;
        return new Message(text, subject);
    }

    /// <summary>Decodes and extracts one MIME entity's body according to its header fields.</summary>
    private static Extract ReadEntity(List<Header> headers, ReadOnlyMemory<byte> body, int depth, Context context)
    {
        if (depth >= context.Options.MaxDepth)
        {
            context.Issues.Add(new MailIssue(MailProblem.TooDeep, $"entities nested deeper than {context.Options.MaxDepth} were left out"));
            return new Extract("", Kind.Empty);
        }
        var contentType = ContentType(headers);
        var transfer = HeaderValue(headers, "Content-Transfer-Encoding")?.Trim().ToLowerInvariant();
        switch (contentType.Type)
        {
            case "multipart":
            {
                var raw = transfer is "base64" or "quoted-printable" ? Decode(body.Span, transfer, context) : body;
                var boundary = contentType.Parameters.GetValueOrDefault("boundary");
                var split = boundary is { Length: > 0 } ? SplitMultipart(raw.Span, boundary) : null;
                if (split is null)
                {
                    context.Issues.Add(new MailIssue(MailProblem.MissingBoundary, boundary is { Length: > 0 }
                        ? $"boundary '{boundary}' never occurs; body read as plain text"
                        : $"multipart/{contentType.Subtype} without a boundary; body read as plain text"));
                    return TextPart(raw.ToArray(), "plain", charset: null, context);
                }
                if (!split.Value.Terminated)
                    context.Issues.Add(new MailIssue(MailProblem.UnterminatedMultipart, $"boundary '{boundary}' is never closed"));
                var parts = new List<Extract>();
                foreach (var (start, length) in split.Value.Parts)
                {
                    var part = raw.Slice(start, length);
                    var (partHeaders, partBodyStart) = SplitHeaders(part.Span, topLevel: false, context);
                    if (contentType.Subtype == "digest" && !partHeaders.Any(h => h.Name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
                        partHeaders.Add(new Header("Content-Type", "message/rfc822"u8.ToArray())); // RFC 2046 5.1.5
                    parts.Add(ReadEntity(partHeaders, part[partBodyStart..], depth + 1, context));
                }
                if (contentType.Subtype == "alternative")
                {
                    // The plain part, unless another alternative holds more than twice its text: then the plain part is a
                    // stub ("this is an HTML message") or broken, and the richer one says what the mail says.
                    var richest = parts.Where(p => p.Kind != Kind.Empty).OrderByDescending(p => p.Text.Length).FirstOrDefault();
                    if (richest.Text is null) return new Extract("", Kind.Empty);
                    var plain = parts.FirstOrDefault(p => p.Kind == Kind.Plain);
                    return plain.Text is not null && plain.Text.Length * 2 >= richest.Text.Length ? plain : richest;
                }
                var texts = parts.Where(p => p.Text.Length > 0).ToList();
                return texts.Count == 0 ? new Extract("", Kind.Empty) : new Extract(string.Join("\n\n", texts.Select(p => p.Text)), Kind.Mixed);
            }
            case "message" when contentType.Subtype is "rfc822" or "global" or "news":
            {
                var nested = ReadMessage(Decode(body.Span, transfer, context), depth + 1, context, topLevel: false);
                return nested.Text.Length == 0 ? new Extract("", Kind.Empty) : new Extract(nested.Text, Kind.Mixed);
            }
            case "text" or "message": // message/delivery-status and the like are readable text
                return TextPart(Decode(body.Span, transfer, context).ToArray(), contentType.Subtype,
                    contentType.Parameters.GetValueOrDefault("charset"), context);
            default:
                context.SkippedAttachments++;
                return new Extract("", Kind.Empty);
        }
    }

    private static Extract TextPart(byte[] bytes, string subtype, string? charset, Context context)
    {
        var unknown = new List<string>();
        var text = Mime.DecodeText(bytes, charset, unknown);
        context.AddUnknownCharsets(unknown);
        if (Mime.LooksBinary(text))
        {
            context.Issues.Add(new MailIssue(MailProblem.BinaryPart, $"a text/{subtype} part of {bytes.Length} bytes is mostly binary; left out"));
            return new Extract("", Kind.Empty);
        }
        text = text.TrimStart('\uFEFF');
        bool html = subtype is "html" or "xhtml" or "xhtml+xml"
                    || (subtype == "plain" && HtmlStarts.Any(s => text.AsSpan().TrimStart().StartsWith(s, StringComparison.OrdinalIgnoreCase)));
        var clean = html ? HtmlText.ToText(CleanControls(text)) : HtmlText.Tidy(CleanControls(text), trimLineStarts: false);
        return clean.Length == 0 ? new Extract("", Kind.Empty) : new Extract(clean, html ? Kind.Html : Kind.Plain);
    }

    private static ReadOnlyMemory<byte> Decode(ReadOnlySpan<byte> body, string? transfer, Context context)
    {
        switch (transfer)
        {
            case "base64":
                var (bytes, junk) = Mime.DecodeBase64(body);
                if (junk) context.Issues.Add(new MailIssue(MailProblem.BadBase64, "characters outside the base64 alphabet were skipped"));
                return bytes;
            case "quoted-printable":
                return Mime.DecodeQuotedPrintable(body);
            default: // 7bit, 8bit, binary, and unknown encodings such as x-uuencode: the bytes as they are
                return body.ToArray();
        }
    }

    /// <summary>
    /// Splits a header block from the body. Ends at the first empty line; a line that is neither "Name: value" nor a
    /// continuation ends it early (the line starts the body). An mbox "From " line is skipped at the top level.
    /// </summary>
    private static (List<Header> Headers, int BodyStart) SplitHeaders(ReadOnlySpan<byte> data, bool topLevel, Context context)
    {
        var headers = new List<Header>();
        int pos = 0;
        if (topLevel && data.StartsWith(MboxFrom)) NextLine(data, ref pos);
        string? name = null;
        var value = new List<byte>();
        int lineNumber = 0;
        while (pos < data.Length)
        {
            int lineStart = pos;
            var line = NextLine(data, ref pos);
            lineNumber++;
            if (line.IsEmpty)
            {
                Flush();
                return (headers, pos);
            }
            if (line[0] is (byte)' ' or (byte)'\t' && name is not null)
            {
                value.AddRange(line);
                continue;
            }
            int colon = line.IndexOf((byte)':');
            var fieldName = colon > 0 ? line[..colon].TrimEnd(" \t"u8) : default;
            if (fieldName.Length > 0 && IsFieldName(fieldName))
            {
                Flush();
                name = Encoding.ASCII.GetString(fieldName);
                value.AddRange(line[(colon + 1)..]);
                continue;
            }
            Flush();
            // Not a header line. Before any field, there is no header block at all (a bare text file); later, the header
            // block lacks its empty line.
            if (headers.Count > 0)
                context.Issues.Add(new MailIssue(MailProblem.MalformedHeaders, $"header line {lineNumber} is not a field; the body starts there"));
            return (headers, lineStart);
        }
        Flush();
        return (headers, data.Length);

        void Flush()
        {
            if (name is not null) headers.Add(new Header(name, [.. value]));
            name = null;
            value.Clear();
        }
    }

    private static bool IsFieldName(ReadOnlySpan<byte> name)
    {
        if (name.Length > 76) return false;
        foreach (var b in name)
            if (b is < 33 or > 126) return false;
        return true;
    }

    /// <summary>The line at <paramref name="pos"/> without its CRLF/LF/CR; moves <paramref name="pos"/> past the break.</summary>
    private static ReadOnlySpan<byte> NextLine(ReadOnlySpan<byte> data, ref int pos)
    {
        var rest = data[pos..];
        int end = rest.IndexOfAny((byte)'\n', (byte)'\r');
        if (end < 0)
        {
            pos = data.Length;
            return rest;
        }
        int skip = rest[end] == '\r' && end + 1 < rest.Length && rest[end + 1] == '\n' ? 2 : 1;
        pos += end + skip;
        return rest[..end];
    }

    /// <summary>
    /// Body parts between "--boundary" lines (the line break before a delimiter belongs to it, RFC 2046 5.1.1).
    /// Null when the boundary never occurs. The preamble and epilogue are dropped.
    /// </summary>
    private static (List<(int Start, int Length)> Parts, bool Terminated)? SplitMultipart(ReadOnlySpan<byte> body, string boundary)
    {
        var delimiter = Encoding.Latin1.GetBytes("--" + boundary);
        var parts = new List<(int, int)>();
        int pos = 0, partStart = -1;
        bool found = false;
        while (pos < body.Length)
        {
            int lineStart = pos;
            var line = NextLine(body, ref pos);
            if (!line.StartsWith(delimiter)) continue;
            var after = line[delimiter.Length..];
            bool closing = after.StartsWith("--"u8);
            if (!closing && !after.TrimEnd(" \t"u8).IsEmpty) continue; // a longer boundary that merely starts the same
            found = true;
            if (partStart >= 0) parts.Add((partStart, PartEnd(body, partStart, lineStart) - partStart));
            if (closing) return (parts, true);
            partStart = pos;
        }
        if (!found) return null;
        if (partStart >= 0 && partStart < body.Length) parts.Add((partStart, body.Length - partStart));
        return (parts, false);
    }

    private static int PartEnd(ReadOnlySpan<byte> body, int partStart, int delimiterLineStart)
    {
        int end = delimiterLineStart;
        if (end > partStart && body[end - 1] == '\n') end--;
        if (end > partStart && body[end - 1] == '\r') end--;
        return end;
    }

    private readonly record struct MediaType(string Type, string Subtype, Dictionary<string, string> Parameters);

    /// <summary>Content-Type as type, subtype and parameters (lower-case names); text/plain when absent or malformed.</summary>
    private static MediaType ContentType(List<Header> headers)
    {
        var value = HeaderValue(headers, "Content-Type");
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (value is null) return new MediaType("text", "plain", parameters);
        var pieces = SplitParameters(value);
        var media = pieces[0].Trim().ToLowerInvariant();
        int slash = media.IndexOf('/');
        var (type, subtype) = slash > 0 ? (media[..slash].Trim(), media[(slash + 1)..].Trim()) : ("", "");
        // A malformed type (no slash, blanks inside) is what RFC 2045 5.2 says to treat as the default, text/plain.
        if (type.Length == 0 || type.Any(char.IsWhiteSpace)) (type, subtype) = ("text", "plain");
        else if (subtype.Length == 0) subtype = type == "text" ? "plain" : "unknown";
        foreach (var piece in pieces.Skip(1))
        {
            int eq = piece.IndexOf('=');
            if (eq <= 0) continue;
            var name = piece[..eq].Trim();
            var v = piece[(eq + 1)..].Trim();
            if (v.Length >= 2 && v[0] == '"' && v[^1] == '"') v = v[1..^1].Replace("\\\"", "\"").Replace("\\\\", "\\");
            else v = v.Trim('"');
            // RFC 2231 continuations (boundary*0=..., boundary*1=...) are joined; charset'lang'value is simplified.
            var star = name.IndexOf('*');
            if (star > 0)
            {
                var baseName = name[..star];
                if (name.EndsWith('*') && v.Count(c => c == '\'') >= 2) v = v[(v.LastIndexOf('\'') + 1)..];
                parameters[baseName] = parameters.GetValueOrDefault(baseName, "") + v;
                continue;
            }
            parameters.TryAdd(name, v);
        }
        return new MediaType(type, subtype, parameters);
    }

    /// <summary>Splits at ';' outside double quotes.</summary>
    private static List<string> SplitParameters(string value)
    {
        var pieces = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '"') quoted = !quoted;
            else if (c == '\\' && quoted && i + 1 < value.Length) { current.Append(c).Append(value[++i]); continue; }
            if (c == ';' && !quoted)
            {
                pieces.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(c);
        }
        pieces.Add(current.ToString());
        return pieces;
    }

    private static string? HeaderValue(List<Header> headers, string name)
    {
        foreach (var h in headers)
            if (h.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                return CollapseWhitespace(Encoding.Latin1.GetString(h.RawValue));
        return null;
    }

    /// <summary>
    /// A header value as text. Headers should be ASCII, but raw 8-bit headers are common in spam: UTF-8 when valid, else
    /// the body's declared charset, else Latin-1.
    /// </summary>
    private static string HeaderString(byte[] raw, string? bodyCharset, List<string> unknown)
    {
        if (Utf8.IsValid(raw)) return Encoding.UTF8.GetString(raw);
        var encoding = Mime.Resolve(bodyCharset, out bool isUnknown);
        if (isUnknown && bodyCharset is not null) unknown.Add(bodyCharset);
        return (encoding ?? Encoding.Latin1).GetString(raw);
    }

    private static string CollapseWhitespace(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool space = false;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = sb.Length > 0;
                continue;
            }
            if (space) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Line breaks to "\n"; control characters other than tab and line break removed (form feed breaks a line).</summary>
    private static string CleanControls(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\r')
            {
                sb.Append('\n');
                if (i + 1 < s.Length && s[i + 1] == '\n') i++;
            }
            else if (c is '\n' or '\t') sb.Append(c);
            else if (c is '\f' or '\v' or '\u2028' or '\u2029' or '\u0085') sb.Append('\n');
            else if (!char.IsControl(c)) sb.Append(c);
        }
        return sb.ToString();
    }
}
