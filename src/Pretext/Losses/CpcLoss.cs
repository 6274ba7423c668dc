using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// The InfoNCE loss of contrastive predictive coding (van den Oord, Li and Vinyals 2018, eq. 4) with the batch as the
/// negatives: at every step t, the prediction p_{i,t} of sample i scores the target z_{j,t} of every sample j of the batch
/// with the log-bilinear f = exp(z_{j,t} . p_{i,t}) (p = W_k c_t, so the bilinear form is a dot product here); the loss is
/// -log f(i, i) / sum_j f(i, j), averaged over samples and steps. No normalisation and no temperature, as in the paper.
/// Computed in fp32; gradients reach predictions and targets alike (CPC trains the encoder through both).
/// </summary>
public static class CpcLoss
{
    /// <summary>Loss of <paramref name="predictions"/> (B, T, D) against <paramref name="targets"/> (B, T, D), B >= 2, T >= 1. A scalar.</summary>
    /// <exception cref="ArgumentException">Shapes differ or are not 3-D, or B &lt; 2 (no negatives) or T &lt; 1.</exception>
    public static Tensor InBatch(Tensor predictions, Tensor targets)
    {
        if (predictions.dim() != 3 || !predictions.shape.SequenceEqual(targets.shape))
            throw new ArgumentException($"CPC's InfoNCE expects predictions and targets of one (B, T, D) shape, got [{LossChecks.Shape(predictions)}] and [{LossChecks.Shape(targets)}].");
        if (predictions.shape[0] < 2 || predictions.shape[1] < 1)
            throw new ArgumentException($"CPC's InfoNCE needs at least 2 samples (the others are the negatives) and 1 step, got [{LossChecks.Shape(predictions)}].");
        using var scope = NewDisposeScope();
        long b = predictions.shape[0], t = predictions.shape[1];
        var p = predictions.to(ScalarType.Float32).transpose(0, 1);                 // (T, B, D)
        var z = targets.to(ScalarType.Float32).transpose(0, 1);                     // (T, B, D)
        var logits = p.bmm(z.transpose(1, 2));                                      // (T, B, B): [t, i, j] = p_{i,t} . z_{j,t}
        var positives = arange(b, dtype: ScalarType.Int64).repeat(t);               // row i's positive is column i
        return nn.functional.cross_entropy(logits.reshape(t * b, b), positives).MoveToOuterDisposeScope();
    }
}
