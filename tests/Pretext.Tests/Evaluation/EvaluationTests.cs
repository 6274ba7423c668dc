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
