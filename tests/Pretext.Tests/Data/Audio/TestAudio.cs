using System.Buffers.Binary;
using Pretext.Data;
using Pretext.Encoders;

namespace Pretext.Tests.Data.Audio;

/// <summary>Small generated audio for tests: tones and noise written as WAV files, and the real clips Debian's Fish Fillets packs install.</summary>
public static class TestAudio
{
    /// <summary>Where fillets-ng-data-cs and -nl install their clips (scripts/setup.sh installs them).</summary>
    public const string FilletsSound = "/usr/share/games/fillets-ng/sound";
    /// <summary>A real Czech clip: 43,520 samples of mono 22.05 kHz Vorbis.</summary>
    public const string RealClip = FilletsSound + "/airplane/cs/let-m-divna.ogg";
    /// <summary>A real Dutch clip whose Vorbis stream holds no samples.</summary>
    public const string SilentClip = FilletsSound + "/elevator1/nl/zd1-m-cesta.ogg";

    /// <summary>Audio encoders of a few hundred weights over 0.25 s clips at 8 kHz: 16 mel bands, 26 frames of 10 ms.</summary>
    public static AudioEncoderConfig TinyEncoder { get; } = new()
    {
        Clip = new AudioClipOptions { SampleRate = 8000, Seconds = 0.25 },
        LogMel = new LogMelOptions { FftSize = 256, WindowLength = 200, HopLength = 80, Mels = 16 },
        Supervised = new Pretext.Augmentations.SpecAugmentOptions { MaxFrequencyWidth = 3, MaxTimeWidth = 4 },
        ConvWidths = [8, 8], ConvStrides = [1, 2], PatchFrames = 2, Dim = 16, Depth = 1, Heads = 2,
    };

    /// <summary>
    /// An audio method's preset shrunk to <see cref="TinyEncoder"/> (fp32), a 16-wide COLA head on 0.1 s segments, batches of 16
    /// and AdamW: the contract and end-to-end tests' run.
    /// </summary>
    public static Pretext.Runs.RunConfig TinyRun(string method, Pretext.Evaluation.EvaluationConfig? evaluation = null)
    {
        var entry = Pretext.Methods.MethodRegistry.Get(method);
        var baseConfig = new Pretext.Runs.RunConfig
        {
            Method = method, Dataset = "clips",
            Encoder = new EncoderConfig { Kind = EncoderKind.AudioConv, Precision = Pretext.Compute.Precision.Float32, Audio = TinyEncoder },
            Train = new Pretext.Training.TrainerOptions
            {
                Epochs = 10, MaxSteps = 6, BatchSize = 16, LearningRate = 1e-3, Seed = 42, Threads = 1, CheckpointEvery = 3, KeepCheckpoints = 2,
                Optimizer = new Pretext.Training.OptimizerOptions { Kind = Pretext.Training.OptimizerKind.AdamW, WeightDecay = 1e-4 },
            },
            Evaluation = evaluation ?? new Pretext.Evaluation.EvaluationConfig(),
        };
        var cfg = Pretext.Runs.MethodEntryRunExtensions.ApplyPreset(entry, baseConfig);
        return cfg with
        {
            Encoder = cfg.Encoder with { Audio = TinyEncoder with { Causal = cfg.Encoder.Audio.Causal } },
            Methods = cfg.Methods with { Cola = cfg.Methods.Cola with { ProjectionDim = 16, SegmentSeconds = 0.1 } },
        };
    }

    /// <summary><paramref name="n"/> standardised log-mel clips of <see cref="TinyEncoder"/>'s shape, labelled by which bands carry energy.</summary>
    public static TensorDataset LogMels(int n, int seed = 0)
    {
        using var g = new TorchSharp.torch.Generator((ulong)seed + 1);
        var x = TorchSharp.torch.randn([n, 16, 26], generator: g);
        var labels = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        for (int i = 0; i < n; i++) x[i, TorchSharp.torch.TensorIndex.Slice(labels[i] * 8, labels[i] * 8 + 8)].add_(2);
        return new TensorDataset("log-mels", x, labels, ["low", "high"]);
    }

    /// <summary><paramref name="seconds"/> of a sine of <paramref name="hz"/> at <paramref name="rate"/>, amplitude <paramref name="amplitude"/>.</summary>
    public static float[] Tone(double hz, double seconds, int rate, double amplitude = 0.5, double phase = 0) =>
        Enumerable.Range(0, (int)Math.Round(seconds * rate)).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / rate + phase))).ToArray();

    /// <summary>A tone with a little seeded noise: a class of generated "speech" whose pitch is its label.</summary>
    public static float[] NoisyTone(double hz, double seconds, int rate, int seed)
    {
        var rng = new Random(seed);
        double phase = rng.NextDouble() * 2 * Math.PI;
        return Tone(hz * (0.95 + 0.1 * rng.NextDouble()), seconds, rate, 0.3 + 0.3 * rng.NextDouble(), phase)
            .Select(v => v + (float)(0.05 * (rng.NextDouble() * 2 - 1))).ToArray();
    }

    public enum Encoding { Pcm8, Pcm16, Pcm24, Pcm32, Float32, Float64 }

    /// <summary>
    /// A WAVE file of <paramref name="channels"/>-channel interleaved <paramref name="samples"/>. <paramref name="extensible"/> writes the
    /// WAVE_FORMAT_EXTENSIBLE header; <paramref name="extraChunk"/> puts an odd-sized "LIST" chunk before the data.
    /// </summary>
    public static byte[] Wav(float[] samples, int rate, int channels = 1, Encoding encoding = Encoding.Pcm16, bool extensible = false, bool extraChunk = false, ushort? formatTag = null)
    {
        int bits = encoding switch { Encoding.Pcm8 => 8, Encoding.Pcm16 => 16, Encoding.Pcm24 => 24, Encoding.Pcm32 or Encoding.Float32 => 32, _ => 64 };
        ushort tag = formatTag ?? (ushort)(encoding is Encoding.Float32 or Encoding.Float64 ? 3 : 1);
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8); w.Write(0); w.Write("WAVE"u8);
        w.Write("fmt "u8);
        w.Write(extensible ? 40 : 16);
        w.Write(extensible ? (ushort)0xFFFE : tag);
        w.Write((ushort)channels); w.Write(rate); w.Write(rate * channels * bits / 8); w.Write((ushort)(channels * bits / 8)); w.Write((ushort)bits);
        if (extensible)
        {
            w.Write((ushort)22); w.Write((ushort)bits); w.Write(0);
            w.Write(tag); w.Write(new byte[] { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 });
        }
        if (extraChunk) { w.Write("LIST"u8); w.Write(5); w.Write("INFOx"u8); w.Write((byte)0); }
        w.Write("data"u8);
        w.Write(samples.Length * bits / 8);
        foreach (var s in samples)
        {
            double c = Math.Clamp(s, -1.0, 1.0);
            switch (encoding)
            {
                case Encoding.Pcm8: w.Write((byte)Math.Clamp(Math.Round(c * 128 + 128), 0, 255)); break;
                case Encoding.Pcm16: w.Write((short)Math.Clamp(Math.Round(c * 32768), short.MinValue, short.MaxValue)); break;
                case Encoding.Pcm24:
                    int v = (int)Math.Clamp(Math.Round(c * 8388608), -8388608, 8388607);
                    w.Write((byte)v); w.Write((byte)(v >> 8)); w.Write((byte)(v >> 16));
                    break;
                case Encoding.Pcm32: w.Write((int)Math.Clamp(Math.Round(c * 2147483648.0), int.MinValue, int.MaxValue)); break;
                case Encoding.Float32: w.Write(s); break;
                default: w.Write((double)s); break;
            }
        }
        w.Flush();
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), bytes.Length - 8);
        return bytes;
    }

    public static void WriteWav(string path, float[] samples, int rate, int channels = 1, Encoding encoding = Encoding.Pcm16)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Wav(samples, rate, channels, encoding));
    }

    /// <summary>
    /// A folder of short generated clips, one sub-folder per class ("low", "high"): noisy tones whose pitch is the class, at
    /// 8 kHz (some as 16-bit stereo at 16 kHz, to cover mixing down and resampling).
    /// </summary>
    public static void WriteClassFolder(string root, int perClass, double seconds = 0.5)
    {
        foreach (var (label, hz) in new[] { ("low", 300.0), ("high", 1500.0) })
            for (int i = 0; i < perClass; i++)
            {
                int seed = (label == "low" ? 1000 : 2000) + i;
                var path = Path.Combine(root, label, $"{label}-{i:D2}.wav");
                if (i % 3 == 2)
                {
                    var mono = NoisyTone(hz, seconds, 16_000, seed);
                    WriteWav(path, mono.SelectMany(v => new[] { v, v }).ToArray(), 16_000, channels: 2);
                }
                else
                {
                    WriteWav(path, NoisyTone(hz, seconds, 8_000, seed), 8_000);
                }
            }
    }

    /// <summary>Sample rate and length in samples of an Ogg Vorbis file, read from its pages without decoding it: the identification
    /// header's rate and the granule position of the last page.</summary>
    public static (int Rate, long Samples) OggHeader(byte[] bytes)
    {
        var ident = bytes.AsSpan().IndexOf("\u0001vorbis"u8);
        int rate = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(ident + 12));
        var last = bytes.AsSpan().LastIndexOf("OggS"u8);
        long granule = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(last + 6));
        return (rate, granule);
    }

    public static string Ascii(byte[] bytes) => System.Text.Encoding.ASCII.GetString(bytes);
}
