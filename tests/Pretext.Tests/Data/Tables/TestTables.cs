using System.Globalization;
using System.Text;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Tables;

/// <summary>Small generated tables for the table tests.</summary>
public static class TestTables
{
    /// <summary>Two numeric columns and two categorical ones (2 and 3 values plus the unknown bucket), a tiny MLP.</summary>
    public static TableEncoderConfig TinyEncoder => new() { Numeric = 2, Cardinalities = [3, 4], Hidden = [16, 8] };

    /// <summary>
    /// <paramref name="n"/> encoded rows (N, 6) in <see cref="TinyEncoder"/>'s layout: two standard-normal numbers (every seventh first number
    /// missing: 0 with its indicator set), then codes 1-2 and 1-3; label 1 when the first category is 2.
    /// </summary>
    public static TensorDataset Rows(int n, int seed = 0)
    {
        var rng = new Random(seed);
        var x = new float[n * 6];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            bool missing = i % 7 == 3;
            x[i * 6] = missing ? 0 : (float)(rng.NextDouble() * 2 - 1);
            x[i * 6 + 1] = (float)(rng.NextDouble() * 2 - 1);
            x[i * 6 + 2] = missing ? 1 : 0;
            x[i * 6 + 4] = 1 + rng.Next(2);
            x[i * 6 + 5] = 1 + rng.Next(3);
            labels[i] = x[i * 6 + 4] == 2 ? 1 : 0;
        }
        return new TensorDataset("rows", tensor(x, [n, 6]), labels, ["no", "yes"]);
    }

    public static RunConfig Tiny(string method)
    {
        var cfg = new RunConfig
        {
            Method = method, Dataset = "rows",
            Encoder = new EncoderConfig { Kind = EncoderKind.TableMlp, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous, Table = TinyEncoder },
            Train = new TrainerOptions
            {
                BatchSize = 16, Threads = 1, MaxSteps = 6, CheckpointEvery = 3, KeepCheckpoints = 2, LearningRate = 1e-3,
                Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.01 },
            },
        };
        return MethodRegistry.Get(method).ApplyPreset(cfg) with { Train = cfg.Train };
    }

    /// <summary>
    /// A CSV of <paramref name="n"/> customers: id, amount (log-normal, every eleventh missing), visits (integer), city (4 values), member
    /// (yes/no) and label "churn"/"stay": churn when the customer is no member and visits fewer than 5 times, so the label depends on both
    /// kinds of column.
    /// </summary>
    public static string WriteCsv(string path, int n, int seed = 0)
    {
        var rng = new Random(seed);
        var c = CultureInfo.InvariantCulture;
        string[] cities = ["Paris", "Rome", "Oslo", "Lima"];
        var sb = new StringBuilder("id,amount,visits,city,member,label\n");
        for (int i = 0; i < n; i++)
        {
            bool member = rng.Next(2) == 0;
            int visits = rng.Next(10);
            string amount = i % 11 == 5 ? "" : Math.Exp(3 + rng.NextDouble()).ToString("F2", c);
            sb.Append(c, $"r{i},{amount},{visits},{cities[rng.Next(4)]},{(member ? "yes" : "no")},{(!member && visits < 5 ? "churn" : "stay")}\n");
        }
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
