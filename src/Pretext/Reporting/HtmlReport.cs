using System.Globalization;
using System.Net;
using System.Text;
using Pretext.Export;

namespace Pretext.Reporting;

/// <summary>
/// Builds a single self-contained HTML page: inline CSS, images embedded as base64 data URIs, no
/// scripts and no external references, so the file can be mailed, archived or opened offline.
/// </summary>
/// <remarks>
/// Sections are rendered when they are added: an image file is read (and checked) at
/// <see cref="AddImage"/>, so a missing plot fails where it is added, not at save time. All text
/// is HTML-escaped; callers pass plain text, never markup.
/// </remarks>
public sealed class HtmlReport
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly StringBuilder _body = new();

    /// <summary>Page title, shown in the browser tab and as the top heading.</summary>
    public string Title { get; set; } = "Pretext report";

    /// <summary>Adds a section heading.</summary>
    /// <param name="text">Heading text.</param>
    /// <param name="level">2 (section) to 4; level 1 is reserved for <see cref="Title"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="level"/> is outside 2..4.</exception>
    public HtmlReport AddHeading(string text, int level = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 4);
        _body.Append(CultureInfo.InvariantCulture, $"<h{level}>{Escape(text)}</h{level}>\n");
        return this;
    }

    /// <summary>Adds a paragraph of plain text.</summary>
    public HtmlReport AddParagraph(string text)
    {
        _body.Append("<p>").Append(Escape(text)).Append("</p>\n");
        return this;
    }

    /// <summary>Adds a warning box (red bar, tinted background) that stands out from the rest of the page, e.g. a collapsed run.</summary>
    public HtmlReport AddWarning(string text)
    {
        _body.Append("<div class=\"warning\" role=\"alert\">").Append(Escape(text)).Append("</div>\n");
        return this;
    }

    /// <summary>Adds a two-column table of settings or results.</summary>
    public HtmlReport AddKeyValueTable(string caption, IEnumerable<(string Key, string Value)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return AddTable(caption, ["Key", "Value"], pairs.Select(p => new[] { p.Key, p.Value }));
    }

    /// <summary>Adds a table; cells that parse as numbers are right-aligned so digits line up.</summary>
    /// <exception cref="ArgumentException">A row's cell count differs from the header's.</exception>
    public HtmlReport AddTable(string caption, string[] header, IEnumerable<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        var table = new StringBuilder("<table>\n");
        if (!string.IsNullOrEmpty(caption)) table.Append("<caption>").Append(Escape(caption)).Append("</caption>\n");
        table.Append("<thead><tr>");
        foreach (var h in header) table.Append("<th>").Append(Escape(h)).Append("</th>");
        table.Append("</tr></thead>\n<tbody>\n");
        int rowNumber = 0;
        foreach (var row in rows)
        {
            rowNumber++;
            if (row.Length != header.Length)
                throw new ArgumentException($"Table '{caption}' row {rowNumber} has {row.Length} cells but the header has {header.Length}.", nameof(rows));
            table.Append("<tr>");
            foreach (var cell in row)
                table.Append(IsNumber(cell) ? "<td class=\"num\">" : "<td>").Append(Escape(cell)).Append("</td>");
            table.Append("</tr>\n");
        }
        table.Append("</tbody>\n</table>\n");
        _body.Append(table);
        return this;
    }

    /// <summary>Embeds a PNG file as a base64 data URI, with a caption below it.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a PNG.</exception>
    public HtmlReport AddImage(string caption, string pngPath)
    {
        var bytes = File.ReadAllBytes(pngPath);
        if (!bytes.AsSpan().StartsWith(PngSignature))
            throw new InvalidDataException($"'{pngPath}' is not a PNG file (wrong signature); pass a PNG such as one written by {nameof(Plots)}.");
        _body.Append("<figure><img alt=\"").Append(Escape(caption)).Append("\" src=\"data:image/png;base64,")
             .Append(Convert.ToBase64String(bytes)).Append("\">");
        if (!string.IsNullOrEmpty(caption)) _body.Append("<figcaption>").Append(Escape(caption)).Append("</figcaption>");
        _body.Append("</figure>\n");
        return this;
    }

    /// <summary>Adds preformatted text (logs, command lines, configuration), kept verbatim in a monospace block.</summary>
    public HtmlReport AddPreformatted(string text)
    {
        _body.Append("<pre>").Append(Escape(text)).Append("</pre>\n");
        return this;
    }

    /// <summary>Returns the complete HTML document.</summary>
    public string ToHtml()
    {
        var title = Escape(Title);
        return $"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{title}</title>
            <style>
            {Css}
            </style>
            </head>
            <body>
            <main>
            <h1>{title}</h1>
            {_body}<footer>Generated by Pretext</footer>
            </main>
            </body>
            </html>

            """;
    }

    /// <summary>Writes the document to <paramref name="path"/> atomically (UTF-8, no BOM).</summary>
    public void Save(string path) => AtomicFile.WriteText(path, w => w.Write(ToHtml()));

    private static string Escape(string? text) => WebUtility.HtmlEncode(text ?? "");

    private static bool IsNumber(string cell) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    // System fonts only: a web font would be an external resource.
    private const string Css = """
        :root { color-scheme: light; }
        body { margin: 0; background: #f6f7f9; color: #1d232b;
               font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 960px; margin: 0 auto; padding: 24px 32px 48px; background: #fff;
               box-shadow: 0 0 0 1px #e3e6ea; min-height: 100vh; box-sizing: border-box; }
        h1 { font-size: 1.8em; margin: 0.2em 0 0.6em; border-bottom: 2px solid #2b6cb0; padding-bottom: 0.2em; }
        h2 { font-size: 1.35em; margin: 1.6em 0 0.5em; color: #2b6cb0; }
        h3 { font-size: 1.15em; margin: 1.3em 0 0.4em; }
        h4 { font-size: 1em; margin: 1.1em 0 0.3em; }
        table { border-collapse: collapse; margin: 0.8em 0 1.2em; font-size: 0.95em; min-width: 50%; }
        caption { text-align: left; font-weight: 600; padding: 0 0 0.4em; }
        th, td { border: 1px solid #d9dde3; padding: 5px 10px; text-align: left; vertical-align: top; }
        th { background: #edf1f6; }
        tbody tr:nth-child(even) { background: #f7f9fb; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        figure { margin: 1em 0 1.4em; }
        figure img { max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
        figcaption { color: #59636e; font-size: 0.9em; margin-top: 0.3em; }
        pre { background: #f3f4f6; border: 1px solid #e3e6ea; padding: 10px 12px; overflow-x: auto;
              font: 13px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
        .warning { margin: 0.8em 0 1.2em; padding: 12px 16px; background: #fdecea; border-left: 8px solid #c62828;
                   color: #5f1410; font-weight: 600; }
        footer { margin-top: 3em; color: #8a939d; font-size: 0.85em; }
        """;
}
