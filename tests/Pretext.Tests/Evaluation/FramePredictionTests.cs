using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Reporting;
using StbImageSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class FramePredictionTests
{
    public FramePredictionTests() => set_num_threads(1);

    private sealed class Fixed(Func<Tensor, Tensor> predict) : IFramePredictor
    {
        public Tensor Predict(Tensor clips) => predict(clips);
    }

    private static TensorDataset RandomClips(int n, int frames, int side, int seed)
    {
        var g = new Generator((ulong)seed);
        return new TensorDataset("random", rand(new long[] { n, frames, 1, side, side }, generator: g));
    }

    /// <summary>Sum over clips and pixels of (frame t+1 - frame t)^2 per t, then the mean per pixel, in plain loops.</summary>
    private static (double[] PerStep, double Blank) SlowCopyLast(float[] x, int n, int frames, int pixels)
    {
        var sums = new double[frames - 1];
        double blank = 0;
        for (int c = 0; c < n; c++)
            for (int t = 0; t + 1 < frames; t++)
                for (int p = 0; p < pixels; p++)
                {
                    double next = x[(c * frames + t + 1) * pixels + p], last = x[(c * frames + t) * pixels + p];
                    sums[t] += (next - last) * (next - last);
                    blank += next * next;
                }
        return (sums.Select(s => s / ((double)n * pixels)).ToArray(), blank / ((double)n * pixels * (frames - 1)));
    }

    [Fact]
    public void CopyLastErrorMatchesASlowLoopAcrossBatches()
    {
        using var clips = RandomClips(5, 4, 6, 1);
        var x = clips.Data.data<float>().ToArray();
        var (slow, blank) = SlowCopyLast(x, 5, 4, 36);
        // Copy-last as the model too: both columns must agree with the loop, whatever the batch size splits.
        var r = FramePrediction.Evaluate(new Fixed(c => FramePrediction.CopyLast(c).clone()), clips, batchSize: 2);
        Assert.Equal(5, r.Clips);
        for (int t = 0; t < 3; t++)
        {
            Assert.Equal(slow[t], r.CopyLastMsePerStep[t], 1e-6);
            Assert.Equal(slow[t], r.ModelMsePerStep[t], 1e-6);
        }
        Assert.Equal(slow.Average(), r.CopyLastMse, 1e-6);
        Assert.Equal(blank, r.BlankMse, 1e-6);
        Assert.Equal(0, r.BelowCopyLast, 1e-9);
    }

    [Fact]
    public void APerfectPredictorScoresZeroAndAConstantOneIsScoredAgainstTheTruth()
    {
        using var clips = RandomClips(3, 5, 4, 2);
        var perfect = FramePrediction.Evaluate(new Fixed(c => c.narrow(1, 1, c.shape[1] - 1).clone()), clips);
        Assert.Equal(0, perfect.ModelMse, 1e-12);
        Assert.Equal(1, perfect.BelowCopyLast, 1e-9);
        // Predicting 0.5 everywhere: the error is the mean of (x - 0.5)^2 over frames 1..T-1.
        var half = FramePrediction.Evaluate(new Fixed(c => full_like(c.narrow(1, 1, c.shape[1] - 1), 0.5)), clips);
        using var expected = clips.Data.narrow(1, 1, 4).to(ScalarType.Float64).sub(0.5).square().mean();
        Assert.Equal(expected.item<double>(), half.ModelMse, 1e-6);
        Assert.Contains("above", FramePrediction.Relative(-0.25));
        Assert.Equal("30.0 % below", FramePrediction.Relative(0.3));
    }

    [Fact]
    public void WrongShapesAreRefused()
    {
        using var clips = rand(new long[] { 2, 3, 1, 4, 4 });
        using var wrong = rand(new long[] { 2, 3, 1, 4, 4 });
        Assert.Contains("expected [2,2,1,4,4]", Assert.Throws<ArgumentException>(() => FramePrediction.SquaredErrorPerStep(wrong, clips)).Message);
        using var single = new TensorDataset("one-frame", rand(new long[] { 2, 1, 1, 4, 4 }));
        Assert.Contains("at least 2 frames", Assert.Throws<ArgumentException>(() => FramePrediction.Evaluate(new Fixed(c => c), single)).Message);
    }

    [Fact]
    public void TheStripHasARowOfTrueAndOfPredictedFramesPerClip()
    {
        using var dir = new TempDirectory();
        using var truth = ones(new long[] { 2, 3, 1, 5, 5 });
        using var predicted = zeros(new long[] { 2, 3, 1, 5, 5 });
        string path = dir.File("strip.png");
        FrameStrip.Write(path, truth, predicted, scale: 2);
        var image = ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.Grey);
        // 3 frames of 10 pixels with 2-pixel gaps across; 2 clips x (true, predicted) rows down.
        Assert.Equal(3 * 12 + 2, image.Width);
        Assert.Equal(4 * 12 + 2, image.Height);
        Assert.Equal(255, image.Data[2 * image.Width + 2]);             // a true frame: white
        Assert.Equal(0, image.Data[(2 + 12) * image.Width + 2]);        // the predicted frame below it: black
        Assert.Throws<ArgumentException>(() => FrameStrip.Write(path, truth, zeros(new long[] { 2, 2, 1, 5, 5 })));
    }
}
