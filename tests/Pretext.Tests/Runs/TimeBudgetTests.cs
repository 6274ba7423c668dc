using Pretext.Runs;
using Pretext.Tests.Training;
using Pretext.Training;

namespace Pretext.Tests.Runs;

public class TimeBudgetTests
{
    // 64 images at batch 16: 4 steps per epoch; 1,000 planned steps, warming up for 8 (so the budget is decided inside the warm-up).
    private static RunConfig Long() => TrainingLoopTests.Tiny(steps: 1000, checkpointEvery: 0) with
    {
        Train = TrainingLoopTests.Tiny().Train with { MaxSteps = 0, Epochs = 250, CheckpointEvery = 0, WarmupEpochs = 2 },
    };

    [Fact]
    public void A_budget_the_recipe_fits_in_leaves_it_unchanged()
    {
        var cfg = TrainingLoopTests.Tiny(steps: 6, checkpointEvery: 0);
        var (fitted, decision) = Pretraining.FitToBudget(cfg, stepsPerEpoch: 4, secondsPerStep: 0.5, minutes: 1000);
        Assert.Same(cfg, fitted);
        Assert.Contains("the full 6 steps", decision, StringComparison.Ordinal);
        // Within the 5 % margin: 1,000 steps of 0.062 s are 62 s against a 60 s budget.
        var (kept, _) = Pretraining.FitToBudget(Long(), 4, 0.062, minutes: 1);
        Assert.Equal(Long().Train, kept.Train);
    }

    [Fact]
    public void A_short_budget_cuts_the_schedule_to_the_steps_that_fit()
    {
        // 60 s at 0.2 s/step with a 5 % margin: 285 steps.
        var (fitted, decision) = Pretraining.FitToBudget(Long(), stepsPerEpoch: 4, secondsPerStep: 0.2, minutes: 1);
        Assert.Equal(285, fitted.Train.MaxSteps);
        Assert.Equal(72, fitted.Train.Epochs); // ceil(285 / 4)
        Assert.Contains("285 of the recipe's 1000 steps", decision, StringComparison.Ordinal);
        Assert.Equal(Long().Train with { MaxSteps = 285, Epochs = 72 }, fitted.Train); // everything but the length is the recipe's
    }

    [Fact]
    public void A_cut_keeps_at_least_ten_steps_and_always_one_more_than_those_taken()
    {
        Assert.Equal(10, Pretraining.FitToBudget(Long(), 4, 1.0, minutes: 1e-6).Config.Train.MaxSteps);
        Assert.Equal(41, Pretraining.FitToBudget(Long(), 4, 1.0, minutes: 1e-6, stepsDone: 40).Config.Train.MaxSteps);
    }

    [Fact]
    public void A_cut_says_how_to_get_a_longer_run_and_the_fast_quickstart_does_not_point_at_minutes_it_ignores()
    {
        var (_, plain) = Pretraining.FitToBudget(Long(), 4, 1.0, minutes: 1e-6);
        Assert.EndsWith(Pretraining.LongerRunAdvice, plain, StringComparison.Ordinal);
        var (_, fast) = Pretraining.FitToBudget(Long(), 4, 1.0, minutes: 1e-6, longerRun: Quickstart.FastLongerRunAdvice);
        Assert.Contains("drop --fast", fast, StringComparison.Ordinal);
        Assert.DoesNotContain("raise --minutes", fast, StringComparison.Ordinal);
    }

    [Fact]
    public void Step_cost_is_measured_and_a_budget_and_a_step_cost_must_be_positive()
    {
        using var data = TestData.Blobs(64);
        double s = Pretraining.SecondsPerStep(TrainingLoopTests.Tiny(), data, warmup: 1, measured: 2);
        Assert.True(s > 0 && double.IsFinite(s), $"seconds per step {s}");
        Assert.Throws<ArgumentOutOfRangeException>(() => Pretraining.FitToBudget(Long(), 4, 1.0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pretraining.FitToBudget(Long(), 4, 1.0, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pretraining.FitToBudget(Long(), 4, double.NaN, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pretraining.WithinBudget(Long(), "unused", resume: false, -1));
    }

    [Fact]
    public void The_decision_waits_for_the_warm_up_but_not_past_the_first_checkpoint_or_the_last_step()
    {
        Assert.Equal(100, Pretraining.TimeBudget.DecisionStep(1170, warmupSteps: 117, checkpointEvery: 100));
        Assert.Equal(25, Pretraining.TimeBudget.DecisionStep(100, warmupSteps: 25, checkpointEvery: 50));
        Assert.Equal(6, Pretraining.TimeBudget.DecisionStep(1000, warmupSteps: 2, checkpointEvery: 0));
        Assert.Equal(3, Pretraining.TimeBudget.DecisionStep(1000, warmupSteps: 40, checkpointEvery: 3));
        Assert.Equal(4, Pretraining.TimeBudget.DecisionStep(5, warmupSteps: 40, checkpointEvery: 0));
        Assert.Equal(33, Pretraining.TimeBudget.RateFrom(100));
    }

    [Fact]
    public void A_resumed_run_with_a_checkpoint_keeps_its_recorded_length_and_is_not_timed_again()
    {
        using var dir = new TempDirectory();
        var recorded = Long() with { Train = Long().Train with { MaxSteps = 123, Epochs = 31 } };
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), recorded.ToJson());
        // No checkpoint yet (killed before the first): the recorded length, and the budget still to be decided.
        var (early, earlyBudget) = Pretraining.WithinBudget(Long(), dir.Path, resume: true, 15);
        Assert.Equal(123, early.Train.MaxSteps);
        Assert.Equal(15, earlyBudget!.Minutes);

        Directory.CreateDirectory(Path.Combine(dir.Path, "checkpoints"));
        File.WriteAllBytes(Path.Combine(dir.Path, "checkpoints", "step-00000010.safetensors"), [0]);
        var (resumed, budget) = Pretraining.WithinBudget(Long(), dir.Path, resume: true, 15);
        Assert.Equal(123, resumed.Train.MaxSteps);
        Assert.Equal(31, resumed.Train.Epochs);
        Assert.Null(budget);

        var (fresh, freshBudget) = Pretraining.WithinBudget(Long(), dir.Path, resume: false, 15, "advice");
        Assert.Equal(Long().Train, fresh.Train);
        Assert.Equal(new Pretraining.TimeBudget(15, "advice"), freshBudget);
        Assert.Null(Pretraining.WithinBudget(Long(), dir.Path, resume: false, 0).Budget);
        Assert.Null(Pretraining.WithinBudget(Long(), dir.Path, resume: false, null).Budget);
    }

    [Fact]
    public void A_run_cut_by_its_budget_during_the_warm_up_is_the_run_planned_at_that_length()
    {
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        // Decided after step 6 of the 8-step warm-up; no budget fits, so the run keeps its minimum of 10 steps.
        var cut = Path.Combine(dir.Path, "cut");
        var observer = new RecordingObserver();
        var result = Pretraining.Run(Long(), data, cut, resume: false, observer, budget: new Pretraining.TimeBudget(1e-6));
        Assert.Equal(10, result.Steps);
        Assert.Contains(observer.Messages, m => m.Contains("10 of the recipe's 1000 steps", StringComparison.Ordinal));
        Assert.Contains(observer.Messages, m => m.Contains("the whole run went at", StringComparison.Ordinal));
        Assert.Equal(10, Pretraining.Recorded(cut)!.Train.MaxSteps);

        var planned = Path.Combine(dir.Path, "planned");
        Pretraining.Run(Long() with { Train = Long().Train with { MaxSteps = 10, Epochs = 3 } }, data, planned, resume: false);
        var a = Pretext.Reporting.MetricsLog.Read(Path.Combine(cut, "metrics.csv"));
        var b = Pretext.Reporting.MetricsLog.Read(Path.Combine(planned, "metrics.csv"));
        Assert.Equal(b.Select(r => r["loss"]), a.Select(r => r["loss"]));
        Assert.Equal(b.Select(r => r["lr"]), a.Select(r => r["lr"]));
        using var ca = Checkpoint.Load(Path.Combine(cut, "checkpoints", "step-00000010.safetensors"));
        using var cb = Checkpoint.Load(Path.Combine(planned, "checkpoints", "step-00000010.safetensors"));
        foreach (var (k, t) in ca.Model) Assert.True(TestData.Same(t, cb.Model[k]), k);
        Assert.Equal(10, RunConfig.FromJson(ca.ConfigJson, "cut").Train.MaxSteps); // the checkpoint records the decided length
    }
}
