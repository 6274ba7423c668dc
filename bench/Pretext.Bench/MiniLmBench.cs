using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Runs;
using Pretext.Text;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// `minilm`: all-MiniLM-L6-v2 imported by `pretext import --onnx` against ONNX Runtime running the same ONNX file on the same token
/// ids. For each sentence set (WordNet glosses, SpamAssassin subject lines, SpamAssassin mails cut to the model's 128 tokens;
/// --count of each, evenly spaced through the set): the cosine of every non-pad token output with ONNX Runtime's
/// last_hidden_state, the cosine of the mean-pooled sentence embeddings, and the largest absolute difference; in fp32 and in the
/// precision `--precision Auto` picks (bf16 matrix products on CPUs with native bf16). Sentences go through in batches of 16,
/// right-padded, so padding is exercised. Prints one JSON line per set and precision. docs/text.md, "Imported encoders".
/// </summary>
internal static class MiniLmBench
{
    public static int Run(BenchArgs args)
    {
        int count = args.Int("count", 100), threads = args.Int("threads", 1), batch = args.Int("batch", 16);
        string runDir = args.Get("run-dir", Path.Combine(Path.GetTempPath(), $"pretext-minilm-bench-{Environment.ProcessId}"));
        set_num_threads(threads);
        var clock = Stopwatch.StartNew();
        if (!File.Exists(Path.Combine(runDir, "checkpoints", "step-00000000.safetensors")))
            OnnxImport.Import(new OnnxImportRequest(OnnxImport.MiniLm, runDir, Threads: threads));
        double importSeconds = clock.Elapsed.TotalSeconds;
        string checkpoint = Path.Combine(runDir, "checkpoints", "step-00000000.safetensors");
        var tokenizer = TextTokenizers.Load(Path.Combine(runDir, "tokenizer.json"));
        var (modelBytes, _, _, _) = OnnxImport.ReadSource(OnnxImport.MiniLm, null);
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(modelBytes, options);

        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { Sources = DataSources.Cache | DataSources.SystemPackage });
        var mails = fetcher.LoadText("spamassassin", DataSplit.Train).Dataset.Texts;
        var glosses = fetcher.LoadText("wordnet", DataSplit.Train).Dataset.Texts;
        var subjects = mails.Select(m => m.Split('\n', 2)[0]).Where(s => s.StartsWith("Subject: ", StringComparison.Ordinal) && s.Length > 12)
            .Select(s => s["Subject: ".Length..]).ToList();
        var sets = new (string Name, IReadOnlyList<string> Texts)[]
        {
            ("wordnet-glosses", Spaced(glosses, count)), ("spamassassin-subjects", Spaced(subjects, count)), ("spamassassin-mails-128", Spaced(mails, count)),
        };
        foreach (var precision in new[] { Precision.Float32, Precision.Auto })
        {
            var (method, cfg, _) = Pretraining.LoadMethod(checkpoint, c => c with { Encoder = c.Encoder with { Precision = precision } });
            using (method)
            {
                var encoder = (TransformerEncoder)method.Encoder;
                encoder.eval();
                foreach (var (name, texts) in sets)
                {
                    var tokenCos = new List<double>();
                    var sentenceCos = new List<double>();
                    double maxAbs = 0, maxRef = 0;
                    long tokens = 0;
                    double pretextSeconds = 0, ortSeconds = 0;
                    for (int start = 0; start < texts.Count; start += batch)
                    {
                        var rows = texts.Skip(start).Take(batch).Select(t => tokenizer.EncodeForModel(t, cfg.Encoder.Text.MaxLength)).ToList();
                        int b = rows.Count, l = rows.Max(r => r.Length), d = encoder.TokenDim;
                        var ids = new long[b * l];
                        var mask = new long[b * l];
                        for (int i = 0; i < b; i++) for (int j = 0; j < rows[i].Length; j++) { ids[i * l + j] = rows[i][j]; mask[i * l + j] = 1; }
                        var sw = Stopwatch.StartNew();
                        float[] ours;
                        using (var scope = NewDisposeScope())
                        using (no_grad())
                            ours = encoder.EncodeTokens(tensor(ids, [b, l])).to(ScalarType.Float32).contiguous().data<float>().ToArray();
                        pretextSeconds += sw.Elapsed.TotalSeconds;
                        sw.Restart();
                        var reference = OrtHiddenStates(session, ids, mask, b, l);
                        ortSeconds += sw.Elapsed.TotalSeconds;
                        for (int i = 0; i < b; i++)
                        {
                            var meanOurs = new double[d];
                            var meanRef = new double[d];
                            int n = rows[i].Length;
                            for (int j = 0; j < n; j++)
                            {
                                int o = (i * l + j) * d;
                                double dot = 0, na = 0, nb = 0;
                                for (int k = 0; k < d; k++)
                                {
                                    double x = ours[o + k], y = reference[o + k];
                                    dot += x * y; na += x * x; nb += y * y;
                                    meanOurs[k] += x / n; meanRef[k] += y / n;
                                    maxAbs = Math.Max(maxAbs, Math.Abs(x - y)); maxRef = Math.Max(maxRef, Math.Abs(y));
                                }
                                tokenCos.Add(dot / Math.Sqrt(na * nb));
                                tokens++;
                            }
                            sentenceCos.Add(Cosine(meanOurs, meanRef));
                        }
                    }
                    var line = new Dictionary<string, object>
                    {
                        ["bench"] = "minilm", ["set"] = name, ["precision"] = ComputeOptions.Describe(precision), ["sentences"] = texts.Count, ["tokens"] = tokens,
                        ["token_cosine_min"] = Round(tokenCos.Min()), ["token_cosine_mean"] = Round(tokenCos.Average()),
                        ["sentence_cosine_min"] = Round(sentenceCos.Min()), ["sentence_cosine_mean"] = Round(sentenceCos.Average()),
                        ["sentences_above_0.999"] = sentenceCos.Count(c => c > 0.999), ["tokens_above_0.999"] = tokenCos.Count(c => c > 0.999),
                        ["max_abs_diff"] = Round(maxAbs), ["max_abs_reference"] = Round(maxRef),
                        ["pretext_seconds"] = Math.Round(pretextSeconds, 2), ["onnxruntime_seconds"] = Math.Round(ortSeconds, 2),
                        ["threads"] = threads, ["import_seconds"] = Math.Round(importSeconds, 1), ["load"] = Machine.LoadAverage(),
                    };
                    Console.WriteLine(JsonSerializer.Serialize(line));
                }
            }
        }
        return 0;
    }

    /// <summary>ONNX Runtime's last_hidden_state (B, L, D) for the ids and attention mask, token types all 0.</summary>
    public static float[] OrtHiddenStates(InferenceSession session, long[] ids, long[] mask, int b, int l)
    {
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, [b, l])),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, [b, l])),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[b * l], [b, l])),
        };
        using var results = session.Run(inputs, ["last_hidden_state"]);
        return results.First().AsTensor<float>().ToArray();
    }

    private static double Cosine(double[] a, double[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    private static double Round(double x) => double.Parse(x.ToString("G9", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary><paramref name="count"/> items evenly spaced through <paramref name="items"/> (all when there are fewer).</summary>
    private static List<string> Spaced(IReadOnlyList<string> items, int count) =>
        items.Count <= count ? [.. items] : Enumerable.Range(0, count).Select(i => items[(int)((long)i * items.Count / count)]).ToList();
}
