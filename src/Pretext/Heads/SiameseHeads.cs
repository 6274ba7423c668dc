namespace Pretext.Heads;

// Projection and prediction heads of the momentum and Siamese methods (MoCo v2/v3, NNCLR, BYOL,
// SimSiam): thin instances of MlpHead, each fixing the layer pattern its paper describes. Widths are
// constructor arguments; the defaults and their sources live in each method's options record.

/// <summary>
/// Prediction head: Linear -> BN -> ReLU -> Linear, mapping a projection to a prediction of the other
/// view's projection. BYOL's q_theta has this shape (Grill et al. 2020, section 3.3), as have SimSiam's
/// h with its bottleneck hidden layer (Chen and He 2021, "Baseline settings"), NNCLR's
/// prediction MLP (Dwibedi et al. 2021, implementation details) and MoCo v3's predictor, which also ends in a
/// BN without affine (facebookresearch/moco-v3, moco/builder.py, _build_mlp).
/// </summary>
public sealed class PredictionHead(int inDim, int hiddenDim, int outDim, bool batchNormLast = false)
    : MlpHead(inDim, [hiddenDim], outDim, batchNormLast, nameof(PredictionHead));

/// <summary>
/// MoCo v2's projection head: Linear -> ReLU -> Linear, no batch norm; MoCo v2 replaces MoCo's fc
/// layer by "a 2-layer MLP head (hidden layer 2048-d, with ReLU)" whose output is 128-d
/// (Chen, Fan, Girshick, He 2020, "MLP head"). Having no BN in the head keeps the key encoder's only
/// batch statistics in the encoder, where the method's split batch norm handles them.
/// </summary>
public sealed class MoCoV2ProjectionHead(int inDim, int hiddenDim, int outDim = 128)
    : MlpHead(inDim, [hiddenDim], outDim, batchNormLast: false, nameof(MoCoV2ProjectionHead), hiddenBatchNorm: false);

/// <summary>
/// MoCo v3's projection head for ResNet encoders: 2 layers, Linear -> BN -> ReLU -> Linear -> BN
/// (no affine), as built by the reference code (facebookresearch/moco-v3, moco/builder.py,
/// _build_mlp(2, ...)); the code's default widths are 4096 hidden and 256 out (--moco-mlp-dim, --moco-dim).
/// </summary>
public sealed class MoCoV3ProjectionHead(int inDim, int hiddenDim, int outDim = 256)
    : MlpHead(inDim, [hiddenDim], outDim, batchNormLast: true, nameof(MoCoV3ProjectionHead));

/// <summary>
/// BYOL's projection head g_theta: "a multi-layer perceptron with a hidden layer of size 4096 followed
/// by batch normalization, rectified linear units, and a final linear layer with output dimension 256"
/// (Grill et al. 2020, section 3.3).
/// </summary>
public sealed class ByolProjectionHead(int inDim, int hiddenDim = 4096, int outDim = 256)
    : MlpHead(inDim, [hiddenDim], outDim, batchNormLast: false, nameof(ByolProjectionHead));

/// <summary>
/// SimSiam's projection MLP: 3 layers, BN on every fully-connected layer including the output one, no
/// ReLU after the output layer, hidden and output width 2048 (Chen and He 2021, "Baseline settings").
/// The output BN has no affine, as in the reference code.
/// </summary>
public sealed class SimSiamProjectionHead(int inDim, int hiddenDim = 2048, int outDim = 2048)
    : MlpHead(inDim, [hiddenDim, hiddenDim], outDim, batchNormLast: true, nameof(SimSiamProjectionHead));

/// <summary>
/// NNCLR's projection MLP: 3 layers of widths [2048, 2048, d] with batch norm (Dwibedi et al. 2021,
/// implementation details), d = 256; the output layer is followed by a BN as in solo-learn's NNCLR.
/// </summary>
public sealed class NnclrProjectionHead(int inDim, int hiddenDim = 2048, int outDim = 256)
    : MlpHead(inDim, [hiddenDim, hiddenDim], outDim, batchNormLast: true, nameof(NnclrProjectionHead));
