using Pretext.Compute;
using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Frozen-encoder feature extraction.</summary>
public static class Features
{
    /// <summary>
    /// Runs <paramref name="encoder"/> in eval mode under no_grad over every sample of <paramref name="data"/>,
    /// after <paramref name="preprocess"/> (e.g. normalisation). Returns (N, FeatureDim) fp32, detached.
    /// </summary>
    public static Tensor Extract(Encoder encoder, IDataset data, Normalize? preprocess, int batchSize = 512, Action<long, long>? progress = null)
    {
        using var mode = ModeScope.Eval(encoder);
        using var noGrad = no_grad();
        var result = empty(data.Count, encoder.FeatureDim).DetachFromDisposeScope();
        for (long start = 0; start < data.Count; start += batchSize)
        {
            long n = Math.Min(batchSize, data.Count - start);
            using var scope = NewDisposeScope();
            var idx = new long[n];
            for (long i = 0; i < n; i++) idx[i] = start + i;
            var x = data.Gather(idx);
            if (preprocess is not null) x = preprocess.Apply(x);
            result.narrow(0, start, n).copy_(encoder.forward(x));
            progress?.Invoke(start + n, data.Count);
        }
        return result;
    }

    /// <summary>Per-feature mean and standard deviation (clamped at 1e-6) over the rows of <paramref name="features"/> (N, D), each (1, D): what standardising features divides by.</summary>
    public static (Tensor Mean, Tensor Std) Moments(Tensor features) =>
        (features.mean([0L], keepdim: true), features.std(0, keepdim: true).clamp_min(1e-6));

    /// <summary>The raw samples at <paramref name="indices"/> (all when null), flattened to (n, prod(SampleShape)) fp32: the no-learning baseline input.</summary>
    public static Tensor Raw(IDataset data, long[]? indices = null, int batchSize = 1024)
    {
        indices ??= Enumerable.Range(0, (int)data.Count).Select(i => (long)i).ToArray();
        long width = data.SampleShape.Aggregate(1L, (a, b) => a * b);
        var result = empty(indices.Length, width).DetachFromDisposeScope();
        for (int start = 0; start < indices.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, indices.Length - start);
            using var scope = NewDisposeScope();
            result.narrow(0, start, n).copy_(data.Gather(indices.AsSpan(start, n)).reshape(n, width));
        }
        return result;
    }
}

/// <summary>Label subsets for few-label evaluation.</summary>
public static class LabelSubsets
{
    /// <summary>
    /// A class-stratified subset with round(fraction * n_c) samples of each class c (at least one per
    /// class), drawn with a fixed seed so every method and the baseline see the same labelled samples.
    /// Returns sorted indices.
    /// </summary>
    public static long[] Stratified(int[] labels, double fraction, int seed)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Label fraction must be in (0, 1].");
        if (fraction == 1) return Enumerable.Range(0, labels.Length).Select(i => (long)i).ToArray();
        var rng = new Random(seed);
        var chosen = new List<long>();
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            rng.Shuffle(members);
            int take = Math.Max(1, (int)Math.Round(fraction * members.Length));
            chosen.AddRange(members.Take(take).Select(i => (long)i));
        }
        chosen.Sort();
        return chosen.ToArray();
    }

    /// <summary>
    /// Fractions below this get several subsets: which few samples carry labels moves the accuracy by
    /// points, so one draw would be noise. At and above it one subset is representative.
    /// </summary>
    public const double ResampledBelow = 0.1;

    /// <summary>
    /// Seeds of the subsets drawn at <paramref name="fraction"/>: <paramref name="count"/> seeds
    /// firstSeed, firstSeed + 1, ... below <see cref="ResampledBelow"/>, else firstSeed alone.
    /// </summary>
    public static int[] SeedsFor(double fraction, int count, int firstSeed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one label subset per fraction (seeds >= 1).");
        return Enumerable.Range(firstSeed, fraction < ResampledBelow ? count : 1).ToArray();
    }
}

/// <summary>How labels are used to score an encoder (or, for <see cref="Baseline"/>, to score no encoder at all).</summary>
public enum Protocol
{
    /// <summary>Weighted kNN on the frozen pretrained features, every training label.</summary>
    Knn,
    /// <summary>Frozen pretrained encoder, logistic regression on its features.</summary>
    LinearProbe,
    /// <summary>Pretrained encoder and a linear head trained end to end.</summary>
    FineTune,
    /// <summary>The same architecture from random weights, trained end to end.</summary>
    FromScratch,
    /// <summary>Logistic regression on features that learn nothing from the unlabelled data (raw pixels, TF-IDF).</summary>
    Baseline,
}

/// <summary>
/// Test scores of one protocol at one label fraction over one or more label subsets (seeds): accuracy and, where the
/// evaluation asks for it, F1. Means, and sample standard deviations over the subsets, are derived.
/// </summary>
/// <param name="Labels">Labelled samples in each subset (stratified subsets of one fraction all have the same size).</param>
/// <param name="Seeds">The label subsets' seeds, in order.</param>
/// <param name="Accuracies">Accuracy in [0, 1] per subset, in seed order.</param>
/// <param name="F1s">F1 per subset (null when not measured).</param>
public sealed record Score(Protocol Protocol, double Fraction, int Labels, IReadOnlyList<int> Seeds, IReadOnlyList<double> Accuracies, IReadOnlyList<double>? F1s = null)
{
    public int Subsets => Accuracies.Count;
    public double Accuracy => Accuracies.Average();
    /// <summary>Sample standard deviation over the subsets (n - 1 in the denominator); 0 for one subset.</summary>
    public double AccuracyStd => Metrics.SampleStd(Accuracies);
    public double? F1 => F1s?.Average();
    public double? F1Std => F1s is null ? null : Metrics.SampleStd(F1s);
}
