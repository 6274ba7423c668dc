using Pretext.Compute;
using Pretext.Encoders;
using static TorchSharp.torch;

namespace Pretext.Tests.Encoders;

public class SeriesEncoderTests
{
    public SeriesEncoderTests() => set_num_threads(1);

    private static readonly SeriesEncoderConfig Small = new() { Channels = 2, Length = 24, Dim = 8, Width = 8, Blocks = 2, Kernel = 3, PatchSize = 4, Depth = 2, Heads = 2 };

    /// <summary>Which steps of <paramref name="encoder"/>'s output change when reading <paramref name="t"/> of the input changes.</summary>
    private static bool[] StepsMovedBy(ISequenceEncoder encoder, int t, int length = 24)
    {
        using var noGrad = no_grad();
        using var g = new Generator(5);
        using var x = randn([3, 2, length], generator: g);
        using var y = x.clone();
        y[.., .., t] = y[.., .., t].add(1.0f);
        using var a = encoder.EncodeSteps(x);
        using var b = encoder.EncodeSteps(y);
        using var moved = a.sub(b).abs().amax([0L, 2L]).gt(1e-6f);
        return moved.data<bool>().ToArray();
    }

    [Fact]
    public void TheTcnIsCausalWithTheReceptiveFieldItStates()
    {
        manual_seed(1);
        using var tcn = Small.BuildTcn();
        tcn.eval();
        Assert.Equal(13, tcn.ReceptiveField); // 1 + 2 (3 - 1)(2^2 - 1)
        var moved = StepsMovedBy(tcn, 5);
        Assert.All(moved[..5], m => Assert.False(m));          // the past does not see the change
        Assert.All(moved[5..(5 + 13)], m => Assert.True(m));   // every step within the receptive field does
        Assert.All(moved[(5 + 13)..], m => Assert.False(m));   // and none beyond it
    }

    [Fact]
    public void TheTcnTakesShorterWindowsAndGivesOneStepPerReading()
    {
        manual_seed(1);
        using var tcn = Small.BuildTcn();
        using var x = randn(4, 2, 10);
        using var steps = tcn.EncodeSteps(x);
        Assert.Equal(new long[] { 4, 10, 8 }, steps.shape);
        using var pooled = tcn.forward(x);
        using var mean = steps.mean([1L]);
        Assert.True(pooled.allclose(mean));
        using var tooLong = randn(1, 2, 25);
        Assert.Contains("up to 24", Assert.Throws<ArgumentException>(() => tcn.forward(tooLong)).Message);
        using var wrongChannels = randn(1, 3, 24);
        Assert.Contains("(B, 2, L)", Assert.Throws<ArgumentException>(() => tcn.forward(wrongChannels)).Message);
    }

    [Fact]
    public void TheCausalPatchTransformerHidesLaterPatches()
    {
        manual_seed(2);
        using var causal = new PatchTransformer(Small with { Causal = true }, new ComputeOptions(Precision.Float32));
        causal.eval();
        // Reading 13 is in patch 3 (readings 12..15) of six.
        Assert.Equal([false, false, false, true, true, true], StepsMovedBy(causal, 13));
        manual_seed(2);
        using var open = new PatchTransformer(Small, new ComputeOptions(Precision.Float32));
        open.eval();
        Assert.All(StepsMovedBy(open, 13), m => Assert.True(m));
    }

    [Fact]
    public void ThePatchTransformerTakesWholePatchesOnly()
    {
        manual_seed(2);
        using var encoder = new PatchTransformer(Small with { Pooling = SeriesPooling.Max }, new ComputeOptions(Precision.Float32));
        using var x = randn(2, 2, 8);
        using var steps = encoder.EncodeSteps(x);
        Assert.Equal(new long[] { 2, 2, 8 }, steps.shape);
        using var pooled = encoder.forward(x);
        using var max = steps.amax([1L]);
        Assert.True(pooled.allclose(max));
        using var ragged = randn(2, 2, 10);
        Assert.Contains("multiple of 4", Assert.Throws<ArgumentException>(() => encoder.forward(ragged)).Message);
        Assert.Throws<ArgumentException>(() => new PatchTransformer(Small with { PatchSize = 5 }, ComputeOptions.Default));
    }
}
