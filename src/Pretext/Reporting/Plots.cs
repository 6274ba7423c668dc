using System.Globalization;
using Pretext.Export;
using ScottPlot;

namespace Pretext.Reporting;

/// <summary>
/// Headless PNG charts for run reports (ScottPlot 5, rendered off-screen by SkiaSharp), sized
/// <see cref="Width"/> x <see cref="Height"/> pixels. Files are written atomically.
/// </summary>
public static class Plots
{
    /// <summary>Image width in pixels.</summary>
    public const int Width = 800;

    /// <summary>Image height in pixels.</summary>
    public const int Height = 500;

    // A short series drawn as a bare line is easy to miss (one point draws nothing at all), so
    // series up to this length also get markers.
    private const int MarkerThreshold = 30;

    // Characters per line of a bar's category label; longer names wrap at spaces.
    private const int MaxLabelLine = 14;

    /// <summary>Draws one or more (x, y) line series.</summary>
    /// <param name="path">PNG file to write; its directory is created if missing.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="xLabel">X axis label.</param>
    /// <param name="yLabel">Y axis label.</param>
    /// <param name="series">Series as (legend name, x, y); a legend is shown when any name is non-empty.
    /// Points with a non-finite coordinate (NaN from a missing metric, or a diverged loss) are skipped.
    /// A list rather than <c>params</c>, because C# allows no optional parameter after <c>params</c>.</param>
    /// <param name="logY">Logarithmic y axis (base 10); points with y &lt;= 0 are then skipped.</param>
    /// <param name="legendOutside">Legend to the right of the axes instead of in the upper-right corner, for plots
    /// whose lines fill every corner (several curves across the whole range).</param>
    /// <exception cref="ArgumentException">No series, a series whose x and y lengths differ, or
    /// no drawable point at all.</exception>
    public static void LinePlot(string path, string title, string xLabel, string yLabel,
        IReadOnlyList<(string Name, double[] X, double[] Y)> series, bool logY = false, bool legendOutside = false)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException($"No series given for '{path}'.", nameof(series));

        using var plot = NewPlot(title);
        plot.XLabel(xLabel);
        plot.YLabel(logY ? $"{yLabel} (log scale)" : yLabel);

        double minY = double.PositiveInfinity, maxY = double.NegativeInfinity;
        bool anyName = false;
        foreach (var (name, x, y) in series)
        {
            if (x.Length != y.Length)
                throw new ArgumentException($"Series '{name}' for '{path}' has {x.Length} x values but {y.Length} y values.", nameof(series));
            var xs = new List<double>(x.Length);
            var ys = new List<double>(y.Length);
            for (int i = 0; i < x.Length; i++)
            {
                if (!double.IsFinite(x[i]) || !double.IsFinite(y[i]) || (logY && y[i] <= 0)) continue;
                xs.Add(x[i]);
                // ScottPlot 5 has no logarithmic axis: plot log10(y) and label the ticks with 10^tick.
                ys.Add(logY ? Math.Log10(y[i]) : y[i]);
                minY = Math.Min(minY, y[i]);
                maxY = Math.Max(maxY, y[i]);
            }
            if (xs.Count == 0) continue;
            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.LineWidth = 2;
            line.MarkerSize = xs.Count <= MarkerThreshold ? 5 : 0;
            if (!string.IsNullOrEmpty(name))
            {
                line.LegendText = name;
                anyName = true;
            }
        }
        if (double.IsInfinity(minY))
            throw new ArgumentException(
                $"Nothing to draw in '{path}': every point is non-finite{(logY ? " or not positive (log scale)" : "")}.", nameof(series));

        if (logY) ApplyLogTicks(plot, plot.Axes.Left, minY, maxY);
        if (anyName)
        {
            if (legendOutside) plot.ShowLegend(Edge.Right);
            else plot.ShowLegend(Alignment.UpperRight);
        }
        Save(plot, path);
    }

    /// <summary>Draws (x, y) series with symmetric vertical error bars, each series in its own colour, points joined by lines.</summary>
    /// <param name="path">PNG file to write; its directory is created if missing.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="xLabel">X axis label.</param>
    /// <param name="yLabel">Y axis label.</param>
    /// <param name="series">Series as (legend name, x, y, error): the bar spans y - error .. y + error.
    /// Points with a non-finite coordinate or error are skipped.</param>
    /// <param name="logX">Logarithmic x axis (base 10); points with x &lt;= 0 are then skipped.</param>
    /// <exception cref="ArgumentException">No series, a series whose arrays differ in length, a negative
    /// error, or no drawable point at all.</exception>
    public static void ErrorBarPlot(string path, string title, string xLabel, string yLabel,
        IReadOnlyList<(string Name, double[] X, double[] Y, double[] Error)> series, bool logX = false)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException($"No series given for '{path}'.", nameof(series));

        using var plot = NewPlot(title);
        plot.XLabel(logX ? $"{xLabel} (log scale)" : xLabel);
        plot.YLabel(yLabel);
        var palette = new ScottPlot.Palettes.Category10();
        double minX = double.PositiveInfinity, maxX = double.NegativeInfinity;
        bool anyName = false;
        for (int s = 0; s < series.Count; s++)
        {
            var (name, x, y, error) = series[s];
            // Series often share x values (the same label counts): shift each a little sideways so error bars do not hide each other.
            double dodge = logX ? (s - (series.Count - 1) / 2.0) * 0.012 : 0;
            if (x.Length != y.Length || x.Length != error.Length)
                throw new ArgumentException($"Series '{name}' for '{path}' has {x.Length} x values, {y.Length} y values and {error.Length} errors.", nameof(series));
            var xs = new List<double>(); var ys = new List<double>(); var es = new List<double>();
            for (int i = 0; i < x.Length; i++)
            {
                if (error[i] < 0) throw new ArgumentException($"Series '{name}' for '{path}' has a negative error {error[i]} at point {i}.", nameof(series));
                if (!double.IsFinite(x[i]) || !double.IsFinite(y[i]) || !double.IsFinite(error[i]) || (logX && x[i] <= 0)) continue;
                // As for logY in LinePlot: plot log10(x) and label the ticks with 10^tick.
                xs.Add(logX ? Math.Log10(x[i]) + dodge : x[i]); ys.Add(y[i]); es.Add(error[i]);
                minX = Math.Min(minX, x[i]); maxX = Math.Max(maxX, x[i]);
            }
            if (xs.Count == 0) continue;
            var color = palette.GetColor(s);
            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.LineWidth = 2;
            line.MarkerSize = 7;
            line.Color = color;
            var bars = plot.Add.ErrorBar(xs, ys, es);
            bars.Color = color;
            bars.LineWidth = 2;
            if (!string.IsNullOrEmpty(name))
            {
                line.LegendText = name;
                anyName = true;
            }
        }
        if (double.IsInfinity(minX))
            throw new ArgumentException($"Nothing to draw in '{path}': every point is non-finite{(logX ? " or has x <= 0 (log scale)" : "")}.", nameof(series));
        if (logX) ApplyLogTicks(plot, plot.Axes.Bottom, minX, maxX);
        if (anyName) plot.ShowLegend(Alignment.LowerRight);
        Save(plot, path);
    }

    /// <summary>Draws a bar chart with each bar's value printed on it.</summary>
    /// <param name="path">PNG file to write; its directory is created if missing.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="yLabel">Y axis label.</param>
    /// <param name="bars">Bars as (category label, value), drawn left to right.</param>
    /// <exception cref="ArgumentException">No bars, or a value that is not finite.</exception>
    public static void BarPlot(string path, string title, string yLabel, IReadOnlyList<(string Label, double Value)> bars)
    {
        ArgumentNullException.ThrowIfNull(bars);
        if (bars.Count == 0) throw new ArgumentException($"No bars given for '{path}'.", nameof(bars));

        using var plot = NewPlot(title);
        plot.YLabel(yLabel);

        var items = new Bar[bars.Count];
        var positions = new double[bars.Count];
        var labels = new string[bars.Count];
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            if (!double.IsFinite(value))
                throw new ArgumentException($"Bar '{label}' for '{path}' has value {value}; only finite values can be drawn.", nameof(bars));
            positions[i] = i;
            labels[i] = Wrap(label, MaxLabelLine);
            items[i] = new Bar
            {
                Position = i,
                Value = value,
                Label = FormatValue(value),
                FillColor = palette.GetColor(i),
                Size = 0.6,
            };
        }
        var barPlot = plot.Add.Bars(items);
        barPlot.ValueLabelStyle.FontSize = 14;
        barPlot.ValueLabelStyle.Bold = true;

        plot.Axes.Bottom.SetTicks(positions, labels);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.HideGrid();
        plot.Grid.YAxisStyle.IsVisible = true;
        // Bars start at the axis; the headroom above keeps the value labels inside the frame.
        bool allNonNegative = bars.All(b => b.Value >= 0);
        plot.Axes.Margins(left: 0.05, right: 0.05, bottom: allNonNegative ? 0 : 0.15, top: 0.15);
        Save(plot, path);
    }

    /// <summary>Draws a scatter of 2-D points coloured by class, e.g. a PCA or t-SNE map of embeddings.</summary>
    /// <param name="path">PNG file to write; its directory is created if missing.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="xLabel">X axis label.</param>
    /// <param name="yLabel">Y axis label.</param>
    /// <param name="x">X coordinate per point.</param>
    /// <param name="y">Y coordinate per point.</param>
    /// <param name="labels">Class per point (null: one colour); classes are drawn in the order of their index.</param>
    /// <param name="classNames">Legend names indexed by class; missing names show as the index.</param>
    /// <exception cref="ArgumentException">Lengths differ, no points, a negative label, or no finite point.</exception>
    public static void ScatterByLabel(string path, string title, string xLabel, string yLabel, double[] x, double[] y,
        int[]? labels, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Length != y.Length || (labels is not null && labels.Length != x.Length))
            throw new ArgumentException($"Scatter '{path}' has {x.Length} x values, {y.Length} y values and {labels?.Length.ToString(CultureInfo.InvariantCulture) ?? "no"} labels; they must match.", nameof(x));
        if (x.Length == 0) throw new ArgumentException($"No points given for '{path}'.", nameof(x));
        if (labels is not null && labels.Any(l => l < 0)) throw new ArgumentException($"Scatter '{path}': labels must be >= 0.", nameof(labels));

        using var plot = NewPlot(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        int classes = labels is null ? 1 : labels.Max() + 1;
        IPalette palette = classes <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        // Small markers for many points so clusters stay visible rather than one blot.
        float marker = x.Length > 3000 ? 3 : x.Length > 500 ? 4 : 6;
        bool any = false;
        for (int c = 0; c < classes; c++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < x.Length; i++)
            {
                if (labels is not null && labels[i] != c) continue;
                if (!double.IsFinite(x[i]) || !double.IsFinite(y[i])) continue;
                xs.Add(x[i]);
                ys.Add(y[i]);
            }
            if (xs.Count == 0) continue;
            any = true;
            var points = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), palette.GetColor(c));
            points.LineWidth = 0;
            points.MarkerSize = marker;
            if (labels is not null)
                points.LegendText = c < classNames.Count ? classNames[c] : c.ToString(CultureInfo.InvariantCulture);
        }
        if (!any) throw new ArgumentException($"Nothing to draw in '{path}': every point is non-finite.", nameof(x));
        if (labels is not null) plot.ShowLegend(Edge.Right);
        Save(plot, path);
    }

    /// <summary>
    /// A series with its anomaly scores, in two panels over one time axis: above, each channel standardised (so channels of different
    /// units share the axis) with the flagged readings marked in red; below, the score, the threshold as a dashed line, flagged readings
    /// in red and, when labels are known, the labelled anomalies shaded.
    /// </summary>
    /// <param name="path">PNG file to write; its directory is created if missing.</param>
    /// <param name="time">Time of each reading (x axis).</param>
    /// <param name="channels">Each channel's readings, as (name, values).</param>
    /// <param name="scores">Score of each reading (NaN: none; such points are left out).</param>
    /// <param name="threshold">Scores above it are flagged.</param>
    /// <param name="flagged">Whether each reading is flagged.</param>
    /// <param name="labelled">Whether each reading is a labelled anomaly (null: unlabelled).</param>
    /// <exception cref="ArgumentException">Arrays of different lengths, no channel, or no reading.</exception>
    public static void SeriesScores(string path, string title, double[] time, IReadOnlyList<(string Name, double[] Values)> channels, double[] scores,
        double threshold, bool[] flagged, bool[]? labelled)
    {
        int n = time.Length;
        if (n == 0 || channels.Count == 0) throw new ArgumentException($"Nothing to draw in '{path}': no readings or no channel.");
        if (scores.Length != n || flagged.Length != n || (labelled is not null && labelled.Length != n) || channels.Any(c => c.Values.Length != n))
            throw new ArgumentException($"'{path}': {n} times, {scores.Length} scores, {flagged.Length} flags and channels of [{string.Join(",", channels.Select(c => c.Values.Length))}] readings; they must match.");
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var top = multiplot.GetPlot(0);
        var bottom = multiplot.GetPlot(1);
        top.Title(title);
        top.YLabel("reading (standardised)");
        bottom.YLabel("anomaly score");
        bottom.XLabel("time");
        var palette = new ScottPlot.Palettes.Category10();
        var flaggedAt = Enumerable.Range(0, n).Where(i => flagged[i]).ToArray();
        float marker = n > 3000 ? 3 : 5;
        for (int c = 0; c < channels.Count; c++)
        {
            var v = channels[c].Values;
            double mean = v.Average(), std = Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Average());
            var z = v.Select(x => std > 0 ? (x - mean) / std : 0).ToArray();
            var line = top.Add.ScatterLine(time, z, palette.GetColor(c));
            line.LineWidth = 1;
            line.MarkerSize = 0;
            line.LegendText = channels[c].Name;
            if (flaggedAt.Length > 0)
            {
                var dots = top.Add.ScatterPoints(flaggedAt.Select(i => time[i]).ToArray(), flaggedAt.Select(i => z[i]).ToArray(), Colors.Red);
                dots.MarkerSize = marker;
                if (c == 0) dots.LegendText = "flagged";
            }
        }
        top.ShowLegend(Alignment.UpperRight);

        if (labelled is not null)
            foreach (var (from, to) in Runs(labelled))
            {
                var span = bottom.Add.HorizontalSpan(time[from], time[to]);
                span.FillStyle.Color = Colors.Orange.WithAlpha(0.25);
                span.LineStyle.Width = 0;
                if (from == Runs(labelled).First().From) span.LegendText = "labelled anomaly";
            }
        var finite = Enumerable.Range(0, n).Where(i => double.IsFinite(scores[i])).ToArray();
        if (finite.Length > 0)
        {
            var line = bottom.Add.ScatterLine(finite.Select(i => time[i]).ToArray(), finite.Select(i => scores[i]).ToArray(), Colors.Black);
            line.LineWidth = 1;
            line.MarkerSize = 0;
            line.LegendText = "score";
        }
        var limit = bottom.Add.HorizontalLine(threshold, 1, Colors.Red, LinePattern.Dashed);
        limit.LegendText = "threshold";
        if (flaggedAt.Length > 0)
        {
            var dots = bottom.Add.ScatterPoints(flaggedAt.Select(i => time[i]).ToArray(), flaggedAt.Select(i => scores[i]).ToArray(), Colors.Red);
            dots.MarkerSize = marker;
        }
        bottom.ShowLegend(Alignment.UpperRight);
        top.Axes.SetLimitsX(time[0], time[^1]);
        bottom.Axes.SetLimitsX(time[0], time[^1]);
        var image = multiplot.Render(Width * 3 / 2, Height * 3 / 2);
        var bytes = image.GetImageBytes(ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>(first, last) index of each run of consecutive true values.</summary>
    private static IEnumerable<(int From, int To)> Runs(bool[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!values[i]) continue;
            int start = i;
            while (i + 1 < values.Length && values[i + 1]) i++;
            yield return (start, i);
        }
    }

    private static Plot NewPlot(string title)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.Font.Automatic();
        return plot;
    }

    private static void Save(Plot plot, string path)
    {
        var bytes = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Breaks a long category name at spaces so neighbouring labels do not overlap.</summary>
    private static string Wrap(string text, int width)
    {
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        lines.Add(line.ToString());
        return string.Join('\n', lines);
    }

    private static string FormatValue(double value) => value.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>
    /// Places labelled ticks at 1, then 1-2-5, then 1..9 times powers of ten, the first set that
    /// gives at least three ticks in view. A range too narrow even for that (inside one step of
    /// 1..9) falls back to automatic ticks labelled with their value.
    /// </summary>
    private static void ApplyLogTicks(Plot plot, ScottPlot.IAxis axis, double min, double max)
    {
        double lo = Math.Log10(min), hi = Math.Log10(max);
        double pad = Math.Max(0.05 * (hi - lo), 0.02);
        lo -= pad;
        hi += pad;
        if (axis is ScottPlot.IXAxis) plot.Axes.SetLimitsX(lo, hi);
        else plot.Axes.SetLimitsY(lo, hi);

        int[][] mantissaSets = [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
        foreach (var mantissas in mantissaSets)
        {
            var ticks = new List<(double Position, string Label)>();
            for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
                foreach (int m in mantissas)
                {
                    double position = Math.Log10(m) + k;
                    if (position >= lo && position <= hi) ticks.Add((position, TickLabel(m, k)));
                }
            if (ticks.Count < 3) continue;
            // Many decades: thin the labels out so they stay legible.
            int stride = (int)Math.Ceiling(ticks.Count / 10.0);
            var shown = ticks.Where((_, i) => i % stride == 0).ToArray();
            axis.SetTicks(shown.Select(t => t.Position).ToArray(), shown.Select(t => t.Label).ToArray());
            return;
        }
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = position => Math.Pow(10, position).ToString("G3", CultureInfo.InvariantCulture),
        };
    }

    private static string TickLabel(int mantissa, int exponent) =>
        exponent is >= -4 and <= 5
            ? (mantissa * Math.Pow(10, exponent)).ToString("G6", CultureInfo.InvariantCulture)
            : $"{mantissa}e{exponent}";
}
