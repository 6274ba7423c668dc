using Pretext.Augmentations;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Augmentations;

public class AugmentationTests
{
    public AugmentationTests() => set_num_threads(1);

    private static Tensor Images(int b = 8, int c = 1, int s = 28)
    {
        using var g = new Generator(7);
        return rand([b, c, s, s], generator: g);
    }

    public static TheoryData<string> All => new() { "crop", "flip", "jitter", "blur", "erase" };

    private static IAugmentation Make(string name) => name switch
    {
        "crop" => new RandomResizedCrop(20, 0.2, 1.0, flipProbability: 0.5),
        "flip" => new RandomHorizontalFlip(0.5),
        "jitter" => new BrightnessContrastJitter(0.4, 0.4, 0.8),
        "blur" => new RandomGaussianBlur(5, 0.1, 2.0, 0.5),
        "erase" => new RandomErasing(0.9),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(All))]
    public void SameSeedSameOutputDifferentSeedDifferentOutput(string name)
    {
        var aug = Make(name);
        using var x = Images();
        using var g1 = new Generator(123); using var g2 = new Generator(123); using var g3 = new Generator(999);
        using var a = aug.Apply(x, g1); using var b = aug.Apply(x, g2); using var c = aug.Apply(x, g3);
        Assert.True(TestData.Same(a, b));
        Assert.False(TestData.Same(a, c));
        using var orig = Images();
        Assert.True(TestData.Same(x, orig), "augmentation modified its input");
    }

    [Theory, MemberData(nameof(All))]
    public void SamplesGetIndependentParameters(string name)
    {
        // The same image repeated across the batch must come out differently for at least two samples.
        using var one = Images(1);
        using var x = one.expand(16, 1, 28, 28).contiguous();
        using var g = new Generator(5);
        using var y = Make(name).Apply(x, g);
        using var first = y[0];
        int differing = 0;
        for (int i = 1; i < 16; i++) { using var yi = y[i]; if (!yi.allclose(first)) differing++; }
        Assert.True(differing > 0);
    }

    [Fact]
    public void FullCropWithoutFlipIsIdentity()
    {
        using var x = Images();
        using var g = new Generator(1);
        using var y = new RandomResizedCrop(28, 1.0, 1.0, 1.0, 1.0).Apply(x, g);
        Assert.True(y.allclose(x, atol: 1e-5));
    }

    [Fact]
    public void FlipWithProbabilityOneMirrors()
    {
        using var x = Images();
        using var g = new Generator(1);
        using var y = new RandomHorizontalFlip(1.0).Apply(x, g);
        using var f = x.flip(3);
        Assert.True(TestData.Same(y, f));
    }

    [Fact]
    public void JitterStaysInUnitRangeAndErasingWritesValue()
    {
        using var x = Images();
        using var g = new Generator(3);
        using var j = new BrightnessContrastJitter(0.9, 0.9, 1.0).Apply(x, g);
        Assert.True(j.min().item<float>() >= 0 && j.max().item<float>() <= 1);
        using var allOnes = ones(4, 1, 10, 10);
        using var e = new RandomErasing(1.0, 0.2, 0.2, 1, 1, value: 0).Apply(allOnes, g);
        for (int i = 0; i < 4; i++)
        {
            using var zerosCount = e[i].eq(0).sum();
            Assert.InRange(zerosCount.item<long>(), 16, 25); // a ~4.5x4.5 square rounded
        }
    }

    [Fact]
    public void BlurKeepsConstantImagesConstant()
    {
        using var x = full([2, 1, 12, 12], 0.3f);
        using var g = new Generator(3);
        using var y = new RandomGaussianBlur(5, 0.5, 2.0, 1.0).Apply(x, g);
        Assert.True(y.allclose(x, atol: 1e-5));
    }

    [Fact]
    public void MultiViewMakesIndependentViewsAndPipelineNormalizes()
    {
        var view = new AugmentationPipeline([new RandomResizedCrop(28, 0.2, 1.0, flipProbability: 0.5), new Normalize([0.5f], [0.25f])]);
        var mv = new MultiViewAugmentation(view, 2);
        using var x = Images();
        using var g = new Generator(11);
        var views = mv.MakeViews(x, g);
        Assert.Equal(2, views.Length);
        Assert.False(views[0].allclose(views[1]));
        Assert.Equal(new long[] { 8, 1, 28, 28 }, views[0].shape);
        foreach (var v in views) v.Dispose();
    }

    [Fact]
    public void RejectsBadParametersAndShapes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(28, 0.9, 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomGaussianBlur(4));
        Assert.Throws<ArgumentException>(() => new Normalize([0.5f], [0f]));
        using var flat = ones(3, 784);
        using var g = new Generator(1);
        Assert.Throws<ArgumentException>(() => new RandomHorizontalFlip().Apply(flat, g));
    }
}
