using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Heads;

/// <summary>
/// COLA's projection head g and bilinear weight W (Saeed et al. 2021, section 2: "a fully-connected layer followed by layer
/// normalization and tanh", then s(x, x') = g(x)^T W g(x')). Input (N, D); output (N, P). W starts Glorot-uniform, as a Keras
/// layer's kernel does, which keeps the first similarities of order 1-10 rather than of order P.
/// </summary>
public sealed class ColaHead : Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm norm;
    private readonly Parameter bilinear;

    public ColaHead(int inputDim, int projectionDim) : base(nameof(ColaHead))
    {
        if (inputDim < 1 || projectionDim < 1) throw new ArgumentException($"COLA's head needs positive widths, got {inputDim} and {projectionDim}.");
        dense = Linear(inputDim, projectionDim);
        norm = LayerNorm(projectionDim);
        bilinear = new Parameter(empty(projectionDim, projectionDim));
        RegisterComponents();
        using var noGrad = no_grad();
        init.xavier_uniform_(bilinear);
    }

    /// <summary>The (P, P) bilinear similarity weight.</summary>
    public Parameter Bilinear => bilinear;

    public override Tensor forward(Tensor x) => norm.forward(dense.forward(x)).tanh();
}

/// <summary>
/// Predicts each token's log-mel frames from its encoding in masked spectrogram modelling: a dense layer, GELU and layer norm, then
/// a linear decoder to framesPerToken x mels values (the shape of BERT's prediction head, as Mockingjay's is). Input (B, N, D);
/// output (B, N, framesPerToken x mels).
/// </summary>
public sealed class FramePredictionHead : Module<Tensor, Tensor>
{
    private readonly Linear dense, decoder;
    private readonly LayerNorm norm;

    public FramePredictionHead(int dim, int values) : base(nameof(FramePredictionHead))
    {
        if (dim < 1 || values < 1) throw new ArgumentException($"The frame prediction head needs positive widths, got {dim} and {values}.");
        dense = Linear(dim, dim);
        norm = LayerNorm(dim);
        decoder = Linear(dim, values);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return decoder.forward(norm.forward(functional.gelu(dense.forward(x)))).MoveToOuterDisposeScope();
    }
}
