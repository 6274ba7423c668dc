using System.Globalization;
using System.Text.Json;
using Pretext.Compute;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Text;
using Pretext.Training;
using TorchSharp;

namespace Pretext.Bench;

/// <summary>
/// Throughput of the default text pretraining step through the real training loop (SpamAssassin training mails
/// tokenized by a BPE tokenizer trained on them when the corpus is available, else synthetic Zipf token data; token batches, the
/// method's views prepared on a background thread, Transformer, loss, backward, AdamW). Prints one JSON line.
///   Pretext.Bench text [--method mlm|simcse|word2vec] [--batch 64] [--max-length 128] [--dim 256] [--depth 4]
///       [--precision Auto|Float32|BFloat16] [--threads 2] [--steps 12] [--warmup 3]
/// Tokens/s counts the non-pad tokens of the measured batches.
/// </summary>
internal static class TextBench
{
    public static int Run(Func<string, string, string> get)
    {
        int Int(string k, string d) => int.Parse(get(k, d), CultureInfo.InvariantCulture);
        int threads = Int("threads", "2"), steps = Int("steps", "12"), warmup = Int("warmup", "3");
        torch.set_num_threads(threads);
        string methodName = get("method", "mlm");
        var entry = MethodRegistry.Get(methodName);
        var cfg = Presets.For(entry.Name, "spamassassin", threads);
        var text = cfg.Encoder.Text with
        {
            MaxLength = Int("max-length", cfg.Encoder.Text.MaxLength.ToString(CultureInfo.InvariantCulture)),
            Dim = Int("dim", cfg.Encoder.Text.Dim.ToString(CultureInfo.InvariantCulture)),
            Depth = Int("depth", cfg.Encoder.Text.Depth.ToString(CultureInfo.InvariantCulture)),
        };
        var (loaded, withTokenizer) = TextBenchData.Load(Int("documents", "2048"), text);
        using var data = loaded;
        text = withTokenizer;
        string source = data.Name;
        cfg = cfg with
        {
            Encoder = cfg.Encoder with { Text = text, Precision = Enum.Parse<Precision>(get("precision", cfg.Encoder.Precision.ToString()), true) },
            Train = cfg.Train with { BatchSize = Int("batch", cfg.Train.BatchSize.ToString(CultureInfo.InvariantCulture)), MaxSteps = steps + warmup, Epochs = 1000, CheckpointEvery = 0 },
        };
        using var method = Pretraining.CreateMethod(cfg);
        using var optimizer = new Pretext.Training.Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        var trainer = new Trainer(method, data, entry.Views(cfg.Setup), cfg.Train);
        var stepMs = new List<double>();
        trainer.Run(optimizer, 0, null, r => { if (r.Step > warmup) stepMs.Add(1000.0 * cfg.Train.BatchSize / r.SamplesPerSecond); });
        stepMs.Sort();
        double median = stepMs[stepMs.Count / 2];
        double tokensPerSample = data.Lengths.Average();
        long peakKb = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).FirstOrDefault();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = $"{methodName}_step",
            tokens_per_second = Math.Round(cfg.Train.BatchSize * tokensPerSample * 1000.0 / median, 0),
            samples_per_second = Math.Round(cfg.Train.BatchSize * 1000.0 / median, 1),
            step_ms = Math.Round(median, 1),
            peak_rss_mb = Math.Round(peakKb / 1024.0, 0),
            threads, batch = cfg.Train.BatchSize, max_length = text.MaxLength, mean_tokens = Math.Round(tokensPerSample, 1),
            encoder = cfg.Encoder.Kind.ToString(), dim = text.Dim, depth = text.Depth, heads = text.Heads, vocab = text.VocabSize,
            precision = ComputeOptions.Resolve(cfg.Encoder.Precision).ToString(), steps_measured = stepMs.Count, data = source,
        }));
        return 0;
    }
}
