using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// Reconstruction loss of table rows (VIME's feature estimator, Yoon et al. 2020, eq. 4; the row denoising autoencoder): squared error
/// on each standardised numeric column where the target value is present, cross entropy on each categorical column's code, averaged
/// over the rows of each column and then over the columns, so its scale does not grow with the width of the table.
/// </summary>
public static class TableReconstructionLoss
{
    /// <param name="numeric">(B, Nn) predicted standardised numbers.</param>
    /// <param name="categorical">One (B, V_k) logit tensor per categorical column.</param>
    /// <param name="target">(B, 2 Nn + Nc) encoded rows: numbers, missing indicators, codes.</param>
    /// <returns>A scalar fp32.</returns>
    /// <exception cref="ArgumentException">Shapes do not fit.</exception>
    public static Tensor Compute(Tensor numeric, IReadOnlyList<Tensor> categorical, Tensor target)
    {
        long b = target.shape[0], nums = numeric.shape[1], nc = categorical.Count;
        if (numeric.dim() != 2 || numeric.shape[0] != b || target.dim() != 2 || target.shape[1] != 2 * nums + nc)
            throw new ArgumentException($"Table reconstruction expects numbers (B, Nn), {nc} logit tensors and targets (B, 2 Nn + Nc); got [{string.Join(",", numeric.shape)}] and [{string.Join(",", target.shape)}].");
        if (nums + nc == 0) throw new ArgumentException("Table reconstruction needs at least one column.");
        using var scope = NewDisposeScope();
        var total = zeros([], dtype: ScalarType.Float32, device: target.device);
        if (nums > 0)
        {
            var present = target.narrow(1, nums, nums).neg().add_(1);
            var err = numeric.to(ScalarType.Float32).sub(target.narrow(1, 0, nums)).square().mul_(present);
            total = total.add(err.sum(0L).div(present.sum(0L).clamp_min(1)).sum());
        }
        for (int k = 0; k < nc; k++)
        {
            var codes = target.select(1, 2 * nums + k).round().to(ScalarType.Int64);
            total = total.add(nn.functional.cross_entropy(categorical[k].to(ScalarType.Float32), codes));
        }
        return total.div(nums + nc).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The loss of each row on its own (B) fp32, for anomaly scores: squared error on its present numbers and cross entropy on its codes,
    /// averaged over its columns (a missing number counts 0).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes do not fit.</exception>
    public static Tensor PerRow(Tensor numeric, IReadOnlyList<Tensor> categorical, Tensor target)
    {
        long b = target.shape[0], nums = numeric.shape[1], nc = categorical.Count;
        if (numeric.dim() != 2 || numeric.shape[0] != b || target.dim() != 2 || target.shape[1] != 2 * nums + nc)
            throw new ArgumentException($"Table reconstruction expects numbers (B, Nn), {nc} logit tensors and targets (B, 2 Nn + Nc); got [{string.Join(",", numeric.shape)}] and [{string.Join(",", target.shape)}].");
        if (nums + nc == 0) throw new ArgumentException("Table reconstruction needs at least one column.");
        using var scope = NewDisposeScope();
        var total = zeros(b, dtype: ScalarType.Float32, device: target.device);
        if (nums > 0)
        {
            var present = target.narrow(1, nums, nums).neg().add_(1);
            total = total.add(numeric.to(ScalarType.Float32).sub(target.narrow(1, 0, nums)).square().mul_(present).sum(1L));
        }
        for (int k = 0; k < nc; k++)
        {
            var codes = target.select(1, 2 * nums + k).round().to(ScalarType.Int64);
            total = total.add(nn.functional.cross_entropy(categorical[k].to(ScalarType.Float32), codes, reduction: nn.Reduction.None));
        }
        return total.div(nums + nc).MoveToOuterDisposeScope();
    }
}
