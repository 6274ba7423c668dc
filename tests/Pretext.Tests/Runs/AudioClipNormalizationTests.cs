using Pretext.Data;
using Pretext.Encoders;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>
/// Per-clip mean normalisation of the log-mels (encoder.audio.clipNormalization = Mean): every band of every clip ends at zero mean,
/// the per-band statistics are measured after it, and a change of the waveform's level or a fixed gain per band leaves what the
/// encoder reads unchanged; None leaves the frames as they were.
/// </summary>
public class AudioClipNormalizationTests
{
    public AudioClipNormalizationTests() => set_num_threads(1);

    /// <summary>(clips, mels, frames) log-mels with a different level per clip and band, as real clips have.</summary>
    private static TensorDataset LogMels(int clips, int mels, int frames, int seed)
    {
        var g = new Generator((ulong)seed);
        var offsets = randn(clips, mels, 1, generator: g).mul_(3);
        return new TensorDataset("clips", randn(clips, mels, frames, generator: g).add_(offsets));
    }

    [Fact]
    public void MeanNormalisationLeavesEveryBandOfEveryClipAtZeroMeanAndUnitSpread()
    {
        using var clips = LogMels(5, 8, 40, seed: 1);
        var (mean, std) = AudioModality.Statistics(clips, AudioClipNormalization.Mean);
        var audio = new AudioEncoderConfig { Mean = mean, Std = std, ClipNormalization = AudioClipNormalization.Mean };
        using var read = AudioModality.Standardize(clips, audio, "read");
        using var perClip = read.Data.mean([2L]);
        Assert.True(perClip.abs().max().item<float>() < 1e-5f, $"largest per-clip band mean {perClip.abs().max().item<float>()}");
        // The standardisation is measured on the normalised frames: unit spread per band over all of them.
        using var spread = read.Data.permute(1, 0, 2).reshape(8, -1).std(1, unbiased: false);
        Assert.True(spread.sub(1).abs().max().item<float>() < 1e-4f);
        // Without normalisation the clips keep their levels: the same frames standardised alone do not have zero means per clip.
        var (rawMean, rawStd) = AudioModality.Statistics(clips);
        using var raw = AudioModality.Standardize(clips, new AudioEncoderConfig { Mean = rawMean, Std = rawStd }, "raw");
        using var rawPerClip = raw.Data.mean([2L]);
        Assert.True(rawPerClip.abs().max().item<float>() > 0.1f);
    }

    [Fact]
    public void ALevelChangeOfTheWaveformLeavesTheNormalisedLogMelsUnchanged()
    {
        const int rate = 16_000, samples = 8_000;
        var rng = new Random(3);
        var wave = Enumerable.Range(0, samples).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * 220 * i / rate) + 0.2 * Math.Sin(2 * Math.PI * 1_900 * i / rate)
            + 0.5 * (rng.NextDouble() - 0.5))).ToArray();   // broadband noise keeps every band far above the log offset (1e-6), even 20 dB down
        using var frontEnd = new LogMelSpectrogram(new LogMelOptions { Mels = 16 }, rate, samples);
        using var loud = tensor(wave).unsqueeze(0);
        using var quiet = loud.mul(0.1);   // 20 dB down
        using var both = cat([loud, quiet], 0);
        using var logMels = new TensorDataset("levels", frontEnd.Compute(both));
        var audio = new AudioEncoderConfig { Mean = new float[16], Std = Enumerable.Repeat(1f, 16).ToArray() };

        using var plain = AudioModality.Standardize(logMels, audio, "plain");
        // Without normalisation the level moves every band by 2 ln 10 = 4.6 (energy is squared amplitude).
        Assert.True(plain.Data[0].sub(plain.Data[1]).mean().item<float>() > 4.5f);

        using var normalised = AudioModality.Standardize(logMels, audio with { ClipNormalization = AudioClipNormalization.Mean }, "normalised");
        float largest = normalised.Data[0].sub(normalised.Data[1]).abs().max().item<float>();
        Assert.True(largest < 1e-3f, $"largest difference {largest}");
    }

    [Fact]
    public void AFixedGainPerBandIsRemovedAndNoneChangesNothing()
    {
        using var clips = LogMels(3, 6, 30, seed: 2);
        // A channel (a microphone, a codec's tilt) multiplies each band's energy by its own factor: a constant per band in the log.
        using var channel = linspace(-2, 2, 6).view(1, 6, 1);
        using var coloured = new TensorDataset("coloured", clips.Data.add(channel));
        var audio = new AudioEncoderConfig { Mean = new float[6], Std = Enumerable.Repeat(2f, 6).ToArray(), ClipNormalization = AudioClipNormalization.Mean };
        using var a = AudioModality.Standardize(clips, audio, "a");
        using var b = AudioModality.Standardize(coloured, audio, "b");
        Assert.True(a.Data.sub(b.Data).abs().max().item<float>() < 1e-5f);

        using var before = clips.Data.clone();
        using var none = AudioModality.Standardize(clips, audio with { ClipNormalization = AudioClipNormalization.None }, "none");
        Assert.True(none.Data.sub(clips.Data.div(2)).abs().max().item<float>() < 1e-6f);
        Assert.True(clips.Data.allclose(before, rtol: 0, atol: 0));   // the source frames are not changed in place
    }
}
