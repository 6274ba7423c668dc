using System.Globalization;
using System.Text;
using Pretext.Evaluation;
using Pretext.Runs;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>`pretext cluster` on table checkpoints: planted segments come back, with profiles that name what sets them apart.</summary>
public class RecordClusteringTests
{
    public RecordClusteringTests() => set_num_threads(1);

    /// <summary>
    /// <paramref name="n"/> customers in three planted segments (by row number mod 3): spend around 20, 100 or 400, visits around 2, 10 or 30,
    /// and the plan basic, plus or pro; label = the segment's name.
    /// </summary>
    internal static string WriteSegments(string path, int n, int seed = 0)
    {
        var rng = new Random(seed);
        var c = CultureInfo.InvariantCulture;
        double[] spend = [20, 100, 400], visits = [2, 10, 30];
        string[] plans = ["basic", "plus", "pro"], names = ["thrifty", "regular", "big"];
        var sb = new StringBuilder("id,spend,visits,plan,label\n");
        for (int i = 0; i < n; i++)
        {
            int s = i % 3;
            string plan = plans[s];
            sb.Append(c, $"c{i},{spend[s] * (0.9 + 0.2 * rng.NextDouble()):F2},{visits[s] * (0.8 + 0.4 * rng.NextDouble()):F1},{plan},{names[s]}\n");
        }
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    [Fact]
    public void PlantedSegmentsAreRecoveredAndKIsChosenOnValidation()
    {
        using var dir = new TempDirectory();
        var file = WriteSegments(dir.File("customers.csv"), 450);
        var ckpt = RecordScoringTests.Pretrain(dir, file, "scarf", steps: 20);
        var result = RecordClustering.Run(ckpt, null, ["table.columns.id=id"], null, new RecordClusterOptions { MaxK = 6 });
        using (result)
        {
            Assert.True(result.Chosen);
            Assert.Equal([2, 3, 4, 5, 6], result.Candidates.Select(x => x.K));
            Assert.True(result.K == 3, string.Join(", ", result.Candidates) + $" ARI {ClusterMetrics.AdjustedRandIndex(result.Records.Labels!, result.Segments)}");
            Assert.Equal(450, result.Segments.Length);
            var truth = result.Records.Labels!;
            double ari = ClusterMetrics.AdjustedRandIndex(truth, result.Segments);
            Assert.True(ari > 0.9, $"ARI {ari}");
            // The profiles say what sets each segment apart: its plan (all of the segment, a third of the table) and its spend.
            Assert.All(result.Profiles, p => Assert.Contains(p.Columns, col => col.Column == "plan" && col.SegmentValue.EndsWith("(100 %)", StringComparison.Ordinal)));
            var big = result.Profiles.Single(p => p.Columns.Any(col => col.Column == "plan" && col.SegmentValue.StartsWith("pro", StringComparison.Ordinal)));
            Assert.InRange(big.Size, 130, 170);
            var table = result.Table();
            Assert.Equal(["id", "part", "segment", "distance", "label"], table.Names);
            Assert.Equal(3 * 3, result.ProfileTable().Rows);
        }
        // A given k is used as it is.
        var four = RecordClustering.Run(ckpt, null, ["table.columns.id=id"], null, new RecordClusterOptions { K = 4 });
        using (four)
        {
            Assert.False(four.Chosen);
            Assert.Equal(4, four.K);
            Assert.Equal(4, four.Segments.Distinct().Count());
        }
        Assert.Contains("--k", Assert.Throws<ArgumentException>(() => RecordClustering.Run(ckpt, null, [], null, new RecordClusterOptions { K = 1 })).Message);
    }
}
