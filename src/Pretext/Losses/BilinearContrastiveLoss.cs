using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// COLA's loss (Saeed, Grangier and Zeghidour 2021, section 2): the similarity of an anchor a and a candidate b is bilinear,
/// s(a, b) = a^T W b, and each anchor's positive is the other segment of its own clip while the second segments of the other
/// clips in the batch are its negatives: the loss is the mean over the N anchors of -log softmax_j(s(a_i, b_j))[i]. There is no
/// temperature; W learns the scale. The paper reports bilinear similarity above cosine for every downstream task (Table 4).
/// </summary>
public static class BilinearContrastiveLoss
{
    /// <summary>(N, N) similarities s(a_i, b_j) = a_i^T W b_j.</summary>
    /// <exception cref="ArgumentException">Shapes that do not fit: (N, D), (N, D), (D, D).</exception>
    public static Tensor Similarities(Tensor a, Tensor b, Tensor w)
    {
        LossChecks.Pair(a, b, "COLA's bilinear loss");
        long d = a.shape[1];
        if (w.dim() != 2 || w.shape[0] != d || w.shape[1] != d)
            throw new ArgumentException($"COLA's bilinear weight must be ({d}, {d}) for embeddings of width {d}, got [{LossChecks.Shape(w)}].");
        using var scope = NewDisposeScope();
        return a.to(ScalarType.Float32).matmul(w.to(ScalarType.Float32)).matmul(b.to(ScalarType.Float32).t()).MoveToOuterDisposeScope();
    }

    /// <summary>The scalar loss of anchors <paramref name="a"/> (N, D) and candidates <paramref name="b"/> (N, D), row i of each from clip i, N >= 2.</summary>
    /// <exception cref="ArgumentException">See <see cref="Similarities"/>; fewer than 2 pairs (the negatives come from the batch).</exception>
    public static Tensor Compute(Tensor a, Tensor b, Tensor w)
    {
        using var scope = NewDisposeScope();
        var s = Similarities(a, b, w);
        return nn.functional.cross_entropy(s, arange(a.shape[0], dtype: ScalarType.Int64)).MoveToOuterDisposeScope();
    }
}
