using Pretext.Losses;
using static TorchSharp.torch;

namespace Pretext.Tests.Losses;

public class TableReconstructionLossTests
{
    public TableReconstructionLossTests() => set_num_threads(1);

    /// <summary>Per numeric column: mean squared error over rows whose value is present; per categorical column: mean cross entropy; then the mean over columns.</summary>
    private static double Slow(float[][] numeric, float[][][] logits, float[][] target, int nn)
    {
        int b = target.Length, nc = logits.Length;
        double total = 0;
        for (int k = 0; k < nn; k++)
        {
            double s = 0; int m = 0;
            for (int i = 0; i < b; i++)
            {
                if (target[i][nn + k] == 1) continue;
                double d = numeric[i][k] - target[i][k];
                s += d * d; m++;
            }
            total += m > 0 ? s / m : 0;
        }
        for (int k = 0; k < nc; k++)
        {
            double s = 0;
            for (int i = 0; i < b; i++)
            {
                var z = logits[k][i];
                double max = z.Max(v => (double)v);
                double lse = max + Math.Log(z.Sum(v => Math.Exp(v - max)));
                s += lse - z[(int)target[i][2 * nn + k]];
            }
            total += s / b;
        }
        return total / (nn + nc);
    }

    [Fact]
    public void MatchesTheSlowReference()
    {
        int b = 5, nn = 2;
        var numeric = Reference.Random(b, nn, 1);
        float[][][] logits = [Reference.Random(b, 3, 2), Reference.Random(b, 4, 3)];
        var target = Reference.Random(b, 2 * nn + 2, 4);
        for (int i = 0; i < b; i++)
        {
            target[i][nn] = i == 1 ? 1 : 0;           // row 1's first number is missing
            target[i][nn + 1] = 1;                    // the second number is missing everywhere: its term is 0
            target[i][2 * nn] = i % 3;
            target[i][2 * nn + 1] = (i + 1) % 4;
        }
        using var loss = TableReconstructionLoss.Compute(Reference.Tensor(numeric), [Reference.Tensor(logits[0]), Reference.Tensor(logits[1])], Reference.Tensor(target));
        Assert.Equal(Slow(numeric, logits, target, nn), loss.item<float>(), 5);
    }

    [Fact]
    public void RefusesTargetsOfAnotherWidth()
    {
        using var numeric = zeros(2, 2);
        using var target = zeros(2, 5);
        Assert.Throws<ArgumentException>(() => TableReconstructionLoss.Compute(numeric, [], target));
    }
}
