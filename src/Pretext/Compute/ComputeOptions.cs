using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Compute;

/// <summary>Numeric precision used for the heavy compute (convolutions, matrix products).</summary>
public enum Precision
{
    /// <summary>Everything in fp32.</summary>
    Float32,
    /// <summary>
    /// Mixed precision: parameters, optimiser state, batch-norm statistics and the loss stay fp32
    /// (master weights); convolutions and linear layers run on bf16 copies cast inside forward, so
    /// gradients flow back into the fp32 parameters through the cast.
    /// </summary>
    BFloat16,
    /// <summary>
    /// BFloat16 where the CPU computes bf16 natively (<see cref="NativeBf16"/>), Float32 elsewhere: emulated
    /// bf16 is an order of magnitude slower than fp32. The presets' default.
    /// </summary>
    Auto,
}

/// <summary>Memory layout of 4-D activations and convolution weights.</summary>
public enum MemoryLayout
{
    /// <summary>NCHW contiguous (PyTorch default).</summary>
    Contiguous,
    /// <summary>NHWC strides behind an NCHW shape; oneDNN keeps it through the network on CPU.</summary>
    ChannelsLast,
}

/// <summary>How an encoder computes: precision and memory layout. Defaults are the safe fp32/NCHW.</summary>
public sealed record ComputeOptions(Precision Precision = Precision.Float32, MemoryLayout Layout = MemoryLayout.Contiguous)
{
    public static ComputeOptions Default { get; } = new();

    /// <summary>The dtype conv/linear compute runs in (<see cref="Precision.Auto"/> resolved for this machine).</summary>
    public ScalarType ComputeType => Resolve(Precision) == Precision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary><see cref="Precision.Auto"/> made concrete for this machine; other values unchanged.</summary>
    public static Precision Resolve(Precision p) => p == Precision.Auto ? (NativeBf16.Available ? Precision.BFloat16 : Precision.Float32) : p;

    /// <summary>One line for logs and reports: the precision a run computes in and why.</summary>
    public static string Describe(Precision p) => (p, Resolve(p)) switch
    {
        (Precision.Auto, Precision.BFloat16) => $"bf16 mixed precision (auto: the CPU has {NativeBf16.Feature})",
        (Precision.Auto, _) => "fp32 (auto: this CPU has no native bf16, which would run an order of magnitude slower)",
        (Precision.BFloat16, _) when !NativeBf16.Available => "bf16 mixed precision (asked for; this CPU has no native bf16, so expect it to be much slower than --precision Float32)",
        (Precision.BFloat16, _) => "bf16 mixed precision",
        _ => "fp32",
    };

    /// <summary>Returns <paramref name="x"/> (B, C, H, W) in this layout (a no-op for NCHW or non-4-D input).</summary>
    public Tensor ToLayout(Tensor x)
    {
        if (Layout != MemoryLayout.ChannelsLast || x.dim() != 4) return x;
        return ChannelsLast(x);
    }

    /// <summary>
    /// An NCHW-shaped tensor whose storage is NHWC and whose strides say so (TorchSharp 0.107 has no to(memory_format)). The
    /// strides are set explicitly: with one channel (grey images, the stem's weight) the NHWC copy is already contiguous, so
    /// permuting back would keep NCHW strides, and libtorch then ran the stem convolution, its batch norm and their backward in
    /// NCHW beside channels-last layers (the stem's batch norm + ReLU backward 7x the PyTorch peer's: docs/benchmarks.md,
    /// "Layer by layer").
    /// </summary>
    public static Tensor ChannelsLast(Tensor x)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var nhwc = x.permute(0, 2, 3, 1).contiguous();
        var back = nhwc.permute(0, 3, 1, 2);
        if (IsChannelsLast(back)) return back;
        back.Dispose();
        return nhwc.as_strided([n, c, h, w], [h * w * c, 1, w * c, c], nhwc.storage_offset());
    }

    /// <summary>True when <paramref name="x"/> (4-D) is stored channels-last.</summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var s = x.stride();
        return s[1] == 1 && s[3] == x.shape[1] && s[2] == x.shape[1] * x.shape[3];
    }
}
