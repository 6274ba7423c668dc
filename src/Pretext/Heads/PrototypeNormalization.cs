using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Heads;

/// <summary>
/// Prototype normalisation, shared by the clustering methods: the rows of a bias-free linear layer are
/// prototypes (cluster centres) kept on the unit sphere, so that a prototype score is a cosine
/// similarity with an L2-normalised embedding and no prototype can win by growing its norm.
/// SwAV renormalises the stored weights in place before every step and trains the raw weights
/// (Caron et al. 2020, section 4 / reference code); DINO's last layer is weight-normalised with its
/// gain fixed at 1, i.e. the normalisation is part of the forward pass and gradients flow through it
/// (Caron et al. 2021, appendix, "norm_last_layer").
/// </summary>
public static class PrototypeNormalization
{
    /// <summary>Divides each row of <paramref name="weight"/> (K, D) by its L2 norm, in place and without gradient (SwAV).</summary>
    /// <exception cref="ArgumentException">The weight is not 2-D.</exception>
    public static void NormalizeRowsInPlace(Tensor weight)
    {
        CheckMatrix(weight);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        weight.div_(weight.norm(1, keepdim: true).clamp_min(1e-12));
    }

    /// <summary>(K, D) rows of <paramref name="weight"/> scaled to unit L2 norm, differentiable (DINO's weight norm with g = 1).</summary>
    /// <exception cref="ArgumentException">The weight is not 2-D.</exception>
    public static Tensor NormalizedRows(Tensor weight)
    {
        CheckMatrix(weight);
        return nn.functional.normalize(weight, p: 2, dim: 1);
    }

    private static void CheckMatrix(Tensor weight)
    {
        if (weight.dim() != 2) throw new ArgumentException($"Prototypes are the rows of a (K, D) matrix, got shape [{string.Join(",", weight.shape)}].");
    }
}
