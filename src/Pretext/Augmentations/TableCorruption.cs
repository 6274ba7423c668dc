using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>
/// Corruption of table rows by draws from each column's empirical marginal (SCARF, Bahri et al. 2022, section 3; VIME, Yoon et al.
/// 2020, section 4.1): a corrupted cell takes the value the same column has in a row drawn uniformly from the batch, so the
/// replacement follows the column's distribution but carries no information about the row. A column can span several input
/// features (a number and its missing indicator): they are replaced together, from one donor row. Every draw comes from the
/// generator passed in (the step's <c>Batch.Random</c>), so a seed fixes the masks and the donors.
/// </summary>
public static class TableCorruption
{
    /// <summary>
    /// SCARF's mask: in every row exactly round(<paramref name="rate"/> * columns) columns, a uniformly random subset ("for each row, a
    /// random subset of features of size floor(c M)"; rounded here so 0.6 of 4 columns corrupts 2, not 2.4 floored). (B, C) bool.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The rate lies outside [0, 1].</exception>
    public static Tensor FixedCountMask(long rows, int columns, double rate, Generator? generator)
    {
        if (!(rate >= 0 && rate <= 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "The corruption rate must lie in [0, 1].");
        using var scope = NewDisposeScope();
        long k = (long)Math.Round(rate * columns, MidpointRounding.AwayFromZero);
        var ranks = rand([rows, columns], generator: generator).argsort(1).argsort(1);
        return ranks.lt(k).MoveToOuterDisposeScope();
    }

    /// <summary>VIME's mask: each cell independently with probability <paramref name="p"/> (the mask generator, p_m). (B, C) bool.</summary>
    /// <exception cref="ArgumentOutOfRangeException">p lies outside [0, 1].</exception>
    public static Tensor BernoulliMask(long rows, int columns, double p, Generator? generator)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "The mask probability must lie in [0, 1].");
        using var scope = NewDisposeScope();
        return rand([rows, columns], generator: generator).lt(p).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="x"/> (B, F) with the cells <paramref name="mask"/> (B, C) marks replaced by the same column's cells of a random
    /// row of the batch (drawn per cell, with replacement; it can be the row itself, as a draw from the marginal can equal the value).
    /// </summary>
    /// <param name="featureColumns">The column of each of the F features (values in [0, C)).</param>
    /// <exception cref="ArgumentException">Shapes do not fit.</exception>
    public static Tensor FromMarginals(Tensor x, Tensor mask, int[] featureColumns, Generator? generator)
    {
        if (x.dim() != 2 || x.shape[1] != featureColumns.Length || mask.dim() != 2 || mask.shape[0] != x.shape[0])
            throw new ArgumentException($"Table corruption expects x (B, {featureColumns.Length}) and a mask (B, C), got [{string.Join(",", x.shape)}] and [{string.Join(",", mask.shape)}].");
        if (featureColumns.Any(c => c < 0 || c >= mask.shape[1]))
            throw new ArgumentException($"A feature's column lies outside the mask's {mask.shape[1]} columns.");
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var donors = randint(0, b, [b, mask.shape[1]], generator: generator).to(x.device);
        using var columns = tensor(featureColumns.Select(c => (long)c).ToArray(), device: x.device);
        var donorPerFeature = donors.index_select(1, columns);
        var maskPerFeature = mask.to(x.device).index_select(1, columns);
        var drawn = x.gather(0, donorPerFeature);
        return where(maskPerFeature, drawn, x).MoveToOuterDisposeScope();
    }
}
