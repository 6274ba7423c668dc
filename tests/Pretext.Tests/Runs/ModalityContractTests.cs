using Pretext.Data;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;

namespace Pretext.Tests.Runs;

/// <summary>Every registered method can run from the CLI: its kind of data has a modality, and its preset an encoder of that kind.</summary>
public class ModalityContractTests
{
    public static TheoryData<string, Modality> Registered => Pretext.Tests.Methods.MethodContractTests.Registered;

    [Theory, MemberData(nameof(Registered))]
    public void EveryMethodHasAModalityAndAPresetOfItsKind(string name, Modality kind)
    {
        var entry = MethodRegistry.Get(name);
        Assert.True(entry.TrainsOn(kind));
        var modality = ModalityCatalog.Get(kind);
        Assert.Equal(kind, modality.Kind);
        Assert.True(MethodRegistry.Get(modality.DefaultMethod).TrainsOn(kind));
        // A catalogued data set of the method's kind when there is one, else a path (folders and files).
        string dataset = DataCatalog.All.FirstOrDefault(e => e.Modality == kind)?.Name ?? "some-file.csv";
        var cfg = Presets.For(name, dataset, threads: 1);
        Assert.Equal(name, cfg.Method);
        Assert.Equal(kind, cfg.Encoder.Modality);
        Assert.False(string.IsNullOrWhiteSpace(modality.BaselineName));
        var plan = modality.Plan(cfg.Evaluation);
        Assert.True(plan.Knn || plan.LinearProbe);
    }

    [Fact]
    public void EveryKindOfDataIsInTheCatalogueOnce()
    {
        foreach (var kind in Enum.GetValues<Modality>())
            Assert.Single(ModalityCatalog.All, m => m.Kind == kind);
    }

    [Fact]
    public void MovingMnistDefaultsToNextFramePrediction()
    {
        var request = new PretrainRequest { Dataset = "moving-mnist", Threads = 1 };
        Assert.Equal("nextframe", request.MethodEntry().Name);
        var cfg = request.Resolve();
        Assert.Equal(Pretext.Encoders.EncoderKind.FrameSequence, cfg.Encoder.Kind);
        Assert.Equal(20, cfg.Encoder.Video.Frames);
        Assert.Equal(64, cfg.Encoder.Video.Size);
        Assert.Contains("encoder.video", Assert.Throws<ArgumentException>(() => (request with { ImageSize = 32 }).Resolve()).Message);
        Assert.Contains("a video method", Assert.Throws<ArgumentException>(() => (request with { Method = "simclr" }).Resolve()).Message);
    }
}
