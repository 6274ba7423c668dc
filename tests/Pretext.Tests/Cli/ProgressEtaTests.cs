using Pretext.Cli;

namespace Pretext.Tests.Cli;

public class ProgressEtaTests
{
    [Fact]
    public void A_resumed_stage_takes_its_rate_from_its_first_report_not_from_step_zero()
    {
        // Resumed at step 4,212 of 9,360; 10 steps later, 16 s after the first report: 1.6 s/step for 5,138 steps.
        double eta = ConsoleObserver.Eta(done: 4222, total: 9360, originDone: 4212, originSeconds: 2, nowSeconds: 18);
        Assert.Equal(1.6 * 5138, eta, 6);
    }

    [Fact]
    public void A_fresh_stage_has_the_rate_since_it_began_until_a_second_report_and_none_before_any_step()
    {
        // Only one report so far (10 steps in 5 s since the stage began): 0.5 s/step for 90 steps.
        Assert.Equal(45.0, ConsoleObserver.Eta(done: 10, total: 100, originDone: 10, originSeconds: 5, nowSeconds: 5), 6);
        Assert.True(double.IsNaN(ConsoleObserver.Eta(done: 0, total: 100, originDone: 0, originSeconds: 0, nowSeconds: 3)));
        Assert.Equal(0, ConsoleObserver.Eta(done: 100, total: 100, originDone: 1, originSeconds: 1, nowSeconds: 50));
    }
}
