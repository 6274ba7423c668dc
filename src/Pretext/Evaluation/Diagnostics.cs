using Pretext.Compute;
using System.Globalization;
using System.Text.Json.Serialization;
using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>One set of diagnostic readings of a batch of embeddings.</summary>
/// <param name="CollapseStd">Normalised std of L2-normalised embeddings (see <see cref="CollapseMonitor"/>): about 1 when spread, 0 when collapsed.</param>
/// <param name="RankMe">Effective rank (<see cref="Diagnostics.RankMe"/>), between 1 and <see cref="MaxRank"/>.</param>
/// <param name="Alignment">Mean squared distance between the two views' normalised embeddings (0 = identical, 4 = opposite); NaN without a second view.</param>
/// <param name="Uniformity">Log of the mean Gaussian potential between normalised embeddings (0 = one point; lower is more uniform).</param>
/// <param name="Dim">Embedding width D.</param>
/// <param name="Count">Number of embeddings B the readings come from.</param>
public sealed record DiagnosticReadings(double CollapseStd, [property: JsonPropertyName("rankme")] double RankMe, double Alignment, double Uniformity, int Dim, int Count)
{
    /// <summary>The largest rank a (B, D) matrix can have: min(B, D).</summary>
    public int MaxRank => Math.Min(Dim, Count);
}

/// <summary>
/// Representation diagnostics that need no labels: collapse (std of normalised embeddings), effective
/// rank (RankMe) and the alignment/uniformity pair. All take (B, D) embeddings of any float dtype and
/// compute in fp64 under no_grad.
/// </summary>
public static class Diagnostics
{
    /// <summary>RankMe's epsilon added to each normalised singular value (Garrido et al. 2023, eq. 1).</summary>
    public const double RankMeEpsilon = 1e-7;

    /// <summary>
    /// RankMe (Garrido et al. 2023, "RankMe: assessing the downstream performance of pretrained
    /// self-supervised representations by their rank", eq. 1): exp of the entropy of the singular values
    /// of <paramref name="embeddings"/> (B, D) normalised to sum to one, p_k = s_k / sum(s) + 1e-7. It is 1
    /// for a rank-one (collapsed) matrix and min(B, D) when all singular values are equal. The embeddings
    /// are used as they are (not centred, not normalised), as in the paper.
    /// </summary>
    /// <exception cref="ArgumentException">Not a 2-D tensor with at least one row and column.</exception>
    public static double RankMe(Tensor embeddings)
    {
        CheckMatrix(embeddings, nameof(embeddings));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var s = linalg.svdvals(embeddings.detach().to(ScalarType.Float64));
        var total = s.sum();
        if (total.item<double>() <= 0) return 1.0; // an all-zero matrix: no direction at all, as collapsed as it gets
        var p = s.div(total).add_(RankMeEpsilon);
        return Math.Exp(-p.mul(p.log()).sum().item<double>());
    }

    /// <summary>
    /// Alignment (Wang and Isola 2020, "Understanding contrastive representation learning through
    /// alignment and uniformity on the hypersphere", section 4.1): E ||f(x) - f(y)||^alpha over positive pairs,
    /// with f L2-normalised and alpha = 2 as in the paper. <paramref name="view1"/> and <paramref name="view2"/>
    /// are (B, D) embeddings of two views of the same B samples, row by row. 0 when the views agree exactly.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes differ or are not (B, D).</exception>
    public static double Alignment(Tensor view1, Tensor view2, double alpha = 2)
    {
        CheckMatrix(view1, nameof(view1));
        if (!view1.shape.SequenceEqual(view2.shape))
            throw new ArgumentException($"Alignment needs two views of equal shape, got [{string.Join(",", view1.shape)}] and [{string.Join(",", view2.shape)}].");
        if (!(alpha > 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be positive.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var a = Normalized(view1);
        var b = Normalized(view2);
        return a.sub(b).norm(1).pow(alpha).mean().item<double>();
    }

    /// <summary>
    /// Uniformity (Wang and Isola 2020, section 4.1): log E exp(-t ||f(x) - f(y)||^2) over distinct pairs of
    /// samples, f L2-normalised, t = 2 as in the paper. 0 when every embedding is the same point; about -4
    /// (= -2t) for embeddings spread uniformly over a high-dimensional sphere. Lower is more uniform.
    /// </summary>
    /// <exception cref="ArgumentException">Not (B, D) with B at least 2.</exception>
    public static double Uniformity(Tensor embeddings, double t = 2)
    {
        CheckMatrix(embeddings, nameof(embeddings));
        if (embeddings.shape[0] < 2) throw new ArgumentException("Uniformity needs at least 2 embeddings.", nameof(embeddings));
        if (!(t > 0)) throw new ArgumentOutOfRangeException(nameof(t), t, "t must be positive.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var z = Normalized(embeddings);
        long n = z.shape[0];
        // ||a - b||^2 = 2 - 2 a.b for unit vectors; clamp the rounding below zero away.
        var sq = z.matmul(z.t()).mul_(-2).add_(2).clamp_min_(0);
        using var upper = ones(n, n, ScalarType.Bool).triu_(1);
        var pairs = sq.masked_select(upper).mul_(-t);
        return pairs.logsumexp(0).item<double>() - Math.Log(pairs.shape[0]);
    }

    /// <summary>All readings of one batch: <paramref name="view1"/> (B, D) and, when the method has two views, <paramref name="view2"/> (B, D) of the same samples.</summary>
    public static DiagnosticReadings Measure(Tensor view1, Tensor? view2 = null)
    {
        CheckMatrix(view1, nameof(view1));
        return new DiagnosticReadings(
            CollapseMonitor.NormalizedStd(view1),
            RankMe(view1),
            view2 is null ? double.NaN : Alignment(view1, view2),
            view1.shape[0] >= 2 ? Uniformity(view1) : double.NaN,
            (int)view1.shape[1], (int)view1.shape[0]);
    }

    /// <summary>
    /// Readings of a frozen encoder on evaluation data. Collapse, rank and uniformity come from
    /// <paramref name="features"/> (N, D), the encoder's features of the samples <paramref name="indices"/>
    /// of <paramref name="data"/>; alignment needs two views of each sample, so those samples are augmented
    /// by <paramref name="views"/> (the method's own view generator, seeded by <paramref name="seed"/>) and
    /// encoded again, in eval mode. Alignment is NaN when <paramref name="views"/> is null or makes one view.
    /// </summary>
    /// <exception cref="ArgumentException">Feature rows differ from the number of indices.</exception>
    public static DiagnosticReadings MeasureEncoder(Encoder encoder, IDataset data, long[] indices, Tensor features, IViewGenerator? views, int seed, int batchSize = 256)
    {
        if (features.dim() != 2 || features.shape[0] != indices.Length)
            throw new ArgumentException($"Expected ({indices.Length}, D) features for {indices.Length} samples, got [{string.Join(",", features.shape)}].", nameof(features));
        double alignment = double.NaN;
        if (views is not null && views.ViewCount >= 2)
        {
            using var mode = ModeScope.Eval(encoder);
            using var noGrad = no_grad();
            using var g = new Generator((ulong)seed);
            double sum = 0;
            for (int start = 0; start < indices.Length; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = indices.AsSpan(start, Math.Min(batchSize, indices.Length - start));
                var v = views.MakeViews(data.Gather(batch), g);
                // Alignment is a mean over samples: weight each batch by its size.
                sum += Alignment(encoder.forward(v[0]), encoder.forward(v[1])) * batch.Length;
            }
            alignment = sum / indices.Length;
        }
        var r = Measure(features);
        return r with { Alignment = alignment };
    }

    private static Tensor Normalized(Tensor z) => nn.functional.normalize(z.detach().to(ScalarType.Float64), dim: 1);

    private static void CheckMatrix(Tensor z, string name)
    {
        if (z.dim() != 2 || z.shape[0] < 1 || z.shape[1] < 1)
            throw new ArgumentException($"Expected embeddings of shape (B, D), got [{string.Join(",", z.shape)}].", name);
    }
}

/// <summary>
/// When a run counts as collapsed. Two failure modes (Jing et al. 2022 name the second "dimensional
/// collapse"): every input mapped to (nearly) the same point, or embeddings squeezed into a handful of
/// directions. The defaults sit far from what healthy runs read, so a flag means a broken run, not a
/// slow start (readings measured on the tiny test runs and the quickstart preset, docs/diagnostics.md).
/// </summary>
public sealed record CollapseCriteria
{
    /// <summary>
    /// Complete collapse below this normalised std. Spread embeddings read about 1 (per-dimension std
    /// 1/sqrt(D)); 0.05 means a per-dimension std twenty times smaller than that.
    /// </summary>
    public double MinCollapseStd { get; init; } = 0.05;

    /// <summary>Dimensional collapse below this fraction of min(B, D) effective dimensions...</summary>
    public double MinRankFraction { get; init; } = 0.02;

    /// <summary>... or below this many, whichever is larger (a rank-one matrix reads 1).</summary>
    public double MinRank { get; init; } = 1.5;

    /// <summary>Consecutive collapsed readings before a run is declared collapsed (one bad batch is not a collapse).</summary>
    public int Patience { get; init; } = 2;

    /// <summary>The RankMe threshold for readings of width <paramref name="maxRank"/> = min(B, D).</summary>
    public double RankThreshold(int maxRank) => Math.Max(MinRank, MinRankFraction * maxRank);

    /// <summary>Why <paramref name="r"/> looks collapsed, or null when it does not.</summary>
    public string? Reason(DiagnosticReadings r)
    {
        var c = CultureInfo.InvariantCulture;
        if (r.CollapseStd < MinCollapseStd)
            return string.Format(c, "embeddings collapsed to a point: normalised std {0:G3}, below {1:G3} (spread embeddings read about 1)", r.CollapseStd, MinCollapseStd);
        double rank = RankThreshold(r.MaxRank);
        if (r.RankMe < rank)
            return string.Format(c, "dimensional collapse: effective rank (RankMe) {0:F2}, below {1:G3} of at most {2}", r.RankMe, rank, r.MaxRank);
        return null;
    }
}

/// <summary>Whether a run collapsed, why, and since which step.</summary>
/// <param name="Collapsed">True when the last <see cref="CollapseCriteria.Patience"/> readings all looked collapsed.</param>
/// <param name="Reason">The last reading's reason (null when healthy).</param>
/// <param name="Step">First step of the collapsed stretch that lasted to the end (null when healthy).</param>
/// <param name="Readings">The last readings seen (null when none were taken).</param>
/// <param name="ReadingStep">Step of <paramref name="Readings"/>.</param>
public sealed record CollapseVerdict(bool Collapsed, string? Reason, long? Step, DiagnosticReadings? Readings, long ReadingStep)
{
    /// <summary>One line for consoles and reports; null when healthy.</summary>
    public string? Warning => Collapsed
        ? string.Create(CultureInfo.InvariantCulture,
            $"Warning: this run collapsed at step {Step}: {Reason} (measured on the {Readings?.Count} x {Readings?.Dim} embeddings the loss sees). They no longer tell samples apart, so what training learns from there on is not to be trusted; lower the learning rate or weight decay, check the augmentations, or restart from a checkpoint before step {Step}.")
        : null;
}

/// <summary>
/// Follows diagnostic readings during training and says when a run has collapsed: after
/// <see cref="CollapseCriteria.Patience"/> consecutive collapsed readings. A later healthy reading clears it.
/// </summary>
public sealed class CollapseWatch(CollapseCriteria? criteria = null)
{
    private long? streakStart;
    private int streak;
    private string? reason;
    private DiagnosticReadings? last;
    private long lastStep;

    public CollapseCriteria Criteria { get; } = criteria ?? new CollapseCriteria();

    /// <summary>Takes the readings of step <paramref name="step"/>; returns true exactly when this reading turns the run into a collapsed one.</summary>
    public bool Observe(long step, DiagnosticReadings readings)
    {
        bool wasCollapsed = streak >= Criteria.Patience;
        last = readings; lastStep = step;
        var why = Criteria.Reason(readings);
        Recovered = false;
        if (why is null)
        {
            Recovered = wasCollapsed;
            streak = 0; streakStart = null; reason = null;
            return false;
        }
        if (streak == 0) streakStart = step;
        streak++;
        reason = why;
        return !wasCollapsed && streak >= Criteria.Patience;
    }

    /// <summary>
    /// True right after a healthy reading ended a collapsed stretch: the embeddings spread out again (word2vec's
    /// document means, for one, bunch up for a few hundred steps while the frequent words' vectors grow first).
    /// </summary>
    public bool Recovered { get; private set; }

    /// <summary>The verdict from the readings seen so far.</summary>
    public CollapseVerdict Verdict => streak >= Criteria.Patience
        ? new CollapseVerdict(true, reason, streakStart, last, lastStep)
        : new CollapseVerdict(false, null, null, last, lastStep);
}

/// <summary>
/// What a run's console hears from its <see cref="CollapseWatch"/>. Readings up to <paramref name="quietThrough"/> (the learning-rate
/// warm-up) are judged as any other, but a collapse seen there is only announced if it is still there at the first reading after
/// it: while the learning rate ramps up from near zero, embeddings can bunch up for a few dozen steps and spread out again (the
/// video preset's runs did, collapsing at step 20 and recovering by step 50-70 of a 62-step warm-up), and a warning followed by
/// "Recovered" on every run teaches users to ignore the warning. The verdict itself (diagnostics.json, the report) is unchanged.
/// </summary>
/// <param name="watch">The watch every reading goes through.</param>
/// <param name="quietThrough">Last step whose collapse is held back (0: none).</param>
public sealed class CollapseAnnouncer(CollapseWatch watch, long quietThrough)
{
    private bool held;

    public CollapseWatch Watch { get; } = watch;

    /// <summary>Takes the readings of step <paramref name="step"/>; returns the message to show now, or null.</summary>
    public string? Observe(long step, DiagnosticReadings readings)
    {
        bool quiet = step <= quietThrough;
        if (Watch.Observe(step, readings))
        {
            if (!quiet) return Watch.Verdict.Warning;
            held = true;
            return null;
        }
        if (Watch.Recovered)
        {
            if (held) { held = false; return null; }
            return string.Create(CultureInfo.InvariantCulture,
                $"Recovered: at step {step} the embeddings are spread out again (normalised std {readings.CollapseStd:F2}, RankMe {readings.RankMe:F1}); the collapse warning above no longer holds.");
        }
        if (held && !quiet)
        {
            // Still collapsed after the warm-up: said now, with the step the collapse began.
            held = false;
            return Watch.Verdict.Warning;
        }
        return null;
    }
}
