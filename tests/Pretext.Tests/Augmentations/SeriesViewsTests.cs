using Pretext.Augmentations;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Augmentations;

public class SeriesViewsTests
{
    public SeriesViewsTests() => set_num_threads(1);

    private static Tensor Windows(int b = 8, int c = 3, int l = 32)
    {
        using var g = new Generator(7);
        return randn([b, c, l], generator: g);
    }

    public static TheoryData<string> All => new() { "jitter", "scaling", "crop", "masking", "permutation", "view" };

    private static IAugmentation Make(string name) => name switch
    {
        "jitter" => new Jitter(0.1),
        "scaling" => new ChannelScaling(0.2),
        "crop" => new SeriesCrop(0.5),
        "masking" => new TimeMasking(0.3),
        "permutation" => new SegmentPermutation(5),
        "view" => new SeriesAugmentationConfig { CropMin = 0.6, MaskProbability = 0.1, PermutationSegments = 4 }.BuildView(),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(All))]
    public void SameSeedSameViewDifferentSeedDifferentViewInputUntouched(string name)
    {
        var aug = Make(name);
        using var x = Windows();
        using var g1 = new Generator(123); using var g2 = new Generator(123); using var g3 = new Generator(999);
        using var a = aug.Apply(x, g1); using var b = aug.Apply(x, g2); using var c = aug.Apply(x, g3);
        Assert.Equal(x.shape, a.shape);
        Assert.True(TestData.Same(a, b));
        Assert.False(TestData.Same(a, c));
        using var orig = Windows();
        Assert.True(TestData.Same(x, orig), "augmentation modified its input");
    }

    [Fact]
    public void ViewsAreSeededAsTheTrainingLoopSeedsThem()
    {
        // The loop draws step s's views from a generator seeded with DeriveSeed(seed, Views, s): the same step repeats them.
        var views = new MultiViewAugmentation(Make("view"), 2);
        using var x = Windows();
        Tensor[] At(int seed, long step)
        {
            using var g = new Generator((ulong)Trainer.DeriveSeed(seed, RandomStreams.Views, step));
            return views.MakeViews(x, g);
        }
        var first = At(42, 3); var again = At(42, 3); var next = At(42, 4);
        Assert.True(TestData.Same(first[0], again[0]) && TestData.Same(first[1], again[1]));
        Assert.False(TestData.Same(first[0], first[1]), "the two views of one step are alike");
        Assert.False(TestData.Same(first[0], next[0]));
        foreach (var t in first.Concat(again).Concat(next)) t.Dispose();
    }

    [Fact]
    public void ScalingMultipliesWholeChannelsAndMaskingZeroesWholeSteps()
    {
        using var x = Windows().abs().add(1);
        using var g = new Generator(3);
        using var scaled = new ChannelScaling(0.5).Apply(x, g);
        using var ratio = scaled.div(x);
        using var spread = ratio.amax([2L]).sub(ratio.amin([2L]));
        Assert.True(spread.max().item<float>() < 1e-5f, "one factor per channel");
        using var masked = new TimeMasking(0.5).Apply(x, g);
        using var zero = masked.eq(0);
        using var perStep = zero.to(ScalarType.Int32).sum([1L]);   // (B, L): 0 or C zeros per step
        Assert.True(perStep.eq(0).logical_or(perStep.eq(3)).all().item<bool>());
        Assert.True(zero.any().item<bool>());
    }

    [Fact]
    public void PermutationKeepsEveryReadingWithItsChannels()
    {
        using var x = Windows(b: 4, c: 2, l: 20);
        using var g = new Generator(11);
        using var y = new SegmentPermutation(5).Apply(x, g);
        for (int i = 0; i < 4; i++)
        {
            // Each output step is some input step, all channels together, and each input step is used once.
            var columns = Enumerable.Range(0, 20).Select(t => x[i, .., t].data<float>().ToArray()).ToList();
            var used = new HashSet<int>();
            for (int t = 0; t < 20; t++)
            {
                var col = y[i, .., t].data<float>().ToArray();
                int from = columns.FindIndex(c => c.SequenceEqual(col));
                Assert.True(from >= 0 && used.Add(from));
            }
        }
        Assert.False(TestData.Same(x, y));
    }

    [Fact]
    public void AFullCropAndTheOffSwitchesChangeNothing()
    {
        using var x = Windows();
        using var g = new Generator(1);
        using var cropped = new SeriesCrop(1.0).Apply(x, g);
        Assert.True(cropped.allclose(x, rtol: 1e-5, atol: 1e-5));
        var off = new SeriesAugmentationConfig { JitterStd = 0, ScaleStd = 0 };
        using var same = off.BuildView().Apply(x, g);
        Assert.True(TestData.Same(same, x));
        Assert.Empty(((AugmentationPipeline)off.BuildSupervised()).Steps);
        Assert.Equal(2, ((AugmentationPipeline)new SeriesAugmentationConfig { CropMin = 0.5, PermutationSegments = 3 }.BuildSupervised()).Steps.Count);
        using var images = rand(2, 1, 8, 8);
        Assert.Contains("(B, C, L)", Assert.Throws<ArgumentException>(() => new Jitter(0.1).Apply(images, g)).Message);
    }
}
