using Pretext.Cli;
using Spectre.Console;

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

    [Fact]
    public void The_interactive_bar_shows_the_observers_eta_not_a_speed_from_the_resume_jump()
    {
        // A resumed bar jumps from 0 to the checkpoint's step at once; the column shows the observer's ETA instead.
        var task = new ProgressTask(1, "pretrain", maxValue: 9360);
        task.Value = 4212;
        task.State.Update<double>(ConsoleObserver.EtaColumn.Key, _ => 5000);
        Assert.Equal("1:23:20", Render(task));
        task.State.Update<double>(ConsoleObserver.EtaColumn.Key, _ => double.NaN);
        Assert.Equal("-:--:--", Render(task));
        Assert.Equal("26:00:00", ConsoleObserver.FormatEta(26 * 3600));
    }

    private static string Render(ProgressTask task)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(writer) });
        console.Write(new ConsoleObserver.EtaColumn().Render(new Spectre.Console.Rendering.RenderOptions(console.Profile.Capabilities, new Size(80, 1)), task, TimeSpan.Zero));
        return writer.ToString().Trim();
    }

    [Fact]
    public void The_bar_description_fits_a_narrow_terminal_keeping_the_status_whole()
    {
        const string stage = "Pretraining simclr on fashion-mnist/train";
        const string status = "loss 2.8866  915 samples/s  collapse 0.91";
        Assert.Equal($"{stage}  {status}", ConsoleObserver.Fit(stage, status, 200));
        // 80 columns: the status whole, the stage left out.
        var (bar, room) = ConsoleObserver.Layout(80);
        Assert.True(bar + room + 26 <= 80, $"bar {bar} + description {room} + 26 fixed columns exceed 80");
        Assert.Equal(status, ConsoleObserver.Fit(stage, status, room));
        // 100 columns: the stage cut short, the status whole.
        (_, room) = ConsoleObserver.Layout(100);
        string fitted = ConsoleObserver.Fit(stage, status, room);
        Assert.True(fitted.Length <= room, fitted);
        Assert.EndsWith("  " + status, fitted);
        Assert.StartsWith("Pretraining", fitted);
        Assert.Contains("…", fitted);
        // Narrower still: the status alone, cut short.
        Assert.Equal(status[..19] + "…", ConsoleObserver.Fit(stage, status, 20));
    }

    [Fact]
    public void A_stage_name_longer_than_its_room_is_cut_with_an_ellipsis()
    {
        Assert.Equal("short", ConsoleObserver.Cut("short", 20));
        string cut = ConsoleObserver.Cut("Extracting features of fashion-mnist/test", 20);
        Assert.Equal(20, cut.Length);
        Assert.Equal("Extracting features…", cut);
    }
}
