using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class MaskedLanguageModelTests
{
    public MaskedLanguageModelTests() => set_num_threads(1);

    private static MaskedLanguageModel Make(bool tied)
    {
        manual_seed(3);
        var enc = new TransformerEncoder(new TransformerOptions { VocabSize = 11, MaxLength = 8, Dim = 6, Depth = 1, Heads = 2 });
        return new MaskedLanguageModel(enc, new MlmOptions { TieOutputEmbedding = tied });
    }

    private static double Erf(double x)
    {
        // Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.Exp(-x * x);
        return x >= 0 ? y : -y;
    }

    private static double[] Vec(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    /// <summary>Slow reference: BERT's prediction head and the cross entropy, loops in double precision, over the chosen positions.</summary>
    private static double Reference(MaskedLanguageModel m, float[,,] hidden, long[,] targets)
    {
        var p = m.Head.named_parameters().ToDictionary(x => x.name, x => Vec(x.parameter));
        double[] decoder = m.Head.Tied ? Vec(((ITokenEncoder)m.Encoder).TokenEmbedding) : p["decoder"];
        int d = hidden.GetLength(2), v = p["bias"].Length;
        double total = 0; int n = 0;
        for (int b = 0; b < hidden.GetLength(0); b++)
            for (int l = 0; l < hidden.GetLength(1); l++)
            {
                if (targets[b, l] == MlmMasker.IgnoreIndex) continue;
                var h = new double[d];
                for (int i = 0; i < d; i++)
                {
                    double s = p["dense.bias"][i];
                    for (int k = 0; k < d; k++) s += p["dense.weight"][i * d + k] * hidden[b, l, k];
                    h[i] = 0.5 * s * (1 + Erf(s / Math.Sqrt(2)));
                }
                double mean = h.Average(), var = h.Sum(x => (x - mean) * (x - mean)) / d;
                for (int i = 0; i < d; i++) h[i] = (h[i] - mean) / Math.Sqrt(var + 1e-5) * p["norm.weight"][i] + p["norm.bias"][i];
                var logits = new double[v];
                for (int c = 0; c < v; c++)
                {
                    logits[c] = p["bias"][c];
                    for (int i = 0; i < d; i++) logits[c] += decoder[c * d + i] * h[i];
                }
                double max = logits.Max();
                double lse = max + Math.Log(logits.Sum(z => Math.Exp(z - max)));
                total += lse - logits[targets[b, l]];
                n++;
            }
        return total / n;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LossMatchesSlowReferenceOnChosenPositionsOnly(bool tied)
    {
        using var m = Make(tied);
        var rng = new Random(9);
        var hidden = new float[2, 5, 6];
        for (int b = 0; b < 2; b++) for (int l = 0; l < 5; l++) for (int k = 0; k < 6; k++) hidden[b, l, k] = (float)(rng.NextDouble() * 4 - 2);
        var targets = new long[,] { { -100, 7, -100, 3, -100 }, { 10, -100, -100, -100, 5 } };
        using var h = tensor(hidden);
        using var t = tensor(targets);
        using var loss = m.Loss(h, t);
        Assert.Equal(Reference(m, hidden, targets), loss.item<float>(), 4);
        // Only chosen positions count: changing the hidden state of an unchosen one changes nothing.
        hidden[0, 0, 0] += 5;
        using var h2 = tensor(hidden);
        using var loss2 = m.Loss(h2, t);
        Assert.Equal(loss.item<float>(), loss2.item<float>());
    }

    [Fact]
    public void NoChosenPositionGivesZeroLossNotNaN()
    {
        using var m = Make(true);
        using var h = randn(2, 3, 6, requires_grad: true);
        using var t = full(new long[] { 2, 3 }, MlmMasker.IgnoreIndex, ScalarType.Int64);
        using var loss = m.Loss(h, t);
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
    }

    [Fact]
    public void TiedDecoderSharesTheInputEmbedding()
    {
        using var tiedM = Make(true);
        using var ownM = Make(false);
        var tiedNames = tiedM.named_parameters().Select(p => p.name).ToList();
        Assert.DoesNotContain(tiedNames, n => n.Contains("decoder"));
        Assert.Contains(ownM.named_parameters(), p => p.name.EndsWith("decoder"));
        // The MLM loss trains the input embedding through the decoder too: a token that is only predicted
        // (never in the input) still gets a gradient.
        using var ids = tensor(new long[] { 2, 4, 4, 3 }).view(1, 4);
        using var targets = tensor(new long[] { -100, 9, 9, -100 }).view(1, 4);
        var o = tiedM.ComputeLoss(new Batch([ids, targets], [0]), new(0, 1));
        o.Loss.backward();
        var emb = ((ITokenEncoder)tiedM.Encoder).TokenEmbedding;
        Assert.True(emb.grad![9].abs().sum().item<float>() > 0);
    }
}
