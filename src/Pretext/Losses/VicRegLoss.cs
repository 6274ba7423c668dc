using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>The three VICReg terms of one batch, unweighted (scalars, fp32).</summary>
/// <param name="Invariance">s(Z, Z'): mean squared distance between the two views' embeddings.</param>
/// <param name="Variance">Hinge on the per-dimension std, averaged over the two branches.</param>
/// <param name="Covariance">Sum of squared off-diagonal covariances / D, summed over the two branches.</param>
public sealed record VicRegTerms(Tensor Invariance, Tensor Variance, Tensor Covariance);

/// <summary>
/// VICReg (Bardes, Ponce, LeCun 2022, section 3): variance-invariance-covariance regularisation of the
/// embeddings Z, Z' (N, D) of two views. Invariance s = mean ||z - z'||^2 / D (MSE); variance
/// v(Z) = mean_j max(0, gamma - sqrt(Var(z_j) + eps)) keeps every dimension's std across the batch at
/// least gamma, which rules out collapse to a constant; covariance c(Z) = sum_{i != j} Cov(Z)_ij^2 / D
/// decorrelates dimensions. Loss = lambda s + mu v + nu c.
/// </summary>
/// <remarks>
/// As in the authors' reference code (facebookresearch/vicreg, main_vicreg.py), which the 25/25/1
/// coefficients were tuned with: the variance term is the mean of the two branches (the paper's eq. 6
/// writes their sum), the covariance term their sum; variance and covariance are unbiased (N - 1).
/// </remarks>
public sealed class VicRegLoss
{
    /// <param name="invarianceWeight">lambda (paper: 25).</param>
    /// <param name="varianceWeight">mu (paper: 25).</param>
    /// <param name="covarianceWeight">nu (paper: 1).</param>
    /// <param name="gamma">Target std of each dimension (paper: 1).</param>
    /// <param name="epsilon">Added to the variance under the square root (paper: 1e-4).</param>
    public VicRegLoss(double invarianceWeight = 25, double varianceWeight = 25, double covarianceWeight = 1, double gamma = 1, double epsilon = 1e-4)
    {
        foreach (var (v, name) in new[] { (invarianceWeight, nameof(invarianceWeight)), (varianceWeight, nameof(varianceWeight)), (covarianceWeight, nameof(covarianceWeight)) })
            if (!(v >= 0) || double.IsInfinity(v)) throw new ArgumentOutOfRangeException(name, v, "Loss weights must be finite and >= 0.");
        if (!(gamma > 0) || double.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be a positive finite number.");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive.");
        InvarianceWeight = invarianceWeight; VarianceWeight = varianceWeight; CovarianceWeight = covarianceWeight; Gamma = gamma; Epsilon = epsilon;
    }

    public double InvarianceWeight { get; }
    public double VarianceWeight { get; }
    public double CovarianceWeight { get; }
    public double Gamma { get; }
    public double Epsilon { get; }

    /// <summary>Weighted loss of the pairs (z1[n], z2[n]). <paramref name="z1"/>, <paramref name="z2"/>: (N, D), N >= 2. Returns a scalar (fp32).</summary>
    /// <exception cref="ArgumentException">Shapes differ, are not 2-D, or N &lt; 2.</exception>
    public Tensor Compute(Tensor z1, Tensor z2)
    {
        using var scope = NewDisposeScope();
        var t = Terms(z1, z2);
        return t.Invariance.mul(InvarianceWeight).add_(t.Variance.mul(VarianceWeight)).add_(t.Covariance.mul(CovarianceWeight)).MoveToOuterDisposeScope();
    }

    /// <summary>The three unweighted terms (for logging and tests); each tensor belongs to the caller's dispose scope.</summary>
    /// <exception cref="ArgumentException">Shapes differ, are not 2-D, or N &lt; 2.</exception>
    public VicRegTerms Terms(Tensor z1, Tensor z2)
    {
        LossChecks.Pair(z1, z2, "VICReg");
        using var scope = NewDisposeScope();
        var a = z1.to(ScalarType.Float32);
        var b = z2.to(ScalarType.Float32);
        var invariance = nn.functional.mse_loss(a, b);
        var ca = a.sub(a.mean([0L], keepdim: true));
        var cb = b.sub(b.mean([0L], keepdim: true));
        var variance = VarianceHinge(ca).add_(VarianceHinge(cb)).div_(2);
        var covariance = OffDiagonalCovariance(ca).add_(OffDiagonalCovariance(cb));
        return new VicRegTerms(invariance.MoveToOuterDisposeScope(), variance.MoveToOuterDisposeScope(), covariance.MoveToOuterDisposeScope());
    }

    /// <summary>mean_j relu(gamma - sqrt(Var_j + eps)) of a centred (N, D) batch.</summary>
    private Tensor VarianceHinge(Tensor centred)
    {
        long n = centred.shape[0];
        var std = centred.pow(2).sum([0L]).div_(n - 1).add_(Epsilon).sqrt_();
        return nn.functional.relu(std.neg().add_(Gamma)).mean();
    }

    /// <summary>sum_{i != j} Cov_ij^2 / D of a centred (N, D) batch.</summary>
    private static Tensor OffDiagonalCovariance(Tensor centred)
    {
        long n = centred.shape[0], d = centred.shape[1];
        var cov = centred.t().matmul(centred).div_(n - 1);
        return cov.pow_(2).masked_fill_(eye(d, dtype: ScalarType.Bool), 0).sum().div_(d);
    }
}
