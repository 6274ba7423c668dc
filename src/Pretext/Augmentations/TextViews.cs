using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>
/// BERT's masking (Devlin et al. 2019, section 3.1 and appendix A.1) as the view generator of masked
/// language modelling: each non-special token is chosen with probability <see cref="MaskProbability"/>;
/// a chosen token becomes [MASK] with probability <see cref="MaskFraction"/>, a random non-special token
/// with probability <see cref="RandomFraction"/>, and stays itself otherwise. Masks are drawn anew at
/// every step from the step's generator (RoBERTa's dynamic masking, Liu et al. 2019, section 4.1).
/// Returns two tensors: view 0 is the corrupted input (B, L) int64; view 1 is the prediction target
/// (B, L) int64, the original id at chosen positions and <see cref="IgnoreIndex"/> elsewhere.
/// </summary>
public sealed class MlmMasker : IViewGenerator
{
    /// <summary>Target value of positions that are not predicted (cross_entropy's default ignore index).</summary>
    public const long IgnoreIndex = -100;

    private readonly long[] specials;
    private readonly long[] replacements;

    /// <param name="vocabSize">Vocabulary size; random replacements come from its non-special ids.</param>
    /// <param name="maskId">Id of [MASK].</param>
    /// <param name="specialIds">Ids never chosen and never drawn as replacements: pad, [CLS], [SEP], [MASK].</param>
    /// <param name="maskProbability">Share of tokens predicted (BERT 0.15).</param>
    /// <param name="maskFraction">Share of chosen tokens replaced by [MASK] (BERT 0.8).</param>
    /// <param name="randomFraction">Share of chosen tokens replaced by a random token (BERT 0.1); the rest stay unchanged.</param>
    public MlmMasker(int vocabSize, int maskId, IReadOnlyCollection<int> specialIds, double maskProbability = 0.15, double maskFraction = 0.8, double randomFraction = 0.1)
    {
        Rand.CheckProbability(maskProbability, nameof(maskProbability));
        Rand.CheckProbability(maskFraction, nameof(maskFraction));
        Rand.CheckProbability(randomFraction, nameof(randomFraction));
        if (maskFraction + randomFraction > 1 + 1e-12) throw new ArgumentException($"Mask ({maskFraction}) and random ({randomFraction}) fractions add up to more than 1.");
        if (maskId < 0 || maskId >= vocabSize) throw new ArgumentException($"[MASK] id {maskId} is outside the vocabulary of {vocabSize}.");
        specials = specialIds.Append(maskId).Distinct().Select(i => (long)i).ToArray();
        replacements = Enumerable.Range(0, vocabSize).Select(i => (long)i).Except(specials).ToArray();
        if (replacements.Length == 0) throw new ArgumentException("The vocabulary has no non-special token to draw random replacements from.");
        VocabSize = vocabSize; MaskId = maskId;
        MaskProbability = maskProbability; MaskFraction = maskFraction; RandomFraction = randomFraction;
    }

    public int VocabSize { get; }
    public int MaskId { get; }
    public double MaskProbability { get; }
    public double MaskFraction { get; }
    public double RandomFraction { get; }
    public int ViewCount => 2;

    public Tensor[] MakeViews(Tensor x, Generator generator)
    {
        if (x.dim() != 2 || x.dtype != ScalarType.Int64)
            throw new ArgumentException($"MLM masking takes token ids (B, L) int64, got {x.dtype} of shape [{string.Join(",", x.shape)}]. Use a text data set.");
        using var scope = NewDisposeScope();
        var special = isin(x, tensor(specials));
        var chosen = rand(x.shape, generator: generator).lt(MaskProbability).logical_and_(special.logical_not());
        var how = rand(x.shape, generator: generator);
        var toMask = chosen.logical_and(how.lt(MaskFraction));
        var toRandom = chosen.logical_and(how.ge(MaskFraction)).logical_and_(how.lt(MaskFraction + RandomFraction));
        var pool = tensor(replacements);
        var randomIds = pool.index_select(0, randint(replacements.Length, x.shape, dtype: ScalarType.Int64, generator: generator).flatten()).view(x.shape);
        var input = where(toMask, full(x.shape, MaskId, ScalarType.Int64), where(toRandom, randomIds, x));
        var target = where(chosen, x, full(x.shape, IgnoreIndex, ScalarType.Int64));
        return [input.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope()];
    }
}

/// <summary>The raw batch as the only view: for methods whose randomness is inside the model (SimCSE's dropout) or the loss (word2vec's sampling).</summary>
public sealed class IdentityViews : IViewGenerator
{
    public int ViewCount => 1;
    public Tensor[] MakeViews(Tensor x, Generator generator) => [x.alias()];
}
