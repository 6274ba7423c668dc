using Pretext.Encoders;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Heads;

/// <summary>
/// Predicts a whole encoded row from features (B, D): a standardised number per numeric column and logits over each categorical column's
/// codes (unknown bucket included). A hidden Linear-ReLU layer of width D first when <c>hidden</c> (the denoising autoencoder's decoder);
/// without it one linear map (VIME's feature estimator on top of the encoder).
/// </summary>
public sealed class TableReconstructionHead : Module<Tensor, (Tensor Numeric, Tensor[] Categorical)>
{
    private readonly Sequential? hidden;
    private readonly Linear output;
    private readonly int numeric;
    private readonly int[] cardinalities;

    public TableReconstructionHead(int featureDim, TableEncoderConfig table, bool hidden) : base(nameof(TableReconstructionHead))
    {
        numeric = table.Numeric;
        cardinalities = table.Cardinalities;
        if (hidden) this.hidden = Sequential(("fc", Linear(featureDim, featureDim)), ("act", ReLU()));
        output = Linear(featureDim, numeric + cardinalities.Sum());
        RegisterComponents();
    }

    public override (Tensor Numeric, Tensor[] Categorical) forward(Tensor features)
    {
        var h = hidden is null ? features : hidden.forward(features);
        var y = output.forward(h);
        var cats = new Tensor[cardinalities.Length];
        long offset = numeric;
        for (int k = 0; k < cats.Length; k++)
        {
            cats[k] = y.narrow(1, offset, cardinalities[k]);
            offset += cardinalities[k];
        }
        return (y.narrow(1, 0, numeric), cats);
    }
}
