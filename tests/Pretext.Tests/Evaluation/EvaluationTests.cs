using Pretext.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class EvaluationTests
{
    public EvaluationTests() => set_num_threads(1);

    private static (Tensor X, int[] Y) Clusters(int n, int classes, int dim, double noise, int seed)
    {
        var rng = new Random(seed);
        var centers = Enumerable.Range(0, classes).Select(_ => Enumerable.Range(0, dim).Select(_ => rng.NextDouble() * 2 - 1).ToArray()).ToArray();
        var x = new float[n * dim]; var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % classes;
            for (int k = 0; k < dim; k++) x[i * dim + k] = (float)(centers[y[i]][k] + noise * (rng.NextDouble() * 2 - 1));
        }
        return (tensor(x, [n, dim]), y);
    }

    [Fact]
    public void KnnSeparatesClustersAndWeightsVotes()
    {
        var (x, y) = Clusters(400, 4, 16, 0.1, 1);
        var (q, qy) = Clusters(100, 4, 16, 0.1, 1);
        Assert.Equal(1.0, Knn.Accuracy(x, y, q, qy, 4, k: 20));
        // Weighted vote: one very close neighbour of class 1 beats two far ones of class 0 at low temperature.
        using var train = tensor(new float[] { 1, 0, 0, 1, 0.1f, 0.995f }, [3, 2]);
        using var query = tensor(new float[] { 0.99f, 0.14f }, [1, 2]);
        Assert.Equal(0, Knn.Predict(train, [0, 1, 1], query, 2, k: 3, temperature: 0.01)[0]);
    }

    [Fact]
    public void LinearProbeLearnsSeparableData()
    {
        var (x, y) = Clusters(600, 5, 20, 0.5, 2);
        var (q, qy) = Clusters(200, 5, 20, 0.5, 2);
        var r = LinearProbe.Evaluate(x, y, q, qy, 5);
        Assert.True(r.Accuracy > 0.95, $"accuracy {r.Accuracy}");
        Assert.Contains(r.ChosenWeightDecay, new LinearProbeOptions().WeightDecays);
    }

    [Fact]
    public void LinearProbeFitMatchesAutogradAdamReference()
    {
        // The probe writes its gradient and Adam step out by hand (for speed); the slow reference is autograd
        // on the same objective, mean cross-entropy + wd * |W|^2, with torch's own Adam and cosine step size.
        var (x, y) = Clusters(300, 4, 12, 1.5, 3);
        const double wd = 0.01;
        var options = new LinearProbeOptions { WeightDecays = [wd], Iterations = 60, LearningRate = 0.05 };
        using var probe = LinearProbe.Train(x, y, 4, options);

        var (mean, std) = Features.Moments(x);
        var xs = x.sub(mean).div(std);
        var target = tensor(y.Select(v => (long)v).ToArray());
        var w = new TorchSharp.Modules.Parameter(zeros(12, 4));
        var b = new TorchSharp.Modules.Parameter(zeros(4));
        var adam = optim.Adam([w, b], options.LearningRate);
        for (int it = 0; it < options.Iterations; it++)
        {
            foreach (var g in adam.ParamGroups) g.LearningRate = options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * it / options.Iterations));
            adam.zero_grad();
            var loss = nn.functional.cross_entropy(xs.matmul(w).add(b), target).add(w.pow(2).sum().mul(wd));
            loss.backward();
            adam.step();
        }
        using var noGrad = no_grad();
        var expected = xs.matmul(w).add(b);
        var actual = probe.Logits(x);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-4), $"max |diff| {actual.sub(expected).abs().max().item<float>()}");
    }

    [Fact]
    public void CappedPenaltySelectionMatchesTheFullOneWhenTheCapCoversEverySample()
    {
        var (all, ally) = Clusters(600, 5, 20, 1.5, 4);
        var (x, y, q, qy) = (all.narrow(0, 0, 400), ally[..400], all.narrow(0, 400, 200), ally[400..]);
        var full = LinearProbe.Evaluate(x, y, q, qy, 5, new LinearProbeOptions { SelectionSamples = 0, Iterations = 80 });
        var covering = LinearProbe.Evaluate(x, y, q, qy, 5, new LinearProbeOptions { SelectionSamples = 400, Iterations = 80 });
        Assert.Equal(full.Predictions, covering.Predictions);
        Assert.Equal(full.ChosenWeightDecay, covering.ChosenWeightDecay);
        // A cap below the sample count chooses on a subset and scales the penalty to the full fit (fit rows / all rows).
        var capped = LinearProbe.Evaluate(x, y, q, qy, 5, new LinearProbeOptions { SelectionSamples = 100, Iterations = 80 });
        // 100 samples: 20 held out, 80 fitted; 80 / 400 = 0.2.
        Assert.Contains(Math.Round(capped.ChosenWeightDecay / 0.2, 9), new LinearProbeOptions().WeightDecays.Select(w => Math.Round(w, 9)));
        Assert.Throws<ArgumentOutOfRangeException>(() => LinearProbe.Evaluate(x, y, q, qy, 5, new LinearProbeOptions { SelectionSamples = -1 }));
    }

    [Fact]
    public void StratifiedSubsetsAreBalancedFixedAndNested()
    {
        var labels = Enumerable.Range(0, 1000).Select(i => i % 10).ToArray();
        var a = LabelSubsets.Stratified(labels, 0.01, 0);
        Assert.Equal(10, a.Length);
        Assert.Equal(10, a.Select(i => labels[i]).Distinct().Count());
        Assert.Equal(a, LabelSubsets.Stratified(labels, 0.01, 0));
        Assert.NotEqual(a, LabelSubsets.Stratified(labels, 0.01, 1));
        Assert.Equal(100, LabelSubsets.Stratified(labels, 0.1, 0).Length);
        Assert.Equal(1000, LabelSubsets.Stratified(labels, 1.0, 0).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => LabelSubsets.Stratified(labels, 0, 0));
    }
}
