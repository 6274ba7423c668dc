using Pretext.Compute;
using Pretext.Encoders;
using static TorchSharp.torch;

namespace Pretext.Tests.Compute;

/// <summary>
/// <see cref="ComputeOptions.ChannelsLast"/> must give channels-last strides for every shape, one channel included: a grey image
/// or the stem's weight kept NCHW strides before, and libtorch then ran the stem and its batch norm in NCHW.
/// </summary>
public class ChannelsLastTests
{
    [Theory]
    [InlineData(4, 1, 5, 7)]
    [InlineData(4, 3, 5, 7)]
    [InlineData(2, 16, 1, 1)]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 8, 1, 6)]
    public void StridesAreChannelsLastAndValuesUnchanged(int n, int c, int h, int w)
    {
        using var scope = NewDisposeScope();
        var x = arange(n * c * h * w, dtype: ScalarType.Float32).reshape(n, c, h, w);
        var y = ComputeOptions.ChannelsLast(x);
        Assert.Equal(new long[] { n, c, h, w }, y.shape);
        Assert.Equal(new long[] { (long)h * w * c, 1, (long)w * c, c }, y.stride());
        Assert.True(ComputeOptions.IsChannelsLast(y));
        Assert.True(y.eq(x).all().item<bool>());
    }

    [Fact]
    public void OneChannelInputWasNotChannelsLastBefore()
    {
        // What the old permute-contiguous-permute gave a grey batch: the NHWC copy is already contiguous, so nothing moves.
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 4, 4);
        Assert.False(ComputeOptions.IsChannelsLast(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)));
        Assert.True(ComputeOptions.IsChannelsLast(ComputeOptions.ChannelsLast(x)));
    }

    [Fact]
    public void GreyResNetTrainsChannelsLastFromTheStem()
    {
        set_num_threads(1);
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var net = new ResNet(new ResNetOptions { Widths = [8, 16], Blocks = [1, 1], Compute = new ComputeOptions(Precision.Float32, MemoryLayout.ChannelsLast) });
        var stem = net.modules().OfType<MixedConv2d>().First();
        var x = randn(4, 1, 12, 12);
        // What the ResNet's forward does first: the input to the layout, then the stem.
        var stemOut = stem.forward(net.Options.Compute.ToLayout(x));
        Assert.True(ComputeOptions.IsChannelsLast(stemOut), $"stem output strides [{string.Join(",", stemOut.stride())}]");
        var y = net.forward(x);
        // The same weights in NCHW give the same features, forward and backward.
        using var plain = new ResNet(new ResNetOptions { Widths = [8, 16], Blocks = [1, 1], Compute = new ComputeOptions(Precision.Float32, MemoryLayout.Contiguous) });
        Pretext.Evaluation.SupervisedTraining.CopyWeights(net, plain);
        var z = plain.forward(x);
        Assert.True(y.allclose(z, rtol: 1e-4, atol: 1e-5), $"max difference {(y - z).abs().max().item<float>()}");
        y.sum().backward();
        z.sum().backward();
        var g1 = net.parameters().First().grad!;
        var g2 = plain.parameters().First().grad!;
        Assert.True(g1.allclose(g2, rtol: 1e-3, atol: 1e-5), $"stem gradient differs by {(g1 - g2).abs().max().item<float>()}");
    }
}
