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
        var builder = new SegmentProfileBuilder(rows.NumericNames, rows.CategoricalNames);
        builder.Add(rows, segments);
        return builder.Build(top);
    }

    /// <summary>Profiles of sizes and shares alone, for records without columns (images, documents).</summary>
    public static IReadOnlyList<SegmentProfile> Sizes(int[] segments)
    {
        int k = segments.Length == 0 ? 0 : segments.Max() + 1;
        var counts = new int[k];
        foreach (var s in segments) counts[s]++;
        return [.. counts.Select((c, s) => new SegmentProfile(s, c, (double)c / segments.Length, []))];
    }
}

/// <summary>
/// Segment profiles (<see cref="SegmentProfiles.Of"/>) gathered row by row: per segment and for the whole table, the sums, squares and
/// counts of each numeric column and the counts of each categorical value, so rows can be added a chunk at a time and dropped. Memory
/// grows with segments x columns x distinct categorical values, not with rows. Rows added in the same order give the same profiles as
/// <see cref="SegmentProfiles.Of"/> on all of them at once (it is built on this).
/// </summary>
public sealed class SegmentProfileBuilder(string[] numericNames, string[] categoricalNames)
{
    private sealed class Stats(int numeric, int categorical)
    {
        public readonly double[] Sum = new double[numeric], Squares = new double[numeric];
        public readonly long[] Present = new long[numeric], CategoricalPresent = new long[categorical];
        public readonly Dictionary<string, long>[] Counts = [.. Enumerable.Range(0, categorical).Select(_ => new Dictionary<string, long>(StringComparer.Ordinal))];
        public long Rows;

        public void Add(TableRows rows, int i)
        {
            Rows++;
            for (int j = 0; j < Sum.Length; j++)
            {
                double v = rows.Numeric(i, j);
                if (double.IsNaN(v)) continue;
                Sum[j] += v; Squares[j] += v * v; Present[j]++;
            }
            for (int j = 0; j < Counts.Length; j++)
                if (rows.Category(i, j) is { } v)
                {
                    Counts[j][v] = Counts[j].GetValueOrDefault(v) + 1;
                    CategoricalPresent[j]++;
                }
        }

        /// <summary>Mean and sample std of the present values of numeric column <paramref name="j"/>; NaN mean when none.</summary>
        public (double Mean, double Std) Moments(int j)
        {
            long n = Present[j];
            if (n == 0) return (double.NaN, double.NaN);
            double mean = Sum[j] / n;
            return (mean, n > 1 ? Math.Sqrt(Math.Max(0, (Squares[j] - n * mean * mean) / (n - 1))) : 0);
        }
    }

    private readonly Stats all = new(numericNames.Length, categoricalNames.Length);
    private readonly List<Stats> segments = [];

    /// <summary>Adds the rows of <paramref name="rows"/> with their segments (0..k-1), in order.</summary>
    /// <exception cref="ArgumentException">Another number of segments than rows, other columns, or a negative segment.</exception>
    public void Add(TableRows rows, int[] segmentOfRow)
    {
        if (segmentOfRow.Length != rows.Count) throw new ArgumentException($"{segmentOfRow.Length} segments for {rows.Count} rows.");
        if (!rows.NumericNames.SequenceEqual(numericNames) || !rows.CategoricalNames.SequenceEqual(categoricalNames))
            throw new ArgumentException($"Rows of '{rows.Name}' have other columns than the profiles being built.");
        for (int i = 0; i < rows.Count; i++)
        {
            int s = segmentOfRow[i];
            if (s < 0) throw new ArgumentException($"Segment {s} of row {i} is negative.");
            while (segments.Count <= s) segments.Add(new Stats(numericNames.Length, categoricalNames.Length));
            segments[s].Add(rows, i);
            all.Add(rows, i);
        }
    }

    /// <summary>A profile per segment 0..(largest seen), each with its <paramref name="top"/> most different columns.</summary>
    /// <exception cref="ArgumentException">top below 1.</exception>
    public IReadOnlyList<SegmentProfile> Build(int top = 3)
    {
        if (top < 1) throw new ArgumentException($"A profile names at least one column, got {top}.");
        var c = CultureInfo.InvariantCulture;
        var profiles = new List<SegmentProfile>();
        for (int s = 0; s < segments.Count; s++)
        {
            var m = segments[s];
            var columns = new List<ColumnDifference>();
            for (int j = 0; j < numericNames.Length; j++)
            {
                var (mean, std) = all.Moments(j);
                var (segMean, _) = m.Moments(j);
                if (double.IsNaN(segMean) || double.IsNaN(mean)) continue;
                double d = std > 0 ? (segMean - mean) / std : 0;
                columns.Add(new ColumnDifference(numericNames[j], "numeric", segMean.ToString("G4", c), mean.ToString("G4", c), d));
            }
            for (int j = 0; j < categoricalNames.Length; j++)
            {
                if (m.CategoricalPresent[j] == 0) continue;
                var mode = m.Counts[j].OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).First();
                double pSeg = (double)mode.Value / m.CategoricalPresent[j];
                double pAll = (double)all.Counts[j].GetValueOrDefault(mode.Key) / all.CategoricalPresent[j];
                double sd = Math.Sqrt(pAll * (1 - pAll));
                double d = sd > 0 ? (pSeg - pAll) / sd : 0;
                columns.Add(new ColumnDifference(categoricalNames[j], "categorical",
                    string.Create(c, $"{mode.Key} ({100 * pSeg:0.#} %)"), string.Create(c, $"{mode.Key} ({100 * pAll:0.#} %)"), d));
            }
            profiles.Add(new SegmentProfile(s, checked((int)m.Rows), all.Rows == 0 ? 0 : (double)m.Rows / all.Rows,
                [.. columns.OrderByDescending(x => Math.Abs(x.Difference)).ThenBy(x => x.Column, StringComparer.Ordinal).Take(top)]));
        }
        return profiles;
    }
}
