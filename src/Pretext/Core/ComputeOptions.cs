using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Core;

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

    /// <summary>The dtype conv/linear compute runs in.</summary>
    public ScalarType ComputeType => Precision == Precision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>Returns <paramref name="x"/> (B, C, H, W) in this layout (a no-op for NCHW or non-4-D input).</summary>
    public Tensor ToLayout(Tensor x)
    {
        if (Layout != MemoryLayout.ChannelsLast || x.dim() != 4) return x;
        return ChannelsLast(x);
    }

    /// <summary>An NCHW-shaped tensor whose storage is NHWC (TorchSharp 0.107 has no to(memory_format)).</summary>
    public static Tensor ChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>True when <paramref name="x"/> (4-D) is stored channels-last.</summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var s = x.stride();
        return s[1] == 1 && s[3] == x.shape[1] && s[2] == x.shape[1] * x.shape[3];
    }
}
