using Pretext.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace Pretext.Tests.Training;

public class FixedLrGroupTests
{
    [Fact]
    public void GroupsWithoutDecayTakeTheUndecayedRate()
    {
        using var a = new Parameter(ones(3));
        using var b = new Parameter(ones(3));
        var groups = new[]
        {
            new ParameterGroup("scheduled", [("a", a)], WeightDecay: false),
            new ParameterGroup("fixed", [("b", b)], WeightDecay: false, LrScale: 2, DecayLr: false),
        };
        using var opt = new Optimizer(groups, new OptimizerOptions { Kind = OptimizerKind.Sgd, Momentum = 0, WeightDecay = 0 });
        using (var loss = a.sum().add(b.sum())) loss.backward();
        opt.Step(0.1, 0.25);
        Assert.Equal(new float[] { 0.9f, 0.9f, 0.9f }, a.data<float>().ToArray());
        Assert.Equal(new float[] { 0.5f, 0.5f, 0.5f }, b.data<float>().ToArray());
    }

    [Fact]
    public void UndecayedScheduleWarmsUpThenStaysAtThePeak()
    {
        var s = new WarmupCosineSchedule(1.0, WarmupSteps: 10, TotalSteps: 100);
        Assert.Equal(s.At(3), s.Undecayed(3));
        Assert.Equal(1.0, s.Undecayed(10));
        Assert.Equal(1.0, s.Undecayed(99));
        Assert.True(s.At(99) < 0.01);
    }
}
