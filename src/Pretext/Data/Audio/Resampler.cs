namespace Pretext.Data;

/// <summary>
/// Band-limited sample-rate conversion by a rational factor L/M (the two rates divided by their greatest common
/// divisor): each output sample is a windowed-sinc interpolation of the input around its position, with the cutoff at
/// <see cref="Rolloff"/> of the lower of the two Nyquist frequencies, so downsampling removes what would alias instead of
/// folding it back. The kernel spans <see cref="ZeroCrossings"/> zero crossings on each side and is shaped by a Kaiser
/// window (beta <see cref="KaiserBeta"/>, about 80 dB of stopband attenuation); the L phases are precomputed, each
/// normalised to unit gain at DC. Samples outside the input count as zero.
/// </summary>
public sealed class Resampler
{
    /// <summary>Cutoff as a fraction of the lower Nyquist frequency (the transition band lies above it).</summary>
    public const double Rolloff = 0.94;
    /// <summary>Zero crossings of the sinc on each side of the kernel's centre.</summary>
    public const int ZeroCrossings = 16;
    /// <summary>Kaiser window shape.</summary>
    public const double KaiserBeta = 8.6;
    /// <summary>Most phases precomputed; beyond this (rates with a tiny common divisor) the phase is rounded to this grid.</summary>
    private const int MaxPhases = 4096;

    private readonly int up, down, halfWidth, phases;
    private readonly float[] table; // phases x (2 * halfWidth) taps

    /// <exception cref="ArgumentOutOfRangeException">A rate below 1.</exception>
    public Resampler(int fromRate, int toRate)
    {
        if (fromRate < 1) throw new ArgumentOutOfRangeException(nameof(fromRate), fromRate, "Sample rates must be positive.");
        if (toRate < 1) throw new ArgumentOutOfRangeException(nameof(toRate), toRate, "Sample rates must be positive.");
        FromRate = fromRate; ToRate = toRate;
        int g = Gcd(fromRate, toRate);
        up = toRate / g; down = fromRate / g;
        // Cutoff in cycles per input sample: half the lower rate, relative to the input rate.
        double cutoff = 0.5 * Math.Min(1.0, (double)up / down) * Rolloff;
        halfWidth = (int)Math.Ceiling(ZeroCrossings / (2 * cutoff));
        phases = Math.Min(up, MaxPhases);
        table = new float[phases * 2 * halfWidth];
        double i0Beta = BesselI0(KaiserBeta);
        var taps = new double[2 * halfWidth];
        for (int p = 0; p < phases; p++)
        {
            double frac = (double)p / phases;
            double sum = 0;
            for (int j = 0; j < taps.Length; j++)
            {
                double u = j - halfWidth + 1 - frac; // distance from the output position, in input samples
                double x = 2 * cutoff * u;
                double sinc = Math.Abs(x) < 1e-12 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);
                double r = u / halfWidth;
                double window = Math.Abs(r) >= 1 ? 0 : BesselI0(KaiserBeta * Math.Sqrt(1 - r * r)) / i0Beta;
                taps[j] = sinc * window;
                sum += taps[j];
            }
            for (int j = 0; j < taps.Length; j++) table[p * taps.Length + j] = (float)(taps[j] / sum);
        }
    }

    public int FromRate { get; }
    public int ToRate { get; }

    /// <summary>Output length for <paramref name="inputLength"/> input samples: ceil(n * to / from).</summary>
    public long OutputLength(long inputLength) => (inputLength * up + down - 1) / down;

    /// <summary>
    /// <paramref name="input"/> at <see cref="ToRate"/>, at most <paramref name="maxOutput"/> samples (all when null). Equal rates
    /// return a copy.
    /// </summary>
    public float[] Resample(ReadOnlySpan<float> input, int? maxOutput = null)
    {
        long length = OutputLength(input.Length);
        if (maxOutput is int cap) length = Math.Min(length, cap);
        var output = new float[length];
        if (up == down)
        {
            input[..(int)length].CopyTo(output);
            return output;
        }
        int width = 2 * halfWidth;
        for (long n = 0; n < length; n++)
        {
            long position = n * down;                   // in units of 1/up input samples
            long baseIndex = position / up;
            int phase = (int)(position % up);
            if (phases != up) phase = (int)((long)phase * phases / up);
            var taps = table.AsSpan(phase * width, width);
            long first = baseIndex - halfWidth + 1;
            float sum = 0;
            if (first >= 0 && first + width <= input.Length)
            {
                var window = input.Slice((int)first, width);
                for (int j = 0; j < width; j++) sum += taps[j] * window[j];
            }
            else
            {
                for (int j = 0; j < width; j++)
                {
                    long k = first + j;
                    if (k >= 0 && k < input.Length) sum += taps[j] * input[(int)k];
                }
            }
            output[n] = sum;
        }
        return output;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    /// <summary>Modified Bessel function of the first kind, order 0, by its power series.</summary>
    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 50; k++)
        {
            term *= q / (k * k);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return sum;
    }
}
