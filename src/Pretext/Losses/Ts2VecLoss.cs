using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// TS2Vec's hierarchical contrastive loss (Yue et al. 2022, section 3.3). z1 and z2 (B, T, D) are the per-step
/// representations of the overlapping part of two views, so row i, step t of each is the same reading seen in two contexts.
/// <list type="bullet">
/// <item>Instance-wise (eq. 2): at each step t, z1_{i,t} against its positive z2_{i,t} and the other 2B - 2 representations
/// of step t in the batch (both views, self left out), and the same from z2's side.</item>
/// <item>Temporal (eq. 1): within sample i, z1_{i,t} against z2_{i,t} and the other 2T - 2 representations of that sample.</item>
/// <item>Hierarchical (algorithm 1): both losses on the steps, then again after each max-pooling over pairs of steps, until
/// one step is left (where only the instance loss applies); alpha weighs instance against temporal, temporal terms start at
/// pooling depth <c>temporalUnit</c>, and the sum is divided by the number of depths.</item>
/// </list>
/// Similarities are plain dot products, as in the paper. Computed in fp32. A lone sample (B = 1) or step (T = 1) gives 0 for
/// the term that needs more than one.
/// </summary>
public static class Ts2VecLoss
{
    /// <summary>Instance-wise contrastive loss of (B, T, D) pairs; a scalar.</summary>
    public static Tensor Instance(Tensor z1, Tensor z2)
    {
        Check(z1, z2);
        if (z1.shape[0] < 2) return zeros([], ScalarType.Float32);
        using var scope = NewDisposeScope();
        var z = cat([z1, z2], 0).to(ScalarType.Float32).transpose(0, 1);             // (T, 2B, D)
        return PartnerLoss(z, z1.shape[0]).MoveToOuterDisposeScope();
    }

    /// <summary>Temporal contrastive loss of (B, T, D) pairs; a scalar.</summary>
    public static Tensor Temporal(Tensor z1, Tensor z2)
    {
        Check(z1, z2);
        if (z1.shape[1] < 2) return zeros([], ScalarType.Float32);
        using var scope = NewDisposeScope();
        var z = cat([z1, z2], 1).to(ScalarType.Float32);                              // (B, 2T, D)
        return PartnerLoss(z, z1.shape[1]).MoveToOuterDisposeScope();
    }

    /// <summary>The hierarchical loss over pooling depths; a scalar.</summary>
    /// <param name="alpha">Weight of the instance-wise term, 1 - alpha of the temporal one (the paper's 0.5).</param>
    /// <param name="temporalUnit">Pooling depth from which temporal terms count (0 in the paper).</param>
    /// <exception cref="ArgumentException">Shapes differ, are not 3-D or are empty; alpha outside [0, 1]; a negative unit.</exception>
    public static Tensor Hierarchical(Tensor z1, Tensor z2, double alpha = 0.5, int temporalUnit = 0)
    {
        Check(z1, z2);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "TS2Vec's alpha must lie in [0, 1].");
        if (temporalUnit < 0) throw new ArgumentOutOfRangeException(nameof(temporalUnit), temporalUnit, "The temporal unit is a pooling depth, at least 0.");
        using var scope = NewDisposeScope();
        var a = z1.to(ScalarType.Float32);
        var b = z2.to(ScalarType.Float32);
        var total = zeros([], ScalarType.Float32);
        int depth = 0;
        while (a.shape[1] > 1)
        {
            if (alpha > 0) total = total.add(Instance(a, b).mul(alpha));
            if (depth >= temporalUnit && alpha < 1) total = total.add(Temporal(a, b).mul(1 - alpha));
            depth++;
            a = PoolPairs(a);
            b = PoolPairs(b);
        }
        if (alpha > 0) total = total.add(Instance(a, b).mul(alpha));
        depth++;
        return total.div(depth).MoveToOuterDisposeScope();
    }

    /// <summary>Max over non-overlapping pairs of steps of (B, T, D): (B, floor(T / 2), D).</summary>
    public static Tensor PoolPairs(Tensor z)
    {
        using var scope = NewDisposeScope();
        return nn.functional.max_pool1d(z.transpose(1, 2), 2).transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For groups (G, 2N, D) whose row r &lt; N pairs with row r + N: the mean over groups and rows of the cross entropy of
    /// picking the partner among the group's other 2N - 1 rows by dot product.
    /// </summary>
    private static Tensor PartnerLoss(Tensor z, long n)
    {
        var sim = z.bmm(z.transpose(1, 2));                                            // (G, 2N, 2N)
        using var self = eye(2 * n, dtype: ScalarType.Bool);
        sim = sim.masked_fill(self, float.NegativeInfinity);
        var logp = sim.log_softmax(-1);
        var rows = arange(2 * n, dtype: ScalarType.Int64);
        var partner = rows.add(n).remainder(2 * n);                                    // r -> r + N for r < N, r - N otherwise
        var picked = logp.gather(2, partner.view(1, -1, 1).expand(z.shape[0], -1, 1)); // (G, 2N, 1): logp[g, r, partner(r)]
        return picked.mean().neg();
    }

    private static void Check(Tensor z1, Tensor z2)
    {
        if (z1.dim() != 3 || !z1.shape.SequenceEqual(z2.shape) || z1.shape[0] < 1 || z1.shape[1] < 1)
            throw new ArgumentException($"TS2Vec's loss expects two non-empty (B, T, D) tensors of one shape, got [{LossChecks.Shape(z1)}] and [{LossChecks.Shape(z2)}].");
    }
}
