using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace Pretext.Data;

/// <summary>
/// The decoders of RFC 2045-2047 that mail reading needs, written to accept the broken input real mail holds:
/// they never throw on bad data, they keep what they can and drop what they cannot read.
/// </summary>
internal static partial class Mime
{
    private static readonly ConcurrentDictionary<string, Encoding?> Encodings = new(StringComparer.OrdinalIgnoreCase);

    static Mime() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance); // gb2312, koi8-r, windows-125x, ...

    /// <summary>
    /// Base64 that skips every character outside the alphabet (line breaks, spaces, junk) and decodes a last
    /// incomplete group as far as it goes, instead of rejecting the whole body as <see cref="Convert"/> does.
    /// </summary>
    /// <returns>The bytes, and whether the input had anything besides the alphabet, whitespace and padding.</returns>
    public static (byte[] Bytes, bool HadJunk) DecodeBase64(ReadOnlySpan<byte> input)
    {
        var output = new List<byte>(input.Length * 3 / 4);
        int buffer = 0, bits = 0;
        bool junk = false, padded = false;
        foreach (var b in input)
        {
            int v = b switch
            {
                >= (byte)'A' and <= (byte)'Z' => b - 'A',
                >= (byte)'a' and <= (byte)'z' => b - 'a' + 26,
                >= (byte)'0' and <= (byte)'9' => b - '0' + 52,
                (byte)'+' => 62,
                (byte)'/' => 63,
                _ => -1,
            };
            if (v < 0)
            {
                if (b == '=') padded = true;
                else if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) junk = true;
                continue;
            }
            if (padded)
            {
                // Data after padding: a new group starts (concatenated base64 bodies happen in the wild).
                buffer = 0;
                bits = 0;
                padded = false;
            }
            buffer = (buffer << 6) | v;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output.Add((byte)(buffer >> bits));
                buffer &= (1 << bits) - 1;
            }
        }
        return (output.ToArray(), junk);
    }

    /// <summary>Quoted-printable (RFC 2045 6.7): =XY escapes and soft line breaks; a malformed '=' stays as it is.</summary>
    public static byte[] DecodeQuotedPrintable(ReadOnlySpan<byte> input)
    {
        var output = new List<byte>(input.Length);
        for (int i = 0; i < input.Length; i++)
        {
            byte b = input[i];
            if (b != '=')
            {
                output.Add(b);
                continue;
            }
            if (i + 2 < input.Length && Hex(input[i + 1]) is var hi and >= 0 && Hex(input[i + 2]) is var lo and >= 0)
            {
                output.Add((byte)(hi * 16 + lo));
                i += 2;
                continue;
            }
            // Soft line break: '=' then optional trailing blanks, then CRLF or LF (or the end of the body).
            int j = i + 1;
            while (j < input.Length && input[j] is (byte)' ' or (byte)'\t') j++;
            if (j == input.Length) { i = j - 1; continue; }
            if (input[j] == '\n') { i = j; continue; }
            if (input[j] == '\r') { i = j + 1 < input.Length && input[j + 1] == '\n' ? j + 1 : j; continue; }
            output.Add(b);
        }
        return output.ToArray();
    }

    /// <summary>
    /// Decodes RFC 2047 encoded words (=?charset?Q?...?= and =?charset?B?...?=) in a header value. Whitespace
    /// between two adjacent encoded words is dropped, as the RFC says, and adjacent words in one charset are decoded
    /// together, so a multi-byte character split across two words survives.
    /// </summary>
    /// <param name="unknownCharsets">Receives the charset names that could not be resolved (read as UTF-8 or Latin-1).</param>
    public static string DecodeEncodedWords(string value, ICollection<string>? unknownCharsets = null)
    {
        if (!value.Contains("=?", StringComparison.Ordinal)) return value;
        var result = new StringBuilder(value.Length);
        int last = 0;
        string? pendingCharset = null;
        var pending = new List<byte>();
        foreach (Match m in EncodedWord().Matches(value))
        {
            var between = value.AsSpan(last, m.Index - last);
            bool adjacent = pendingCharset is not null && between.IsWhiteSpace();
            var charset = m.Groups[1].Value;
            int star = charset.IndexOf('*'); // RFC 2231 language suffix: =?utf-8*en?Q?...?=
            if (star >= 0) charset = charset[..star];
            if (!adjacent || !string.Equals(charset, pendingCharset, StringComparison.OrdinalIgnoreCase))
            {
                Flush();
                if (!adjacent) result.Append(between);
                pendingCharset = charset;
            }
            var payload = Encoding.Latin1.GetBytes(m.Groups[3].Value);
            if (m.Groups[2].Value is "B" or "b") pending.AddRange(DecodeBase64(payload).Bytes);
            else
            {
                for (int i = 0; i < payload.Length; i++) if (payload[i] == '_') payload[i] = (byte)' ';
                pending.AddRange(DecodeQuotedPrintable(payload));
            }
            last = m.Index + m.Length;
        }
        Flush();
        result.Append(value.AsSpan(last));
        return result.ToString();

        void Flush()
        {
            if (pendingCharset is null) return;
            result.Append(DecodeText(pending.ToArray(), pendingCharset, unknownCharsets));
            pending.Clear();
            pendingCharset = null;
        }
    }

    /// <summary>
    /// Bytes to text in a declared charset. No charset, US-ASCII (often a lie in mail) or an unknown charset: UTF-8
    /// when the bytes are valid UTF-8, else Latin-1, which maps every byte to a character. ISO-8859-1 is read as
    /// Windows-1252, its superset, as browsers do (WHATWG Encoding), so "smart quotes" survive.
    /// </summary>
    /// <param name="unknownCharsets">Receives a declared charset that could not be resolved.</param>
    public static string DecodeText(byte[] bytes, string? charset, ICollection<string>? unknownCharsets = null)
    {
        var encoding = Resolve(charset, out bool unknown);
        if (unknown && charset is not null) unknownCharsets?.Add(charset);
        if (encoding is not null) return encoding.GetString(bytes);
        return Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
    }

    /// <summary>The encoding a charset name stands for; null means "guess between UTF-8 and Latin-1".</summary>
    public static Encoding? Resolve(string? charset, out bool unknown)
    {
        unknown = false;
        if (charset is null) return null;
        var name = charset.Trim().Trim('"', '\'').Trim();
        if (name.Length == 0) return null;
        // Windows font charset names leak into mail as charsets: GB2312_CHARSET, DEFAULT_CHARSET.
        if (name.EndsWith("_charset", StringComparison.OrdinalIgnoreCase)) name = name[..^"_charset".Length];
        switch (name.ToLowerInvariant())
        {
            case "us-ascii" or "ascii" or "ansi_x3.4-1968" or "iso646-us" or "default" or "unknown-8bit" or "x-unknown" or "unknown":
                return null;
            case "iso-8859-1" or "iso8859-1" or "iso_8859-1" or "latin1" or "latin-1" or "l1" or "cp819":
                name = "windows-1252";
                break;
            case "utf8" or "x-utf8":
                name = "utf-8";
                break;
            case "chinesebig5" or "x-big5":
                name = "big5";
                break;
        }
        var encoding = Encodings.GetOrAdd(name, static n =>
        {
            try
            {
                var e = Encoding.GetEncoding(n);
                // UTF-7 and UTF-16/32 without BOM are legal but rare; the platform decoders handle them. Decoders are
                // used with replacement fallback (the default), so undecodable bytes become U+FFFD instead of throwing.
                return e;
            }
            catch (ArgumentException)
            {
                return null;
            }
            catch (NotSupportedException)
            {
                return null;
            }
        });
        unknown = encoding is null;
        return encoding;
    }

    /// <summary>
    /// Whether decoded text is not text: more than 5 % of the first 4,096 characters are C0 control characters
    /// (other than tab, line breaks, form feed and escape), DEL or replacement characters. C1 controls do not count:
    /// they are what text in an undeclared legacy charset becomes when read as Latin-1.
    /// </summary>
    public static bool LooksBinary(string text)
    {
        int n = Math.Min(text.Length, 4096);
        if (n == 0) return false;
        int bad = 0;
        for (int i = 0; i < n; i++)
        {
            char c = text[i];
            if (c is '\uFFFD' or '\u007F' || (c < ' ' && c is not ('\t' or '\n' or '\r' or '\f' or '\u001B'))) bad++;
        }
        return bad * 20 > n; // random bytes give about 11 %, real text well under 1 %
    }

    private static int Hex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        _ => -1,
    };

    // charset (RFC 2231 language allowed), encoding letter, payload; payloads of broken mail may hold spaces.
    [GeneratedRegex(@"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=", RegexOptions.CultureInvariant)]
    private static partial Regex EncodedWord();
}
