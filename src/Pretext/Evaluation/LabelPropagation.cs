using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Settings of <see cref="LabelPropagation"/>.</summary>
public sealed record PropagationOptions
{
    /// <summary>Neighbours per sample in the affinity graph (Iscen et al. 2019 use 50 on CIFAR; 20 is enough at 50k samples).</summary>
    public int Neighbours { get; init; } = 20;
    /// <summary>Affinity of neighbours i, j: max(0, cos(i, j))^Gamma, which sharpens the graph towards the closest neighbours (Iscen et al.: 3).</summary>
    public double Gamma { get; init; } = 3;
    /// <summary>
    /// Weight of what the neighbours say against the sample's own label in Zhou et al. (2004)'s iteration
    /// F ← α S F + (1 − α) Y; close to 1 lets labels travel far along the graph.
    /// </summary>
    public double Alpha { get; init; } = 0.99;
    /// <summary>Iterations of the fixed-point update (the residual shrinks by α each time, so 0.99 wants hundreds; each costs N·k·C).</summary>
    public int Iterations { get; init; } = 200;
}

/// <summary>
/// A symmetric k-nearest-neighbour affinity graph over feature vectors, stored as each node's k out-neighbours and their
/// weights; the symmetric matrix W = A + Aᵀ is applied without being formed (a gather for A, a scatter for Aᵀ).
/// </summary>
public sealed class AffinityGraph : IDisposable
{
    private readonly Tensor neighbours;   // (N, k) int64
    private readonly Tensor weights;      // (N, k) fp32
    private readonly Tensor invSqrtDegree; // (N, 1) fp32: D^-1/2 of W

    private AffinityGraph(Tensor neighbours, Tensor weights)
    {
        this.neighbours = neighbours;
        this.weights = weights;
        using var scope = NewDisposeScope();
        using var ones = torch.ones(Nodes, 1);
        var degree = Multiply(ones);
        invSqrtDegree = degree.clamp_min(1e-12).rsqrt().DetachFromDisposeScope();
    }

    public long Nodes => neighbours.shape[0];
    public int K => (int)neighbours.shape[1];

    /// <summary>Builds the graph of <paramref name="features"/> (N, D): cosine similarity, each sample's k nearest others.</summary>
    public static AffinityGraph Build(Tensor features, int k, double gamma, int chunk = 1024)
    {
        if (features.dim() != 2) throw new ArgumentException($"Features must be (N, D); got ({string.Join(", ", features.shape)}).");
        long n = features.shape[0];
        if (n < 2) throw new ArgumentException($"A neighbour graph needs at least 2 samples; got {n}.");
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, "The number of neighbours must be positive.");
        int kk = (int)Math.Min(k, n - 1);
        var idx = empty(n, kk, dtype: ScalarType.Int64);
        var w = empty(n, kk);
        using (var outer = NewDisposeScope())
        {
            var x = nn.functional.normalize(features.to(ScalarType.Float32), dim: 1);
            for (long start = 0; start < n; start += chunk)
            {
                long m = Math.Min(chunk, n - start);
                using var scope = NewDisposeScope();
                var sim = x.narrow(0, start, m).matmul(x.t());
                // A sample is not its own neighbour.
                using (var rows = arange(m, dtype: ScalarType.Int64)) sim[rows, rows + start] = tensor(float.NegativeInfinity);
                var (top, at) = sim.topk(kk, dim: 1);
                idx.narrow(0, start, m).copy_(at);
                w.narrow(0, start, m).copy_(top.clamp_min(0).pow(gamma));
            }
        }
        return new AffinityGraph(idx, w);
    }

    /// <summary>W F for F (N, C), W the symmetric affinity matrix (A + Aᵀ).</summary>
    public Tensor Multiply(Tensor f)
    {
        long n = Nodes, c = f.shape[1];
        using var scope = NewDisposeScope();
        var wk = weights.unsqueeze(2);                                        // (N, k, 1)
        var gathered = f.index_select(0, neighbours.flatten()).view(n, K, c); // F of each out-neighbour
        var fromOut = gathered.mul(wk).sum(1);                                // A F
        var spread = f.unsqueeze(1).expand(n, K, c).mul(wk).reshape(n * K, c);
        var result = fromOut.index_add_(0, neighbours.flatten(), spread, 1);    // + Aᵀ F
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>S F with S = D^-1/2 W D^-1/2, the normalised affinity of Zhou et al.</summary>
    public Tensor NormalizedMultiply(Tensor f)
    {
        using var scope = NewDisposeScope();
        return Multiply(f.mul(invSqrtDegree)).mul_(invSqrtDegree).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        neighbours.Dispose();
        weights.Dispose();
        invSqrtDegree.Dispose();
    }
}

/// <summary>
/// Graph-based transduction of a few labels to every unlabelled sample (Zhou et al. 2004, "Learning with Local and
/// Global Consistency"; in embedding space as Iscen et al. 2019, "Label Propagation for Deep Semi-supervised Learning"):
/// labels spread along the k-nearest-neighbour graph of the frozen features until each sample's class distribution
/// agrees with its neighbours'. The result is a pseudo-label and a confidence for every node, from which a classifier
/// for unseen samples is trained or looked up (see <see cref="PseudoLabels"/>).
/// </summary>
public static class LabelPropagation
{
    /// <summary>
    /// Class scores (N, C), rows normalised to sum 1, for every node of <paramref name="graph"/> after propagating the labels
    /// <paramref name="labels"/> of nodes <paramref name="labelled"/>. Nodes the labels never reach get uniform rows.
    /// </summary>
    public static Tensor Propagate(AffinityGraph graph, long[] labelled, int[] labels, int classes, PropagationOptions options)
    {
        if (labelled.Length != labels.Length) throw new ArgumentException($"{labelled.Length} labelled nodes but {labels.Length} labels.");
        if (labelled.Length == 0) throw new ArgumentException("Label propagation needs at least one labelled node.");
        if (!(options.Alpha is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(options), options.Alpha, "Alpha must lie in (0, 1).");
        foreach (var (node, label) in labelled.Zip(labels))
        {
            if (node < 0 || node >= graph.Nodes) throw new ArgumentOutOfRangeException(nameof(labelled), node, $"Node outside the graph's {graph.Nodes}.");
            if (label < 0 || label >= classes) throw new ArgumentOutOfRangeException(nameof(labels), label, $"Label outside 0..{classes - 1}.");
        }
        using var scope = NewDisposeScope();
        // Each class's seeds carry equal total mass, so a class with more labels does not flood the graph (Iscen et al.).
        var y = zeros(graph.Nodes, classes);
        var perClass = new int[classes];
        foreach (var l in labels) perClass[l]++;
        var rows = tensor(labelled);
        var cols = tensor(labels.Select(l => (long)l).ToArray());
        var mass = tensor(labels.Select(l => 1f / perClass[l]).ToArray());
        y.index_put_(mass, rows, cols);
        var f = y.clone();
        var a = options.Alpha;
        for (int i = 0; i < options.Iterations; i++)
        {
            using var step = NewDisposeScope();
            var next = graph.NormalizedMultiply(f).mul_(a).add_(y, alpha: 1 - a);
            f.copy_(next);
        }
        f.clamp_min_(0);
        var total = f.sum(1, keepdim: true);
        var uniform = full_like(f, 1.0 / classes);
        return where(total > 0, f.div(total.clamp_min(1e-30)), uniform).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Hard pseudo-labels and their confidence (1 − entropy / log C, in [0, 1]) from propagated class scores; the
    /// labelled nodes keep their own labels at confidence 1.
    /// </summary>
    public static (int[] Labels, float[] Confidence) PseudoLabels(Tensor scores, long[] labelled, int[] labels)
    {
        long c = scores.shape[1];
        using var scope = NewDisposeScope();
        var p = scores.clamp_min(1e-12);
        var entropy = p.mul(p.log()).sum(1).neg();
        var confidence = (1 - entropy / Math.Log(c)).clamp(0, 1).data<float>().ToArray();
        var pseudo = Features.Classes(scores);
        foreach (var (node, label) in labelled.Zip(labels))
        {
            pseudo[node] = label;
            confidence[node] = 1f;
        }
        return (pseudo, confidence);
    }
}
