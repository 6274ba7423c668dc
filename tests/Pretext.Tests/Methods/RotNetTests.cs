using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class RotNetTests
{
    public RotNetTests() => set_num_threads(1);

    [Fact]
    public void RotationsAndLabelsMatchLoops()
    {
        const int b = 3, c = 2, s = 5;
        using var x = arange(b * c * s * s, dtype: ScalarType.Float32).view(b, c, s, s);
        var (images, labels) = RotNet.Rotate(x);
        using (images)
        using (labels)
        {
            Assert.Equal(new long[] { 4 * b, c, s, s }, images.shape);
            Assert.Equal(new long[] { 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3 }, labels.data<long>().ToArray());
            var src = x.data<float>().ToArray();
            var dst = images.data<float>().ToArray();
            for (int k = 0; k < 4; k++)
                for (int n = 0; n < b; n++)
                    for (int ch = 0; ch < c; ch++)
                        for (int i = 0; i < s; i++)
                            for (int j = 0; j < s; j++)
                            {
                                // Turn (i, j) back k quarter turns counter-clockwise: a CCW turn maps source (r, q) to (s-1-q, r).
                                int r = i, q = j;
                                for (int t = 0; t < k; t++) (r, q) = (q, s - 1 - r);
                                Assert.Equal(src[((n * c + ch) * s + r) * s + q], dst[(((k * b + n) * c + ch) * s + i) * s + j]);
                            }
        }
    }

    [Fact]
    public void OneQuarterTurnIsCounterClockwise()
    {
        // A bright pixel in the top-right corner moves to the top-left corner.
        using var x = zeros(1, 1, 3, 3);
        x[0, 0, 0, 2] = tensor(1f);
        var (images, _) = RotNet.Rotate(x);
        using (images) Assert.Equal(1f, images[1, 0, 0, 0].item<float>());
    }

    [Fact]
    public void NonSquareImagesAreRejected()
    {
        using var x = zeros(2, 1, 4, 6);
        var e = Assert.Throws<ArgumentException>(() => RotNet.Rotate(x));
        Assert.Contains("square", e.Message);
    }

    [Fact]
    public void LossIsCrossEntropyOverTheFourRotationsAndLearns()
    {
        manual_seed(2);
        using var encoder = new ResNet(new ResNetOptions { Widths = [8, 16], Blocks = [1, 1] });
        using var rotnet = new RotNet(encoder);
        // Upright images have a bright top and a dark bottom (plus noise): their orientation is visible
        // to a convolutional encoder with global pooling, as an object's is.
        using var ramp = linspace(1, -1, 28).view(1, 1, 28, 1).expand(16, 1, 28, 28);
        using var x = ramp.add(randn(16, 1, 28, 28).mul(0.3));
        using var opt = new Optimizer(rotnet.ParameterGroups(), new OptimizerOptions { Kind = OptimizerKind.Sgd, Momentum = 0.9, WeightDecay = 0 });
        var losses = new List<float>();
        for (int step = 0; step < 25; step++)
        {
            using var scope = NewDisposeScope();
            var o = rotnet.ComputeLoss(new Batch([x], []), new TrainingProgress(step, 25));
            Assert.Equal(new long[] { 16, 16 }, o.Embedding.shape);
            losses.Add(o.Loss.item<float>());
            opt.ZeroGrad(); o.Loss.backward(); opt.Step(0.2);
        }
        // Chance level is ln 4 = 1.386 at the start.
        Assert.InRange(losses[0], 1.2, 1.6);
        Assert.True(losses[^1] < 0.9, $"loss went from {losses[0]} to {losses[^1]}");
    }

    [Fact]
    public void PresetFollowsTheAuthorsCifarRecipe()
    {
        var entry = MethodRegistry.Get("rotnet");
        Assert.Equal("classic", entry.Family);
        var cfg = entry.ApplyPreset(Presets.For("simclr", "fashion-mnist"));
        Assert.Equal(OptimizerKind.Sgd, cfg.Train.Optimizer.Kind);
        Assert.True(cfg.Train.Optimizer.Nesterov);
        Assert.Equal(0.1, cfg.Train.LearningRate);
        Assert.Equal(5e-4, cfg.Train.Optimizer.WeightDecay);
        Assert.Equal(128, cfg.Train.BatchSize);
        Assert.Equal(EncoderKind.ResNet, cfg.Encoder.Kind);
    }
}
