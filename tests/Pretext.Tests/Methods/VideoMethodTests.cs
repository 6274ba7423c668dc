using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Tests.Data.Video;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class VideoMethodTests
{
    public VideoMethodTests() => set_num_threads(1);

    private static NextFramePrediction NextFrame(int warmup = 0, PixelLoss loss = PixelLoss.CrossEntropy, int skips = 0, FramePooling pooling = FramePooling.Mean,
        ClipEmbedding embedding = ClipEmbedding.MeanFrame)
    {
        manual_seed(4);
        return new NextFramePrediction((TestVideo.TinyEncoder with { Pooling = pooling, Embedding = embedding }).Build(),
            new NextFrameOptions { Warmup = warmup, Loss = loss, Skips = skips });
    }

    [Theory]
    [InlineData(0, FramePooling.Mean)]
    [InlineData(1, FramePooling.Flatten)]
    [InlineData(2, FramePooling.Flatten)]
    [InlineData(2, FramePooling.Mean)]
    public void NoPredictionSeesALaterFrame(int skips, FramePooling pooling)
    {
        using var m = NextFrame(skips: skips, pooling: pooling);
        m.eval();
        using var noGrad = no_grad();
        using var clips = TestVideo.Clips(3);
        using var x = clips.Gather([0, 1, 2]);
        // Change frames 2 and 3: the predictions of frames 1 and 2 (made from frames 0 and 0..1) must not move.
        using var changed = x.clone();
        using (var other = rand_like(x.narrow(1, 2, 2))) changed.narrow(1, 2, 2).copy_(other);
        using var a = m.Predict(x);
        using var b = m.Predict(changed);
        Assert.Equal(new long[] { 3, 3, 1, 32, 32 }, a.shape);
        Assert.True(a.narrow(1, 0, 2).allclose(b.narrow(1, 0, 2), rtol: 0, atol: 1e-6));
        // The prediction of frame 3, made after reading frame 2, does move: the comparison above can fail.
        Assert.False(a.select(1, 2).allclose(b.select(1, 2), rtol: 1e-4, atol: 1e-4));
        // The GRU's context is causal too.
        var encoder = (FrameSequenceEncoder)m.Encoder;
        using var ca = encoder.Context(encoder.EncodeFrames(x));
        using var cb = encoder.Context(encoder.EncodeFrames(changed));
        Assert.True(ca.narrow(1, 0, 2).allclose(cb.narrow(1, 0, 2), rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void LossOnThePixelsOfTheFramesAfterWarmupMatchesASlowLoop()
    {
        foreach (var kind in new[] { PixelLoss.Mse, PixelLoss.CrossEntropy })
        foreach (int warmup in new[] { 0, 1 })
        {
            using var m = NextFrame(warmup, kind);
            using var noGrad = no_grad();
            using var g = new Generator(2);
            using var x = rand(new long[] { 2, 4, 1, 32, 32 }, generator: g);
            using var predicted = rand(new long[] { 2, 3, 1, 32, 32 }, generator: g);
            var p = predicted.to(ScalarType.Float64).data<double>().ToArray();
            var f = x.to(ScalarType.Float64).data<double>().ToArray();
            double sum = 0; int n = 0;
            int pixels = 32 * 32;
            for (int b = 0; b < 2; b++)
                for (int t = warmup; t < 3; t++)        // prediction t is of frame t + 1
                    for (int i = 0; i < pixels; i++)
                    {
                        double q = p[(b * 3 + t) * pixels + i], y = f[(b * 4 + t + 1) * pixels + i];
                        sum += kind == PixelLoss.Mse ? (q - y) * (q - y) : -(y * Math.Log(q) + (1 - y) * Math.Log(1 - q));
                        n++;
                    }
            using var loss = m.Loss(predicted, x);
            Assert.Equal(sum / n, loss.item<float>(), 5);
        }
    }

    [Fact]
    public void TheDecoderReadsTheSkipMapsOfTheLastFrames()
    {
        // With two skips the prediction of frame 2 reads frames 1 and 0's maps besides the state: changing frame 0 alone moves it
        // through the maps even when the state ignores frame 0 (the GRU's input weights zeroed leave it reading nothing).
        foreach (int skips in new[] { 1, 2 })
        {
            using var m = NextFrame(skips: skips);
            m.eval();
            using var noGrad = no_grad();
            foreach (var (name, p) in m.named_parameters())
                if (name.Contains("temporal")) p.zero_();
            using var clips = TestVideo.Clips(2);
            using var x = clips.Gather([0, 1]);
            using var changed = x.clone();
            using (var other = rand_like(x.narrow(1, 0, 1))) changed.narrow(1, 0, 1).copy_(other);
            using var a = m.Predict(x);
            using var b = m.Predict(changed);
            // Prediction 1 (of frame 2) sees frame 0 only through frame t - 1's map: it moves with two skips, not with one.
            Assert.Equal(skips == 2, !a.select(1, 1).allclose(b.select(1, 1), rtol: 1e-5, atol: 1e-6));
            // Prediction 2 (of frame 3) reads frames 1 and 2's maps: frame 0 does not reach it.
            Assert.True(a.select(1, 2).allclose(b.select(1, 2), rtol: 0, atol: 1e-6));
        }
    }

    [Fact]
    public void TheLastStateEmbeddingKnowsTheOrderOfTheFramesAndTheMeanDoesNot()
    {
        using var clips = TestVideo.Clips(3);
        using var x = clips.Gather([0, 1, 2]);
        using var reversed = x.flip(1);
        using var noGrad = no_grad();
        foreach (var embedding in new[] { ClipEmbedding.MeanFrame, ClipEmbedding.LastState, ClipEmbedding.MeanFrameAndLastState })
        {
            manual_seed(4);
            using var encoder = (TestVideo.TinyEncoder with { Pooling = FramePooling.Flatten, Embedding = embedding }).Build();
            using var a = encoder.forward(x);
            using var b = encoder.forward(reversed);
            int d = TestVideo.TinyEncoder.Dim;
            Assert.Equal(new long[] { 3, embedding == ClipEmbedding.MeanFrameAndLastState ? 2 * d : d }, a.shape);
            Assert.Equal(a.shape[1], encoder.FeatureDim);
            Assert.Equal(embedding == ClipEmbedding.MeanFrame, a.allclose(b, rtol: 1e-5, atol: 1e-6));
            using var context = encoder.Context(encoder.EncodeFrames(x));
            using var last = context.select(1, x.shape[1] - 1);
            if (embedding == ClipEmbedding.LastState) Assert.True(a.allclose(last, rtol: 0, atol: 1e-6));
            if (embedding == ClipEmbedding.MeanFrameAndLastState) Assert.True(a.narrow(1, d, d).allclose(last, rtol: 0, atol: 1e-6));
        }
    }

    [Fact]
    public void TheMapEmbeddingsPoolTheLastMapOverPositionsAndFramesAndIgnoreWhereAPatternStands()
    {
        using var clips = TestVideo.Clips(2);
        using var x = clips.Gather([0, 1]);
        using var noGrad = no_grad();
        foreach (var embedding in new[] { ClipEmbedding.MapMean, ClipEmbedding.MapMax })
        {
            manual_seed(5);
            using var encoder = (TestVideo.TinyEncoder with { Pooling = FramePooling.Flatten, Embedding = embedding }).Build();
            Assert.True(encoder.EmbeddingReadsMaps);
            Assert.Equal(TestVideo.TinyEncoder.Widths[^1], encoder.FeatureDim);
            using var a = encoder.forward(x);
            Assert.Equal(new long[] { 2, encoder.FeatureDim }, a.shape);
            // Slow reference: each frame's last map alone, pooled position by position, then the frames averaged.
            var maps = new List<Tensor>();
            using var vectors = encoder.EncodeFrames(x, maps);
            var last = maps[^1];
            long frames = x.shape[1], channels = last.shape[1], side = last.shape[2];
            for (int clip = 0; clip < 2; clip++)
                for (int ch = 0; ch < channels; ch++)
                {
                    double sum = 0;
                    for (int f = 0; f < frames; f++)
                    {
                        double pooled = embedding == ClipEmbedding.MapMean ? 0 : double.NegativeInfinity;
                        for (int i = 0; i < side; i++)
                            for (int j = 0; j < side; j++)
                            {
                                double v = last[clip * frames + f, ch, i, j].item<float>();
                                pooled = embedding == ClipEmbedding.MapMean ? pooled + v / (side * side) : Math.Max(pooled, v);
                            }
                        sum += pooled;
                    }
                    Assert.Equal(sum / frames, a[clip, ch].item<float>(), 4);
                }
            foreach (var m in maps) m.Dispose();
            Assert.Throws<ArgumentException>(() => encoder.Embed(vectors, null));
            // The next-frame method hands out the same embedding from its own pass, with and without decoder skips.
            foreach (int skips in new[] { 0, 2 })
            {
                using var method = NextFrame(skips: skips, pooling: FramePooling.Flatten, embedding: embedding);
                using var predicted = method.Predict(x, out var fromMethod);
                using (fromMethod)
                using (var direct = method.Encoder.forward(x))
                    Assert.True(fromMethod.allclose(direct, rtol: 1e-5, atol: 1e-6));
            }

            // A blob moved by a multiple of the encoder's total stride (4), away from the borders, keeps the map embeddings;
            // the flattened frame vectors' mean moves.
            using var here = zeros(new long[] { 1, frames, 1, 32, 32 });
            using var there = zeros(new long[] { 1, frames, 1, 32, 32 });
            here.index_put_(ones(1), TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(8, 12), TensorIndex.Slice(8, 11));
            there.index_put_(ones(1), TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(16, 20), TensorIndex.Slice(20, 23));
            using var eHere = encoder.forward(here);
            using var eThere = encoder.forward(there);
            Assert.True(eHere.allclose(eThere, rtol: 1e-5, atol: 1e-6));
            using var flat = (TestVideo.TinyEncoder with { Pooling = FramePooling.Flatten, Embedding = ClipEmbedding.MeanFrame }).Build();
            using var fHere = flat.forward(here);
            using var fThere = flat.forward(there);
            Assert.False(fHere.allclose(fThere, rtol: 1e-5, atol: 1e-6));
        }
    }

    [Fact]
    public void TheResidualPredictorStartsFromTheLastFrame()
    {
        using var m = NextFrame(skips: 2, pooling: FramePooling.Flatten);
        Assert.True(m.Options.Residual);
        using var noGrad = no_grad();
        // With the decoder's output at zero, the prediction of frame t + 1 is frame t (clamped away from 0 and 1).
        foreach (var (name, p) in m.named_parameters())
            if (name.StartsWith("decoder") || name.StartsWith("seed")) p.zero_();
        using var g = new Generator(5);
        using var x = rand(new long[] { 2, 4, 1, 32, 32 }, generator: g);
        using var predicted = m.Predict(x);
        using var expected = x.narrow(1, 0, 3).clamp(NextFramePrediction.ResidualFloor, 1 - NextFramePrediction.ResidualFloor);
        Assert.True(predicted.allclose(expected, rtol: 0, atol: 1e-5));
        using var plain = new NextFramePrediction(TestVideo.TinyEncoder.Build(), new NextFrameOptions { Residual = false });
        foreach (var (name, p) in plain.named_parameters())
            if (name.StartsWith("decoder") || name.StartsWith("seed")) p.zero_();
        using var half = plain.Predict(x);
        Assert.True(half.allclose(full_like(half, 0.5), rtol: 0, atol: 1e-6)); // without the residual: sigmoid(0) everywhere
    }

    [Fact]
    public void TimeContrastivePairsAreCloseInTimeAndInsideTheClip()
    {
        manual_seed(1);
        using var m = new TimeContrastive(TestVideo.TinyEncoder.Build(), new TimeContrastiveOptions { Window = 2 });
        using var g = new Generator(3);
        var (a, p) = m.Pairs(500, 4, g);
        using (a) using (p)
        {
            var gap = p.sub(a).abs().data<long>().ToArray();
            Assert.All(gap, d => Assert.InRange(d, 1, 2));
            Assert.True(p.min().item<long>() >= 0 && p.max().item<long>() < 4);
            Assert.True(a.min().item<long>() == 0 && a.max().item<long>() == 3);
        }
        Assert.Throws<ArgumentException>(() => new TimeContrastive(TestVideo.TinyEncoder.Build(), new TimeContrastiveOptions { Window = 4 }));
        Assert.Throws<ArgumentException>(() => new NextFramePrediction(new TransformerEncoder(new TransformerOptions { VocabSize = 10, Dim = 8, Heads = 2, Depth = 1 })));
    }
}
