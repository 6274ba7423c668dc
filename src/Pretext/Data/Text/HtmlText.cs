using System.Net;
using System.Text;

namespace Pretext.Data;

/// <summary>
/// The visible text of an HTML document or fragment, as a reader of the rendered page would see it. Tolerant of the
/// broken HTML in spam: an unclosed comment or script runs to the end, a '&lt;' that starts no tag is text.
/// </summary>
public static class HtmlText
{
    // Elements whose start or end begins a new line in the rendered page.
    private static readonly HashSet<string> BlockElements = new(StringComparer.OrdinalIgnoreCase)
    {
        "address", "article", "aside", "blockquote", "br", "center", "dd", "div", "dl", "dt", "fieldset", "figcaption",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "table", "tbody", "thead", "tfoot", "title", "tr", "ul", "body", "html", "head",
    };

    // Elements whose content is never shown.
    private static readonly string[] HiddenElements = ["script", "style", "noscript", "template", "object", "applet"];

    /// <summary>
    /// Converts HTML to text: tags are removed, comments and the content of script, style and similar elements are
    /// dropped, block elements (p, div, br, tr, li, headings, ...) start new lines, table cells are separated by a
    /// space, character references (&amp;amp;, &amp;#233;, &amp;eacute;) are decoded, runs of whitespace inside
    /// text collapse to one space, and no more than one empty line is kept.
    /// </summary>
    public static string ToText(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var output = new StringBuilder(html.Length / 2);
        var text = new StringBuilder();
        int i = 0;
        while (i < html.Length)
        {
            char c = html[i];
            if (c != '<' || i + 1 >= html.Length || !StartsMarkup(html[i + 1]))
            {
                text.Append(c);
                i++;
                continue;
            }
            FlushText();
            if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
            {
                int end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = end < 0 ? html.Length : end + 3;
                continue;
            }
            int close = html.IndexOf('>', i + 1);
            if (close < 0)
            {
                // '<' with no '>' after it: not a tag, keep it as text.
                text.Append(html, i, html.Length - i);
                break;
            }
            var (name, isEnd) = TagName(html, i + 1, close);
            i = close + 1;
            if (name.Length == 0) continue;
            if (!isEnd && Array.Exists(HiddenElements, h => h.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                int end = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                if (end < 0) { i = html.Length; continue; }
                int endClose = html.IndexOf('>', end);
                i = endClose < 0 ? html.Length : endClose + 1;
                continue;
            }
            if (name.Equals("br", StringComparison.OrdinalIgnoreCase)) NewLine(always: true);
            else if (BlockElements.Contains(name)) NewLine(always: false);
            else if (name.Equals("td", StringComparison.OrdinalIgnoreCase) || name.Equals("th", StringComparison.OrdinalIgnoreCase))
                Space();
        }
        FlushText();
        return Tidy(output.ToString(), trimLineStarts: true);

        void FlushText()
        {
            if (text.Length == 0) return;
            var decoded = WebUtility.HtmlDecode(text.ToString());
            text.Clear();
            foreach (var ch in decoded)
            {
                if (char.IsWhiteSpace(ch)) Space();
                else output.Append(ch);
            }
        }

        void Space()
        {
            if (output.Length > 0 && output[^1] is not (' ' or '\n')) output.Append(' ');
        }

        // A block boundary starts a line once (nested blocks do not stack up empty lines); every <br> breaks a line.
        void NewLine(bool always)
        {
            while (output.Length > 0 && output[^1] == ' ') output.Length--;
            if (always || (output.Length > 0 && output[^1] != '\n')) output.Append('\n');
        }
    }

    /// <summary>Trims blanks at line ends (and starts, when asked) and collapses runs of empty lines into one; no
    /// empty lines at the start or the end.</summary>
    internal static string Tidy(string s, bool trimLineStarts)
    {
        var lines = s.Split('\n');
        var result = new StringBuilder(s.Length);
        int blank = 0;
        foreach (var raw in lines)
        {
            var line = trimLineStarts ? raw.Trim(' ', '\t') : raw.TrimEnd(' ', '\t');
            if (line.Length == 0)
            {
                blank++;
                continue;
            }
            if (result.Length > 0) result.Append(blank > 0 ? "\n\n" : "\n");
            blank = 0;
            result.Append(line);
        }
        return result.ToString();
    }

    private static bool StartsMarkup(char next) => char.IsAsciiLetter(next) || next is '/' or '!' or '?';

    private static (string Name, bool IsEnd) TagName(string html, int start, int end)
    {
        int i = start;
        bool isEnd = false;
        if (i < end && html[i] == '/') { isEnd = true; i++; }
        int nameStart = i;
        while (i < end && (char.IsAsciiLetterOrDigit(html[i]) || html[i] is '-' or ':')) i++;
        return (html[nameStart..i], isEnd);
    }
}
