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
    /// <param name="device">Where <paramref name="encoder"/>'s weights are (null: the CPU): each batch is read and preprocessed on
    /// the CPU, then moved there; the features come back to the CPU.</param>
    public static Tensor Extract(Encoder encoder, IDataset data, Normalize? preprocess, int batchSize = 512, Action<long, long>? progress = null, Device? device = null)
    {
        using var mode = ModeScope.Eval(encoder);
        using var noGrad = no_grad();
        var result = empty(data.Count, encoder.FeatureDim).DetachFromDisposeScope();
        bool onCpu = device is null || device.type == DeviceType.CPU;
        for (long start = 0; start < data.Count; start += batchSize)
        {
            long n = Math.Min(batchSize, data.Count - start);
            using var scope = NewDisposeScope();
            var x = Batch(data, start, n, preprocess);
            result.narrow(0, start, n).copy_(encoder.forward(onCpu ? x : x.to(device!)));
            progress?.Invoke(start + n, data.Count);
        }
        return result;
    }

    /// <summary>The predicted class of each row of <paramref name="logits"/> (N, classes): the index of its largest entry.</summary>
    public static int[] Classes(Tensor logits)
    {
        using var predicted = logits.argmax(1);
        return predicted.data<long>().Select(v => (int)v).ToArray();
    }

    /// <summary>Samples start..start+n-1 of <paramref name="data"/> in order, after <paramref name="preprocess"/> (in the caller's dispose scope).</summary>
    public static Tensor Batch(IDataset data, long start, long n, Normalize? preprocess)
    {
        var idx = new long[n];
        for (long i = 0; i < n; i++) idx[i] = start + i;
        var x = data.Gather(idx);
        return preprocess is null ? x : preprocess.Apply(x);
    }

    /// <summary>Per-feature mean and standard deviation (clamped at 1e-6) over the rows of <paramref name="features"/> (N, D), each (1, D): what standardising features divides by.</summary>
    public static (Tensor Mean, Tensor Std) Moments(Tensor features) =>
        // One row has no unbiased spread (NaN); its biased one, 0, standardises it to zeros instead.
        (features.mean([0L], keepdim: true), features.std(0, unbiased: features.shape[0] > 1, keepdim: true).clamp_min(1e-6));

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
    public static long[] Stratified(int[] labels, double fraction, int seed) => Stratified(labels, fraction, seed, null);

    /// <summary>
    /// <see cref="Stratified(int[], double, int)"/> drawn from <paramref name="pool"/> only (the training part left after the
    /// validation split; null: every sample): round(fraction * n_c) of each class's pool members.
    /// </summary>
    public static long[] Stratified(int[] labels, double fraction, int seed, long[]? pool)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Label fraction must be in (0, 1].");
        var members = pool ?? Enumerable.Range(0, labels.Length).Select(i => (long)i).ToArray();
        if (fraction == 1) return members.Order().ToArray();
        return Draw(labels, members, seed, n => Math.Max(1, (int)Math.Round(fraction * n)));
    }

    /// <summary>
    /// <paramref name="perClass"/> labelled samples of every class (all of a class that has fewer), drawn with a fixed seed
    /// from <paramref name="pool"/> (null: every sample), so every protocol sees the same few labels. Sorted indices.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one label per class.</exception>
    public static long[] PerClass(int[] labels, int perClass, int seed, long[]? pool = null)
    {
        if (perClass < 1) throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "At least one label per class.");
        return Draw(labels, pool ?? Enumerable.Range(0, labels.Length).Select(i => (long)i).ToArray(), seed, n => Math.Min(n, perClass));
    }

    private static long[] Draw(int[] labels, long[] pool, int seed, Func<int, int> take)
    {
        var rng = new Random(seed);
        var chosen = new List<long>();
        foreach (var group in pool.Order().GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            rng.Shuffle(members);
            chosen.AddRange(members.Take(take(members.Length)));
        }
        chosen.Sort();
        return chosen.ToArray();
    }

    /// <summary>
    /// Fractions below this get several subsets: which few samples carry labels moves the accuracy by
    /// points, so one draw would be noise. At and above it one subset is representative.
    /// </summary>
    public const double ResampledBelow = 0.1;

    /// <summary>"100" for 1.0, "10" for 0.1, "1" for 0.01, "0.1" for 0.001.</summary>
    public static string PercentKey(double fraction) => (fraction * 100).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

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
    /// <summary>The fine-tuned network distilled into a student through the unlabelled training samples (SimCLRv2).</summary>
    Distilled,
    /// <summary>The network trained from scratch, distilled the same way: what the unlabelled data gives without pretraining.</summary>
    ScratchDistilled,
    /// <summary>
    /// Frozen pretrained features; the labels spread over the unlabelled training samples' neighbour graph
    /// (<see cref="LabelPropagation"/>) and a linear probe learns every sample's pseudo-label.
    /// </summary>
    Propagated,
    /// <summary>The same propagation on the no-learning baseline's features: what the unlabelled data gives without pretraining.</summary>
    BaselinePropagated,
    /// <summary>Gradient-boosted trees on the no-learning baseline's features (tables: <see cref="GradientBoostedTrees"/>).</summary>
    Trees,
    /// <summary>
    /// Frozen pretrained features concatenated with the no-learning baseline's, one linear probe on both
    /// (<see cref="EvaluationConfig.ProbeWithBaseline"/>).
    /// </summary>
    LinearWithBaseline,
    /// <summary>Logistic regression on the ImageNet ResNet-18 features (<see cref="ImageNetResNet18"/>), at the linear probe's budgets.</summary>
    ResNet18,
    /// <summary>Weighted kNN on the ImageNet ResNet-18 features, every training label.</summary>
    ResNet18Knn,
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
    /// <summary>Labels per class when the budget was a count per class (1, 5, 10, 25); null for a fraction of the labels.</summary>
    public int? PerClass { get; init; }
    /// <summary>Accuracy on the validation split per subset (what choices are made on); null without a validation split.</summary>
    public IReadOnlyList<double>? ValidationAccuracies { get; init; }
    public double? ValidationAccuracy => ValidationAccuracies?.Average();
    /// <summary>The label budget as a key: "10_per_class", or the percentage ("1", "0.1", "100").</summary>
    public string Budget => PerClass is int n ? $"{n}_per_class" : LabelSubsets.PercentKey(Fraction);
    /// <summary>Whether this score is at the same label budget as <paramref name="other"/>.</summary>
    public bool SameBudget(Score other) => PerClass is int n ? other.PerClass == n : other.PerClass is null && Math.Abs(other.Fraction - Fraction) < 1e-12;

    public int Subsets => Accuracies.Count;
    public double Accuracy => Accuracies.Average();
    /// <summary>Sample standard deviation over the subsets (n - 1 in the denominator); 0 for one subset.</summary>
    public double AccuracyStd => Metrics.SampleStd(Accuracies);
    public double? F1 => F1s?.Average();
    public double? F1Std => F1s is null ? null : Metrics.SampleStd(F1s);
}
