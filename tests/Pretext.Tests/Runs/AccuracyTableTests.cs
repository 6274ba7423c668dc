using Pretext.Evaluation;
using Pretext.Runs;

namespace Pretext.Tests.Runs;

/// <summary>The quickstart's console table: a fine-tuning column only when it ran, and the gain of the pipeline validation chose.</summary>
public class AccuracyTableTests
{
    private static Score At10(Protocol p, double test, double validation) =>
        new(p, 0.002, 100, [0, 1], [test, test], null) { PerClass = 10, ValidationAccuracies = [validation, validation] };

    [Fact]
    public void The_gain_is_the_validation_choices_and_fine_tuning_gets_a_column()
    {
        // Fine-tuning is better on validation but worse on test than the probe: the table must still show fine-tuning's gain.
        var ev = new EvaluationResult(
        [
            new Score(Protocol.Knn, 1.0, 1000, [0], [0.80]) { ValidationAccuracies = [0.81] },
            At10(Protocol.LinearProbe, 0.74, 0.74), At10(Protocol.FineTune, 0.73, 0.76), At10(Protocol.FromScratch, 0.67, 0.67),
            At10(Protocol.Baseline, 0.68, 0.68),
        ], null, "raw pixels", 1);
        var (header, rows) = RunReport.AccuracyTable(ev);
        Assert.Equal(["labels", "pretrained (frozen, linear)", "pretrained (fine-tuned)", "from scratch", "gain (best on validation)", "raw pixels (no learning)"], header);
        Assert.Equal(["kNN, all labels", "80.00 %", "", "", "", ""], rows[0]);
        Assert.Equal(["10 per class (100)", "74.00 %", "73.00 %", "67.00 %", "+6.00 pts (fine-tuned)", "68.00 %"], rows[1]);
    }

    [Fact]
    public void Without_fine_tuning_the_table_keeps_its_five_columns()
    {
        var ev = new EvaluationResult([At10(Protocol.LinearProbe, 0.74, 0.74), At10(Protocol.FromScratch, 0.77, 0.77)], null, "TF-IDF", 1);
        var (header, rows) = RunReport.AccuracyTable(ev);
        Assert.Equal(5, header.Length);
        Assert.Equal(["10 per class (100)", "74.00 %", "77.00 %", "-3.00 pts", "-"], rows[1]);
        Assert.Equal("-", rows[0][1]); // kNN was not run
    }
}
