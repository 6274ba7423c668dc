using Pretext.Methods;
using Pretext.Methods.Shared;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class MomentumTeacherTests
{
    [Fact]
    public void TargetStartsAsFrozenCopyThenFollowsTheEmaRule()
    {
        torch.set_num_threads(1);
        manual_seed(1);
        using var online = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3));
        using var target = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3));
        var teacher = new MomentumTeacher(0.9, 0.9);
        teacher.Track(online, target);
        foreach (var ((_, o), (_, t)) in online.named_parameters().Zip(target.named_parameters()))
        {
            Assert.True(TestData.Same(o, t));
            Assert.False(t.requires_grad);
        }

        var before = target.named_parameters().Select(p => p.parameter.clone()).ToList();
        using (no_grad()) foreach (var (_, p) in online.named_parameters()) p.add_(1.0);
        online.forward(randn(8, 4)); // moves the online batch-norm running statistics
        teacher.Update(new TrainingProgress(1, 10));
        var onlineNow = online.named_parameters().Select(p => p.parameter).ToList();
        for (int i = 0; i < before.Count; i++)
        {
            var expected = before[i].mul(0.9).add(onlineNow[i].mul(0.1));
            Assert.True(target.named_parameters().ElementAt(i).parameter.allclose(expected, rtol: 1e-6, atol: 1e-7));
        }
        foreach (var ((_, ob), (_, tb)) in online.named_buffers().Zip(target.named_buffers()))
            Assert.True(TestData.Same(ob, tb));
    }

    [Fact]
    public void MomentumRisesOnACosineFromBaseToFinal()
    {
        var teacher = new MomentumTeacher(0.996, 1.0);
        Assert.Equal(0.996, teacher.MomentumAt(new TrainingProgress(0, 100)), 12);
        Assert.Equal(0.998, teacher.MomentumAt(new TrainingProgress(50, 100)), 12);
        Assert.Equal(1.0, teacher.MomentumAt(new TrainingProgress(100, 100)), 12);
    }

    [Fact]
    public void MismatchedArchitecturesAreRefused()
    {
        using var a = nn.Linear(4, 3);
        using var b = nn.Linear(4, 2);
        Assert.Throws<ArgumentException>(() => new MomentumTeacher(0.99).Track(a, b));
    }
}
