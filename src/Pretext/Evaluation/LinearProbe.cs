using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Options of <see cref="LinearProbe"/>.</summary>
public sealed record LinearProbeOptions
{
    /// <summary>L2 penalties tried; the one with the best accuracy on a held-out 20 % of the labelled subset is kept.</summary>
    public double[] WeightDecays { get; init; } = [0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1];
    /// <summary>Full-batch Adam iterations per fit.</summary>
    public int Iterations { get; init; } = 300;
    public double LearningRate { get; init; } = 0.05;
    public int Seed { get; init; } = 0;
    /// <summary>Standardise each feature with the training mean and std first (off for already scaled features such as L2-normalised TF-IDF).</summary>
    public bool Standardize { get; init; } = true;
}

/// <summary>
/// Linear probe: multinomial logistic regression on frozen, standardised features, trained full-batch
/// with Adam and a cosine-decayed step size. The L2 penalty is chosen on a held-out fifth of the
/// labelled samples, then the probe is refit on all of them; test labels are never used for choices.
/// </summary>
public static class LinearProbe
{
    /// <param name="Predictions">Predicted class of every test sample.</param>
    public sealed record Result(double Accuracy, double ChosenWeightDecay, int LabelledSamples, int[] Predictions);

    public static Result Evaluate(Tensor trainX, int[] trainY, Tensor testX, int[] testY, int numClasses, LinearProbeOptions? options = null)
    {
        if (testX.shape[0] != testY.Length) throw new ArgumentException("Feature and label counts differ.");
        using var model = Train(trainX, trainY, numClasses, options);
        var predictions = model.Predict(testX);
        return new Result(Metrics.Accuracy(predictions, testY), model.WeightDecay, trainY.Length, predictions);
    }

    /// <summary>
    /// Fits the probe on (<paramref name="trainX"/>, <paramref name="trainY"/>): the L2 penalty chosen on a held-out
    /// fifth, then refit on all of them. The model keeps the standardisation, so it scores raw features.
    /// </summary>
    public static Model Train(Tensor trainX, int[] trainY, int numClasses, LinearProbeOptions? options = null)
    {
        options ??= new LinearProbeOptions();
        if (trainX.shape[0] != trainY.Length) throw new ArgumentException("Feature and label counts differ.");
        if (trainY.Length == 0) throw new ArgumentException("The probe needs at least one labelled sample.");
        using var scope = NewDisposeScope();
        // Sparse features (TF-IDF) come already scaled and skip this: sparse tensors have no mean.
        var (mean, std) = options.Standardize ? Features.Moments(trainX) : (null, null);
        var xs = options.Standardize ? trainX.sub(mean!).div(std!) : trainX;
        var y = tensor(trainY.Select(v => (long)v).ToArray());

        double bestWd = options.WeightDecays[0];
        if (options.WeightDecays.Length > 1)
        {
            var rng = new Random(options.Seed);
            var perm = Enumerable.Range(0, trainY.Length).ToArray();
            rng.Shuffle(perm);
            int nVal = Math.Max(1, trainY.Length / 5);
            var valIdx = tensor(perm.Take(nVal).Select(i => (long)i).ToArray());
            var fitIdx = tensor(perm.Skip(nVal).Select(i => (long)i).ToArray());
            var valY = perm.Take(nVal).Select(i => trainY[i]).ToArray();
            double bestAcc = -1;
            foreach (var wd in options.WeightDecays)
            {
                using var inner = NewDisposeScope();
                var (w, b) = Fit(xs.index_select(0, fitIdx), y.index_select(0, fitIdx), numClasses, wd, options);
                double acc = Metrics.Accuracy(Logits(xs.index_select(0, valIdx), w, b).argmax(1).data<long>().Select(v => (int)v).ToArray(), valY);
                if (acc > bestAcc) { bestAcc = acc; bestWd = wd; }
            }
        }
        var (wf, bf) = Fit(xs, y, numClasses, bestWd, options);
        return new Model(mean?.MoveToOuterDisposeScope(), std?.MoveToOuterDisposeScope(), wf.MoveToOuterDisposeScope(), bf.MoveToOuterDisposeScope(), bestWd);
    }

    /// <summary>A fitted probe: standardisation, weights and the L2 penalty it was chosen with.</summary>
    public sealed class Model(Tensor? mean, Tensor? std, Tensor weight, Tensor bias, double weightDecay) : IDisposable
    {
        public double WeightDecay { get; } = weightDecay;

        /// <summary>(N, classes) logits of raw features <paramref name="x"/> (N, D).</summary>
        public Tensor Logits(Tensor x)
        {
            using var scope = NewDisposeScope();
            return LinearProbe.Logits(mean is null || std is null ? x : x.sub(mean).div(std), weight, bias).MoveToOuterDisposeScope();
        }

        /// <summary>The predicted class of each row of <paramref name="x"/>.</summary>
        public int[] Predict(Tensor x)
        {
            using var scope = NewDisposeScope();
            return Logits(x).argmax(1).data<long>().Select(v => (int)v).ToArray();
        }

        public void Dispose()
        {
            mean?.Dispose(); std?.Dispose(); weight.Dispose(); bias.Dispose();
        }
    }

    private static (Tensor W, Tensor B) Fit(Tensor x, Tensor y, int numClasses, double wd, LinearProbeOptions o)
    {
        using var grad = enable_grad(); // also when a caller holds no_grad (the features are frozen either way)
        using var gen = manual_seed(o.Seed);
        var w = new TorchSharp.Modules.Parameter(zeros(x.shape[1], numClasses));
        var b = new TorchSharp.Modules.Parameter(zeros(numClasses));
        var opt = optim.Adam([w, b], o.LearningRate);
        for (int it = 0; it < o.Iterations; it++)
        {
            using var scope = NewDisposeScope();
            double lr = o.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * it / o.Iterations));
            foreach (var g in opt.ParamGroups) g.LearningRate = lr;
            opt.zero_grad();
            var loss = nn.functional.cross_entropy(x.matmul(w).add(b), y);
            if (wd > 0) loss = loss.add(w.pow(2).sum().mul(wd));
            loss.backward();
            opt.step();
        }
        return (w.detach(), b.detach());
    }

    private static Tensor Logits(Tensor x, Tensor w, Tensor b) => x.matmul(w).add(b);
}
