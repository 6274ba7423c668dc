using Pretext.Runs;
using Pretext.Tests.Training;

namespace Pretext.Tests.Runs;

public class TimeBudgetTests
{
    // 64 images at batch 16: 4 steps per epoch.
    private static RunConfig Long() => TrainingLoopTests.Tiny(steps: 1000, checkpointEvery: 0) with
    {
        Train = TrainingLoopTests.Tiny().Train with { MaxSteps = 0, Epochs = 250, CheckpointEvery = 0 },
    };

    [Fact]
    public void A_budget_the_recipe_fits_in_leaves_it_unchanged()
    {
        using var data = TestData.Blobs(64);
        var cfg = TrainingLoopTests.Tiny(steps: 6, checkpointEvery: 0);
        var (fitted, decision) = Pretraining.FitToBudget(cfg, data, minutes: 1000);
        Assert.Same(cfg, fitted);
        Assert.Contains("the full 6 steps", decision, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_budget_cuts_the_schedule_to_the_steps_that_fit_but_never_below_ten()
    {
        using var data = TestData.Blobs(64);
        var (fitted, decision) = Pretraining.FitToBudget(Long(), data, minutes: 1e-6);
        Assert.Equal(10, fitted.Train.MaxSteps);
        Assert.Equal(3, fitted.Train.Epochs); // ceil(10 / 4)
        Assert.Contains("10 of the recipe's 1000 steps", decision, StringComparison.Ordinal);
        // Everything but the length is the recipe's.
        Assert.Equal(Long().Train with { MaxSteps = 10, Epochs = 3 }, fitted.Train);
    }

    [Fact]
    public void A_cut_says_how_to_get_a_longer_run_and_the_fast_quickstart_does_not_point_at_minutes_it_ignores()
    {
        using var data = TestData.Blobs(64);
        var (_, plain) = Pretraining.FitToBudget(Long(), data, minutes: 1e-6);
        Assert.EndsWith(Pretraining.LongerRunAdvice, plain, StringComparison.Ordinal);
        var (_, fast) = Pretraining.FitToBudget(Long(), data, minutes: 1e-6, Quickstart.FastLongerRunAdvice);
        Assert.Contains("drop --fast", fast, StringComparison.Ordinal);
        Assert.DoesNotContain("raise --minutes", fast, StringComparison.Ordinal);
    }

    [Fact]
    public void Step_cost_is_measured_and_a_budget_must_be_positive()
    {
        using var data = TestData.Blobs(64);
        double s = Pretraining.SecondsPerStep(TrainingLoopTests.Tiny(), data, warmup: 1, measured: 2);
        Assert.True(s > 0 && double.IsFinite(s), $"seconds per step {s}");
        Assert.Throws<ArgumentOutOfRangeException>(() => Pretraining.FitToBudget(Long(), data, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pretraining.FitToBudget(Long(), data, double.NaN));
    }

    [Fact]
    public void A_resumed_quickstart_keeps_the_step_count_its_folder_recorded_without_timing_again()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var recorded = Long() with { Train = Long().Train with { MaxSteps = 123, Epochs = 31 } };
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), recorded.ToJson());
        var observer = new RecordingObserver();
        var resumed = Pretraining.WithinBudget(Long(), data, dir.Path, resume: true, 1e-6, observer);
        Assert.Equal(123, resumed.Train.MaxSteps);
        Assert.Equal(31, resumed.Train.Epochs);
        Assert.Empty(observer.Messages); // no timing run

        var fresh = Pretraining.WithinBudget(Long(), data, dir.Path, resume: false, 1e-6, observer);
        Assert.Equal(10, fresh.Train.MaxSteps);
        Assert.Contains(observer.Messages, m => m.Contains("10 of the recipe's", StringComparison.Ordinal));
        Assert.Equal(Long().Train, Pretraining.WithinBudget(Long(), data, dir.Path, resume: false, 0, observer).Train);
    }
}
