using Pretext.Curation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Curation;

public class UncertaintySelectionTests
{
    /// <summary>Points spread along the first axis from -4 to 4, a little noise in the others.</summary>
    private static Tensor Line(int n)
    {
        using var g = new Generator(7);
        var x = randn(n, 4, generator: g).mul(0.05);
        x[.., 0] = linspace(-4, 4, n);
        return x;
    }

    [Fact]
    public void PicksTheSamplesNearestTheBoundaryTheLabelsLeave()
    {
        torch.set_num_threads(1);
        const int n = 81;
        var x = Line(n);
        // Five labelled at each end: class 0 on the left, class 1 on the right; the boundary is near x = 0 (index 40).
        var labelled = Enumerable.Range(0, 5).ToDictionary(i => (long)i, _ => 0);
        foreach (var i in Enumerable.Range(n - 5, 5)) labelled[i] = 1;
        var picks = UncertaintySelection.Select(x, labelled, 6);
        Assert.Equal(6, picks.Count);
        Assert.All(picks, p => Assert.InRange(p.Index, 33, 47));
        Assert.All(picks, p => Assert.False(labelled.ContainsKey(p.Index)));
        Assert.Equal([1, 2, 3, 4, 5, 6], picks.Select(p => p.Rank).ToArray());
        var margins = picks.Select(p => p.Distance).ToArray();
        Assert.Equal(margins.Order().ToArray(), margins);
        Assert.All(margins, m => Assert.InRange(m, 0, 1));
        // The least sure pick is close to a coin flip; the far ends of the line are sure.
        Assert.True(margins[0] < 0.5, $"margin {margins[0]}");
    }

    [Fact]
    public void BadLabelsAreRejectedWithTheFix()
    {
        torch.set_num_threads(1);
        var x = Line(20);
        var one = new Dictionary<long, int> { [0] = 0, [1] = 0 };
        var e = Assert.Throws<ArgumentException>(() => UncertaintySelection.Select(x, one, 3));
        Assert.Contains("at least two classes", e.Message);
        Assert.Throws<ArgumentException>(() => UncertaintySelection.Select(x, new Dictionary<long, int> { [0] = 0, [99] = 1 }, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => UncertaintySelection.Select(x, new Dictionary<long, int> { [0] = 0, [19] = 1 }, 19));
    }

    [Fact]
    public void LabelsComeFromTheSelectRowsOfACurationCsvOrAnyIndexLabelCsv()
    {
        using var dir = new TempDirectory();
        var curation = dir.File("round1.csv");
        File.WriteAllLines(curation,
        [
            "kind,rank,index,sample,label,group,score",
            "select,1,4,a/4.png,cat,,0.1",
            "select,2,9,b/9.png,,,0.2",          // not labelled yet: skipped
            "select,3,2,a/2.png,dog,,0.3",
            "outlier,1,7,a/7.png,cat,,0.9",      // not a selection row: skipped
        ]);
        var byIndex = Curator.ReadLabels(curation, 10, i => $"x{i}");
        Assert.Equal(new Dictionary<long, int> { [4] = 0, [2] = 1 }, byIndex);

        var bySample = dir.File("labels.csv");
        File.WriteAllLines(bySample, ["sample,label", "s3,dog", "s5,cat", "s8,dog"]);
        Assert.Equal(new Dictionary<long, int> { [3] = 0, [5] = 1, [8] = 0 }, Curator.ReadLabels(bySample, 10, i => $"s{i}"));

        File.WriteAllLines(bySample, ["sample,label", "s3,dog", "nope,cat"]);
        var e = Assert.Throws<InvalidDataException>(() => Curator.ReadLabels(bySample, 10, i => $"s{i}"));
        Assert.Contains("row 3", e.Message);
        Assert.Contains("nope", e.Message);
        File.WriteAllLines(bySample, ["index,label", "3,dog", "3,cat"]);
        Assert.Contains("labelled twice", Assert.Throws<InvalidDataException>(() => Curator.ReadLabels(bySample, 10, i => $"s{i}")).Message);
        File.WriteAllLines(bySample, ["name,class", "3,dog"]);
        Assert.Contains("'label' column", Assert.Throws<InvalidDataException>(() => Curator.ReadLabels(bySample, 10, i => $"s{i}")).Message);
        Assert.Throws<FileNotFoundException>(() => Curator.ReadLabels(dir.File("missing.csv"), 10, i => $"s{i}"));
    }
}
