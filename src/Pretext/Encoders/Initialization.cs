using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Encoders;

/// <summary>Weight initialisers the built-in ones get wrong or lack.</summary>
public static class Initialization
{
    /// <summary>Standard normal CDF at 2: Phi(2).</summary>
    private const double Phi2 = 0.9772498680518208;

    /// <summary>
    /// Fills <paramref name="t"/> in place with N(0, std^2) truncated to [-2 std, 2 std], by inverse-CDF
    /// sampling (the method of PyTorch's trunc_normal_): u ~ U(2 Phi(-2) - 1, 2 Phi(2) - 1), then
    /// sqrt(2) std erfinv(u). TorchSharp 0.107's <c>nn.init.trunc_normal_</c> fills the tensor with one
    /// constant instead (measured here: std 0), so it is not used.
    /// </summary>
    public static Tensor TruncatedNormal(Tensor t, double std, Generator? generator = null)
    {
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "Std must be positive.");
        using var noGrad = no_grad();
        double bound = 2 * Phi2 - 1;
        t.uniform_(-bound, bound, generator);
        t.erfinv_().mul_(std * Math.Sqrt(2)).clamp_(-2 * std, 2 * std);
        return t;
    }
}
