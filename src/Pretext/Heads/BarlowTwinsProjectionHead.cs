namespace Pretext.Heads;

/// <summary>
/// Barlow Twins projector: "three linear layers, each with 8192 output units. The first two layers of
/// the projector are followed by a batch normalization layer and rectified linear units" (Zbontar et al.
/// 2021, section 3). Here 2048 wide by default, the width solo-learn uses for CIFAR-size ResNet-18
/// (the paper's ablation of the projector width finds accuracy still rising with it, at a cost that grows as D^2).
/// Input (B, In); output (B, Out).
/// </summary>
public sealed class BarlowTwinsProjectionHead : MlpHead
{
    public BarlowTwinsProjectionHead(int inDim, int hiddenDim = 2048, int outDim = 2048)
        : base(inDim, [hiddenDim, hiddenDim], outDim, batchNormLast: false, name: nameof(BarlowTwinsProjectionHead)) { }
}
