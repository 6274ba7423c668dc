using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Tests.Data.Video;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

/// <summary>The frame encoder's single-digit probe: frames of one digit each, frame vectors, probes at label budgets.</summary>
public class SingleDigitProbeTests
{
    public SingleDigitProbeTests() => set_num_threads(1);

    private static (Tensor Digits, int[] Labels) RandomDigits(int n, int seed)
    {
        var bytes = new byte[n * 28 * 28];
        new Random(seed).NextBytes(bytes);
        return (tensor(bytes, [n, 28, 28], ScalarType.Byte), Enumerable.Range(0, n).Select(i => (i * 7) % 10).ToArray());
    }

    [Fact]
    public void EachFrameHoldsOneWholeDigitLabelledByItsClass()
    {
        var (digits, labels) = RandomDigits(20, 1);
        using (digits)
        using (var frames = SingleDigitProbe.Frames(digits, labels, 15, seed: 3, size: 32, "single"))
        using (var same = SingleDigitProbe.Frames(digits, labels, 15, seed: 3, size: 32, "single"))
        using (var other = SingleDigitProbe.Frames(digits, labels, 15, seed: 4, size: 32, "single"))
        {
            Assert.Equal(new long[] { 15, 1, 1, 32, 32 }, frames.Data.shape);
            Assert.True(frames.Data.equal(same.Data).all().item<bool>());
            Assert.False(frames.Data.equal(other.Data).all().item<bool>());
            var digitSums = Enumerable.Range(0, 20).Select(i => digits[i].to(ScalarType.Int64).sum().item<long>()).ToArray();
            for (int f = 0; f < 15; f++)
            {
                // One digit on black: the frame's pixels sum to one source digit's, and that digit's class is the label.
                long sum = frames.Data[f].to(ScalarType.Int64).sum().item<long>();
                var sources = Enumerable.Range(0, 20).Where(i => digitSums[i] == sum).ToArray();
                Assert.NotEmpty(sources);
                Assert.Contains(frames.Labels![f], sources.Select(i => labels[i]));
            }
            Assert.Equal("digit-00003", frames.SampleId(3));
        }
    }

    [Fact]
    public void FrameVectorsAreTheFrameEncodersAcrossBatches()
    {
        using var encoder = TestVideo.TinyEncoder.Build();
        var (digits, labels) = RandomDigits(10, 2);
        using (digits)
        using (var frames = SingleDigitProbe.Frames(digits, labels, 7, seed: 0, size: 32, "single"))
        {
            using var v = SingleDigitProbe.FrameVectors(encoder, frames, batchSize: 3);
            Assert.Equal(new long[] { 7, TestVideo.TinyEncoder.Dim }, v.shape);
            using var all = frames.Gather([0, 1, 2, 3, 4, 5, 6]);
            using var _ = no_grad();
            using var expected = encoder.EncodeFrames(all).reshape(7, -1);
            Assert.True(v.allclose(expected, rtol: 1e-5, atol: 1e-6));
            using var pixels = SingleDigitProbe.PooledPixels(frames, batchSize: 4);
            Assert.Equal(new long[] { 7, 16 * 16 }, pixels.shape);
            // A 2x2 average of the 32x32 frame: the pooled total is the frame's total over 4.
            Assert.Equal(all.sum().item<float>() / 4, pixels.sum().item<float>(), 2);
        }
    }

    [Fact]
    public void ProbesEveryBudgetAndReadsWhatTheFeaturesCarry()
    {
        // 300 training rows (60 validation), 100 test rows; class in the first 10 features (one-hot plus noise), the rest noise.
        var rng = new Random(5);
        (Tensor X, int[] Y) Make(int n)
        {
            var y = Enumerable.Range(0, n).Select(i => i % 10).ToArray();
            var x = new float[n * 16];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < 16; j++)
                    x[i * 16 + j] = (j == y[i] ? 3f : 0f) + (float)(rng.NextDouble() - 0.5);
            return (tensor(x, [n, 16]), y);
        }
        var (trainX, trainY) = Make(300);
        var (testX, testY) = Make(100);
        var validation = Enumerable.Range(0, 60).Select(i => (long)i).ToArray();
        var pool = Enumerable.Range(60, 240).Select(i => (long)i).ToArray();
        var options = new LinearProbeOptions { Iterations = 50 };
        var scores = SingleDigitProbe.Probe(trainX, trainY, pool, validation, testX, testY, [1, 2], seeds: 3, classes: 10, options);
        Assert.Equal(new int?[] { 1, 2, null }, scores.Select(s => s.PerClass));
        Assert.Equal(new[] { 10, 20, 240 }, scores.Select(s => s.Labels));
        Assert.Equal(new[] { 3, 3, 1 }, scores.Select(s => s.Test.Length));
        Assert.All(scores, s => Assert.Equal(s.Test.Length, s.Validation.Length));
        Assert.True(scores[2].TestMean > 0.9, $"separable features read {scores[2].TestMean}");
        Assert.True(scores[2].ValidationMean > 0.9);

        // Labels the features do not carry: the probe stays near chance.
        var shuffled = trainY.ToArray();
        new Random(9).Shuffle(shuffled);
        var testShuffled = testY.ToArray();
        new Random(10).Shuffle(testShuffled);
        var noise = SingleDigitProbe.Probe(trainX, shuffled, pool, validation, testX, testShuffled, [], seeds: 1, classes: 10, options);
        Assert.True(Assert.Single(noise).TestMean < 0.35, $"label-free features read {noise[0].TestMean}");

        Assert.Throws<ArgumentException>(() => SingleDigitProbe.Probe(trainX, trainY, pool, [60, 61], testX, testY, [1], 1, 10, options));
        Assert.Throws<ArgumentException>(() => SingleDigitProbe.Probe(trainX, trainY, pool, [], testX, testY, [1], 1, 10, options));
    }
}
