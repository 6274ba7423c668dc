using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Heads;

/// <summary>
/// SwAV projection head: Linear - BN - ReLU - Linear to a 128-d embedding that the method L2-normalises
/// (Caron et al. 2020, implementation details: a 2-layer MLP projection head, hidden 2048, output 128).
/// Input (B, In); output (B, Out).
/// </summary>
public sealed class SwavProjectionHead : MlpHead
{
    public SwavProjectionHead(int inDim, int hiddenDim = 2048, int outDim = 128)
        : base(inDim, [hiddenDim], outDim, batchNormLast: false, name: nameof(SwavProjectionHead)) { }
}

/// <summary>
/// SwAV prototypes C: a linear layer without bias whose K weight rows are the prototype vectors, kept on
/// the unit sphere by <see cref="PrototypeNormalization"/> (the method calls <see cref="Normalize"/> before
/// every step). Scores of unit-norm embeddings are then cosine similarities. Checkpoint key: <c>weight</c> (K, D).
/// </summary>
public sealed class SwavPrototypes : nn.Module
{
    private readonly Parameter weight;

    /// <param name="dim">Embedding width D.</param>
    /// <param name="count">Number of prototypes K.</param>
    public SwavPrototypes(int dim, int count) : base(nameof(SwavPrototypes))
    {
        if (dim <= 0 || count <= 0) throw new ArgumentException($"Prototypes need a positive width and count, got {dim} and {count}.");
        var w = empty(count, dim);
        // nn.Linear's default initialisation, then onto the sphere.
        nn.init.kaiming_uniform_(w, a: Math.Sqrt(5));
        weight = new Parameter(w);
        RegisterComponents();
        Normalize();
    }

    /// <summary>The (K, D) prototype matrix.</summary>
    public Parameter Weight => weight;
    public long Count => weight.shape[0];

    /// <summary>Renormalises every prototype to unit length, in place.</summary>
    public void Normalize() => PrototypeNormalization.NormalizeRowsInPlace(weight);

    /// <summary>(B, K) scores z C^T of embeddings <paramref name="z"/> (B, D). With <paramref name="learn"/> false
    /// the prototypes get no gradient (SwAV freezes them at the start of training).</summary>
    public Tensor Scores(Tensor z, bool learn = true) => z.matmul((learn ? (Tensor)weight : weight.detach()).t());
}
