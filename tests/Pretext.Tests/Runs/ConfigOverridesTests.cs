using Pretext.Runs;
using Pretext.Training;

namespace Pretext.Tests.Runs;

public class ConfigOverridesTests
{
    [Fact]
    public void SetsNestedValuesIgnoringCaseAndUnderscores()
    {
        var cfg = ConfigOverrides.Apply(Presets.For("simclr", "fashion-mnist"), [
            "methods.simclr.temperature=0.1",
            "train.optimizer.kind=AdamW",
            "Train.Optimizer.Weight_Decay=0.05",
            "encoder.widths=[16,32,64,128]",
        ]);
        Assert.Equal(0.1, cfg.Methods.SimClr.Temperature);
        Assert.Equal(OptimizerKind.AdamW, cfg.Train.Optimizer.Kind);
        Assert.Equal(0.05, cfg.Train.Optimizer.WeightDecay);
        Assert.Equal([16, 32, 64, 128], cfg.Encoder.Widths);
        // Untouched fields keep their preset values.
        Assert.Equal(Presets.For("simclr", "fashion-mnist").Train.BatchSize, cfg.Train.BatchSize);
    }

    [Theory]
    [InlineData("methods.simclr.temprature=0.1", "temprature", "Temperature")]
    [InlineData("train=3", "section", "BatchSize")]
    [InlineData("train.batchsize=many", "takes a number (now 256), not 'many'", "BatchSize")]
    [InlineData("encoder.widths=abc", "is not of the kind that key takes", "Widths")]
    [InlineData("no-equals-sign", "path=value", "")]
    public void BadAssignmentsNameTheProblemAndTheKnownKeys(string assignment, string expected, string known)
    {
        var e = Assert.Throws<ArgumentException>(() => ConfigOverrides.Apply(Presets.For("simclr", "fashion-mnist"), [assignment]));
        Assert.Contains(expected, e.Message);
        Assert.Contains(known, e.Message);
    }
}
