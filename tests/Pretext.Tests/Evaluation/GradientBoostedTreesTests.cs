using Pretext.Evaluation;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class GradientBoostedTreesTests
{
    public GradientBoostedTreesTests() => set_num_threads(1);

    /// <summary>Three classes by an axis-aligned rule no linear model draws: class 0 inside a box, 1 above it, 2 elsewhere.</summary>
    private static (Tensor X, int[] Y) Data(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 3];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)rng.NextDouble();
            y[i] = x[i * 3] is > 0.3f and < 0.7f && x[i * 3 + 1] < 0.5f ? 0 : x[i * 3 + 1] >= 0.5f ? 1 : 2;
        }
        return (tensor(x, [n, 3]), y);
    }

    [Fact]
    public void TreesLearnAnAxisAlignedRuleAndRepeatBySeed()
    {
        var (x, y) = Data(600, 0);
        var (tx, ty) = Data(300, 1);
        using (x) using (tx)
        {
            var p = GradientBoostedTrees.FitPredict(x, y, 3, [tx, x], new TreeOptions(), seed: 3);
            Assert.Equal(2, p.Length);
            double accuracy = p[0].Zip(ty, (a, b) => a == b ? 1.0 : 0).Average();
            Assert.True(accuracy > 0.93, $"test accuracy {accuracy}");
            Assert.Equal([0, 1, 2], p[0].Distinct().Order());
            Assert.Equal(p[0], GradientBoostedTrees.FitPredict(x, y, 3, [tx], new TreeOptions(), seed: 3)[0]);
            // A class missing from a small subset is still a class of the model (never predicted, no crash).
            var few = Enumerable.Range(0, 600).Where(i => y[i] != 0).Take(40).Select(i => (long)i).ToArray();
            using var fx = x.index_select(0, tensor(few));
            var pf = GradientBoostedTrees.FitPredict(fx, [.. few.Select(i => y[i])], 3, [tx], new TreeOptions(), seed: 3)[0];
            Assert.DoesNotContain(0, pf);
            Assert.Throws<ArgumentException>(() => GradientBoostedTrees.FitPredict(x, y, 2, [tx], new TreeOptions(), 0));
        }
    }

    [Fact]
    public void TheCandidateChosenIsTheOneTheValidationRowsScoreBest()
    {
        var (x, y) = Data(300, 0);
        var (vx, vy) = Data(150, 1);
        var (tx, _) = Data(100, 2);
        using (x) using (vx) using (tx)
        {
            // A tree that may not split (every leaf needs more rows than there are) predicts one class; one that may split learns the rule.
            var stump = new TreeOptions { MinimumLeafRows = 1000, Iterations = 5 };
            var able = new TreeOptions();
            var fit = GradientBoostedTrees.FitChosen(x, y, 3, tx, vx, vy, [stump, able, able], seed: 1);
            Assert.Equal(1, fit.Chosen); // the better one, and of two equal ones the earlier
            var alone = GradientBoostedTrees.FitPredict(x, y, 3, [tx, vx], able, seed: 1);
            Assert.Equal(alone[0], fit.Test);
            Assert.Equal(alone[1], fit.Validation);
            Assert.Single(GradientBoostedTrees.FitChosen(x, y, 3, tx, vx, vy, [stump], seed: 1).Test.Distinct());
            Assert.Throws<ArgumentException>(() => GradientBoostedTrees.FitChosen(x, y, 3, tx, vx, vy, [], 1));
            Assert.Throws<ArgumentException>(() => GradientBoostedTrees.FitChosen(x, y, 3, tx, vx, vy[..10], [able], 1));
        }
    }
}
