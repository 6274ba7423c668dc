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
        bool wasTraining = encoder.training;
        encoder.eval();
        try
        {
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
        finally
        {
            encoder.train(wasTraining);
        }
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
}
