namespace Pretext.Heads;

/// <summary>
/// VICReg expander: two fully-connected layers with batch normalisation and ReLU and a third linear
/// layer, 8192 wide in the paper (Bardes et al. 2022, implementation details). Here 2048 wide by
/// default, as solo-learn's CIFAR configuration; the loss's covariance matrix is D x D.
/// Input (B, In); output (B, Out).
/// </summary>
public sealed class VicRegExpander : MlpHead
{
    public VicRegExpander(int inDim, int hiddenDim = 2048, int outDim = 2048)
        : base(inDim, [hiddenDim, hiddenDim], outDim, batchNormLast: false, name: nameof(VicRegExpander)) { }
}
