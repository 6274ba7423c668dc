using Pretext.Compute;
using Pretext.Encoders;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Tests.Encoders;

/// <summary>In eval mode the ResNet folds each batch norm into the convolution before it; the embeddings must not change.</summary>
public class ResNetBatchNormFoldingTests
{
    [Theory]
    [InlineData(MemoryLayout.Contiguous)]
    [InlineData(MemoryLayout.ChannelsLast)]
    public void FoldedEvalForwardEqualsConvolutionThenBatchNorm(MemoryLayout layout)
    {
        set_num_threads(1);
        using var g = new Generator(5);
        using var net = new ResNet(new ResNetOptions { Widths = [8, 16], Blocks = [2, 1], Compute = new ComputeOptions(Precision.Float32, layout) });
        // Statistics and affine parameters far from the initial ones (means 0, variances 1, gammas 1 or 0), so a missed term shows.
        using (no_grad())
            foreach (var bn in net.modules().OfType<BatchNorm2d>())
            {
                bn.running_mean!.copy_(randn(bn.running_mean.shape, generator: g));
                bn.running_var!.copy_(rand(bn.running_var.shape, generator: g).add_(0.5));
                bn.weight!.copy_(randn(bn.weight.shape, generator: g));
                bn.bias!.copy_(randn(bn.bias!.shape, generator: g));
            }
        using var x = randn([4, 1, 28, 28], generator: g);
        net.eval();
        using var folded = net.forward(x);
        // The unfolded path: each convolution then its batch norm, which the layer takes while it is in training mode
        // (the batch norms stay in eval mode and use the same running statistics).
        foreach (var conv in net.modules().OfType<MixedConv2d>()) conv.train();
        using var plain = net.forward(x);
        Assert.True(plain.abs().max().item<float>() > 0.1f, "the reference output is degenerate");
        Assert.True(folded.allclose(plain, rtol: 1e-4, atol: 1e-5), $"max difference {(folded - plain).abs().max().item<float>()}");
    }

    [Fact]
    public void TrainingModeStillUsesBatchStatistics()
    {
        set_num_threads(1);
        using var g = new Generator(6);
        using var net = new ResNet(new ResNetOptions { Widths = [8], Blocks = [1], Compute = new ComputeOptions(Precision.Float32) });
        var bn = net.modules().OfType<BatchNorm2d>().First();
        using var before = bn.running_mean!.clone();
        net.train();
        using var y = net.forward(randn([4, 1, 28, 28], generator: g).add_(3));
        Assert.False(bn.running_mean.allclose(before), "a training forward must update the running statistics");
        using var loss = y.sum();
        loss.backward();
        Assert.NotNull(bn.weight!.grad);
    }
}
