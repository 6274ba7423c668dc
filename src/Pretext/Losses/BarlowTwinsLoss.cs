using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// The Barlow Twins loss (Zbontar et al. 2021, eq. 1): standardise each embedding dimension over the
/// batch, take the (D, D) cross-correlation C = z1n^T z2n / N of the two views, and push C towards the
/// identity: sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2. The on-diagonal term makes the
/// embedding invariant to the augmentations; the off-diagonal term decorrelates its dimensions, which
/// is what prevents the trivial constant solution without negatives.
/// </summary>
public sealed class BarlowTwinsLoss
{
    /// <summary>The paper's lambda (section 2, "5e-3"), chosen for an 8192-wide projector.</summary>
    public const double PaperLambda = 5e-3;
    /// <summary>The projector width the paper's lambda was chosen for.</summary>
    public const int PaperWidth = 8192;

    /// <param name="lambda">Weight of the off-diagonal (redundancy reduction) term; positive.</param>
    /// <param name="epsilon">Added to the batch variance before the square root, as the reference's
    /// BatchNorm1d(affine=False) does (1e-5).</param>
    public BarlowTwinsLoss(double lambda, double epsilon = 1e-5)
    {
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be a positive finite number.");
        if (!(epsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be >= 0.");
        Lambda = lambda;
        Epsilon = epsilon;
    }

    public double Lambda { get; }
    public double Epsilon { get; }

    /// <summary>
    /// lambda for a projector of width <paramref name="dim"/>: the paper's 5e-3 scaled by 8192 / D, which keeps
    /// lambda * (D - 1), the weight of a row's D - 1 off-diagonal terms against its one diagonal term, at the
    /// paper's value (about 41): 0.02 at D = 2048. With a fixed 5e-3, a 2048-wide projector would weigh
    /// decorrelation 4x less against invariance than the paper does.
    /// </summary>
    public static double ScaledLambda(int dim) =>
        dim > 0 ? PaperLambda * PaperWidth / dim : throw new ArgumentOutOfRangeException(nameof(dim), dim, "Projector width must be positive.");

    /// <summary>Loss of the pairs (z1[n], z2[n]). <paramref name="z1"/>, <paramref name="z2"/>: (N, D), N >= 2. Returns a scalar (fp32).</summary>
    /// <exception cref="ArgumentException">Shapes differ, are not 2-D, or N &lt; 2 (the batch statistics need two samples).</exception>
    public Tensor Compute(Tensor z1, Tensor z2)
    {
        LossChecks.Pair(z1, z2, "Barlow Twins");
        using var scope = NewDisposeScope();
        long n = z1.shape[0], d = z1.shape[1];
        var c = Standardize(z1).t().matmul(Standardize(z2)).div_(n);
        var diag = c.diagonal();
        var onDiagonal = diag.neg().add_(1).pow_(2).sum();
        var offDiagonal = c.pow(2).masked_fill_(eye(d, dtype: ScalarType.Bool), 0).sum();
        return onDiagonal.add_(offDiagonal.mul_(Lambda)).MoveToOuterDisposeScope();
    }

    /// <summary>(z - mean) / sqrt(var + eps) per dimension over the batch (biased variance, as batch norm in training mode).</summary>
    private Tensor Standardize(Tensor z)
    {
        var x = z.to(ScalarType.Float32);
        var centred = x.sub(x.mean([0L], keepdim: true));
        return centred.div(x.var([0L], unbiased: false, keepdim: true).add_(Epsilon).sqrt_());
    }
}
