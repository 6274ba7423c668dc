using System.Globalization;
using static TorchSharp.torch;

namespace Pretext.Data.Series;

/// <summary>
/// How a series becomes samples: which columns to read, how to check them, the held-out split, the windows and the
/// per-channel normalisation. Travels in config.json and in every checkpoint, with the normalisation fitted on the
/// training readings, so evaluation and export read new data exactly as pretraining did.
/// </summary>
public sealed record SeriesDataConfig
{
    /// <summary>The columns of a file (a catalogued data set's preset fills in its own).</summary>
    public SeriesColumns Columns { get; init; } = new();
    /// <summary>Readings per window: the encoder's input length.</summary>
    public int Window { get; init; } = 64;
    /// <summary>Readings between the starts of consecutive windows of one segment.</summary>
    public int Stride { get; init; } = 8;
    public WindowLabel Label { get; init; } = WindowLabel.AnyPositive;
    public GapPolicy Gaps { get; init; } = GapPolicy.Error;
    /// <summary>Sort rows by time while reading instead of refusing rows out of order.</summary>
    public bool Sort { get; init; }
    /// <summary>A step longer than this many times an entity's median step is a gap.</summary>
    public double GapFactor { get; init; } = 1.5;
    /// <summary>The held-out split cuts each entity into blocks of this many readings (<see cref="SeriesSplit.Blocks"/>).</summary>
    public int BlockLength { get; init; } = 500;
    /// <summary>Every this many-th block of an entity is test data (5: a fifth); 0: no test split.</summary>
    public int TestEvery { get; init; } = 5;
    /// <summary>Per-channel mean and std of the training readings; null until pretraining fits it.</summary>
    public ChannelStats? Normalization { get; init; }

    public SeriesReadOptions ReadOptions => new() { Gaps = Gaps, Sort = Sort, GapFactor = GapFactor };

    /// <exception cref="ArgumentException">A value no run can use; the message names the option.</exception>
    public void Validate()
    {
        if (Window < 2) throw new ArgumentException($"series.window must be at least 2 readings, got {Window}.");
        if (Stride < 1) throw new ArgumentException($"series.stride must be at least 1, got {Stride}.");
        if (TestEvery > 0 && BlockLength < Window) throw new ArgumentException($"series.blockLength ({BlockLength}) must be at least one window ({Window}); windows never cross a block between train and test.");
        if (TestEvery is < 0 or 1) throw new ArgumentException($"series.testEvery must be 0 (no test split) or at least 2, got {TestEvery}.");
        ReadOptions.Validate();
    }
}

/// <summary>Per-channel mean and standard deviation, fitted on training readings and applied to every window.</summary>
public sealed record ChannelStats(float[] Mean, float[] Std)
{
    /// <summary>Mean and std (population) of each channel over every reading of <paramref name="segments"/>; a constant channel gets std 1.</summary>
    /// <exception cref="ArgumentException">No readings.</exception>
    public static ChannelStats Fit(IEnumerable<SeriesSegment> segments, int channels)
    {
        var sum = new double[channels];
        var sq = new double[channels];
        long n = 0;
        foreach (var s in segments)
        {
            for (int i = 0; i < s.Values.Length; i++)
            {
                double v = s.Values[i];
                sum[i % channels] += v;
                sq[i % channels] += v * v;
            }
            n += s.Count;
        }
        if (n == 0) throw new ArgumentException("Channel statistics need at least one reading.");
        var mean = sum.Select(x => x / n).ToArray();
        var std = sq.Select((x, c) => Math.Sqrt(Math.Max(0, x / n - mean[c] * mean[c]))).ToArray();
        return new ChannelStats([.. mean.Select(m => (float)m)], [.. std.Select(s => s > 1e-6 ? (float)s : 1f)]);
    }

    public int Channels => Mean.Length;

    /// <summary>(x - mean) / std per channel of windows <paramref name="x"/> (N, C, L); a new tensor.</summary>
    /// <exception cref="ArgumentException">The windows have another number of channels.</exception>
    public Tensor Apply(Tensor x)
    {
        if (x.dim() != 3 || x.shape[1] != Channels)
            throw new ArgumentException($"The normalisation was fitted on {Channels} channel(s); got windows of shape [{string.Join(",", x.shape)}]. Read the data with the channels the model was trained on.");
        using var scope = NewDisposeScope();
        return x.sub(tensor(Mean).view(1, Channels, 1)).div_(tensor(Std).view(1, Channels, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The held-out split of a series. Random windows would leak: overlapping windows share readings, and neighbouring
/// readings are nearly equal. So each entity is cut into blocks of consecutive readings and whole blocks go to test:
/// block b of the entity that appears e-th in the file is test when (b + e) mod every = every - 1. The shift by e
/// spreads the test blocks of different entities over time (with one entity and every = 5: blocks 4, 9, 14, ...).
/// Windows are cut within train or test parts only.
/// </summary>
public static class SeriesSplit
{
    /// <summary>(train, test) segments of <paramref name="segments"/>; consecutive blocks on one side stay one segment.</summary>
    public static (List<SeriesSegment> Train, List<SeriesSegment> Test) Blocks(IReadOnlyList<SeriesSegment> segments, int channels, int blockLength, int every)
    {
        if (blockLength < 1) throw new ArgumentOutOfRangeException(nameof(blockLength), blockLength, "Blocks need at least one reading.");
        if (every == 0) return ([.. segments], []);
        return Partition(segments, channels, blockLength, (entity, block) => (block + entity) % every == every - 1);
    }

    /// <summary>
    /// The validation part carved from a training part: block b of the entity that appears e-th is held out when
    /// (b + e) mod every = 0 (a phase the test rule never uses, so on data whose test blocks were taken out first the two
    /// patterns do not line up), and, when <paramref name="labelled"/>, also every block that holds a reading labelled other
    /// than 0, so that choices made on validation see anomalies whenever the training part has any (and the rest, the
    /// reference of normal readings, holds no labelled anomaly). Returns (reference, validation): the rest, and the held-out blocks.
    /// </summary>
    public static (List<SeriesSegment> Reference, List<SeriesSegment> Validation) Validation(IReadOnlyList<SeriesSegment> segments, int channels, int blockLength, int every, bool labelled)
    {
        if (every < 2) throw new ArgumentOutOfRangeException(nameof(every), every, "Hold out every N-th block with N of at least 2.");
        var anomalous = new HashSet<(int Entity, int Block)>();
        if (labelled)
            foreach (var (s, offset) in WithOffsets(segments))
                if (s.Labels is { } y)
                    for (int i = 0; i < s.Count; i++)
                        if (y[i] != 0) anomalous.Add((s.EntityIndex, (offset + i) / blockLength));
        return Partition(segments, channels, blockLength, (entity, block) => (block + entity) % every == 0 || anomalous.Contains((entity, block)));
    }

    /// <summary>Each segment with the number of readings of its entity before it (block numbers count across a gap).</summary>
    private static IEnumerable<(SeriesSegment Segment, int Offset)> WithOffsets(IReadOnlyList<SeriesSegment> segments)
    {
        var seen = new Dictionary<int, int>();
        foreach (var s in segments)
        {
            int offset = seen.GetValueOrDefault(s.EntityIndex);
            seen[s.EntityIndex] = offset + s.Count;
            yield return (s, offset);
        }
    }

    /// <summary>(kept, held) segments: block b of entity e is held when <paramref name="held"/>(e, b).</summary>
    private static (List<SeriesSegment> Kept, List<SeriesSegment> Held) Partition(IReadOnlyList<SeriesSegment> segments, int channels, int blockLength, Func<int, int, bool> held)
    {
        if (blockLength < 1) throw new ArgumentOutOfRangeException(nameof(blockLength), blockLength, "Blocks need at least one reading.");
        var kept = new List<SeriesSegment>();
        var heldOut = new List<SeriesSegment>();
        foreach (var (s, offset) in WithOffsets(segments))
        {
            bool IsHeld(int i) => held(s.EntityIndex, (offset + i) / blockLength);
            int start = 0;
            for (int i = 1; i <= s.Count; i++)
            {
                if (i < s.Count && IsHeld(i) == IsHeld(start)) continue;
                (IsHeld(start) ? heldOut : kept).Add(s.Slice(start, i - start, channels));
                start = i;
            }
        }
        return (kept, heldOut);
    }
}

/// <summary>Cuts segments into windows of consecutive readings: never across an entity, a gap or a train/test boundary.</summary>
public static class SeriesWindows
{
    /// <summary>Class names of the windows of <paramref name="table"/> under <paramref name="rule"/>; empty when unlabelled.</summary>
    public static string[] ClassNames(SeriesTable table, WindowLabel rule) =>
        !table.Labelled ? [] : rule == WindowLabel.AnyPositive ? ["normal", "anomaly"] : [.. table.LabelValues.Select(v => v.ToString(CultureInfo.InvariantCulture))];

    /// <summary>
    /// Where the windows of <paramref name="length"/> readings start: at 0, stride, 2 stride, ... of each segment (a segment's last
    /// readings are left out when they do not fill a window), segment by segment.
    /// </summary>
    public static List<WindowPlace> Places(IReadOnlyList<SeriesSegment> segments, int length, int stride)
    {
        if (length < 1 || stride < 1) throw new ArgumentException($"Window length and stride must be positive, got {length} and {stride}.");
        var places = new List<WindowPlace>();
        for (int si = 0; si < segments.Count; si++)
            for (int start = 0; start + length <= segments[si].Count; start += stride) places.Add(new WindowPlace(si, start));
        return places;
    }

    /// <summary>
    /// Every window of <paramref name="length"/> readings at <see cref="Places"/>, as raw (unnormalised) fp32 (N, C, L) with a label
    /// per window (<paramref name="rule"/>) and an id "ENTITY@TIME" of its first reading.
    /// </summary>
    /// <exception cref="InvalidDataException">No segment is as long as one window; the message says how to fix it.</exception>
    public static TensorDataset Cut(string name, SeriesTable table, IReadOnlyList<SeriesSegment> segments, int length, int stride, WindowLabel rule) =>
        Cut(name, table, segments, Places(segments, length, stride), length, rule);

    /// <summary>The windows of <paramref name="length"/> readings at <paramref name="places"/> of <paramref name="segments"/>, as <see cref="Cut(string, SeriesTable, IReadOnlyList{SeriesSegment}, int, int, WindowLabel)"/>.</summary>
    /// <exception cref="InvalidDataException">No place: no segment is as long as one window; the message says how to fix it.</exception>
    public static TensorDataset Cut(string name, SeriesTable table, IReadOnlyList<SeriesSegment> segments, IReadOnlyList<WindowPlace> places, int length, WindowLabel rule)
    {
        int c = table.Channels;
        if (places.Count == 0)
            throw new InvalidDataException(
                $"'{table.Source}' ({name}) gives no window of {length} readings: its longest segment has {(segments.Count == 0 ? 0 : segments.Max(s => s.Count))}. " +
                "Shorten the windows (--set series.window=N), or lengthen the blocks (--set series.blockLength=N).");
        var data = new float[(long)places.Count * c * length];
        var labels = table.Labelled ? new int[places.Count] : null;
        var ids = new string[places.Count];
        var classIndex = table.LabelValues.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i);
        for (int w = 0; w < places.Count; w++)
        {
            var (si, start) = places[w];
            var s = segments[si];
            if (start < 0 || start + length > s.Count)
                throw new ArgumentOutOfRangeException(nameof(places), $"Window {w} at reading {start} of segment {si} does not fit its {s.Count} readings.");
            long baseIndex = (long)w * c * length;
            for (int t = 0; t < length; t++)
                for (int ch = 0; ch < c; ch++)
                    data[baseIndex + (long)ch * length + t] = s.Values[(start + t) * c + ch];
            if (labels is not null) labels[w] = WindowLabelOf(s.Labels!.AsSpan(start, length), rule, classIndex);
            string when = s.Times[start].ToString("0.######", CultureInfo.InvariantCulture);
            ids[w] = s.Entity.Length > 0 ? $"{s.Entity}@{when}" : when;
        }
        return new TensorDataset(name, tensor(data, [places.Count, c, length]), labels, ClassNames(table, rule), ids);
    }

    private static int WindowLabelOf(ReadOnlySpan<int> readings, WindowLabel rule, Dictionary<int, int> classIndex)
    {
        switch (rule)
        {
            case WindowLabel.AnyPositive:
                foreach (var y in readings) if (y != 0) return 1;
                return 0;
            case WindowLabel.Last:
                return classIndex[readings[^1]];
            default:
                var counts = new Dictionary<int, int>();
                foreach (var y in readings) counts[y] = counts.GetValueOrDefault(y) + 1;
                return classIndex[counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key];
        }
    }
}

/// <summary>Where a window lies: the index of its segment in the list it was cut from, and its first reading there.</summary>
public readonly record struct WindowPlace(int Segment, int Start);
