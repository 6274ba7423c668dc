using Pretext.Encoders;
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
/// Batch norm after the hidden layers is optional, as in DINO's code. Input (B, In); output (B, K) logits.
/// Defaults: hidden 2048 and bottleneck 256 as in the paper; K = 4096 (paper 65536 for ImageNet;
/// solo-learn uses 4096 for CIFAR-size data, which costs a 16th of the last layer here).
/// </summary>
public sealed class DinoHead : nn.Module
{
    private readonly Sequential mlp;
    private readonly Parameter last;

    /// <param name="batchNorm">Batch norm after the two hidden linear layers (DINO's "use_bn_in_head" option).</param>
    public DinoHead(int inDim, int hiddenDim = 2048, int bottleneckDim = 256, int outDim = 4096, bool batchNorm = false) : base(nameof(DinoHead))
    {
        if (inDim <= 0 || hiddenDim <= 0 || bottleneckDim <= 0 || outDim <= 0)
            throw new ArgumentException($"DINO head dimensions must be positive (in {inDim}, hidden {hiddenDim}, bottleneck {bottleneckDim}, out {outDim}).");
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        int d = inDim;
        for (int i = 0; i < 2; i++)
        {
            layers.Add(($"fc{i}", Linear(d, hiddenDim)));
            if (batchNorm) layers.Add(($"bn{i}", BatchNorm1d(hiddenDim)));
            layers.Add(($"act{i}", GELU()));
            d = hiddenDim;
        }
        layers.Add(("fc2", Linear(hiddenDim, bottleneckDim)));
        mlp = Sequential(layers);
        var v = empty(outDim, bottleneckDim);
        nn.init.kaiming_uniform_(v, a: Math.Sqrt(5));
        last = new Parameter(v);
        RegisterComponents();
        // The reference initialises the MLP with a truncated normal of std 0.02 and zero biases (not TorchSharp's
        // trunc_normal_, which fills a constant: every hidden unit would stay identical).
        using (no_grad())
            foreach (var (name, p) in mlp.named_parameters().Where(p => p.name.StartsWith("fc", StringComparison.Ordinal)))
                if (name.EndsWith("weight", StringComparison.Ordinal)) Initialization.TruncatedNormal(p, 0.02);
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
