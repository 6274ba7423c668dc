using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Data;

/// <summary>
/// Settings of the log-mel front end (<see cref="LogMelSpectrogram"/>). The defaults are COLA's (Saeed et al. 2021, section
/// 3.2: log-compressed mel filterbanks, 64 bands, a 25 ms window every 10 ms) at 16 kHz, with torch's STFT conventions: a
/// periodic Hann window centred in a zero-padded FFT frame, frames centred on their hop (the signal reflected at the ends).
/// Travels with a run's config (encoder.audio.logMel).
/// </summary>
public sealed record LogMelOptions
{
    /// <summary>FFT size in samples (frequency bins: FftSize/2 + 1).</summary>
    public int FftSize { get; init; } = 512;
    /// <summary>Window length in samples, at most <see cref="FftSize"/> (400: 25 ms at 16 kHz).</summary>
    public int WindowLength { get; init; } = 400;
    /// <summary>Hop between frames in samples (160: 10 ms at 16 kHz).</summary>
    public int HopLength { get; init; } = 160;
    /// <summary>Mel bands.</summary>
    public int Mels { get; init; } = 64;
    /// <summary>Lowest band edge in Hz.</summary>
    public double MinFrequency { get; init; }
    /// <summary>Highest band edge in Hz; 0: the Nyquist frequency.</summary>
    public double MaxFrequency { get; init; }
    /// <summary>Added to the mel energies before the natural log, so silence gives log(offset) instead of minus infinity.</summary>
    public double LogOffset { get; init; } = 1e-6;
    /// <summary>Centre frame t on sample t x hop (reflecting the signal at its ends), as torch.stft does by default.</summary>
    public bool Center { get; init; } = true;

    /// <summary>Frames of a clip of <paramref name="samples"/> samples.</summary>
    public int Frames(int samples) => Center ? 1 + samples / HopLength : 1 + (samples - FftSize) / HopLength;

    /// <exception cref="ArgumentException">Sizes out of range for <paramref name="sampleRate"/> and a clip of <paramref name="samples"/> samples.</exception>
    public void Validate(int sampleRate, int samples)
    {
        if (FftSize < 2 || WindowLength < 1 || WindowLength > FftSize || HopLength < 1)
            throw new ArgumentException($"encoder.audio.logMel needs fftSize >= 2, 1 <= windowLength <= fftSize and hopLength >= 1 (got {FftSize}, {WindowLength}, {HopLength}).");
        if (Mels < 1 || Mels > FftSize / 2 + 1) throw new ArgumentException($"encoder.audio.logMel.mels must be between 1 and fftSize/2 + 1 = {FftSize / 2 + 1}, got {Mels}.");
        double top = MaxFrequency > 0 ? MaxFrequency : sampleRate / 2.0;
        if (MinFrequency < 0 || top > sampleRate / 2.0 + 1e-9 || MinFrequency >= top)
            throw new ArgumentException($"encoder.audio.logMel needs 0 <= minFrequency < maxFrequency <= {sampleRate / 2.0} Hz (half the sample rate), got {MinFrequency} and {top}.");
        if (!(LogOffset > 0)) throw new ArgumentException($"encoder.audio.logMel.logOffset must be positive, got {LogOffset}.");
        if (Center ? samples <= FftSize / 2 : samples < FftSize)
            throw new ArgumentException($"A clip of {samples} samples is too short for an FFT of {FftSize}; lengthen encoder.audio.clip.seconds or shorten encoder.audio.logMel.fftSize.");
    }
}

/// <summary>
/// Log-mel spectrograms on torch's STFT: |STFT|^2 with a periodic Hann window, a mel filter bank of triangles on the HTK mel
/// scale (mel = 2595 log10(1 + f/700)) with linear slopes in Hz between band edges spaced evenly in mel (torchaudio's
/// MelSpectrogram with norm=None and mel_scale="htk"), then log(energy + offset). Input (B, samples) fp32, output
/// (B, mels, frames) fp32.
/// </summary>
public sealed class LogMelSpectrogram : IDisposable
{
    private readonly Tensor window;
    private readonly Tensor filterBank; // (mels, bins)

    /// <exception cref="ArgumentException">Invalid options for the rate and clip length (<see cref="LogMelOptions.Validate"/>).</exception>
    public LogMelSpectrogram(LogMelOptions options, int sampleRate, int samples)
    {
        options.Validate(sampleRate, samples);
        Options = options;
        SampleRate = sampleRate;
        window = hann_window(options.WindowLength, periodic: true, dtype: ScalarType.Float32).DetachFromDisposeScope();
        var fb = FilterBank(options.FftSize, sampleRate, options.Mels, options.MinFrequency, options.MaxFrequency > 0 ? options.MaxFrequency : sampleRate / 2.0);
        filterBank = tensor(fb.Cast<double>().Select(v => (float)v).ToArray(), [options.Mels, options.FftSize / 2 + 1]).DetachFromDisposeScope();
    }

    public LogMelOptions Options { get; }
    public int SampleRate { get; }

    /// <summary>(B, mels, frames) log-mel energies of <paramref name="waveforms"/> (B, samples) fp32.</summary>
    /// <exception cref="ArgumentException">Not a 2-D batch.</exception>
    public Tensor Compute(Tensor waveforms)
    {
        if (waveforms.dim() != 2) throw new ArgumentException($"The log-mel front end takes a batch of waveforms (B, samples), got shape [{string.Join(",", waveforms.shape)}].");
        using var scope = NewDisposeScope();
        var o = Options;
        var spectrum = stft(waveforms.to(ScalarType.Float32), o.FftSize, o.HopLength, o.WindowLength, window, o.Center, PaddingModes.Reflect,
            normalized: false, onesided: true, return_complex: true);                 // (B, bins, frames) complex
        var power = view_as_real(spectrum).square().sum(-1);                           // |X|^2
        return filterBank.matmul(power).add_(o.LogOffset).log_().MoveToOuterDisposeScope();
    }

    public static double HzToMel(double hz) => 2595.0 * Math.Log10(1.0 + hz / 700.0);
    public static double MelToHz(double mel) => 700.0 * (Math.Pow(10.0, mel / 2595.0) - 1.0);

    /// <summary>
    /// (mels, fftSize/2 + 1) triangular weights: band m rises linearly from edge m to its peak at edge m+1 and falls to edge m+2,
    /// the mels + 2 edges evenly spaced in mel between <paramref name="minHz"/> and <paramref name="maxHz"/>; bin k lies at
    /// k x rate / fftSize Hz.
    /// </summary>
    public static double[,] FilterBank(int fftSize, int sampleRate, int mels, double minHz, double maxHz)
    {
        int bins = fftSize / 2 + 1;
        double lo = HzToMel(minHz), hi = HzToMel(maxHz);
        var edges = Enumerable.Range(0, mels + 2).Select(i => MelToHz(lo + (hi - lo) * i / (mels + 1))).ToArray();
        var fb = new double[mels, bins];
        for (int m = 0; m < mels; m++)
            for (int k = 0; k < bins; k++)
            {
                double f = (double)k * sampleRate / fftSize;
                double rise = (f - edges[m]) / (edges[m + 1] - edges[m]);
                double fall = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
                fb[m, k] = Math.Max(0, Math.Min(rise, fall));
            }
        return fb;
    }

    /// <summary>
    /// MFCCs of log-mel spectrograms: the orthonormal DCT-II over the mel axis, first <paramref name="coefficients"/> kept.
    /// Input (B, mels, frames), output (B, coefficients, frames).
    /// </summary>
    public static Tensor Mfcc(Tensor logMel, int coefficients)
    {
        long mels = logMel.shape[1];
        if (coefficients < 1 || coefficients > mels) throw new ArgumentOutOfRangeException(nameof(coefficients), coefficients, $"MFCCs: between 1 and the {mels} mel bands.");
        var dct = new float[coefficients * mels];
        for (int c = 0; c < coefficients; c++)
            for (int m = 0; m < mels; m++)
                dct[c * mels + m] = (float)(Math.Sqrt((c == 0 ? 1.0 : 2.0) / mels) * Math.Cos(Math.PI / mels * (m + 0.5) * c));
        using var d = tensor(dct, [coefficients, mels]);
        return d.matmul(logMel);
    }

    public void Dispose()
    {
        window.Dispose();
        filterBank.Dispose();
    }
}
