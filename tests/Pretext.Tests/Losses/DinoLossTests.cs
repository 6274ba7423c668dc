using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class DinoLossTests
{
    public DinoLossTests() => set_num_threads(1);

    /// <summary>Slow reference of the DINO loss (paper eq. 3 with centring, Algorithm 1), double loops.</summary>
    private static double Reference(float[][,] student, float[][,] teacher, double[] center, double tauS, double tauT)
    {
        int b = student[0].GetLength(0), k = student[0].GetLength(1);
        double loss = 0;
        int pairs = 0;
        for (int i = 0; i < teacher.Length; i++)
            for (int v = 0; v < student.Length; v++)
            {
                if (v == i) continue;
                double ce = 0;
                for (int r = 0; r < b; r++)
                {
                    var logT = ReferenceMath.LogSoftmax(teacher[i], r, tauT, center);
                    var logS = ReferenceMath.LogSoftmax(student[v], r, tauS);
                    for (int j = 0; j < k; j++) ce -= Math.Exp(logT[j]) * logS[j];
                }
                loss += ce / b;
                pairs++;
            }
        return loss / pairs;
    }

    [Theory]
    [InlineData(2, 2, 4, 6, 0.1, 0.04)]
    [InlineData(6, 2, 5, 8, 0.1, 0.07)]
    [InlineData(3, 1, 3, 5, 0.2, 0.5)]
    public void MatchesSlowReference(int crops, int globals, int b, int k, double tauS, double tauT)
    {
        var student = Enumerable.Range(0, crops).Select(v => ReferenceMath.Random(b, k, 10 + v, scale: 2)).ToArray();
        var teacher = Enumerable.Range(0, globals).Select(v => ReferenceMath.Random(b, k, 50 + v, scale: 2)).ToArray();
        var center = ReferenceMath.Random(1, k, 99, scale: 0.5);
        var c = Enumerable.Range(0, k).Select(j => (double)center[0, j]).ToArray();
        using var scope = NewDisposeScope();
        var loss = new DinoLoss(tauS).Compute(student.Select(s => tensor(s)).ToArray(), teacher.Select(t => tensor(t)).ToArray(), tensor(center), tauT);
        ReferenceMath.Near(Reference(student, teacher, c, tauS, tauT), loss.item<float>(), rel: 5e-5);
        Assert.Equal(0, loss.dim());
    }

    [Fact]
    public void CentreMovesTowardsTheBatchMeanOfAllTeacherCrops()
    {
        var t1 = ReferenceMath.Random(3, 4, 1);
        var t2 = ReferenceMath.Random(3, 4, 2);
        var c0 = ReferenceMath.Random(1, 4, 3);
        using var scope = NewDisposeScope();
        var center = tensor(c0);
        DinoLoss.UpdateCenter(center, [tensor(t1), tensor(t2)], 0.9);
        var got = center.data<float>().ToArray();
        for (int j = 0; j < 4; j++)
        {
            double mean = 0;
            for (int r = 0; r < 3; r++) mean += t1[r, j] + t2[r, j];
            mean /= 6;
            ReferenceMath.Near(0.9 * c0[0, j] + 0.1 * mean, got[j]);
        }
    }

    [Fact]
    public void OnlyTheStudentGetsGradient()
    {
        using var scope = NewDisposeScope();
        var s0 = randn(4, 6).requires_grad_();
        var s1 = randn(4, 6).requires_grad_();
        var t0 = randn(4, 6).requires_grad_();
        new DinoLoss().Compute([s0, s1], [t0], zeros(1, 6), 0.04).backward();
        Assert.True(s1.grad!.abs().sum().item<float>() > 0);
        Assert.True(t0.grad is null || t0.grad.abs().sum().item<float>() == 0);
        // Crop 0 is only compared with teacher crops other than itself; with one teacher crop it has no pair.
        Assert.True(s0.grad is null || s0.grad.abs().sum().item<float>() == 0);
    }

    [Fact]
    public void RejectsBadInput()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentOutOfRangeException>(() => new DinoLoss(0));
        var loss = new DinoLoss();
        Assert.Throws<ArgumentOutOfRangeException>(() => loss.Compute([randn(4, 3), randn(4, 3)], [randn(4, 3)], zeros(1, 3), 0));
        Assert.Throws<ArgumentException>(() => loss.Compute([randn(4, 3)], [randn(4, 3)], zeros(1, 3), 0.04));
        Assert.Throws<ArgumentException>(() => loss.Compute([randn(4, 3), randn(4, 3)], [randn(4, 5)], zeros(1, 3), 0.04));
        Assert.Throws<ArgumentException>(() => loss.Compute([randn(4, 3), randn(4, 3)], [randn(4, 3)], zeros(1, 5), 0.04));
        Assert.Throws<ArgumentOutOfRangeException>(() => DinoLoss.UpdateCenter(zeros(1, 3), [randn(4, 3)], 1.5));
        Assert.Throws<ArgumentException>(() => DinoLoss.UpdateCenter(zeros(1, 3), [randn(4, 5)], 0.9));
    }
}
