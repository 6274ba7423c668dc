using Pretext.Heads;
using Pretext.Methods.Shared;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class PrototypeNormalizationTests
{
    public PrototypeNormalizationTests() => set_num_threads(1);

    [Fact]
    public void InPlaceNormalisationKeepsDirectionsAndMakesUnitRows()
    {
        using var scope = NewDisposeScope();
        var w = tensor(new float[,] { { 3, 4 }, { 0, -2 }, { 1, 1 } });
        var p = new TorchSharp.Modules.Parameter(w.clone());
        PrototypeNormalization.NormalizeRowsInPlace(p);
        var expected = tensor(new float[,] { { 0.6f, 0.8f }, { 0, -1 }, { 1 / MathF.Sqrt(2), 1 / MathF.Sqrt(2) } });
        Assert.True(p.allclose(expected, rtol: 1e-6, atol: 1e-7));
        Assert.True(p.requires_grad, "the parameter stays trainable");
        Assert.Null(p.grad);
    }

    [Fact]
    public void DifferentiableNormalisationPassesGradientThroughTheNorm()
    {
        using var scope = NewDisposeScope();
        var v = tensor(new float[,] { { 3, 4 } }).requires_grad_();
        var n = PrototypeNormalization.NormalizedRows(v);
        Assert.True(n.allclose(tensor(new float[,] { { 0.6f, 0.8f } })));
        // d/dv of <n, (1, 0)> = (I - n n^T) e1 / |v| = (1 - 0.36, -0.48) / 5.
        n.matmul(tensor(new float[] { 1, 0 })).sum().backward();
        Assert.True(v.grad!.allclose(tensor(new float[,] { { 0.64f / 5, -0.48f / 5 } }), rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void RejectsNonMatrices()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => PrototypeNormalization.NormalizeRowsInPlace(ones(3)));
        Assert.Throws<ArgumentException>(() => PrototypeNormalization.NormalizedRows(ones(2, 2, 2)));
    }
}
