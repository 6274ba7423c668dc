using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>How <see cref="CosineRegressionLoss"/> turns the cosine similarity c of a prediction and its target into a loss.</summary>
public enum CosineRegressionForm
{
    /// <summary>-c, in [-1, 1]: SimSiam's D(p, z) (Chen and He 2021, eq. 1).</summary>
    NegativeCosine,
    /// <summary>
    /// ||p/|p| - z/|z|||^2 = 2 - 2c, in [0, 4]: BYOL's normalised mean squared error (Grill et al. 2020, eq. 2).
    /// </summary>
    NormalisedSquaredError,
}

/// <summary>
/// The regression loss of the non-contrastive methods: a prediction p is pulled towards a target z
/// through their cosine similarity, averaged over the batch. The target is a constant (stop-gradient,
/// SimSiam eq. 2; BYOL's sg(z')): it is detached here, so no caller can forget it.
/// Computed in fp32.
/// </summary>
public sealed class CosineRegressionLoss(CosineRegressionForm form)
{
    public CosineRegressionForm Form { get; } = form;

    /// <summary>Mean loss over rows. <paramref name="prediction"/>, <paramref name="target"/>: (N, D), N >= 1. Returns a scalar.</summary>
    /// <exception cref="ArgumentException">Shapes differ, are not 2-D, or N is 0.</exception>
    public Tensor Compute(Tensor prediction, Tensor target)
    {
        if (prediction.dim() != 2 || target.dim() != 2 || !prediction.shape.SequenceEqual(target.shape) || prediction.shape[0] < 1)
            throw new ArgumentException($"Cosine regression expects a prediction and a target of the same (N, D) shape with N >= 1, got [{string.Join(",", prediction.shape)}] and [{string.Join(",", target.shape)}].");
        using var scope = NewDisposeScope();
        var p = nn.functional.normalize(prediction.to(ScalarType.Float32), p: 2, dim: 1);
        var z = nn.functional.normalize(target.detach().to(ScalarType.Float32), p: 2, dim: 1);
        var cosine = p.mul(z).sum(1).mean();
        var loss = Form switch
        {
            CosineRegressionForm.NegativeCosine => cosine.neg(),
            CosineRegressionForm.NormalisedSquaredError => cosine.mul(-2).add(2),
            _ => throw new ArgumentOutOfRangeException(nameof(Form), Form, "Unknown form."),
        };
        return loss.MoveToOuterDisposeScope();
    }
}
