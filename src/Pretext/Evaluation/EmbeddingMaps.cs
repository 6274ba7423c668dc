using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>A 2-D picture of embeddings: one point per sample, with its label for colouring.</summary>
/// <param name="Method">"PCA" or "t-SNE".</param>
/// <param name="X">First coordinate per sample.</param>
/// <param name="Y">Second coordinate per sample.</param>
/// <param name="Labels">Class per sample (null when unlabelled).</param>
/// <param name="ClassNames">Names indexed by label (may be empty).</param>
/// <param name="Note">One line on how it was made (explained variance, perplexity, final KL divergence).</param>
public sealed record EmbeddingMap(string Method, double[] X, double[] Y, int[]? Labels, IReadOnlyList<string> ClassNames, string Note);

/// <summary>What evaluation learns about the embedding space itself, beyond accuracy.</summary>
/// <param name="Readings">Diagnostics of the frozen encoder's features on <paramref name="Samples"/> test samples.</param>
/// <param name="Samples">How many test samples the readings and maps use.</param>
/// <param name="Maps">2-D maps of those features (PCA, t-SNE).</param>
public sealed record EmbeddingInsight(DiagnosticReadings Readings, int Samples, IReadOnlyList<EmbeddingMap> Maps);

/// <summary>How t-SNE runs (van der Maaten and Hinton 2008; defaults as in scikit-learn 1.5's TSNE).</summary>
public sealed record TsneOptions
{
    /// <summary>Effective number of neighbours each point's affinities cover (paper: 5 to 50).</summary>
    public double Perplexity { get; init; } = 30;
    /// <summary>Gradient-descent iterations in all.</summary>
    public int Iterations { get; init; } = 1000;
    /// <summary>Iterations with exaggerated affinities at the start (scikit-learn: 250).</summary>
    public int ExaggerationIterations { get; init; } = 250;
    /// <summary>Factor on P during the early phase; it lets clusters form and move apart (scikit-learn: 12).</summary>
    public double EarlyExaggeration { get; init; } = 12;
    /// <summary>Step size; 0 means scikit-learn's "auto": max(N / exaggeration / 4, 50).</summary>
    public double LearningRate { get; init; }
    /// <summary>Momentum in the early phase and after it (paper, section 3.4: 0.5 then 0.8).</summary>
    public double InitialMomentum { get; init; } = 0.5;
    public double FinalMomentum { get; init; } = 0.8;
    /// <summary>Inputs wider than this are first reduced to this many principal components (the paper reduces to 30-50).</summary>
    public int PcaDims { get; init; } = 50;
    /// <summary>Start from the 2 principal components (deterministic, keeps global layout) or from a seeded Gaussian.</summary>
    public TsneInit Init { get; init; } = TsneInit.Pca;
    /// <summary>Seed of the random start.</summary>
    public int Seed { get; init; }

    public void Validate(long n)
    {
        if (n < 4) throw new ArgumentException($"t-SNE needs at least 4 points, got {n}.");
        if (!(Perplexity >= 1)) throw new ArgumentOutOfRangeException(nameof(Perplexity), Perplexity, "Perplexity must be at least 1.");
        if (Iterations < 1 || ExaggerationIterations < 0) throw new ArgumentException("t-SNE iterations must be positive (exaggeration iterations >= 0).");
        if (!(EarlyExaggeration >= 1)) throw new ArgumentOutOfRangeException(nameof(EarlyExaggeration), EarlyExaggeration, "Early exaggeration must be >= 1.");
        if (LearningRate < 0) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be >= 0 (0: automatic).");
        if (PcaDims < 2) throw new ArgumentOutOfRangeException(nameof(PcaDims), PcaDims, "PcaDims must be at least 2.");
    }
}

/// <summary>Start of the t-SNE layout.</summary>
public enum TsneInit { Pca, Random }

/// <summary>Which maps evaluation draws and from how many test samples.</summary>
public sealed record EmbeddingMapOptions
{
    /// <summary>Test samples drawn (class-stratified, seeded) for the maps and the evaluation diagnostics; 0 draws no maps.
    /// Exact t-SNE costs O(N^2) per iteration: 2,000 points took minutes on a busy 2-core machine, 1,000 a
    /// quarter of that, and 100 per class already show how classes separate.</summary>
    public int Samples { get; init; } = 1000;
    /// <summary>Seed of the sample draw.</summary>
    public int Seed { get; init; }
    /// <summary>Also draw t-SNE (PCA is always drawn).</summary>
    public bool Tsne { get; init; } = true;
    public TsneOptions TsneOptions { get; init; } = new();
}

/// <summary>Principal component analysis and exact t-SNE for 2-D maps of embeddings.</summary>
public static class EmbeddingMaps
{
    /// <summary>Result of <see cref="Pca"/>.</summary>
    /// <param name="Scores">(N, k) fp64 coordinates of the centred data on the components.</param>
    /// <param name="Components">(k, D) fp64 unit principal axes, largest variance first; each axis's largest-magnitude entry is positive.</param>
    /// <param name="ExplainedVarianceRatio">Share of the total variance per component.</param>
    public sealed record PcaResult(Tensor Scores, Tensor Components, double[] ExplainedVarianceRatio) : IDisposable
    {
        public void Dispose() { Scores.Dispose(); Components.Dispose(); }
    }

    /// <summary>
    /// PCA of <paramref name="x"/> (N, D) by a thin SVD of the centred data: X - mean = U S V^T, scores U S,
    /// components rows of V^T. Signs are fixed (largest-magnitude loading positive) so results are reproducible.
    /// </summary>
    /// <exception cref="ArgumentException">Not (N, D), fewer than 2 samples, or k outside 1..min(N, D).</exception>
    public static PcaResult Pca(Tensor x, int k = 2)
    {
        if (x.dim() != 2 || x.shape[0] < 2) throw new ArgumentException($"PCA needs (N, D) data with N >= 2, got [{string.Join(",", x.shape)}].", nameof(x));
        long maxK = Math.Min(x.shape[0], x.shape[1]);
        if (k < 1 || k > maxK) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in 1..{maxK}.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var xc = x.detach().to(ScalarType.Float64);
        xc = xc.sub(xc.mean([0L], keepdim: true));
        var (u, s, vh) = linalg.svd(xc, fullMatrices: false);
        var comps = vh.narrow(0, 0, k);
        // Sign convention: the largest-magnitude entry of each axis is positive.
        var idx = comps.abs().argmax(1, keepdim: true);
        var sign = comps.gather(1, idx).sign();
        sign = torch.where(sign.eq(0), ones_like(sign), sign);
        comps = comps.mul(sign);
        var scores = u.narrow(1, 0, k).mul(s.narrow(0, 0, k)).mul(sign.t());
        var var2 = s.pow(2);
        double total = var2.sum().item<double>();
        var ratio = var2.narrow(0, 0, k).data<double>().Select(v => total > 0 ? v / total : 0).ToArray();
        return new PcaResult(scores.contiguous().MoveToOuterDisposeScope(), comps.contiguous().MoveToOuterDisposeScope(), ratio);
    }

    /// <summary>
    /// Per-point Gaussian affinities P(j|i) of squared distances <paramref name="sqDist"/> (N, N) whose
    /// perplexity 2^H(P_i) equals <paramref name="perplexity"/>: the precision beta_i = 1 / (2 sigma_i^2) is
    /// found by bisection for all points at once (paper, section 2). Returns (N, N) fp64 rows summing to 1,
    /// zero on the diagonal.
    /// </summary>
    public static Tensor ConditionalAffinities(Tensor sqDist, double perplexity, double tolerance = 1e-5, int maxSteps = 100)
    {
        long n = sqDist.shape[0];
        if (sqDist.dim() != 2 || sqDist.shape[1] != n) throw new ArgumentException("Squared distances must be a square (N, N) matrix.", nameof(sqDist));
        if (!(perplexity > 0 && perplexity < n)) throw new ArgumentOutOfRangeException(nameof(perplexity), perplexity, $"Perplexity must lie in (0, {n}) for {n} points.");
        using var scope = NewDisposeScope();
        var d = sqDist.to(ScalarType.Float64);
        var offDiag = ones(n, n, ScalarType.Bool);
        offDiag.diagonal().fill_(false);
        double target = Math.Log(perplexity); // entropy in nats
        var beta = ones(n, 1, ScalarType.Float64);
        var lo = full(n, 1, double.NegativeInfinity, ScalarType.Float64);
        var hi = full(n, 1, double.PositiveInfinity, ScalarType.Float64);
        // Shift by each row's smallest distance so exp never underflows to all zeros.
        var shifted = d.sub(d.masked_fill(offDiag.logical_not(), double.PositiveInfinity).amin([1L], keepdim: true));
        Tensor p = null!;
        for (int step = 0; step < maxSteps; step++)
        {
            using var inner = NewDisposeScope();
            var w = shifted.mul(beta).neg_().exp_().mul_(offDiag);
            var sum = w.sum(1, keepdim: true);
            p = w.div(sum);
            // H = log(sum) + beta * E_p[shifted distance]
            var h = sum.log().add(beta.mul(p.mul(shifted).sum(1, keepdim: true)));
            var diff = h.sub(target);
            p.MoveToOuterDisposeScope();
            if (diff.abs().max().item<double>() < tolerance) break;
            var tooFlat = diff.gt(0); // entropy too high: sharpen (raise beta)
            lo.copy_(torch.where(tooFlat, beta, lo));
            hi.copy_(torch.where(tooFlat, hi, beta));
            var up = torch.where(hi.isinf(), beta.mul(2), beta.add(hi).div(2));
            var down = torch.where(lo.isinf(), beta.div(2), beta.add(lo).div(2));
            beta.copy_(torch.where(tooFlat, up, down));
        }
        return p.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Exact t-SNE (van der Maaten and Hinton 2008) of <paramref name="x"/> (N, D) to 2-D: symmetric
    /// perplexity-calibrated affinities, Student-t similarities in the map, gradient descent with momentum
    /// and per-parameter gains, early exaggeration. O(N^2) memory and time per iteration: meant for a few
    /// thousand points. Deterministic for a given input, options and thread count.
    /// </summary>
    /// <returns>(N, 2) fp64 coordinates and the final KL(P || Q).</returns>
    /// <exception cref="ArgumentException">Fewer than 4 points or invalid options.</exception>
    public static (Tensor Map, double KlDivergence) Tsne(Tensor x, TsneOptions? options = null)
    {
        options ??= new TsneOptions();
        if (x.dim() != 2) throw new ArgumentException($"t-SNE needs (N, D) data, got [{string.Join(",", x.shape)}].", nameof(x));
        long n = x.shape[0];
        options.Validate(n);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var data = x.detach().to(ScalarType.Float64);
        if (data.shape[1] > options.PcaDims)
        {
            using var reduced = Pca(data, (int)Math.Min(options.PcaDims, Math.Min(data.shape[0], data.shape[1])));
            data = reduced.Scores.clone();
        }
        double perplexity = Math.Min(options.Perplexity, (n - 1) / 3.0);
        var sq = data.pow(2).sum(1, keepdim: true);
        var dist = sq.add(sq.t()).sub(data.matmul(data.t()).mul(2)).clamp_min(0);
        var pCond = ConditionalAffinities(dist, perplexity);
        var p = pCond.add(pCond.t()).div(2.0 * n).clamp_min(1e-12);
        p.diagonal().zero_();
        p = p.to(ScalarType.Float32);

        Tensor y;
        if (options.Init == TsneInit.Pca)
        {
            using var init = Pca(data, 2);
            var first = init.Scores.select(1, 0);
            double std = first.std().item<double>();
            y = init.Scores.div(std > 0 ? std : 1).mul(1e-4);
        }
        else
        {
            using var g = new Generator((ulong)options.Seed);
            y = randn(n, 2, ScalarType.Float64, generator: g).mul(1e-4);
        }
        y = y.to(ScalarType.Float32);
        double lr = options.LearningRate > 0 ? options.LearningRate : Math.Max(n / options.EarlyExaggeration / 4, 50);
        var update = zeros_like(y);
        var gains = ones_like(y);
        var pEarly = p.mul(options.EarlyExaggeration);
        // Two (N, N) buffers reused by every iteration: CPU libtorch has no caching allocator, and fresh
        // N^2 tensors each step cost more in page faults than the arithmetic does.
        var num = empty(n, n, ScalarType.Float32);
        var w = empty(n, n, ScalarType.Float32);
        for (int it = 0; it < options.Iterations; it++)
        {
            using var step = NewDisposeScope();
            double z = StudentT(y, num);
            // w = (P - Q) * num with Q = num / z; dC/dy_i = 4 sum_j w_ij (y_i - y_j)
            w.copy_(num).mul_(-1.0 / z).add_(it < options.ExaggerationIterations ? pEarly : p).mul_(num);
            var grad = w.sum(1, keepdim: true).mul(y).sub_(w.matmul(y)).mul_(4);
            // Delta-bar-delta gains (Jacobs 1988, as in the reference implementation): grow while the
            // step keeps going downhill (update and gradient of opposite sign), shrink otherwise.
            var downhill = grad.mul(update).lt(0);
            gains.copy_(torch.where(downhill, gains.add(0.2), gains.mul(0.8)).clamp_min_(0.01));
            update.mul_(it < options.ExaggerationIterations ? options.InitialMomentum : options.FinalMomentum).sub_(gains.mul(grad).mul_(lr));
            y.add_(update);
            y.sub_(y.mean([0L], keepdim: true));
        }
        double zFinal = StudentT(y, num);
        var mask = p.gt(1e-12);
        var pm = p.masked_select(mask).to(ScalarType.Float64);
        var qm = num.masked_select(mask).to(ScalarType.Float64).div(zFinal).clamp_min(1e-300);
        double kl = pm.mul(pm.div(qm).log()).sum().item<double>();
        return (y.to(ScalarType.Float64).MoveToOuterDisposeScope(), kl);
    }

    /// <summary>Writes the Student-t kernel (1 + |yi - yj|^2)^-1 with a zero diagonal into <paramref name="num"/> (N, N); returns its sum.</summary>
    private static double StudentT(Tensor y, Tensor num)
    {
        using var scope = NewDisposeScope();
        var s = y.pow(2).sum(1, keepdim: true);
        num.copy_(s).add_(s.t()).addmm_(y, y.t(), beta: 1, alpha: -2).clamp_min_(0).add_(1).reciprocal_();
        num.diagonal().zero_();
        return num.sum(ScalarType.Float64).item<double>();
    }

    /// <summary>PCA map of <paramref name="features"/> (N, D); the note gives the variance the two axes explain.</summary>
    public static EmbeddingMap PcaMap(Tensor features, int[]? labels, IReadOnlyList<string> classNames)
    {
        using var pca = Pca(features, (int)Math.Min(2, Math.Min(features.shape[0], features.shape[1])));
        var (xs, ys) = Columns(pca.Scores);
        var r = pca.ExplainedVarianceRatio;
        string note = string.Create(CultureInfo.InvariantCulture, $"PCA: the two axes explain {100 * r[0]:F1} % and {(r.Length > 1 ? 100 * r[1] : 0):F1} % of the variance");
        return new EmbeddingMap("PCA", xs, ys, labels, classNames, note);
    }

    /// <summary>t-SNE map of <paramref name="features"/> (N, D).</summary>
    public static EmbeddingMap TsneMap(Tensor features, int[]? labels, IReadOnlyList<string> classNames, TsneOptions? options = null)
    {
        options ??= new TsneOptions();
        var (map, kl) = Tsne(features, options);
        using (map)
        {
            var (xs, ys) = Columns(map);
            double perplexity = Math.Min(options.Perplexity, (features.shape[0] - 1) / 3.0);
            string note = string.Create(CultureInfo.InvariantCulture, $"t-SNE: perplexity {perplexity:G3}, {options.Iterations} iterations, KL divergence {kl:F3}");
            return new EmbeddingMap("t-SNE", xs, ys, labels, classNames, note);
        }
    }

    private static (double[] X, double[] Y) Columns(Tensor coords)
    {
        var flat = coords.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        long n = coords.shape[0];
        int k = (int)coords.shape[1];
        var xs = new double[n];
        var ys = new double[n];
        for (long i = 0; i < n; i++)
        {
            xs[i] = flat[i * k];
            ys[i] = k > 1 ? flat[i * k + 1] : 0;
        }
        return (xs, ys);
    }
}
