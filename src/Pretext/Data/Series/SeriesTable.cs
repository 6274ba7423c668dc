namespace Pretext.Data.Series;

/// <summary>Which columns of a CSV or Parquet file hold what.</summary>
public sealed record SeriesColumns
{
    /// <summary>Column of the time stamps: numbers (seconds, reading counters) or ISO 8601 date-times (read as Unix seconds).</summary>
    public string Time { get; init; } = "time";
    /// <summary>The numeric channels, in this order; empty: every column that is not the time, label or entity column.</summary>
    public string[] Channels { get; init; } = [];
    /// <summary>Integer label per reading (0 = normal for <see cref="WindowLabel.AnyPositive"/>); null: a column named "label" when there is one.</summary>
    public string? Label { get; init; }
    /// <summary>Which sensor, machine or person a reading belongs to; each entity is a series of its own. Null: one series.</summary>
    public string? Entity { get; init; }

    /// <summary>Equal when every column name is (channels compared by content, not by array).</summary>
    public bool Equals(SeriesColumns? other) => other is not null && Time == other.Time && Label == other.Label && Entity == other.Entity
        && Channels.SequenceEqual(other.Channels);

    public override int GetHashCode() => HashCode.Combine(Time, Label, Entity, Channels.Length);
}

/// <summary>What to do where consecutive readings of one entity are further apart than the usual step.</summary>
public enum GapPolicy
{
    /// <summary>Stop with an error naming the file, the line and the fix (the default: a gap is often a broken export).</summary>
    Error,
    /// <summary>Start a new segment after the gap; no window spans it.</summary>
    Split,
}

/// <summary>How a window's label follows from the labels of its readings.</summary>
public enum WindowLabel
{
    /// <summary>Two classes, "normal" and "anomaly": a window is an anomaly when any of its readings has a label other than 0.</summary>
    AnyPositive,
    /// <summary>The most frequent reading label in the window (ties: the smaller label); the classes are the file's distinct labels.</summary>
    Majority,
    /// <summary>The label of the window's last reading (what an online detector must say at that moment).</summary>
    Last,
}

/// <summary>How a series file is checked while it is read.</summary>
public sealed record SeriesReadOptions
{
    public GapPolicy Gaps { get; init; } = GapPolicy.Error;
    /// <summary>Sort each entity's rows by time instead of refusing a file whose rows are out of order.</summary>
    public bool Sort { get; init; }
    /// <summary>A step longer than this many times the entity's median step is a gap (1.5: one missing reading at a regular rate is caught).</summary>
    public double GapFactor { get; init; } = 1.5;

    /// <exception cref="ArgumentException">A gap factor of 1 or less (every step would be a gap).</exception>
    public void Validate()
    {
        if (!(GapFactor > 1)) throw new ArgumentException($"series.gapFactor must be greater than 1, got {GapFactor}.");
    }
}

/// <summary>
/// A run of consecutive readings of one entity, sorted by time, without gaps. Values are reading-major:
/// reading t, channel c is <c>Values[t * channels + c]</c>.
/// </summary>
/// <param name="Entity">The entity's value in the file ("" when the file has no entity column).</param>
/// <param name="EntityIndex">Order of the entity's first row in the file (0, 1, ...).</param>
/// <param name="Times">Time stamps, increasing.</param>
/// <param name="Values">Readings, Times.Length x channels.</param>
/// <param name="Labels">Raw integer label per reading, or null when the file has none.</param>
/// <param name="Lines">Where each reading came from (line of a CSV file, 1-based row of a Parquet file), for messages.</param>
public sealed record SeriesSegment(string Entity, int EntityIndex, double[] Times, float[] Values, int[]? Labels, int[] Lines)
{
    public int Count => Times.Length;

    /// <summary>Readings <paramref name="start"/> .. start + count - 1 as a segment of their own.</summary>
    public SeriesSegment Slice(int start, int count, int channels) => new(Entity, EntityIndex, Times[start..(start + count)],
        Values[(start * channels)..((start + count) * channels)], Labels?[start..(start + count)], Lines[start..(start + count)]);
}

/// <summary>A time-series file as read: its channels, and each entity's readings cut into gap-free segments.</summary>
/// <param name="Source">The file, for messages and sample names.</param>
/// <param name="ChannelNames">Names of the channels, in the order of <see cref="SeriesSegment.Values"/>.</param>
/// <param name="LabelValues">The distinct raw labels of the whole file, sorted (empty when unlabelled).</param>
public sealed record SeriesTable(string Source, IReadOnlyList<string> ChannelNames, IReadOnlyList<SeriesSegment> Segments, IReadOnlyList<int> LabelValues)
{
    public int Channels => ChannelNames.Count;
    public bool Labelled => Segments.Count > 0 && Segments[0].Labels is not null;
    public int Readings => Segments.Sum(s => s.Count);
}
