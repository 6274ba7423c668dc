using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>
/// Weighted k-nearest-neighbour classifier on cosine similarity (Wu et al. 2018, section 3.4): each of
/// the k nearest training samples votes for its class with weight exp(sim / T). Defaults k = 200,
/// T = 0.1 follow that paper and solo-learn.
/// </summary>
public static class Knn
{
    /// <summary>Predicted class per query. trainFeatures (N, D), trainLabels N, queries (M, D). Returns M labels.</summary>
    public static int[] Predict(Tensor trainFeatures, int[] trainLabels, Tensor queries, int numClasses, int k = 200, double temperature = 0.1, int chunk = 1024)
    {
        if (trainFeatures.shape[0] != trainLabels.Length) throw new ArgumentException($"{trainFeatures.shape[0]} training features but {trainLabels.Length} labels.");
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be positive.");
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Temperature must be positive.");
        int kk = (int)Math.Min(k, trainFeatures.shape[0]);
        using var outer = NewDisposeScope();
        var train = nn.functional.normalize(trainFeatures.to(ScalarType.Float32), dim: 1);
        var labels = tensor(trainLabels.Select(l => (long)l).ToArray());
        var preds = new int[queries.shape[0]];
        for (long start = 0; start < queries.shape[0]; start += chunk)
        {
            long n = Math.Min(chunk, queries.shape[0] - start);
            using var scope = NewDisposeScope();
            var q = nn.functional.normalize(queries.narrow(0, start, n).to(ScalarType.Float32), dim: 1);
            var sim = q.matmul(train.t());
            var (topSim, topIdx) = sim.topk(kk, dim: 1);
            var topLabels = labels.index_select(0, topIdx.flatten()).view(n, kk);
            var w = topSim.div(temperature).exp_();
            var votes = zeros(n, numClasses).scatter_add_(1, topLabels, w);
            var best = votes.argmax(1).data<long>().ToArray();
            for (int i = 0; i < n; i++) preds[start + i] = (int)best[i];
        }
        return preds;
    }

    /// <summary>Accuracy of <see cref="Predict"/> against <paramref name="queryLabels"/>.</summary>
    public static double Accuracy(Tensor trainFeatures, int[] trainLabels, Tensor queries, int[] queryLabels, int numClasses, int k = 200, double temperature = 0.1)
        => Metrics.Accuracy(Predict(trainFeatures, trainLabels, queries, numClasses, k, temperature), queryLabels);
}

/// <summary>Small pure metric functions.</summary>
public static class Metrics
{
    /// <summary>Sample standard deviation (n - 1 in the denominator); 0 for fewer than two values.</summary>
    public static double SampleStd(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    public static double Accuracy(int[] predicted, int[] truth)
    {
        if (predicted.Length != truth.Length || truth.Length == 0) throw new ArgumentException($"Need equally many predictions and labels (got {predicted.Length} and {truth.Length}).");
        int ok = 0;
        for (int i = 0; i < truth.Length; i++) if (predicted[i] == truth[i]) ok++;
        return (double)ok / truth.Length;
    }

    /// <summary>
    /// F1 of class <paramref name="positive"/>: 2 TP / (2 TP + FP + FN), the harmonic mean of its precision and
    /// recall (binary F1 with, e.g., spam as the positive class). 0 when the class is neither predicted nor present,
    /// as scikit-learn's zero_division=0.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ or are zero.</exception>
    public static double F1(int[] predicted, int[] truth, int positive)
    {
        if (predicted.Length != truth.Length || truth.Length == 0) throw new ArgumentException($"Need equally many predictions and labels (got {predicted.Length} and {truth.Length}).");
        int tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            bool p = predicted[i] == positive, t = truth[i] == positive;
            if (p && t) tp++;
            else if (p) fp++;
            else if (t) fn++;
        }
        return tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
    }

    /// <summary>Unweighted mean of the per-class F1 over classes 0..<paramref name="numClasses"/>-1 (macro F1).</summary>
    public static double MacroF1(int[] predicted, int[] truth, int numClasses)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "Need at least one class.");
        return Enumerable.Range(0, numClasses).Average(c => F1(predicted, truth, c));
    }
}
