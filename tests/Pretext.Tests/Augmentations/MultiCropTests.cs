using Pretext.Methods.Shared;
using Pretext.Augmentations;
using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Augmentations;

public class MultiCropTests
{
    public MultiCropTests() => set_num_threads(1);

    [Fact]
    public void GlobalCropsFirstThenLocalCropsAtTheirSize()
    {
        using var data = TestData.Blobs(8);
        using var scope = NewDisposeScope();
        var x = data.Gather(Enumerable.Range(0, 8).Select(i => (long)i).ToArray());
        var views = MultiCrop.Views(new ImageAugmentationConfig(), new MultiCropOptions());
        Assert.Equal(6, views.ViewCount);
        var v = views.MakeViews(x, new Generator(7));
        for (int i = 0; i < 6; i++) Assert.Equal(i < 2 ? new long[] { 8, 1, 28, 28 } : new long[] { 8, 1, 12, 12 }, v[i].shape);
        // Same seed, same crops; views differ from each other.
        var again = views.MakeViews(x, new Generator(7));
        for (int i = 0; i < 6; i++) Assert.True(TestData.Same(v[i], again[i]));
        Assert.False(TestData.Same(v[0], v[1]));
        Assert.False(TestData.Same(v[2], v[3]));
    }

    [Fact]
    public void LocalCropsComeFromTheLocalScaleRange()
    {
        // A local crop of at most 1 % of the area of a half-black, half-white image sees (almost always) one colour;
        // a global crop over the whole image sees both.
        using var scope = NewDisposeScope();
        var img = zeros(64, 1, 28, 28);
        img.narrow(3, 14, 14).fill_(1);
        var augment = new ImageAugmentationConfig { CropScaleMin = 1, CropScaleMax = 1, FlipProbability = 0, JitterProbability = 0, Mean = [0f], Std = [1f] };
        var crops = new MultiCropOptions { LocalCount = 1, LocalScaleMin = 0.005, LocalScaleMax = 0.01, LocalSize = 8 };
        var v = MultiCrop.Views(augment, crops).MakeViews(img, new Generator(3));
        var globalSpread = v[0].amax([1L, 2L, 3L]).sub(v[0].amin([1L, 2L, 3L]));
        var localSpread = v[2].amax([1L, 2L, 3L]).sub(v[2].amin([1L, 2L, 3L]));
        Assert.True(globalSpread.min().item<float>() > 0.99f);
        Assert.True(localSpread.lt(0.99f).sum().item<long>() >= 48, "most tiny local crops should see a single colour");
    }

    [Fact]
    public void LocalSizeDefaultsTo96Over224OfTheImage()
    {
        var o = new MultiCropOptions();
        Assert.Equal(12, o.LocalSizeFor(28));
        Assert.Equal(14, o.LocalSizeFor(32));
        Assert.Equal(96, o.LocalSizeFor(224));
        Assert.Equal(16, (o with { LocalSize = 16 }).LocalSizeFor(28));
        Assert.Equal(6, o.ViewCount);
    }

    [Fact]
    public void BadOptionsNameTheKeyAndTheFix()
    {
        const string at = "methods.swav.multiCrop";
        Assert.Contains($"{at}.localCount", Assert.Throws<ArgumentException>(() => new MultiCropOptions { LocalCount = -1 }.Validate(at)).Message);
        Assert.Contains($"{at}.globalCount", Assert.Throws<ArgumentException>(() => new MultiCropOptions { GlobalCount = 0 }.Validate(at)).Message);
        Assert.Contains("localScaleMin", Assert.Throws<ArgumentException>(() => new MultiCropOptions { LocalScaleMin = 0.5, LocalScaleMax = 0.2 }.Validate(at)).Message);
        Assert.Contains($"{at}.localSize", Assert.Throws<ArgumentException>(() => new MultiCropOptions { LocalSize = -3 }.Validate(at)).Message);
    }

    [Theory]
    [InlineData(Precision.Float32, MemoryLayout.Contiguous)]
    [InlineData(Precision.BFloat16, MemoryLayout.ChannelsLast)]
    public void ResNetTakesSmallCropsThroughGlobalAveragePooling(Precision precision, MemoryLayout layout)
    {
        manual_seed(1);
        using var resnet = new ResNet(new ResNetOptions { Compute = new ComputeOptions(precision, layout) });
        resnet.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (int side in new[] { 28, 16, 12, 8 })
        {
            var x = randn(3, 1, side, side);
            var f = resnet.forward(x);
            Assert.Equal(new long[] { 3, resnet.FeatureDim }, f.shape);
            Assert.Equal(ScalarType.Float32, f.dtype);
            Assert.True(f.isfinite().all().item<bool>());
            // Different inputs give different features (the small input is not reduced to a constant).
            Assert.False(TestData.Same(f[0], f[1]));
        }
        MultiCropCheck.CheckEncoder(resnet, new MultiCropOptions(), "methods.x.multiCrop");
    }

    [Fact]
    public void EncoderCheckRefusesFixedSizeEncodersWithAFixAndLeavesTheEncoderAlone()
    {
        using var mlp = new MlpEncoder(new MlpOptions { InputShape = [1, 28, 28], Hidden = [16] });
        var e = Assert.Throws<ArgumentException>(() => MultiCropCheck.CheckEncoder(mlp, new MultiCropOptions(), "methods.swav.multiCrop"));
        Assert.Contains("12x12", e.Message);
        Assert.Contains("methods.swav.multiCrop.localCount=0", e.Message);
        Assert.Contains("--encoder ResNet", e.Message);
        MultiCropCheck.CheckEncoder(mlp, new MultiCropOptions { LocalCount = 0 }, "methods.swav.multiCrop");
        Assert.Throws<ArgumentException>(() => new Swav(mlp, new SwavOptions()));

        using var resnet = new ResNet(new ResNetOptions { Widths = [8, 16], Blocks = [1, 1] });
        resnet.train();
        var before = resnet.named_buffers().Select(b => b.buffer.clone()).ToList();
        MultiCropCheck.CheckEncoder(resnet, new MultiCropOptions(), "m");
        Assert.True(resnet.training);
        foreach (var (b, old) in resnet.named_buffers().Zip(before)) Assert.True(TestData.Same(b.buffer, old));
    }
}
