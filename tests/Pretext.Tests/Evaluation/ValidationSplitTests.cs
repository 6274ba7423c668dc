using Pretext.Evaluation;

namespace Pretext.Tests.Evaluation;

/// <summary>The validation split: stratified, seeded, by id (not file order), and disjoint from every label subset.</summary>
public class ValidationSplitTests
{
    private static (int[] Labels, string[] Ids) Data(int perClass = 600, int classes = 10) =>
        (Enumerable.Range(0, perClass * classes).Select(i => i % classes).ToArray(),
         Enumerable.Range(0, perClass * classes).Select(i => $"img/{i % classes}/{i:D5}.png").ToArray());

    [Fact]
    public void CarvesASixthOfEachClassAndLeavesTheRestAsTheLabelledPool()
    {
        var (labels, ids) = Data();
        var (pool, val) = ValidationSplit.Carve(labels, i => ids[i], ValidationSplit.DefaultFraction, seed: 0);
        Assert.Equal(1000, val.Length);   // 6,000 samples: 1,000 for validation, as 10,000 of Fashion-MNIST's 60,000
        Assert.All(val.GroupBy(i => labels[i]), g => Assert.Equal(100, g.Count()));
        Assert.Equal(5000, pool.Length);
        Assert.Empty(pool.Intersect(val));
        Assert.Equal(Enumerable.Range(0, labels.Length).Select(i => (long)i), pool.Concat(val).Order());
        Assert.Equal(val.Order(), val);
    }

    [Fact]
    public void TheSameSamplesGoToValidationWhateverTheFileOrder()
    {
        var (labels, ids) = Data(perClass: 60);
        var (_, val) = ValidationSplit.Carve(labels, i => ids[i], 0.2, seed: 7);
        var order = Enumerable.Range(0, labels.Length).ToArray();
        new Random(3).Shuffle(order);
        var (shuffledLabels, shuffledIds) = (order.Select(i => labels[i]).ToArray(), order.Select(i => ids[i]).ToArray());
        var (_, val2) = ValidationSplit.Carve(shuffledLabels, i => shuffledIds[i], 0.2, seed: 7);
        Assert.Equal(val.Select(i => ids[i]).Order(), val2.Select(i => shuffledIds[i]).Order());
        var (_, other) = ValidationSplit.Carve(labels, i => ids[i], 0.2, seed: 8);
        Assert.NotEqual(val, other);   // the seed, not the order, moves it
    }

    [Fact]
    public void LabelSubsetsComeFromThePoolOnly()
    {
        var (labels, ids) = Data(perClass: 60);
        var (pool, val) = ValidationSplit.Carve(labels, i => ids[i], ValidationSplit.DefaultFraction);
        foreach (int seed in new[] { 0, 1, 2, 3, 4 })
        {
            var perClass = LabelSubsets.PerClass(labels, 10, seed, pool);
            Assert.Equal(100, perClass.Length);
            Assert.All(perClass.GroupBy(i => labels[i]), g => Assert.Equal(10, g.Count()));
            Assert.Empty(perClass.Intersect(val));
            var fraction = LabelSubsets.Stratified(labels, 0.1, seed, pool);
            Assert.Empty(fraction.Intersect(val));
            Assert.All(fraction.GroupBy(i => labels[i]), g => Assert.Equal(5, g.Count()));   // 10 % of each class's 50
        }
        Assert.NotEqual(LabelSubsets.PerClass(labels, 10, 0, pool), LabelSubsets.PerClass(labels, 10, 1, pool));
        Assert.Equal(LabelSubsets.Stratified(labels, 0.05, 4), LabelSubsets.Stratified(labels, 0.05, 4, null));   // no pool: as before
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        var (labels, ids) = Data(perClass: 4, classes: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => ValidationSplit.Carve(labels, i => ids[i], 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ValidationSplit.Carve(labels, i => ids[i], -0.1));
        var e = Assert.Throws<ArgumentException>(() => ValidationSplit.Carve(labels, _ => "same", 0.25));
        Assert.Contains("same", e.Message);
        Assert.Empty(ValidationSplit.Carve(labels, i => ids[i], 0).Validation);
        Assert.Throws<ArgumentOutOfRangeException>(() => LabelSubsets.PerClass(labels, 0, 0));
    }

    /// <summary>Fish Fillets-like ids "LANGUAGE/LEVEL/NAME.ogg": every line in Czech, two in three in Dutch too.</summary>
    private static string[] FilletsIds(int lines = 300) =>
        [.. Enumerable.Range(0, lines).SelectMany(l => (l % 3 == 2 ? new[] { "cs" } : ["cs", "nl"]).Select(lang => $"{lang}/level{l % 17}/line{l:D4}-{"mvx"[l % 3]}.ogg"))];

    [Fact]
    public void GroupsStayOnOneSideWhetherTheyHoldOneClassOrSeveral()
    {
        var ids = FilletsIds();
        var speaker = ids.Select(id => "mvx".IndexOf(id[^5])).ToArray();          // a line's clips share one class
        var language = ids.Select(id => id.StartsWith("cs/", StringComparison.Ordinal) ? 0 : 1).ToArray();   // a line's clips differ
        foreach (var labels in new[] { speaker, language })
        {
            var (pool, val) = ValidationSplit.Carve(labels, i => ids[i], 0.2, seed: 3, group: i => Pretext.Data.FilletsVoices.LineOf(ids[i]));
            var valLines = val.Select(i => Pretext.Data.FilletsVoices.LineOf(ids[(int)i])).ToHashSet();
            Assert.DoesNotContain(pool, i => valLines.Contains(Pretext.Data.FilletsVoices.LineOf(ids[(int)i])));
            Assert.Equal(Enumerable.Range(0, ids.Length).Select(i => (long)i), pool.Concat(val).Order());
            // Each class gets about its fifth (whole groups: at most one group's clips over).
            foreach (var c in labels.Distinct())
            {
                int n = labels.Count(y => y == c), taken = val.Count(i => labels[i] == c);
                Assert.InRange(taken, (int)Math.Round(0.2 * n), (int)Math.Round(0.2 * n) + 1);
            }
        }
    }

    [Fact]
    public void AGroupedSplitDependsOnTheIdsNotTheFileOrderAndEqualsTheSplitByIdForSingletons()
    {
        var ids = FilletsIds();
        var labels = ids.Select(id => "mvx".IndexOf(id[^5])).ToArray();
        Func<string, string> line = Pretext.Data.FilletsVoices.LineOf;
        var (_, val) = ValidationSplit.Carve(labels, i => ids[i], 0.2, seed: 5, group: i => line(ids[i]));
        var order = Enumerable.Range(0, ids.Length).ToArray();
        new Random(9).Shuffle(order);
        var shuffled = order.Select(i => ids[i]).ToArray();
        var (_, val2) = ValidationSplit.Carve(order.Select(i => labels[i]).ToArray(), i => shuffled[i], 0.2, seed: 5, group: i => line(shuffled[i]));
        Assert.Equal(val.Select(i => ids[i]).Order(), val2.Select(i => shuffled[i]).Order());
        // One group per sample is the split by id the other data sets get.
        var (byIdPool, byIdVal) = ValidationSplit.Carve(labels, i => ids[i], 0.2, seed: 5);
        var (singlePool, singleVal) = ValidationSplit.Carve(labels, i => ids[i], 0.2, seed: 5, group: i => ids[i]);
        Assert.Equal(byIdPool, singlePool);
        Assert.Equal(byIdVal, singleVal);
    }
}
