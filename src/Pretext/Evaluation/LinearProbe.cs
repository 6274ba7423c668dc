using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Options of <see cref="LinearProbe"/>.</summary>
public sealed record LinearProbeOptions
{
    /// <summary>L2 penalties tried; the one with the best accuracy on a held-out 20 % of the labelled subset is kept.</summary>
    public double[] WeightDecays { get; init; } = [0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1];
    /// <summary>
    /// At most this many labelled samples (a random subset, the held-out fifth included) are used to choose the
    /// penalty; 0 uses all. Choosing among eight penalties costs eight fits, while the final fit uses every sample:
    /// with 60,000 labels the choice on all of them took most of an evaluation's time.
    /// </summary>
    public int SelectionSamples { get; init; } = 10_000;
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
/// labelled samples (of at most <see cref="LinearProbeOptions.SelectionSamples"/> of them), then the probe
/// is refit on all of them; test labels are never used for choices.
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
    /// Fits the probe on (<paramref name="trainX"/>, <paramref name="trainY"/>): the L2 penalty chosen on
    /// <paramref name="validation"/> or a held-out fifth, then refit on all of them where the choice was fitted on fewer. The model keeps the standardisation, so it scores raw features.
    /// </summary>
    /// <param name="validation">Labelled samples to choose the penalty on (a validation split, disjoint from the labelled
    /// subset and from test); null: a held-out fifth of the labelled subset.</param>
    public static Model Train(Tensor trainX, int[] trainY, int numClasses, LinearProbeOptions? options = null, (Tensor X, int[] Y)? validation = null)
    {
        options ??= new LinearProbeOptions();
        if (trainX.shape[0] != trainY.Length) throw new ArgumentException("Feature and label counts differ.");
        if (trainY.Length == 0) throw new ArgumentException("The probe needs at least one labelled sample.");
        if (options.SelectionSamples < 0) throw new ArgumentOutOfRangeException(nameof(options), options.SelectionSamples, "SelectionSamples must be >= 0 (0 = all).");
        using var scope = NewDisposeScope();
        // Sparse features (TF-IDF) come already scaled and skip this: sparse tensors have no mean.
        var (mean, std) = options.Standardize ? Features.Moments(trainX) : (null, null);
        var xs = options.Standardize ? trainX.sub(mean!).div(std!) : trainX;
        var y = tensor(trainY.Select(v => (long)v).ToArray());

        double bestWd = options.WeightDecays[0];
        // One labelled sample and no validation split leaves nothing to hold out: it is fitted at the first penalty.
        if (options.WeightDecays.Length > 1 && (validation is not null || trainY.Length > 1))
        {
            // A random order of the samples, capped at SelectionSamples. Each penalty is fitted on them and scored on the
            // validation split when there is one, else the first fifth is held out to score on.
            var perm = Enumerable.Range(0, trainY.Length).ToArray();
            new Random(options.Seed).Shuffle(perm);
            if (options.SelectionSamples > 0 && options.SelectionSamples < perm.Length) perm = perm[..options.SelectionSamples];
            Tensor xVal;
            int[] valY;
            int[] fit;
            if (validation is { } v)
            {
                if (v.X.shape[0] != v.Y.Length || v.Y.Length == 0) throw new ArgumentException("The validation split needs as many labels as feature rows, and at least one.");
                (xVal, valY, fit) = (options.Standardize ? v.X.sub(mean!).div(std!) : v.X, v.Y, perm);
            }
            else
            {
                int nVal = Math.Max(1, perm.Length / 5);
                xVal = xs.index_select(0, tensor(perm[..nVal].Select(i => (long)i).ToArray()));
                (valY, fit) = (perm[..nVal].Select(i => trainY[i]).ToArray(), perm[nVal..]);
            }
            // Gathered once for all penalties.
            var fitIdx = tensor(fit.Select(i => (long)i).ToArray());
            var (xFit, yFit) = (xs.index_select(0, fitIdx), y.index_select(0, fitIdx));
            double bestAcc = -1;
            (Tensor W, Tensor B)? best = null;
            foreach (var wd in options.WeightDecays)
            {
                using var inner = NewDisposeScope();
                var (w, b) = Fit(xFit, yFit, numClasses, wd, options);
                double acc = Metrics.Accuracy(Features.Classes(Logits(xVal, w, b)), valY);
                if (acc <= bestAcc) continue;
                (bestAcc, bestWd) = (acc, wd);
                best?.W.Dispose(); best?.B.Dispose();
                best = (w.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope());
            }
            // Fitted on every labelled sample already (a validation split, no cap): that fit is the probe.
            if (fit.Length == trainY.Length)
                return new Model(mean?.MoveToOuterDisposeScope(), std?.MoveToOuterDisposeScope(), best!.Value.W.MoveToOuterDisposeScope(), best.Value.B.MoveToOuterDisposeScope(), bestWd);
            // Chosen on a capped subset, the penalty is scaled to the final fit's size: the best L2 penalty on a
            // mean loss shrinks about as 1/N (its prior weighs against N likelihood terms). A Fashion-MNIST VICReg
            // encoder, 60,000 labels: 85.18 % choosing on all of them, 84.32 % on 10,000 unscaled, 85.20 % scaled.
            if (perm.Length < trainY.Length) bestWd *= (double)fit.Length / trainY.Length;
        }
        var (wf, bf) = Fit(xs, y, numClasses, bestWd, options);
        return new Model(mean?.MoveToOuterDisposeScope(), std?.MoveToOuterDisposeScope(), wf.MoveToOuterDisposeScope(), bf.MoveToOuterDisposeScope(), bestWd);
    }

    /// <summary>A fitted probe: standardisation, weights and the L2 penalty it was chosen with.</summary>
    public sealed class Model(Tensor? mean, Tensor? std, Tensor weight, Tensor bias, double weightDecay) : IDisposable
    {
        public double WeightDecay { get; } = weightDecay;
        /// <summary>(D, classes) weights on standardised features.</summary>
        public Tensor Weight => weight;
        /// <summary>(classes) biases.</summary>
        public Tensor Bias => bias;
        /// <summary>The standardisation's feature means (null when the probe does not standardise).</summary>
        public Tensor? Mean => mean;
        /// <summary>The standardisation's feature standard deviations (null when the probe does not standardise).</summary>
        public Tensor? Std => std;

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
            return Features.Classes(Logits(x));
        }

        public void Dispose()
        {
            mean?.Dispose(); std?.Dispose(); weight.Dispose(); bias.Dispose();
        }
    }

    /// <summary>
    /// Full-batch Adam (betas 0.9, 0.999) with a cosine-decayed step size on mean cross-entropy plus wd * |W|^2.
    /// The gradient is written out rather than taken by autograd: autograd forms X^T G, which libtorch's CPU
    /// matmul runs several times slower for tall X than the (G^T X)^T used here, and this loop is most of the
    /// time of every evaluation with many labels.
    /// </summary>
    private static (Tensor W, Tensor B) Fit(Tensor x, Tensor y, int numClasses, double wd, LinearProbeOptions o)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long n = x.shape[0];
        var w = zeros(x.shape[1], numClasses);
        var b = zeros(numClasses);
        var (mw, vw, mb, vb) = (zeros_like(w), zeros_like(w), zeros_like(b), zeros_like(b));
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        // softmax(z) - onehot(y), divided by n: the gradient of the mean cross-entropy with respect to the logits.
        var target = nn.functional.one_hot(y, numClasses).to(ScalarType.Float32).div_(n);
        for (int it = 0; it < o.Iterations; it++)
        {
            using var step = NewDisposeScope();
            double lr = o.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * it / o.Iterations));
            var g = x.matmul(w).add_(b).softmax(1).div_(n).sub_(target);
            var gw = g.t().matmul(x).t();
            if (wd > 0) gw = gw.add(w, alpha: 2 * wd);
            var gb = g.sum([0L]);
            double c1 = 1 - Math.Pow(beta1, it + 1), c2 = 1 - Math.Pow(beta2, it + 1);
            AdamUpdate(w, gw, mw, vw);
            AdamUpdate(b, gb, mb, vb);

            void AdamUpdate(Tensor p, Tensor grad, Tensor m, Tensor v)
            {
                m.mul_(beta1).add_(grad, alpha: 1 - beta1);
                v.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
                p.addcdiv_(m, v.div(c2).sqrt_().add_(eps), value: -lr / c1);
            }
        }
        return (w.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope());
    }

    private static Tensor Logits(Tensor x, Tensor w, Tensor b) => x.matmul(w).add(b);
}
