using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// NT-Xent, the normalised temperature-scaled cross entropy of SimCLR (Chen et al. 2020, eq. 1).
/// For a batch of N pairs (z1[i], z2[i]) every embedding is L2-normalised; each of the 2N embeddings
/// has its partner as the positive and the other 2N-2 as negatives; the loss is the mean over all
/// 2N anchors of -log softmax(sim / temperature)[positive].
/// With <see cref="CrossViewOnly"/> it is SimCSE's form (Gao et al. 2021, eq. 1): only the N embeddings of
/// the first view are anchors and their candidates are the N embeddings of the second view (the partner
/// and N-1 in-batch negatives), as in the authors' implementation.
/// </summary>
public sealed class NtXentLoss
{
    /// <param name="temperature">tau in eq. 1; must be positive. The paper's default is 0.5 for CIFAR-10
    /// (appendix B.9); small images with small batches do better near 0.2-0.5.</param>
    /// <param name="crossViewOnly">SimCSE's one-directional form with second-view negatives only.</param>
    public NtXentLoss(double temperature = 0.5, bool crossViewOnly = false)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a positive finite number.");
        Temperature = temperature;
        CrossViewOnly = crossViewOnly;
    }

    public double Temperature { get; }
    public bool CrossViewOnly { get; }

    /// <summary>Loss over the pairs. <paramref name="z1"/>, <paramref name="z2"/>: (N, D), N >= 2. Returns a scalar (fp32).</summary>
    /// <exception cref="ArgumentException">Shapes differ, are not 2-D, or N &lt; 2.</exception>
    public Tensor Compute(Tensor z1, Tensor z2)
    {
        if (z1.dim() != 2 || z2.dim() != 2 || !z1.shape.SequenceEqual(z2.shape))
            throw new ArgumentException($"NT-Xent expects two (N, D) tensors of the same shape, got [{string.Join(",", z1.shape)}] and [{string.Join(",", z2.shape)}].");
        long n = z1.shape[0];
        if (n < 2) throw new ArgumentException($"NT-Xent needs at least 2 pairs per batch (negatives come from the batch), got {n}.");
        using var scope = NewDisposeScope();
        if (CrossViewOnly)
        {
            var a = nn.functional.normalize(z1.to(ScalarType.Float32), p: 2, dim: 1);
            var b = nn.functional.normalize(z2.to(ScalarType.Float32), p: 2, dim: 1);
            var sims = a.matmul(b.t()).div_(Temperature);
            return nn.functional.cross_entropy(sims, arange(n, dtype: ScalarType.Int64)).MoveToOuterDisposeScope();
        }
        var z = cat([z1, z2], 0).to(ScalarType.Float32);
        z = nn.functional.normalize(z, p: 2, dim: 1);
        var logits = z.matmul(z.t()).div_(Temperature);
        // An anchor is never its own negative.
        logits = logits.masked_fill(eye(2 * n, dtype: ScalarType.Bool), float.NegativeInfinity);
        var idx = arange(2 * n, dtype: ScalarType.Int64);
        var targets = idx.add(n).remainder(2 * n);
        return nn.functional.cross_entropy(logits, targets).MoveToOuterDisposeScope();
    }
}
