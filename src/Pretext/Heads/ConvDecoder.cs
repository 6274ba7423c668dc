using Pretext.Compute;
using Pretext.Encoders;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Heads;

/// <summary>
/// Small convolutional decoder from a feature vector back to an image, shared by the reconstruction
/// pretext tasks (context encoder, denoising autoencoder): a linear layer to a Width x S/4 x S/4 map
/// (7x7 for 28x28 images; the context encoder's "channel-wise fully-connected" bottleneck, Pathak et
/// al. 2016, section 3.1, lets every output pixel see the whole feature), then two
/// (nearest 2x upsample, 3x3 conv, BN, ReLU) stages and a 3x3 output conv. Nearest upsampling plus a
/// conv avoids the checkerboard patterns of transposed convolutions (Odena et al. 2016).
/// Input (B, inDim) fp32; output (B, outChannels, S, S) fp32, unbounded (targets are standardised pixels).
/// </summary>
public sealed class ConvDecoder : Module<Tensor, Tensor>
{
    private readonly MixedLinear fc;
    private readonly BatchNorm2d bn0, bn1, bn2;
    private readonly MixedConv2d conv1, conv2;
    private readonly Parameter out_weight, out_bias;
    private readonly ComputeOptions compute;
    private readonly int width, start;

    /// <param name="inDim">Feature width of the encoder.</param>
    /// <param name="outChannels">Image channels.</param>
    /// <param name="imageSize">Output side S; must be a multiple of 4.</param>
    /// <param name="width">Channels of the first map; halved at each upsampling (64 -> 32 -> 16).</param>
    /// <param name="compute">Precision and layout of the convolutions.</param>
    /// <exception cref="ArgumentException">The image side is not a multiple of 4, or a size is not positive.</exception>
    public ConvDecoder(int inDim, int outChannels, int imageSize, int width = 64, ComputeOptions? compute = null) : base(nameof(ConvDecoder))
    {
        if (inDim <= 0 || outChannels <= 0 || width < 4)
            throw new ArgumentException($"Decoder sizes must be positive and the width at least 4 (in {inDim}, out {outChannels}, width {width}).");
        if (imageSize < 4 || imageSize % 4 != 0)
            throw new ArgumentException($"The convolutional decoder upsamples twice by 2, so the image side must be a multiple of 4; got {imageSize}. Use --image-size 28 or 32.");
        this.compute = compute ?? ComputeOptions.Default;
        this.width = width;
        start = imageSize / 4;
        fc = new MixedLinear(inDim, (long)width * start * start, hasBias: false);
        bn0 = BatchNorm2d(width);
        conv1 = new MixedConv2d(width, width / 2, 3, 1, 1, this.compute);
        bn1 = BatchNorm2d(width / 2);
        conv2 = new MixedConv2d(width / 2, width / 4, 3, 1, 1, this.compute);
        bn2 = BatchNorm2d(width / 4);
        var w = empty(outChannels, width / 4, 3, 3);
        init.kaiming_uniform_(w, a: Math.Sqrt(5));   // nn.Conv2d's default
        out_weight = new Parameter(w);
        out_bias = new Parameter(zeros(outChannels));
        OutChannels = outChannels;
        ImageSize = imageSize;
        RegisterComponents();
    }

    public int OutChannels { get; }
    public int ImageSize { get; }

    public override Tensor forward(Tensor features)
    {
        if (features.dim() != 2) throw new ArgumentException($"The decoder takes features (B, D), got [{string.Join(",", features.shape)}].");
        using var scope = NewDisposeScope();
        var ct = compute.ComputeType;
        var h = fc.forward(features.to(ct)).view(features.shape[0], width, start, start);
        h = functional.relu(bn0.forward(compute.ToLayout(h)));
        h = functional.relu(bn1.forward(conv1.forward(Upsample(h))));
        h = functional.relu(bn2.forward(conv2.forward(Upsample(h))));
        var w = out_weight.dtype == h.dtype ? out_weight : out_weight.to(h.dtype);
        var b = out_bias.dtype == h.dtype ? out_bias : out_bias.to(h.dtype);
        var y = functional.conv2d(h, w, b, padding: [1, 1]);
        return y.to(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
    }

    private Tensor Upsample(Tensor h) => compute.ToLayout(functional.interpolate(h, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest));
}
