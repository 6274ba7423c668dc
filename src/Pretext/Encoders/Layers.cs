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

    /// <summary>
    /// This convolution followed by <paramref name="bn"/>: in training mode the two layers as they are; in eval mode one
    /// convolution whose weight and bias carry the batch norm's running statistics and affine scale (folded in fp32 on every
    /// call, a cost of the weights' size, so nothing goes stale when training resumes). Embedding and evaluation then skip a
    /// memory-bound pass over every activation: the quickstart encoder's eval forward at batch 512 on one thread ran 1.09-1.42x
    /// faster in 9 of 9 alternating pairs on a loaded 2-core machine, bf16 and fp32 (docs/benchmarks.md, "Embedding throughput").
    /// </summary>
    public Tensor ForwardWithBatchNorm(Tensor x, BatchNorm2d bn)
    {
        if (training || bn.training || bn.running_mean is null || bn.running_var is null) return bn.forward(forward(x));
        using var scope = NewDisposeScope();
        var scale = bn.running_var.add(bn.eps).rsqrt_();
        if (bn.weight is not null) scale = scale.mul_(bn.weight);
        var shift = bn.running_mean.mul(scale).neg_();
        if (bn.bias is not null) shift = shift.add_(bn.bias);
        var w = weight.mul(scale.view(-1, 1, 1, 1));
        if (compute.Layout == MemoryLayout.ChannelsLast) w = ComputeOptions.ChannelsLast(w);
        if (w.dtype != x.dtype) { w = w.to(x.dtype); shift = shift.to(x.dtype); }
        return functional.conv2d(x, w, shift, strides: [stride, stride], padding: [padding, padding]).MoveToOuterDisposeScope();
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
