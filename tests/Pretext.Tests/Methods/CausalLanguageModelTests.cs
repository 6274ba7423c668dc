using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Tests.Text;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class CausalLanguageModelTests
{
    public CausalLanguageModelTests() => set_num_threads(1);

    private static TransformerEncoder Encoder(bool causal, TextPooling pooling = TextPooling.Mean, int vocab = 13, int maxLength = 12)
    {
        manual_seed(5);
        return new TransformerEncoder(new TransformerOptions
        {
            VocabSize = vocab, MaxLength = maxLength, PadId = 0, Dim = 8, Depth = 2, Heads = 2, Dropout = 0, Pooling = pooling, Causal = causal,
        });
    }

    private static CausalLanguageModel Make(bool tied = true) => new(Encoder(causal: true), new ClmOptions { TieOutputEmbedding = tied });

    [Fact]
    public void NoPositionSeesALaterToken()
    {
        using var enc = Encoder(causal: true);
        enc.eval();
        using var noGrad = no_grad();
        using var before = tensor(new long[] { 2, 5, 7, 9, 11, 6, 8, 3, 2, 6, 10, 12, 4, 5, 3, 0 }, [2, 8]);
        using var after = before.clone();
        // Change every token from position 5 on (including a pad in row 1: padding is a token the future may hold).
        after[TensorIndex.Colon, TensorIndex.Slice(5)] = tensor(new long[] { 1, 12, 4, 7, 7, 9 }, [2, 3]);
        using var a = enc.EncodeTokens(before);
        using var b = enc.EncodeTokens(after);
        var past = TensorIndex.Slice(0, 5);
        Assert.True(a[TensorIndex.Colon, past].allclose(b[TensorIndex.Colon, past], rtol: 0, atol: 1e-6));
        // The changed positions themselves do move, so the comparison above can fail.
        Assert.False(a[TensorIndex.Colon, 5].allclose(b[TensorIndex.Colon, 5], rtol: 1e-3, atol: 1e-3));

        // The same change moves the past of a bidirectional encoder (the test would catch a missing mask).
        using var bidirectional = Encoder(causal: false);
        bidirectional.eval();
        using var c = bidirectional.EncodeTokens(before);
        using var d = bidirectional.EncodeTokens(after);
        Assert.False(c[TensorIndex.Colon, past].allclose(d[TensorIndex.Colon, past], rtol: 1e-3, atol: 1e-3));
    }

    [Fact]
    public void LossIsNextTokenCrossEntropyAgainstASlowLoop()
    {
        foreach (bool tied in new[] { true, false })
        {
            using var m = Make(tied);
            using var noGrad = no_grad();
            using var g = new Generator(11);
            using var hidden = randn(new long[] { 3, 6, 8 }, generator: g);
            // Rows of different lengths, right-padded; the last row has a single token (no target at all).
            long[,] ids = { { 2, 5, 7, 9, 3, 0 }, { 2, 12, 3, 0, 0, 0 }, { 2, 0, 0, 0, 0, 0 } };
            using var idsT = tensor(ids.Cast<long>().ToArray(), [3, 6]);
            // A non-zero bias, so the reference checks it is added.
            using (var b = randn(13, generator: g)) m.named_parameters().Single(p => p.name == "bias").parameter.copy_(b);
            double expected = Reference(m, hidden, ids, tied);
            using var loss = m.Loss(hidden, idsT);
            Assert.Equal(expected, loss.item<float>(), 4);
        }
    }

    /// <summary>Slow reference in double precision: for every position whose next token is not padding, log-sum-exp minus the target's logit.</summary>
    private static double Reference(CausalLanguageModel m, Tensor hidden, long[,] ids, bool tied)
    {
        var w = (tied ? ((ITokenEncoder)m.Encoder).TokenEmbedding : m.named_parameters().Single(p => p.name == "decoder").parameter).to(ScalarType.Float64);
        var bias = m.named_parameters().Single(p => p.name == "bias").parameter.to(ScalarType.Float64).data<double>().ToArray();
        var h = hidden.to(ScalarType.Float64);
        int v = (int)w.shape[0], d = (int)w.shape[1];
        double total = 0; int n = 0;
        for (int b = 0; b < ids.GetLength(0); b++)
            for (int t = 0; t + 1 < ids.GetLength(1); t++)
            {
                if (ids[b, t + 1] == 0) continue;
                var logits = new double[v];
                for (int k = 0; k < v; k++)
                {
                    double s = bias[k];
                    for (int j = 0; j < d; j++) s += h[b, t, j].item<double>() * w[k, j].item<double>();
                    logits[k] = s;
                }
                double max = logits.Max();
                double lse = max + Math.Log(logits.Sum(z => Math.Exp(z - max)));
                total += lse - logits[ids[b, t + 1]];
                n++;
            }
        return total / n;
    }

    [Fact]
    public void LastPoolingTakesTheLastNonPadToken()
    {
        using var enc = Encoder(causal: true, TextPooling.Last);
        enc.eval();
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 2, 5, 7, 3, 0, 0, 2, 9, 9, 9, 9, 3 }, [2, 6]);
        using var tokens = enc.EncodeTokens(ids);
        using var pooled = enc.forward(ids);
        Assert.True(pooled[0].allclose(tokens[0, 3]));
        Assert.True(pooled[1].allclose(tokens[1, 5]));
    }

    [Fact]
    public void TheMethodRefusesABidirectionalEncoderAndCausalClsPooling()
    {
        Assert.Throws<ArgumentException>(() => new CausalLanguageModel(Encoder(causal: false)));
        Assert.Throws<ArgumentException>(() => Encoder(causal: true, TextPooling.Cls));
        var cfg = Presets.For("clm", "spamassassin", threads: 1);
        Assert.True(cfg.Encoder.Text.Causal);
        Assert.NotEqual(TextPooling.Cls, cfg.Encoder.Text.Pooling);
        // Pooling is the one model setting evaluate may override; the enum parses from its name.
        Assert.Equal(TextPooling.Last, ConfigOverrides.Apply(cfg, ["encoder.text.pooling=Last"]).Encoder.Text.Pooling);
    }

    [Fact]
    public void ContinuationsAreSeededAndGreedyIsTheArgMax()
    {
        using var m = Make();
        int[] prompt = [2, 5, 7];
        using (var g1 = new Generator(3)) using (var g2 = new Generator(3))
            Assert.Equal(m.Continue(prompt, 6, 0.8, g1), m.Continue(prompt, 6, 0.8, g2));
        var greedy = m.Continue(prompt, 4);
        Assert.Equal(prompt, greedy.Take(3));
        Assert.Equal(7, greedy.Length);
        // Greedy token by token: each added token is the arg max of the logits at the last position.
        using var noGrad = no_grad();
        m.eval();
        for (int i = 3; i < greedy.Length; i++)
        {
            using var x = tensor(greedy.Take(i).Select(v => (long)v).ToArray()).view(1, -1);
            using var logits = m.Logits(((ITokenEncoder)m.Encoder).EncodeTokens(x))[0, i - 1];
            logits[0] = float.NegativeInfinity;
            Assert.Equal(greedy[i], (int)logits.argmax().item<long>());
        }
        // Never longer than the model's max length.
        Assert.Equal(m.MaxLength, m.Continue(prompt, 100).Length);
        Assert.Throws<ArgumentException>(() => m.Continue([], 3));
    }

    [Fact]
    public void ContinuationsRenderEveryPrompt()
    {
        var tokenizer = TestText.Tokenizer();
        manual_seed(1);
        using var m = new CausalLanguageModel(new TransformerEncoder(new TransformerOptions
        {
            VocabSize = tokenizer.VocabSize, MaxLength = 16, Dim = 8, Depth = 1, Heads = 2, Dropout = 0, Causal = true,
        }));
        string text = Continuations.Render(m, tokenizer, seed: 4, prompts: ["cheap offer", "team meeting"]);
        Assert.Equal(text, Continuations.Render(m, tokenizer, seed: 4, prompts: ["cheap offer", "team meeting"]));
        Assert.Contains("prompt `cheap offer`", text);
        Assert.Contains("prompt `team meeting`", text);
        Assert.Equal(2, text.Split('\n').Count(l => l.Contains("sampled:")));
    }
}
