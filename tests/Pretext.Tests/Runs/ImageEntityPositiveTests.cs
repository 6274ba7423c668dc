using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>Same-entity positives for image folders: entities from file names, groups handed to the loop, SimCLR's second view from a partner.</summary>
public class ImageEntityPositiveTests
{
    public ImageEntityPositiveTests() => set_num_threads(1);

    private static readonly string[] Paths = ["a/p1_scan1.png", "a/p1_scan2.png", "b/p2_x.png", "b/p3_x.png", "a/p2_y.png", "b/p1_z.png"];

    [Fact]
    public void EntitiesComeFromTheFirstCaptureGroupOfThePattern()
    {
        var config = new ImageDataConfig { Entity = "(p[0-9]+)_", EntityPositives = true };
        Assert.Equal(["p1", "p1", "p2", "p3", "p2", "p1"], config.EntitiesOf(Paths, "scans"));
        Assert.Equal(["a", "a", "b", "b", "a", "b"], new ImageDataConfig { Entity = "^[ab]" }.EntitiesOf(Paths, "scans")); // no group: the match
        var e = Assert.Throws<ArgumentException>(() => new ImageDataConfig { Entity = "^(q[0-9])" }.EntitiesOf(Paths, "scans"));
        Assert.Contains("'a/p1_scan1.png' does not match images.entity", e.Message);
        Assert.Contains("images.entity", Assert.Throws<ArgumentException>(() => new ImageDataConfig { EntityPositives = true }.EntitiesOf(Paths, "scans")).Message);
        Assert.Contains("not a regular expression", Assert.Throws<ArgumentException>(() => new ImageDataConfig { Entity = "(" }.EntitiesOf(Paths, "scans")).Message);
    }

    [Fact]
    public void AnImageRunGroupsTheImagesOfAnEntityOnlyWhenAskedAndOnlyForSimClr()
    {
        var cfg = Presets.For("simclr", "scans", threads: 1);
        cfg = cfg with { Encoder = cfg.Encoder with { ImageSize = 8, InChannels = 1 } };
        using var samples = new ImageSamples(new TensorDataset("scans", rand(6, 1, 8, 8), sampleIds: Paths));
        var modality = ModalityCatalog.Get(Modality.Image);
        using (var off = modality.PrepareRun(cfg with { Images = new ImageDataConfig { Entity = "(p[0-9]+)_" } }, samples, "unused", false, NullObserver.Instance, default))
            Assert.Null(off.Data.Entities); // off by default, even with a pattern
        var on = cfg with { Images = new ImageDataConfig { Entity = "(p[0-9]+)_", EntityPositives = true } };
        using (var prepared = modality.PrepareRun(on, samples, "unused", false, NullObserver.Instance, default))
        {
            var groups = prepared.Data.Entities!;
            Assert.True(groups.SameEntity(0, 5));
            Assert.True(groups.SameEntity(2, 4));
            Assert.False(groups.SameEntity(0, 2));
            Assert.Equal(3, groups.EntityCount);
        }
        // The CLI's --set reaches the options.
        var set = ConfigOverrides.Apply(cfg, ["images.entity=(p[0-9]+)_", "images.entityPositives=true"]);
        Assert.Equal(on.Images, set.Images);
        var byol = Presets.For("byol", "scans", threads: 1) with { Encoder = on.Encoder, Images = on.Images };
        Assert.Contains("simclr", Assert.Throws<ArgumentException>(() => modality.PrepareRun(byol, samples, "unused", false, NullObserver.Instance, default)).Message);
    }

    [Fact]
    public void SimClrTakesItsSecondViewFromThePartner()
    {
        manual_seed(0);
        var encoder = new EncoderConfig { Widths = [8, 16], Blocks = [1, 1], Precision = Precision.Float32, Layout = MemoryLayout.Contiguous, ImageSize = 8, InChannels = 1 }.Build();
        using var simclr = new SimClr(encoder);
        simclr.eval();
        using var a = rand(6, 1, 8, 8);
        using var b = rand(6, 1, 8, 8);
        using var other = rand(6, 1, 8, 8);
        float Loss(Tensor[]? partners)
        {
            using var scope = NewDisposeScope();
            return simclr.ComputeLoss(new Batch([a, b], [0, 1, 2, 3, 4, 5], null, partners), new TrainingProgress(0, 1)).Loss.item<float>();
        }
        float own = Loss(null);
        Assert.Equal(own, Loss([other, b])); // the partner's first view is not used
        Assert.NotEqual(own, Loss([a, other]));
    }
}
