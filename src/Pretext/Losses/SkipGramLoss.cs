using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// The skip-gram negative-sampling objective (Mikolov et al. 2013, "Distributed Representations of
/// Words and Phrases", eq. 4), negated to a loss and averaged over pairs: for a centre vector v, its
/// context's output vector u and K noise words' output vectors u_k,
/// loss = -log sigma(u . v) - sum_k log sigma(-u_k . v).
/// </summary>
public static class SkipGramLoss
{
    /// <param name="centres">(P, D) input vectors of the centre words.</param>
    /// <param name="contexts">(P, D) output vectors of the observed context words.</param>
    /// <param name="negatives">(P, K, D) output vectors of the noise words.</param>
    /// <returns>Scalar fp32 mean over the P pairs.</returns>
    /// <exception cref="ArgumentException">Shapes disagree or P is 0.</exception>
    public static Tensor Compute(Tensor centres, Tensor contexts, Tensor negatives)
    {
        if (centres.dim() != 2 || !centres.shape.SequenceEqual(contexts.shape) || negatives.dim() != 3
            || negatives.shape[0] != centres.shape[0] || negatives.shape[2] != centres.shape[1])
            throw new ArgumentException($"Skip-gram loss expects centres (P, D), contexts (P, D) and negatives (P, K, D); got [{string.Join(",", centres.shape)}], [{string.Join(",", contexts.shape)}], [{string.Join(",", negatives.shape)}].");
        if (centres.shape[0] == 0) throw new ArgumentException("Skip-gram loss needs at least one pair.");
        using var scope = NewDisposeScope();
        var positive = nn.functional.logsigmoid(centres.mul(contexts).sum(1));
        var noise = nn.functional.logsigmoid(negatives.bmm(centres.unsqueeze(2)).squeeze(2).neg()).sum(1);
        return positive.add(noise).mean().neg().MoveToOuterDisposeScope();
    }
}
