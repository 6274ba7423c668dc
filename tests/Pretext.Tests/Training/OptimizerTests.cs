using Pretext.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace Pretext.Tests.Training;

public class OptimizerTests
{
    public OptimizerTests() => set_num_threads(1);

    private static (Parameter W, Parameter B, IReadOnlyList<ParameterGroup> Groups) Setup(float[] w0, float[] g)
    {
        var w = new Parameter(tensor(w0, [2, 2]));
        var b = new Parameter(tensor(new float[] { 1f, -1f }));
        w.grad = tensor(g, [2, 2]);
        b.grad = tensor(new float[] { 0.5f, 0.5f });
        return (w, b, ParameterGroup.SplitDecay([("w", w), ("b", b)]));
    }

    [Fact]
    public void SgdMomentumWithCoupledDecayMatchesFormula()
    {
        var (w, b, groups) = Setup([1, 2, 3, 4], [0.1f, 0.2f, 0.3f, 0.4f]);
        using var opt = new Optimizer(groups, new OptimizerOptions { Kind = OptimizerKind.Sgd, WeightDecay = 0.1, Momentum = 0.9 });
        opt.Step(0.5);
        // d = g + 0.1 w; buf = d; w -= 0.5 d
        Assert.Equal(1 - 0.5f * (0.1f + 0.1f), w.data<float>()[0], 5);
        // biases get no decay
        Assert.Equal(1 - 0.5f * 0.5f, b.data<float>()[0], 5);
        opt.Step(0.5);
        // second step: buf = 0.9 buf + d'
        float w1 = 0.9f, d1 = 0.2f, d2 = 0.1f + 0.1f * w1, buf = 0.9f * d1 + d2;
        Assert.Equal(w1 - 0.5f * buf, w.data<float>()[0], 5);
    }

    [Fact]
    public void AdamWMatchesFormula()
    {
        var (w, _, groups) = Setup([1, 2, 3, 4], [0.1f, 0.2f, 0.3f, 0.4f]);
        using var opt = new Optimizer(groups, new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.01 });
        opt.Step(0.1);
        // step 1: m_hat = g, v_hat = g^2 -> update = g/(|g|+eps) = 1; decoupled decay first.
        double expected = 1 * (1 - 0.1 * 0.01) - 0.1 * 0.1 / (0.1 + 1e-8);
        Assert.Equal(expected, w.data<float>()[0], 5);
    }

    [Fact]
    public void GradientClippingScalesAllGradientsByOneFactorToTheLimit()
    {
        // Joint norm over w's grad (0.1..0.4) and b's grad (0.5, 0.5): sqrt(0.30 + 0.50) = sqrt(0.8).
        var (w, b, groups) = Setup([1, 2, 3, 4], [0.1f, 0.2f, 0.3f, 0.4f]);
        using var opt = new Optimizer(groups, new OptimizerOptions { Kind = OptimizerKind.Sgd, Momentum = 0 });
        Assert.Equal(Math.Sqrt(0.8), opt.ClipGradientNorm(10), 5);
        Assert.Equal(new[] { 0.1f, 0.2f, 0.3f, 0.4f }, w.grad!.data<float>().ToArray());   // within the limit: untouched

        Assert.Equal(Math.Sqrt(0.8), opt.ClipGradientNorm(0.5), 5);
        double scale = 0.5 / Math.Sqrt(0.8);
        Assert.Equal(0.4 * scale, w.grad!.data<float>()[3], 5);
        Assert.Equal(0.5 * scale, b.grad!.data<float>()[0], 5);
        Assert.Equal(0.5, opt.ClipGradientNorm(10), 4);   // the joint norm is now the limit
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.ClipGradientNorm(0));
    }

    [Fact]
    public void LarsScalesByTrustRatio()
    {
        var (w, b, groups) = Setup([3, 0, 0, 4], [0.6f, 0, 0, 0.8f]);
        using var opt = new Optimizer(groups, new OptimizerOptions { Kind = OptimizerKind.Lars, WeightDecay = 0, Momentum = 0, LarsEta = 0.001 });
        opt.Step(1.0);
        // ||w|| = 5, ||g|| = 1 -> trust 0.005; w -= 1 * 0.005 * g
        Assert.Equal(3 - 0.005f * 0.6f, w.data<float>()[0], 6);
        // bias group is not adapted
        Assert.Equal(1 - 0.5f, b.data<float>()[0], 6);
    }

    [Fact]
    public void StateDictRoundTripContinuesIdentically()
    {
        var (w1, _, g1) = Setup([1, 2, 3, 4], [0.1f, 0.2f, 0.3f, 0.4f]);
        var (w2, _, g2) = Setup([1, 2, 3, 4], [0.1f, 0.2f, 0.3f, 0.4f]);
        using var a = new Optimizer(g1, new OptimizerOptions { Kind = OptimizerKind.AdamW });
        a.Step(0.1);
        using var b = new Optimizer(g2, new OptimizerOptions { Kind = OptimizerKind.AdamW });
        b.Step(0.1);
        using var c = new Optimizer(g2, new OptimizerOptions { Kind = OptimizerKind.AdamW });
        c.LoadStateDict(a.StateDict());
        a.Step(0.1); c.Step(0.1);
        Assert.Equal(a.StepCount, c.StepCount);
        Assert.True(w1.allclose(w2, rtol: 0, atol: 0));
    }

    [Fact]
    public void WarmupCosineSchedule()
    {
        var s = new WarmupCosineSchedule(1.0, 10, 110);
        Assert.Equal(0.1, s.At(0), 9);
        Assert.Equal(1.0, s.At(9), 9);
        Assert.Equal(1.0, s.At(10), 9);
        Assert.Equal(0.5, s.At(60), 9);
        Assert.Equal(0.0, s.At(110), 9);
    }
}
