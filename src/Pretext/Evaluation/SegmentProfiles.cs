using System.Globalization;
using Pretext.Data.Tables;

namespace Pretext.Evaluation;

/// <summary>How one column of a segment differs from the whole table.</summary>
/// <param name="Kind">"numeric" or "categorical".</param>
/// <param name="SegmentValue">Numeric: the segment's mean. Categorical: the segment's most frequent value and its share there.</param>
/// <param name="OverallValue">Numeric: the table's mean. Categorical: the share of that same value in the whole table.</param>
/// <param name="Difference">In the whole table's standard deviations: numeric, (segment mean - table mean) / table std; categorical, the
/// same for the indicator of the segment's most frequent value, (p_segment - p_table) / sqrt(p_table (1 - p_table)). One scale for both
/// kinds, so they rank together.</param>
public sealed record ColumnDifference(string Column, string Kind, string SegmentValue, string OverallValue, double Difference);

/// <summary>One segment: its size, its share of the records and the columns that differ most from the whole table, most first.</summary>
public sealed record SegmentProfile(int Segment, int Size, double Share, IReadOnlyList<ColumnDifference> Columns);

/// <summary>Profiles of segments (clusters) of table records in the records' own columns, for people to read what a segment is.</summary>
public static class SegmentProfiles
{
    /// <summary>
    /// A profile per segment of <paramref name="segments"/> (one per row of <paramref name="rows"/>, 0..k-1), with its
    /// <paramref name="top"/> most different columns (by |<see cref="ColumnDifference.Difference"/>|). Missing values are left out of means and shares.
    /// </summary>
    /// <exception cref="ArgumentException">Another number of segments than rows, or top below 1.</exception>
    public static IReadOnlyList<SegmentProfile> Of(TableRows rows, int[] segments, int top = 3)
    {
        if (segments.Length != rows.Count) throw new ArgumentException($"{segments.Length} segments for {rows.Count} rows.");
        if (top < 1) throw new ArgumentException($"A profile names at least one column, got {top}.");
        var c = CultureInfo.InvariantCulture;
        int k = segments.Length == 0 ? 0 : segments.Max() + 1;
        var members = Enumerable.Range(0, k).Select(s => new List<int>()).ToArray();
        for (int i = 0; i < segments.Length; i++) members[segments[i]].Add(i);
        var all = Enumerable.Range(0, rows.Count).ToList();
        var profiles = new List<SegmentProfile>();
        for (int s = 0; s < k; s++)
        {
            var m = members[s];
            var columns = new List<ColumnDifference>();
            for (int j = 0; j < rows.NumericNames.Length; j++)
            {
                var (mean, std) = Moments(all, i => rows.Numeric(i, j));
                var (segMean, _) = Moments(m, i => rows.Numeric(i, j));
                if (double.IsNaN(segMean) || double.IsNaN(mean)) continue;
                double d = std > 0 ? (segMean - mean) / std : 0;
                columns.Add(new ColumnDifference(rows.NumericNames[j], "numeric", segMean.ToString("G4", c), mean.ToString("G4", c), d));
            }
            for (int j = 0; j < rows.CategoricalNames.Length; j++)
            {
                var present = m.Select(i => rows.Category(i, j)).Where(v => v is not null).ToList();
                if (present.Count == 0) continue;
                var mode = present.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First();
                double pSeg = (double)mode.Count() / present.Count;
                var overall = all.Select(i => rows.Category(i, j)).Where(v => v is not null).ToList();
                double pAll = (double)overall.Count(v => v == mode.Key) / overall.Count;
                double sd = Math.Sqrt(pAll * (1 - pAll));
                double d = sd > 0 ? (pSeg - pAll) / sd : 0;
                columns.Add(new ColumnDifference(rows.CategoricalNames[j], "categorical",
                    string.Create(c, $"{mode.Key} ({100 * pSeg:0.#} %)"), string.Create(c, $"{mode.Key} ({100 * pAll:0.#} %)"), d));
            }
            profiles.Add(new SegmentProfile(s, m.Count, rows.Count == 0 ? 0 : (double)m.Count / rows.Count,
                [.. columns.OrderByDescending(x => Math.Abs(x.Difference)).ThenBy(x => x.Column, StringComparer.Ordinal).Take(top)]));
        }
        return profiles;
    }

    /// <summary>Profiles of sizes and shares alone, for records without columns (images, documents).</summary>
    public static IReadOnlyList<SegmentProfile> Sizes(int[] segments)
    {
        int k = segments.Length == 0 ? 0 : segments.Max() + 1;
        var counts = new int[k];
        foreach (var s in segments) counts[s]++;
        return [.. counts.Select((c, s) => new SegmentProfile(s, c, (double)c / segments.Length, []))];
    }

    /// <summary>Mean and sample std of the present (non-NaN) values of <paramref name="value"/> over <paramref name="rows"/>; NaN mean when none.</summary>
    private static (double Mean, double Std) Moments(List<int> rows, Func<int, float> value)
    {
        double s = 0, s2 = 0;
        int n = 0;
        foreach (var i in rows)
        {
            double v = value(i);
            if (double.IsNaN(v)) continue;
            s += v; s2 += v * v; n++;
        }
        if (n == 0) return (double.NaN, double.NaN);
        double mean = s / n;
        return (mean, n > 1 ? Math.Sqrt(Math.Max(0, (s2 - n * mean * mean) / (n - 1))) : 0);
    }
}
