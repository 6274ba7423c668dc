using Pretext.Losses;
using Pretext.Methods;
using Pretext.Tests.Data.Audio;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

/// <summary>COLA's bilinear loss and the masked-frame loss against slow double-precision loops, and masked spectrogram modelling's span masks.</summary>
public class AudioLossTests
{
    public AudioLossTests() => set_num_threads(1);

    /// <summary>Mean over i of -log(exp(a_i W b_i) / sum_j exp(a_i W b_j)).</summary>
    private static double BilinearReference(float[][] a, float[][] b, float[][] w)
    {
        double S(int i, int j)
        {
            double s = 0;
            for (int k = 0; k < w.Length; k++)
                for (int l = 0; l < w.Length; l++) s += (double)a[i][k] * w[k][l] * b[j][l];
            return s;
        }
        double total = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double denom = 0;
            for (int j = 0; j < b.Length; j++) denom += Math.Exp(S(i, j));
            total += -(S(i, i) - Math.Log(denom));
        }
        return total / a.Length;
    }

    [Theory]
    [InlineData(2, 3, 1)]
    [InlineData(7, 5, 2)]
    public void BilinearLossMatchesTheReference(int n, int d, int seed)
    {
        var a = Reference.Random(n, d, seed);
        var b = Reference.Random(n, d, seed + 10);
        var w = Reference.Random(d, d, seed + 20).Select(r => r.Select(v => 2 * v).ToArray()).ToArray();
        using var ta = Reference.Tensor(a);
        using var tb = Reference.Tensor(b);
        using var tw = Reference.Tensor(w);
        using var loss = BilinearContrastiveLoss.Compute(ta, tb, tw);
        Assert.Equal(BilinearReference(a, b, w), loss.item<float>(), 4);
        using var s = BilinearContrastiveLoss.Similarities(ta, tb, tw);
        Assert.Equal(new long[] { n, n }, s.shape);
    }

    [Fact]
    public void BilinearLossRefusesShapesThatDoNotFit()
    {
        using var a = zeros(4, 3);
        using var w = zeros(2, 2);
        Assert.Contains("(3, 3)", Assert.Throws<ArgumentException>(() => BilinearContrastiveLoss.Compute(a, a, w)).Message);
        using var one = zeros(1, 3);
        using var w3 = zeros(3, 3);
        Assert.Throws<ArgumentException>(() => BilinearContrastiveLoss.Compute(one, one, w3));
    }

    [Fact]
    public void MaskedFrameLossMatchesTheReference()
    {
        const int b = 2, mels = 3, frames = 9, per = 2, tokens = 4; // the 9th frame is not covered by a token
        using var g = new Generator(4);
        using var spectrogram = randn([b, mels, frames], generator: g);
        using var prediction = randn([b, tokens, per * mels], generator: g);
        using var mask = tensor(new[] { true, false, true, false, false, false, false, true }, [b, tokens]);
        using var loss = MaskedFrameLoss.Compute(prediction, spectrogram, mask, per);
        var x = spectrogram.data<float>().ToArray();
        var p = prediction.data<float>().ToArray();
        var m = mask.data<bool>().ToArray();
        double sum = 0;
        int count = 0;
        for (int i = 0; i < b; i++)
            for (int t = 0; t < tokens; t++)
            {
                if (!m[i * tokens + t]) continue;
                for (int f = 0; f < per; f++)
                    for (int c = 0; c < mels; c++)
                    {
                        // Token t's prediction holds frame t*per + f's mel c at position f*mels + c.
                        double d = p[(i * tokens + t) * per * mels + f * mels + c] - x[(i * mels + c) * frames + t * per + f];
                        sum += d * d;
                        count++;
                    }
            }
        Assert.Equal(sum / count, loss.item<float>(), 5);
        using var none = zeros(b, tokens, dtype: ScalarType.Bool);
        using var zero = MaskedFrameLoss.Compute(prediction, spectrogram, none, per);
        Assert.Equal(0f, zero.item<float>());
    }

    [Fact]
    public void MaskedSpectrogramMasksWholeSpansAtItsRatioFromTheSeed()
    {
        var cfg = TestAudio.TinyRun("msm");
        using var method = (MaskedSpectrogram)Pretext.Runs.Pretraining.CreateMethod(cfg);
        using var g1 = new Generator(3);
        using var g2 = new Generator(3);
        using var a = method.DrawMask(64, 13, g1);
        using var b = method.DrawMask(64, 13, g2);
        Assert.True(TestData.Same(a, b));
        var m = a.data<bool>().ToArray();
        for (int i = 0; i < 64; i++)
        {
            var row = m.Skip(i * 13).Take(13).ToArray();
            for (int s = 0; s < 12; s += 2) Assert.Equal(row[s], row[s + 1]); // spans of 2 tokens
            Assert.Equal(4, Enumerable.Range(0, 7).Count(s => row[2 * s])); // round(0.5 x 7 spans)
        }
        using var noGrad = no_grad();
        using var x = randn(4, 16, 26);
        var o = method.ComputeLoss(new Batch([x], []), new TrainingProgress(0, 1));
        Assert.True(o.Loss.item<float>() > 0);
        Assert.Contains("audio encoder", Assert.Throws<ArgumentException>(() => new MaskedSpectrogram(new Pretext.Encoders.EncoderConfig { Kind = Pretext.Encoders.EncoderKind.Mlp, Hidden = [8] }.Build())).Message);
    }
}
