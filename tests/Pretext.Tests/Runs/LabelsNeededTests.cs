using Pretext.Evaluation;
using Pretext.Runs;

namespace Pretext.Tests.Runs;

/// <summary>
/// The "Labels needed" headline against several baselines: the pretrained pipeline is chosen on validation, and the strongest of the
/// MLP from scratch, logistic regression on the raw features and gradient-boosted trees is named at each budget from the test numbers shown.
/// </summary>
public class LabelsNeededTests
{
    private static Score PerClass10(Protocol p, double test, double validation) =>
        new(p, 0.0125, 20, [0, 1, 2], [test - 0.01, test, test + 0.01]) { PerClass = 10, ValidationAccuracies = [validation, validation, validation] };

    private static Score OnePercent(Protocol p, double test, double validation) =>
        new(p, 0.01, 7, [0, 1, 2], [test, test, test]) { ValidationAccuracies = [validation, validation, validation] };

    /// <summary>A table run: at 10 per class trees are strongest on test (scratch is on validation); at 1 % logistic regression is.</summary>
    private static EvaluationResult TableRun() => new(
    [
        PerClass10(Protocol.LinearProbe, 0.645, 0.70), PerClass10(Protocol.FineTune, 0.66, 0.65),
        PerClass10(Protocol.FromScratch, 0.62, 0.72), PerClass10(Protocol.Baseline, 0.638, 0.66), PerClass10(Protocol.Trees, 0.65, 0.64),
        OnePercent(Protocol.LinearProbe, 0.637, 0.69), OnePercent(Protocol.FineTune, 0.694, 0.70),
        OnePercent(Protocol.FromScratch, 0.648, 0.60), OnePercent(Protocol.Baseline, 0.687, 0.61), OnePercent(Protocol.Trees, 0.60, 0.65),
    ], "F1 of bad", "raw columns", 1);

    [Fact]
    public void TheHeadlineNamesTheStrongestBaselineOnTheNumbersItShows()
    {
        var ev = TableRun();
        var h = ev.NeededAt("10_per_class")!;
        Assert.Equal("linear", h.Pipeline); // chosen on validation although fine-tuning is higher on test
        Assert.Equal("trees", h.BestBaseline); // the highest test accuracy, not the highest validation accuracy (scratch)
        Assert.Equal(65.0, h.BestBaselineAccuracy!.Value, 9);
        Assert.Equal(1.0, h.BestBaselineStd!.Value, 9);
        Assert.Equal(65.0, h.Trees!.Value, 9);
        var low = ev.NeededAt("1")!;
        Assert.Equal("finetune", low.Pipeline);
        Assert.Equal("baseline", low.BestBaseline);
        Assert.Equal(68.7, low.BestBaselineAccuracy!.Value, 9);

        var lines = RunReport.HeadlineLines(ev);
        Assert.Equal("Labels needed: with 20 labels (10 per class), the pretrained encoder (frozen + linear probe, chosen on validation) reaches 64.50 %, " +
            "training from scratch 62.00 % (+2.50 points), raw columns 63.80 %, gradient-boosted trees 65.00 % (means over 3 label subsets).", lines[0]);
        Assert.Equal("Against the strongest baseline at this budget, gradient-boosted trees on the raw columns (65.00 %), the pretrained encoder is -0.50 points.", lines[1]);
        Assert.StartsWith("Training from scratch does not match that", lines[2]); // its largest budget here (20 labels) stays below

        using var dir = new TempDirectory();
        var summary = RunReport.Summary(Presets.Table("credit-g", 1), "credit-g", new PretrainResult(dir.Path, "none", 0, double.NaN, double.NaN, double.NaN, double.NaN), ev);
        Assert.Equal("trees", summary.Flat["labels_20_best_baseline"]);
        Assert.Equal(65.0, (double)summary.Flat["labels_20_best_baseline_accuracy"], 9);
        Assert.Equal("baseline", summary.Flat["labels_1pct_best_baseline"]);
        Assert.Equal("trees", summary.LabelsNeeded!.BestBaseline);
    }

    [Fact]
    public void TiesGoToTheEarlierBaselineAndOneBaselineKeepsTheOldHeadline()
    {
        var tie = new EvaluationResult(
            [PerClass10(Protocol.LinearProbe, 0.70, 0.70), PerClass10(Protocol.FromScratch, 0.66, 0.60), PerClass10(Protocol.Trees, 0.66, 0.70)], null, "raw columns", 1);
        Assert.Equal("scratch", tie.NeededAt("10_per_class")!.BestBaseline);

        // An image run with training from scratch only: nothing to choose among, the headline reads as before.
        var single = new EvaluationResult([PerClass10(Protocol.LinearProbe, 0.74, 0.74), PerClass10(Protocol.FromScratch, 0.67, 0.67)], null, "raw pixels", 1);
        var h = single.NeededAt("10_per_class")!;
        Assert.Null(h.BestBaseline);
        Assert.Null(h.BestBaselineAccuracy);
        var lines = RunReport.HeadlineLines(single);
        Assert.Equal(2, lines.Count);
        Assert.Equal("Labels needed: with 20 labels (10 per class), the pretrained encoder (frozen + linear probe, chosen on validation) reaches 74.00 %, " +
            "training from scratch 67.00 % (+7.00 points) (means over 3 label subsets).", lines[0]);
        Assert.DoesNotContain(lines, l => l.Contains("strongest", StringComparison.Ordinal));
    }
}
