using NWaves.Filters.Fda;
using NWaves.Transforms;
using Pretext.Data;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Audio;

/// <summary>
/// The log-mel front end against a slow reference written from the definitions (reflect padding, centred Hann window, a
/// naive DFT, HTK mel triangles, log), against NWaves' mel filter bank and FFT power spectrum, and its MFCCs against a naive DCT.
/// </summary>
public class LogMelTests
{
    public LogMelTests() => set_num_threads(1);

    private static readonly LogMelOptions Small = new() { FftSize = 64, WindowLength = 50, HopLength = 20, Mels = 10, MinFrequency = 100, LogOffset = 1e-6 };

    private static float[] Signal(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * 700 * i / 8000.0) + 0.3 * Math.Sin(2 * Math.PI * 2300 * i / 8000.0 + 1) + 0.1 * (rng.NextDouble() - 0.5))).ToArray();
    }

    /// <summary>Periodic Hann of <paramref name="length"/> centred in <paramref name="fft"/> zeros, as torch.stft pads it.</summary>
    private static double[] PaddedWindow(int length, int fft)
    {
        var w = new double[fft];
        int left = (fft - length) / 2;
        for (int n = 0; n < length; n++) w[left + n] = 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / length);
        return w;
    }

    /// <summary>The frames (fft samples each) a centred STFT sees: the signal reflected by fft/2 at both ends.</summary>
    private static double[][] Frames(float[] x, LogMelOptions o)
    {
        int pad = o.FftSize / 2;
        double At(int i) => x[i < 0 ? -i : i >= x.Length ? 2 * (x.Length - 1) - i : i];
        return Enumerable.Range(0, o.Frames(x.Length)).Select(t => Enumerable.Range(0, o.FftSize).Select(n => At(t * o.HopLength + n - pad)).ToArray()).ToArray();
    }

    private static double[,] ReferenceLogMel(float[] x, int rate, LogMelOptions o)
    {
        var fb = LogMelSpectrogram.FilterBank(o.FftSize, rate, o.Mels, o.MinFrequency, rate / 2.0);
        var w = PaddedWindow(o.WindowLength, o.FftSize);
        var frames = Frames(x, o);
        int bins = o.FftSize / 2 + 1;
        var result = new double[o.Mels, frames.Length];
        for (int t = 0; t < frames.Length; t++)
        {
            var power = new double[bins];
            for (int k = 0; k < bins; k++)
            {
                double re = 0, im = 0;
                for (int n = 0; n < o.FftSize; n++)
                {
                    double v = frames[t][n] * w[n], angle = -2 * Math.PI * k * n / o.FftSize;
                    re += v * Math.Cos(angle); im += v * Math.Sin(angle);
                }
                power[k] = re * re + im * im;
            }
            for (int m = 0; m < o.Mels; m++)
            {
                double e = 0;
                for (int k = 0; k < bins; k++) e += fb[m, k] * power[k];
                result[m, t] = Math.Log(e + o.LogOffset);
            }
        }
        return result;
    }

    [Fact]
    public void MatchesANaiveDftReference()
    {
        const int rate = 8000;
        var signals = new[] { Signal(400, 1), Signal(400, 2) };
        using var front = new LogMelSpectrogram(Small, rate, 400);
        using var batch = tensor(signals.SelectMany(s => s).ToArray(), [2, 400]);
        using var logMel = front.Compute(batch);
        Assert.Equal(new long[] { 2, Small.Mels, Small.Frames(400) }, logMel.shape);
        Assert.Equal(21, Small.Frames(400));
        for (int b = 0; b < 2; b++)
        {
            var expected = ReferenceLogMel(signals[b], rate, Small);
            var actual = logMel[b].data<float>().ToArray();
            for (int m = 0; m < Small.Mels; m++)
                for (int t = 0; t < Small.Frames(400); t++)
                    Assert.True(Math.Abs(actual[m * Small.Frames(400) + t] - expected[m, t]) < 2e-4, $"clip {b}, band {m}, frame {t}: {actual[m * Small.Frames(400) + t]} vs {expected[m, t]}");
        }
    }

    [Fact]
    public void TheFilterBankIsNWavesMelBankAndThePowerSpectrumNWavesFft()
    {
        // NWaves' HTK mel bands with triangles at the FFT bins' frequencies, the same definition.
        var nwaves = FilterBanks.Triangular(512, 16_000, FilterBanks.MelBands(64, 16_000, 0, 8000), null, null);
        var ours = LogMelSpectrogram.FilterBank(512, 16_000, 64, 0, 8000);
        for (int m = 0; m < 64; m++)
            for (int k = 0; k < 257; k++)
                Assert.True(Math.Abs(nwaves[m][k] - ours[m, k]) < 1e-5, $"band {m}, bin {k}: NWaves {nwaves[m][k]}, ours {ours[m, k]}");

        // Whole front end at the defaults: NWaves computes each frame's power spectrum and applies its own filter bank.
        var o = new LogMelOptions();
        var x = Signal(4000, 3);
        using var front = new LogMelSpectrogram(o, 16_000, x.Length);
        using var input = tensor(x, [1, x.Length]);
        using var logMel = front.Compute(input);
        var actual = logMel[0].data<float>().ToArray();
        int frames = o.Frames(x.Length);
        var w = PaddedWindow(o.WindowLength, o.FftSize);
        var fft = new RealFft(o.FftSize);
        var power = new float[o.FftSize / 2 + 1];
        var mel = new float[o.Mels];
        var all = Frames(x, o);
        for (int t = 0; t < frames; t++)
        {
            fft.PowerSpectrum(all[t].Select((v, n) => (float)(v * w[n])).ToArray(), power, normalize: false);
            FilterBanks.Apply(nwaves, power, mel);
            for (int m = 0; m < o.Mels; m++)
            {
                double expected = Math.Log(mel[m] + o.LogOffset);
                Assert.True(Math.Abs(actual[m * frames + t] - expected) < 1e-3 * Math.Max(1, Math.Abs(expected)), $"band {m}, frame {t}: {actual[m * frames + t]} vs NWaves {expected}");
            }
        }
    }

    [Fact]
    public void MfccsAreTheOrthonormalDctOfTheLogMels()
    {
        using var g = new Generator(5);
        using var logMel = randn([2, 12, 7], generator: g);
        using var mfcc = LogMelSpectrogram.Mfcc(logMel, 5);
        Assert.Equal(new long[] { 2, 5, 7 }, mfcc.shape);
        var x = logMel.data<float>().ToArray();
        var y = mfcc.data<float>().ToArray();
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 5; c++)
                for (int t = 0; t < 7; t++)
                {
                    double sum = 0;
                    for (int m = 0; m < 12; m++) sum += x[b * 84 + m * 7 + t] * Math.Cos(Math.PI * c * (2 * m + 1) / 24);
                    sum *= Math.Sqrt((c == 0 ? 1.0 : 2.0) / 12);
                    Assert.True(Math.Abs(sum - y[b * 35 + c * 7 + t]) < 1e-5, $"clip {b}, coefficient {c}, frame {t}");
                }
    }

    [Fact]
    public void BadSettingsSayWhichKnob()
    {
        Assert.Contains("mels", Assert.Throws<ArgumentException>(() => new LogMelSpectrogram(Small with { Mels = 40 }, 8000, 400)).Message);
        Assert.Contains("half the sample rate", Assert.Throws<ArgumentException>(() => new LogMelSpectrogram(Small with { MaxFrequency = 5000 }, 8000, 400)).Message);
        Assert.Contains("too short", Assert.Throws<ArgumentException>(() => new LogMelSpectrogram(Small, 8000, 20)).Message);
        using var front = new LogMelSpectrogram(Small, 8000, 400);
        using var wrong = zeros(400);
        Assert.Contains("(B, samples)", Assert.Throws<ArgumentException>(() => front.Compute(wrong)).Message);
    }
}
