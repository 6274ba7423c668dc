using Pretext.Methods;
using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Evaluation;

public class AnomalyDetectionTests
{
    public AnomalyDetectionTests() => set_num_threads(1);

    private static double[][] RandomRows(Random rng, int n, int d, double offset = 0) =>
        Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => offset + rng.NextDouble() * 2 - 1).ToArray()).ToArray();

    private static Tensor ToTensor(double[][] rows) => tensor(rows.SelectMany(r => r.Select(v => (float)v)).ToArray(), [rows.Length, rows[0].Length]);

    /// <summary>Scale every row to unit length, all Euclidean distances to the bank, mean of the k smallest.</summary>
    private static double[] SlowScores(double[][] bank, double[][] queries, int k)
    {
        double[] Unit(double[] v) { double n = Math.Sqrt(v.Sum(a => a * a)); return v.Select(a => a / n).ToArray(); }
        var b = bank.Select(Unit).ToArray();
        return queries.Select(Unit).Select(q => b.Select(r => Math.Sqrt(r.Zip(q, (u, v) => (u - v) * (u - v)).Sum())).Order().Take(k).Average()).ToArray();
    }

    [Fact]
    public void KnnScoresMatchSlowReference()
    {
        var rng = new Random(7);
        var bank = RandomRows(rng, 50, 6);
        var queries = RandomRows(rng, 30, 6, offset: 0.3);
        using var b = ToTensor(bank);
        using var q = ToTensor(queries);
        foreach (var k in new[] { 1, 2, 7 })
        {
            var fast = KnnAnomalyScorer.Score(b, q, k, chunk: 8);   // several chunks
            var slow = SlowScores(bank, queries, k);
            for (int i = 0; i < slow.Length; i++) Assert.Equal(slow[i], fast[i], 5);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => KnnAnomalyScorer.Score(b, q, 51));
        using var wrongWidth = zeros(3, 5);
        Assert.Throws<ArgumentException>(() => KnnAnomalyScorer.Score(b, wrongWidth, 1));
    }

    [Fact]
    public void OneClassProtocolRanksOtherClassesAsAnomalies()
    {
        // Class 0 points one way, class 1 another: with class 0 normal every class-1 test sample scores higher.
        var rng = new Random(1);
        double[][] Around(double[] dir, int n) => Enumerable.Range(0, n).Select(_ => dir.Select(v => v + 0.1 * rng.NextDouble()).ToArray()).ToArray();
        var train0 = Around([1, 0, 0], 20);
        var test = Around([1, 0, 0], 10).Concat(Around([0, 1, 0], 10)).ToArray();
        int[] testLabels = [.. Enumerable.Repeat(0, 10), .. Enumerable.Repeat(1, 10)];
        using var b = ToTensor(train0);
        using var q = ToTensor(test);
        var score = OneClass.Evaluate(KnnAnomalyScorer.Score(b, q, 2), testLabels, normalClass: 0);
        Assert.Equal(1.0, score.Auroc, 12);
        Assert.Equal(1.0, score.Auprc, 12);
        // With class 1 as the normal class the roles swap; scores against the class-0 bank now rank backwards.
        var swapped = OneClass.Evaluate(KnnAnomalyScorer.Score(b, q, 2), testLabels, normalClass: 1);
        Assert.Equal(0.0, swapped.Auroc, 12);
        Assert.Equal([3L, 5L], OneClass.IndicesOf([1, 2, 2, 0, 1, 0], 0));
    }

    /// <summary>A reconstruction scorer whose "error" is the mean squared input, with the seed it was given recorded.</summary>
    private sealed class SquaredInputScorer : nn.Module, IReconstructionScorer
    {
        public SquaredInputScorer() : base(nameof(SquaredInputScorer)) { }
        public List<long> Seeds { get; } = [];
        public List<bool> TrainingWhenCalled { get; } = [];
        public Tensor ReconstructionError(Tensor x, long seed)
        {
            Seeds.Add(seed);
            TrainingWhenCalled.Add(training);
            return x.pow(2).flatten(1).mean([1L]);
        }
    }

    [Fact]
    public void ReconstructionScoresCoverEverySampleInEvalModeWithPerBatchSeeds()
    {
        using var data = TestData.Blobs(10, classes: 2);
        var scorer = new SquaredInputScorer();
        scorer.train();
        var normalize = new Normalize([0.5f], [0.25f]);
        var scores = OneClass.ReconstructionScores(scorer, scorer, data, normalize, seed: 3, batchSize: 4);
        Assert.Equal(10, scores.Length);
        using var all = normalize.Apply(data.Gather(Enumerable.Range(0, 10).Select(i => (long)i).ToArray()));
        var expected = all.pow(2).flatten(1).mean([1L]).data<float>().ToArray();
        for (int i = 0; i < 10; i++) Assert.Equal(expected[i], scores[i], 5);
        Assert.Equal(3, scorer.Seeds.Count);                 // batches of 4, 4, 2
        Assert.Equal(3, scorer.Seeds.Distinct().Count());    // each batch its own mask seed
        Assert.All(scorer.TrainingWhenCalled, t => Assert.False(t));
        Assert.True(scorer.training);                        // mode restored
        var again = new SquaredInputScorer();
        OneClass.ReconstructionScores(again, again, data, normalize, seed: 3, batchSize: 4);
        Assert.Equal(scorer.Seeds, again.Seeds);             // reproducible
    }
}
