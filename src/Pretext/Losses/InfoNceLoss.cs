using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// InfoNCE (van den Oord et al. 2018; MoCo, He et al. 2020, eq. 1): for each query q_i, the
/// cross entropy of picking its positive key among a set of candidate keys, with cosine similarities
/// (queries and keys are L2-normalised here) divided by a temperature tau:
/// -log( exp(q_i.k_i / tau) / sum_j exp(q_i.c_j / tau) ), averaged over the N queries.
/// Two ways to supply the candidates:
/// <list type="bullet">
/// <item><see cref="WithNegatives"/>: the positive k_i plus one shared set of explicit negatives
/// (MoCo v1/v2's queue of keys from earlier batches).</item>
/// <item><see cref="InBatch"/>: the N keys of the batch; k_i is query i's positive and the other N-1
/// keys its negatives (MoCo v3's ctr(q, k), NNCLR's eq. 2).</item>
/// </list>
/// Gradients flow into whichever inputs require them; callers detach what the paper treats as constant.
/// Computed in fp32.
/// </summary>
public sealed class InfoNceLoss
{
    /// <param name="temperature">tau; must be positive and finite. MoCo v2 uses 0.2 (Chen et al. 2020b),
    /// MoCo v3 0.2 for ViT (reference code), NNCLR 0.1 (Dwibedi et al. 2021).</param>
    public InfoNceLoss(double temperature)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a positive finite number.");
        Temperature = temperature;
    }

    public double Temperature { get; }

    /// <summary>
    /// Loss of queries against their positive keys and a shared set of negatives.
    /// <paramref name="queries"/>, <paramref name="positives"/>: (N, D); <paramref name="negatives"/>: (M, D), M >= 1.
    /// Returns a scalar.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, are not 2-D, N &lt; 1 or M &lt; 1.</exception>
    public Tensor WithNegatives(Tensor queries, Tensor positives, Tensor negatives)
    {
        CheckPair(queries, positives, minRows: 1);
        if (negatives.dim() != 2 || negatives.shape[1] != queries.shape[1] || negatives.shape[0] < 1)
            throw new ArgumentException($"InfoNCE negatives must be (M, {queries.shape[1]}) with M >= 1, got [{string.Join(",", negatives.shape)}].");
        using var scope = NewDisposeScope();
        var q = Normalise(queries);
        var k = Normalise(positives);
        var n = Normalise(negatives);
        var positive = q.mul(k).sum(1, keepdim: true);           // (N, 1)
        var negative = q.matmul(n.t());                          // (N, M)
        var logits = cat([positive, negative], 1).div_(Temperature);
        var targets = zeros(q.shape[0], dtype: ScalarType.Int64, device: q.device);
        return nn.functional.cross_entropy(logits, targets).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Loss of queries against the batch's keys: row i of <paramref name="queries"/> (N, D) has row i of
    /// <paramref name="keys"/> (N, D) as positive and the other N-1 rows as negatives. N >= 2. Returns a scalar.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, are not 2-D, or N &lt; 2.</exception>
    public Tensor InBatch(Tensor queries, Tensor keys)
    {
        CheckPair(queries, keys, minRows: 2);
        using var scope = NewDisposeScope();
        var logits = Normalise(queries).matmul(Normalise(keys).t()).div_(Temperature);
        var targets = arange(queries.shape[0], dtype: ScalarType.Int64, device: queries.device);
        return nn.functional.cross_entropy(logits, targets).MoveToOuterDisposeScope();
    }

    private static Tensor Normalise(Tensor x) => nn.functional.normalize(x.to(ScalarType.Float32), p: 2, dim: 1);

    private static void CheckPair(Tensor a, Tensor b, int minRows)
    {
        if (a.dim() != 2 || b.dim() != 2 || !a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"InfoNCE expects queries and keys of the same (N, D) shape, got [{string.Join(",", a.shape)}] and [{string.Join(",", b.shape)}].");
        if (a.shape[0] < minRows)
            throw new ArgumentException($"InfoNCE needs at least {minRows} queries here, got {a.shape[0]}.");
    }
}
