using Pretext.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>
/// 2-D convolution whose fp32 weight is cast to the compute dtype inside forward (mixed precision),
/// optionally stored channels-last. No bias: every conv here is followed by batch norm.
/// </summary>
public sealed class MixedConv2d : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly long stride, padding;
    private readonly ComputeOptions compute;

    public MixedConv2d(long inChannels, long outChannels, long kernel, long stride, long padding, ComputeOptions compute)
        : base(nameof(MixedConv2d))
    {
        this.stride = stride; this.padding = padding; this.compute = compute;
        var w = empty(outChannels, inChannels, kernel, kernel);
        init.kaiming_normal_(w, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
        if (compute.Layout == MemoryLayout.ChannelsLast) w = ComputeOptions.ChannelsLast(w);
        weight = new Parameter(w);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var w = weight.dtype == x.dtype ? weight : weight.to(x.dtype);
        return functional.conv2d(x, w, strides: [stride, stride], padding: [padding, padding]);
    }
}

/// <summary>
/// Linear layer computing in the dtype of its input while keeping fp32 master weights.
/// Output has the input dtype.
/// </summary>
public sealed class MixedLinear : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public MixedLinear(long inFeatures, long outFeatures, bool hasBias = true) : base(nameof(MixedLinear))
    {
        var lin = Linear(inFeatures, outFeatures, hasBias);
        weight = lin.weight!;
        bias = lin.bias;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var w = weight.dtype == x.dtype ? weight : weight.to(x.dtype);
        var b = bias is null ? null : (bias.dtype == x.dtype ? bias : bias.to(x.dtype));
        return functional.linear(x, w, b);
    }
}
