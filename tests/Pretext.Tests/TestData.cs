using Pretext.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests;

/// <summary>Small deterministic data for tests: structured 28x28 images (a bright blob per class) so learning is possible.</summary>
internal static class TestData
{
    /// <summary>A SimCLR run config on blob images with a tiny fp32 MLP encoder and the given evaluation, for evaluation tests.</summary>
    public static Pretext.Runs.RunConfig TinyMlpRun(Pretext.Evaluation.EvaluationConfig evaluation) => Pretext.Runs.Presets.For("simclr", "blobs", threads: 1) with
    {
        Encoder = new Pretext.Encoders.EncoderConfig { Kind = Pretext.Encoders.EncoderKind.Mlp, Hidden = [16], Precision = Pretext.Compute.Precision.Float32 },
        Evaluation = evaluation,
    };

    /// <summary>Same shape, dtype and every element equal (TorchSharp's Tensor.equal is element-wise).</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    /// <summary>Cosine similarity of two equally long vectors, accumulated in double.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * (double)b[i]; na += a[i] * (double)a[i]; nb += b[i] * (double)b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    public static TensorDataset Blobs(int n, int classes = 4, int seed = 0)
    {
        var rng = new Random(seed);
        var pixels = new byte[n * 28 * 28];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % classes;
            labels[i] = c;
            int cx = 6 + 5 * c, cy = 8 + 3 * c;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                    double v = 255 * Math.Exp(-d2 / 18) + rng.Next(0, 40);
                    pixels[i * 784 + y * 28 + x] = (byte)Math.Min(255, v);
                }
        }
        return new TensorDataset("blobs", tensor(pixels, [n, 1, 28, 28]), labels, Enumerable.Range(0, classes).Select(c => $"c{c}").ToArray());
    }
}
