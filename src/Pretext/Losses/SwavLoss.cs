using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// SwAV's swapped prediction (Caron et al. 2020, section 3.1): every crop v has prototype
/// scores p_v = z_v^T C (B, K); the codes q_i of a global crop i are its scores turned into a balanced
/// soft assignment by Sinkhorn-Knopp (<see cref="Sinkhorn"/>); every other crop must predict them:
/// loss = mean over assigned crops i of mean over crops v != i of
/// mean_b -sum_k q_i[b,k] log softmax(p_v[b] / tau)_k.
/// </summary>
public sealed class SwavLoss
{
    /// <param name="temperature">tau of the softmax over prototypes (paper, implementation details: 0.1).</param>
    public SwavLoss(double temperature = 0.1)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a positive finite number.");
        Temperature = temperature;
    }

    public double Temperature { get; }

    /// <summary>
    /// Sinkhorn-Knopp codes (paper section 3.1, "computing codes online", and the pseudo-code of Algorithm 1): Q = exp(scores / epsilon)^T (K, B) is
    /// alternately rescaled so each prototype row sums to 1/K and each sample column to 1/B; returned transposed
    /// and multiplied by B, so each row (sample) of the (B, K) result sums to 1. Computed without gradient.
    /// </summary>
    /// <param name="scores">(B, K) prototype scores (cosines in [-1, 1] when z and the prototypes are unit vectors).</param>
    /// <param name="epsilon">Entropy regularisation (paper: 0.05); smaller gives harder assignments.</param>
    /// <param name="iterations">Normalisation rounds (paper: 3).</param>
    /// <exception cref="ArgumentException">Scores not 2-D, or bad epsilon or iteration count.</exception>
    public static Tensor Sinkhorn(Tensor scores, double epsilon = 0.05, int iterations = 3)
    {
        if (scores.dim() != 2) throw new ArgumentException($"Sinkhorn expects (B, K) scores, got [{LossChecks.Shape(scores)}].");
        if (!(epsilon > 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be a positive finite number.");
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "At least one Sinkhorn iteration is needed.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long b = scores.shape[0], k = scores.shape[1];
        var s = scores.detach().to(ScalarType.Float32);
        // Subtracting the maximum changes nothing after the first normalisation and keeps exp finite
        // for any scores, not only cosines.
        var q = s.sub(s.max()).div_(epsilon).exp_().t();   // (K, B)
        q = q.div(q.sum());
        for (int it = 0; it < iterations; it++)
        {
            q = q.div(q.sum(1, keepdim: true)).div_(k);
            q = q.div(q.sum(0, keepdim: true)).div_(b);
        }
        return q.mul(b).t().contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Swapped-prediction loss. Returns a scalar (fp32).</summary>
    /// <param name="scores">V tensors (B, K): prototype scores of every crop, global crops first.</param>
    /// <param name="codes">G tensors (B, K), G &lt;= V: the codes of crops 0..G-1 (rows sum to 1), treated as constants.</param>
    /// <exception cref="ArgumentException">Fewer than 2 crops, no codes, more codes than crops, or mismatched shapes.</exception>
    public Tensor Compute(IReadOnlyList<Tensor> scores, IReadOnlyList<Tensor> codes)
    {
        if (scores.Count < 2) throw new ArgumentException($"Swapped prediction needs at least 2 crops, got {scores.Count}.");
        if (codes.Count < 1 || codes.Count > scores.Count) throw new ArgumentException($"Swapped prediction needs between 1 and {scores.Count} code tensors (one per assigned crop), got {codes.Count}.");
        foreach (var t in scores.Concat(codes))
            if (t.dim() != 2 || !t.shape.SequenceEqual(scores[0].shape))
                throw new ArgumentException($"Scores and codes must all be (B, K) of one shape; got [{LossChecks.Shape(scores[0])}] and [{LossChecks.Shape(t)}].");
        using var scope = NewDisposeScope();
        var logProbs = scores.Select(p => p.to(ScalarType.Float32).div(Temperature).log_softmax(1)).ToArray();
        var total = zeros(1, dtype: ScalarType.Float32);
        for (int i = 0; i < codes.Count; i++)
        {
            var q = codes[i].detach().to(ScalarType.Float32);
            var sub = zeros(1, dtype: ScalarType.Float32);
            for (int v = 0; v < scores.Count; v++)
                if (v != i) sub = sub.sub(q.mul(logProbs[v]).sum(1).mean());
            total = total.add(sub.div(scores.Count - 1));
        }
        return total.div(codes.Count).squeeze().MoveToOuterDisposeScope();
    }
}
