namespace Pretext.Runs;

/// <summary>
/// A part of a report that one kind of data adds beyond the label protocols (video: next-frame error against copying the last
/// frame, with a strip of predicted frames): shown in report.html under its heading, its numbers also as flat keys of summary.json.
/// </summary>
/// <param name="Heading">The section's heading in report.html.</param>
public sealed record ReportSection(string Heading)
{
    public IReadOnlyList<string> Paragraphs { get; init; } = [];
    /// <summary>Column names of the section's table (empty: no table).</summary>
    public IReadOnlyList<string> Header { get; init; } = [];
    public IReadOnlyList<string[]> Rows { get; init; } = [];
    /// <summary>PNG files (under the report's folder) with their captions.</summary>
    public IReadOnlyList<(string Caption, string Path)> Images { get; init; } = [];
    /// <summary>Flat keys added to summary.json (snake case, unique across sections).</summary>
    public IReadOnlyDictionary<string, double> Summary { get; init; } = new Dictionary<string, double>();
}
