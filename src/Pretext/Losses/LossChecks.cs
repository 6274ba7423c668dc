using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>Argument checks shared by the losses, so every loss words its shape errors alike.</summary>
internal static class LossChecks
{
    /// <summary>Two (N, D) tensors of one shape with N >= <paramref name="minBatch"/>.</summary>
    /// <exception cref="ArgumentException">The shapes differ, are not 2-D, or the batch is too small.</exception>
    public static void Pair(Tensor z1, Tensor z2, string loss, int minBatch = 2)
    {
        if (z1.dim() != 2 || z2.dim() != 2 || !z1.shape.SequenceEqual(z2.shape))
            throw new ArgumentException($"{loss} expects two (N, D) tensors of the same shape, got [{Shape(z1)}] and [{Shape(z2)}].");
        if (z1.shape[0] < minBatch) throw new ArgumentException($"{loss} needs at least {minBatch} samples per batch (it uses batch statistics), got {z1.shape[0]}.");
    }

    public static string Shape(Tensor t) => string.Join(",", t.shape);
}
