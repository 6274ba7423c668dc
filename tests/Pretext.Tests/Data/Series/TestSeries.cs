using System.Globalization;
using System.Text;

namespace Pretext.Tests.Data.Series;

/// <summary>Small generated sensor files: a few entities, two smooth channels with noise, labelled bursts of anomalies.</summary>
internal static class TestSeries
{
    /// <summary>
    /// CSV text "time,unit,temp,hum,label": <paramref name="entities"/> units of <paramref name="readings"/> readings each (time
    /// 0, 1, 2, ...), rows of all units interleaved as sensors log them. Each unit has an anomaly burst (temp jumps by 4)
    /// of <paramref name="burst"/> readings starting at reading (120 + 37 * unit) mod (readings - burst).
    /// </summary>
    public static string Csv(int entities = 2, int readings = 400, int burst = 12, int seed = 0)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("time,unit,temp,hum,label\n");
        for (int t = 0; t < readings; t++)
            for (int u = 0; u < entities; u++)
            {
                int start = (120 + 37 * u) % (readings - burst);
                bool anomaly = t >= start && t < start + burst;
                double temp = 20 + 2 * Math.Sin(t / 15.0 + u) + 0.1 * rng.NextDouble() + (anomaly ? 4 : 0);
                double hum = 50 + 5 * Math.Cos(t / 25.0 + 2 * u) + 0.2 * rng.NextDouble();
                sb.Append(CultureInfo.InvariantCulture, $"{t},u{u},{temp:F3},{hum:F3},{(anomaly ? 1 : 0)}\n");
            }
        return sb.ToString();
    }

    /// <summary>Columns of <see cref="Csv"/>.</summary>
    public static Pretext.Data.Series.SeriesColumns Columns => new() { Time = "time", Channels = ["temp", "hum"], Label = "label", Entity = "unit" };

    /// <summary>Writes <see cref="Csv"/> to <paramref name="path"/> and returns the path.</summary>
    public static string Write(string path, int entities = 2, int readings = 400, int burst = 12, int seed = 0)
    {
        File.WriteAllText(path, Csv(entities, readings, burst, seed));
        return path;
    }
}
