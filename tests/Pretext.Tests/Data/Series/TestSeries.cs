using System.Globalization;
using System.Text;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Series;

/// <summary>Small generated sensor files: a few entities, two smooth channels with noise, labelled bursts of anomalies.</summary>
internal static class TestSeries
{
    /// <summary>
    /// CSV text "time,unit,temp,hum,label": <paramref name="entities"/> units of <paramref name="readings"/> readings each (time
    /// 0, 1, 2, ...), rows of all units interleaved as sensors log them. Each unit has an anomaly burst (temp jumps by <paramref name="jump"/>)
    /// of <paramref name="burst"/> readings starting at reading (<paramref name="burstAt"/> + 37 * unit) mod (readings - burst).
    /// A jump of 4 can land inside the sine's normal range (2 sin + 20); <paramref name="jump"/> = 8 always leaves it.
    /// </summary>
    public static string Csv(int entities = 2, int readings = 400, int burst = 12, int seed = 0, int burstAt = 120, double jump = 4)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("time,unit,temp,hum,label\n");
        for (int t = 0; t < readings; t++)
            for (int u = 0; u < entities; u++)
            {
                int start = (burstAt + 37 * u) % (readings - burst);
                bool anomaly = t >= start && t < start + burst;
                double temp = 20 + 2 * Math.Sin(t / 15.0 + u) + 0.1 * rng.NextDouble() + (anomaly ? jump : 0);
                double hum = 50 + 5 * Math.Cos(t / 25.0 + 2 * u) + 0.2 * rng.NextDouble();
                sb.Append(CultureInfo.InvariantCulture, $"{t},u{u},{temp:F3},{hum:F3},{(anomaly ? 1 : 0)}\n");
            }
        return sb.ToString();
    }

    /// <summary>Columns of <see cref="Csv"/>.</summary>
    public static Pretext.Data.Series.SeriesColumns Columns => new() { Time = "time", Channels = ["temp", "hum"], Label = "label", Entity = "unit" };

    /// <summary>Writes <see cref="Csv"/> to <paramref name="path"/> and returns the path.</summary>
    public static string Write(string path, int entities = 2, int readings = 400, int burst = 12, int seed = 0, int burstAt = 120, double jump = 4)
    {
        File.WriteAllText(path, Csv(entities, readings, burst, seed, burstAt, jump));
        return path;
    }

    /// <summary>A tiny series encoder: 2 channels, windows of 16, width 8.</summary>
    public static SeriesEncoderConfig TinyEncoder => new() { Channels = 2, Length = 16, Dim = 8, Width = 8, Blocks = 2, PatchSize = 4, Depth = 1, Heads = 2 };

    /// <summary>
    /// <paramref name="n"/> normalised-looking windows (N, 2, 16): two sines of a per-window frequency and phase plus noise; label
    /// 1 ("anomaly") on every fourth window, whose first channel carries a step.
    /// </summary>
    public static TensorDataset Windows(int n, int seed = 0)
    {
        var rng = new Random(seed);
        var data = new float[n * 2 * 16];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 4 == 3 ? 1 : 0;
            double f = 0.2 + 0.3 * rng.NextDouble(), phase = 6 * rng.NextDouble();
            for (int t = 0; t < 16; t++)
            {
                data[i * 32 + t] = (float)(Math.Sin(f * t + phase) + 0.1 * rng.NextDouble() + (labels[i] == 1 && t >= 8 ? 2 : 0));
                data[i * 32 + 16 + t] = (float)(Math.Cos(0.5 * f * t + phase) + 0.1 * rng.NextDouble());
            }
        }
        return new TensorDataset("windows", tensor(data, [n, 2, 16]), labels, ["normal", "anomaly"]);
    }

    /// <summary>A series method's preset around a tiny TCN (or <paramref name="encoder"/>) on windows of 16, batch 16, fp32.</summary>
    public static RunConfig Tiny(string method, EncoderKind encoder = EncoderKind.Tcn)
    {
        var cfg = new RunConfig
        {
            Method = method, Dataset = "windows",
            Encoder = new EncoderConfig { Kind = encoder, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous, Series = TinyEncoder },
            Train = new TrainerOptions
            {
                BatchSize = 16, Threads = 1, MaxSteps = 6, CheckpointEvery = 3, KeepCheckpoints = 2, LearningRate = 1e-3,
                Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.01 },
            },
        };
        return MethodRegistry.Get(method).ApplyPreset(cfg);
    }
}
