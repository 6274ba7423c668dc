using Pretext.Methods.Shared;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Heads;

/// <summary>
/// DINO projection head (Caron et al. 2021, section 3.1 and appendix): a 3-layer MLP with GELU
/// (Linear - GELU - Linear - GELU - Linear to a bottleneck), L2 normalisation of the bottleneck, then a
/// weight-normalised linear layer without bias to K output dimensions, whose weight-norm gain is fixed at 1
/// ("norm_last_layer"), so its rows are unit prototypes (<see cref="PrototypeNormalization.NormalizedRows"/>).
/// No batch norm, as in DINO's default head. Input (B, In); output (B, K) logits.
/// Defaults: hidden 2048 and bottleneck 256 as in the paper; K = 4096 (paper 65536 for ImageNet;
/// solo-learn uses 4096 for CIFAR-size data, which costs a 16th of the last layer here).
/// </summary>
public sealed class DinoHead : nn.Module
{
    private readonly Sequential mlp;
    private readonly Parameter last;

    public DinoHead(int inDim, int hiddenDim = 2048, int bottleneckDim = 256, int outDim = 4096) : base(nameof(DinoHead))
    {
        if (inDim <= 0 || hiddenDim <= 0 || bottleneckDim <= 0 || outDim <= 0)
            throw new ArgumentException($"DINO head dimensions must be positive (in {inDim}, hidden {hiddenDim}, bottleneck {bottleneckDim}, out {outDim}).");
        mlp = Sequential(
            ("fc0", Linear(inDim, hiddenDim)), ("act0", GELU()),
            ("fc1", Linear(hiddenDim, hiddenDim)), ("act1", GELU()),
            ("fc2", Linear(hiddenDim, bottleneckDim)));
        var v = empty(outDim, bottleneckDim);
        nn.init.kaiming_uniform_(v, a: Math.Sqrt(5));
        last = new Parameter(v);
        RegisterComponents();
        // The reference initialises the MLP with a truncated normal of std 0.02 and zero biases.
        using (no_grad())
            foreach (var (name, p) in mlp.named_parameters())
                if (name.EndsWith("weight", StringComparison.Ordinal)) init.trunc_normal_(p, std: 0.02);
                else p.zero_();
        InDim = inDim; OutDim = outDim; BottleneckDim = bottleneckDim;
    }

    public int InDim { get; }
    public int OutDim { get; }
    public int BottleneckDim { get; }

    /// <summary>(B, K) logits of features <paramref name="x"/> (B, In). With <paramref name="trainLastLayer"/> false the
    /// last layer gets no gradient (DINO freezes it during the first part of training).</summary>
    public Tensor forward(Tensor x, bool trainLastLayer = true)
    {
        using var scope = NewDisposeScope();
        var h = functional.normalize(mlp.forward(x), p: 2, dim: 1);
        var w = PrototypeNormalization.NormalizedRows(trainLastLayer ? last : last.detach());
        return h.matmul(w.t()).MoveToOuterDisposeScope();
    }
}
