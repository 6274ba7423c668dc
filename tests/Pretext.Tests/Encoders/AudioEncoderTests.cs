using Pretext.Encoders;
using Pretext.Tests.Data.Audio;
using static TorchSharp.torch;

namespace Pretext.Tests.Encoders;

/// <summary>The two audio encoders beyond the registry contract: any clip length, frame tokens, masking, positions, input errors.</summary>
public class AudioEncoderTests
{
    public AudioEncoderTests() => set_num_threads(1);

    public static TheoryData<EncoderKind> Kinds => new([EncoderKind.AudioConv, EncoderKind.AudioTransformer]);

    private static Encoder Build(EncoderKind kind)
    {
        manual_seed(1);
        return new EncoderConfig { Kind = kind, Precision = Pretext.Compute.Precision.Float32, Audio = TestAudio.TinyEncoder }.Build();
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ReadsSegmentsAndWholeClipsAndMasksTokens(EncoderKind kind)
    {
        using var encoder = Build(kind);
        encoder.eval();
        var frames = (IFrameEncoder)encoder;
        Assert.Equal(new long[] { 16, 26 }, encoder.InputShape);
        Assert.Equal(2, frames.FramesPerToken);
        using var noGrad = no_grad();
        using var g = new Generator(2);
        using var clip = randn([3, 16, 26], generator: g);
        using var segment = clip.narrow(2, 3, 11); // an odd length: the last frame is dropped
        using var whole = encoder.forward(clip);
        using var part = encoder.forward(segment);
        Assert.Equal(new long[] { 3, encoder.FeatureDim }, whole.shape);
        Assert.Equal(new long[] { 3, encoder.FeatureDim }, part.shape);
        using var tokens = frames.EncodeFrames(clip);
        Assert.Equal(new long[] { 3, 13, frames.TokenDim }, tokens.shape);
        using (var pooled = frames.Pool(tokens)) Assert.True(pooled.allclose(whole, 1e-5, 1e-6));

        // Hiding tokens changes the output; what the hidden frames held no longer matters.
        using var mask = zeros(3, 13, dtype: ScalarType.Bool);
        mask[.., 4] = tensor(true);
        mask[.., 5] = tensor(true);
        using var hidden = frames.EncodeFrames(clip, mask);
        Assert.False(hidden.allclose(tokens));
        using var changed = clip.clone();
        changed[.., .., TensorIndex.Slice(8, 12)] = tensor(100f);
        using var hiddenChanged = frames.EncodeFrames(changed, mask);
        Assert.True(hiddenChanged.allclose(hidden, 1e-5, 1e-5));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void WrongInputIsNamed(EncoderKind kind)
    {
        using var encoder = Build(kind);
        using var image = zeros(2, 1, 28, 28);
        Assert.Contains("log-mel spectrograms (B, 16, frames)", Assert.Throws<ArgumentException>(() => encoder.forward(image)).Message);
        using var tooShort = zeros(2, 16, 1);
        Assert.Contains("at least 2 frames", Assert.Throws<ArgumentException>(() => encoder.forward(tooShort)).Message);
    }

    [Fact]
    public void SinusoidalPositionsFollowTheFormula()
    {
        using var p = AudioTransformerEncoder.Positions(5, 6);
        Assert.Equal(new long[] { 5, 6 }, p.shape);
        for (int t = 0; t < 5; t++)
            for (int i = 0; i < 6; i++)
            {
                double angle = t / Math.Pow(10000, 2 * (i / 2) / 6.0);
                Assert.Equal(i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle), p[t, i].item<float>(), 5);
            }
        Assert.Throws<ArgumentException>(() => new AudioTransformerEncoder(new AudioTransformerOptions { Dim = 10, Heads = 4 }));
        Assert.Throws<ArgumentException>(() => new AudioConvEncoder(new AudioConvOptions { Widths = [8], Strides = [1, 2] }));
    }

    [Fact]
    public void TheCausalConvolutionEncodersTokensReadNoLaterFrame()
    {
        manual_seed(1);
        using var encoder = new EncoderConfig { Kind = EncoderKind.AudioConv, Precision = Pretext.Compute.Precision.Float32, Audio = TestAudio.TinyEncoder with { Causal = true } }.Build();
        var frames = (IFrameEncoder)encoder;
        Assert.True(frames.Causal);
        Assert.False(((IFrameEncoder)Build(EncoderKind.AudioConv)).Causal);
        Assert.False(((IFrameEncoder)Build(EncoderKind.AudioTransformer)).Causal);
        encoder.train(); // training mode: no batch statistics may carry later frames back
        using var noGrad = no_grad();
        using var g = new Generator(3);
        using var clip = randn([4, 16, 26], generator: g);
        using var tokens = frames.EncodeFrames(clip);
        Assert.Equal(new long[] { 4, 13, frames.TokenDim }, tokens.shape);
        // Token t (2 frames each) reads frames up to 2t; changing frames from 2t + 1 on leaves tokens 0..t alone.
        foreach (int t in new[] { 0, 5, 11 })
        {
            using var changed = clip.clone();
            changed[.., .., TensorIndex.Slice(2 * t + 1, null)] = tensor(50f);
            using var after = frames.EncodeFrames(changed);
            Assert.True(after.narrow(1, 0, t + 1).allclose(tokens.narrow(1, 0, t + 1), 1e-5, 1e-6), $"token {t} read a later frame");
            Assert.False(after.narrow(1, t + 1, 13 - t - 1).allclose(tokens.narrow(1, t + 1, 13 - t - 1)));
        }
    }
}
