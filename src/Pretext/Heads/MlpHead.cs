using Pretext.Encoders;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Heads;

/// <summary>
/// Generic MLP head: (Linear -> BatchNorm1d -> ReLU) for each hidden layer, then a final Linear
/// (optionally followed by a BatchNorm1d without affine, as some methods want). Input (B, In);
/// output (B, Out). Projection and prediction heads of every method are instances of this.
/// With <c>hiddenBatchNorm: false</c> the hidden layers are Linear (with bias) -> ReLU, as in MoCo v2's head.
/// </summary>
public class MlpHead : Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    public MlpHead(int inDim, IReadOnlyList<int> hiddenDims, int outDim, bool batchNormLast = false, string name = nameof(MlpHead), bool hiddenBatchNorm = true)
        : base(name)
    {
        if (inDim <= 0 || outDim <= 0 || hiddenDims.Any(h => h <= 0))
            throw new ArgumentException($"Head dimensions must be positive (in {inDim}, hidden [{string.Join(",", hiddenDims)}], out {outDim}).");
        var list = new List<(string, Module<Tensor, Tensor>)>();
        int d = inDim;
        for (int i = 0; i < hiddenDims.Count; i++)
        {
            list.Add(($"fc{i}", new MixedLinear(d, hiddenDims[i], hasBias: !hiddenBatchNorm)));
            if (hiddenBatchNorm) list.Add(($"bn{i}", BatchNorm1d(hiddenDims[i])));
            list.Add(($"act{i}", ReLU()));
            d = hiddenDims[i];
        }
        list.Add(("out", new MixedLinear(d, outDim, hasBias: !batchNormLast)));
        if (batchNormLast) list.Add(("bn_out", BatchNorm1d(outDim, affine: false)));
        layers = Sequential(list);
        InDim = inDim; OutDim = outDim;
        RegisterComponents();
    }

    public int InDim { get; }
    public int OutDim { get; }
    public override Tensor forward(Tensor x) => layers.forward(x);
}

/// <summary>
/// SimCLR projection head g(.): "a MLP with one hidden layer to obtain z = W2 ReLU(W1 h)"
/// (Chen et al. 2020, section 2.1), here with batch norm after the hidden layer as in SimCLR v2 and
/// lightly. Defaults: hidden width = encoder width, output 128 (section B.4 uses 128-d z).
/// </summary>
public sealed class SimClrProjectionHead : MlpHead
{
    public SimClrProjectionHead(int inDim, int hiddenDim, int outDim = 128)
        : base(inDim, [hiddenDim], outDim, batchNormLast: false, name: nameof(SimClrProjectionHead)) { }
}
