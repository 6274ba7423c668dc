using System.Diagnostics;
using System.Globalization;
using Pretext.Runs;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Pretext.Cli;

/// <summary>
/// Renders library progress. On an interactive terminal: a Spectre.Console progress bar per stage with
/// percentage, status (loss, samples/s) and ETA (our own, see <see cref="Eta"/>). Otherwise (CI, pipes, log files): one plain line per
/// stage start and end, plus a progress line at most every 15 seconds.
/// </summary>
internal sealed class ConsoleObserver : IRunObserver
{
    private readonly ProgressContext? ctx;
    private ProgressTask? task;
    private string stage = "";
    private long total;
    private readonly Stopwatch sinceLine = new();
    private readonly Stopwatch stageClock = new();
    // The first report of a stage: a resumed run starts at its checkpoint's step, not at 0, so the rate is taken from here.
    private long originDone = -1;
    private double originSeconds;

    public ConsoleObserver(ProgressContext? ctx) => this.ctx = ctx;

    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    /// <summary>Runs <paramref name="work"/> with progress display suited to the console.</summary>
    public static T Run<T>(Func<IRunObserver, T> work)
    {
        if (!Interactive) return work(new ConsoleObserver(null));
        T result = default!;
        var (barWidth, _) = Layout(AnsiConsole.Profile.Width);
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = barWidth }, new PercentageColumn(), new ElapsedTimeColumn(), new EtaColumn(), new SpinnerColumn())
            .Start(c => { result = work(new ConsoleObserver(c)); });
        return result;
    }

    public void BeginStage(string name, long total)
    {
        stage = name; this.total = Math.Max(1, total);
        stageClock.Restart(); sinceLine.Restart();
        originDone = -1;
        if (ctx is not null)
        {
            task = ctx.AddTask(Markup.Escape(Cut(name, Layout(AnsiConsole.Profile.Width).Description)), maxValue: this.total);
            task.State.Update<double>(EtaColumn.Key, _ => double.NaN);
        }
        else Console.WriteLine($"[{Now}] {name} ...");
    }

    public void Report(long done, string? status = null)
    {
        if (originDone < 0) { originDone = done; originSeconds = stageClock.Elapsed.TotalSeconds; }
        if (task is not null)
        {
            task.Value = Math.Min(done, total);
            task.State.Update<double>(EtaColumn.Key, _ => Eta(done, total, originDone, originSeconds, stageClock.Elapsed.TotalSeconds));
            if (status is not null) task.Description = Markup.Escape(Fit(stage, status, Layout(AnsiConsole.Profile.Width).Description));
        }
        else if (sinceLine.Elapsed.TotalSeconds >= 15)
        {
            sinceLine.Restart();
            double frac = (double)done / total;
            double eta = Eta(done, total, originDone, originSeconds, stageClock.Elapsed.TotalSeconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{Now}]   {done}/{total} ({frac:P0}), ETA {eta:F0} s{(status is null ? "" : "  " + status)}"));
        }
    }

    /// <summary>
    /// Seconds left at <paramref name="done"/> of <paramref name="total"/>, <paramref name="nowSeconds"/> into the stage: the rate
    /// since the stage's first report (<paramref name="originDone"/> at <paramref name="originSeconds"/>), so a run resumed at step
    /// 4,212 of 9,360 is not credited with 4,212 steps in its first seconds; before a second report, the rate since the stage began.
    /// </summary>
    internal static double Eta(long done, long total, long originDone, double originSeconds, double nowSeconds)
    {
        long left = Math.Max(0, total - done);
        if (done > originDone && nowSeconds > originSeconds) return (nowSeconds - originSeconds) / (done - originDone) * left;
        return done > 0 ? nowSeconds / done * left : double.NaN;
    }

    public void Resize(long total)
    {
        this.total = Math.Max(1, total);
        if (task is not null) task.MaxValue = this.total;
    }

    public void EndStage(string? summary = null)
    {
        if (task is not null)
        {
            // The finished bar stays on screen; the summary goes into its description.
            // When the summary does not fit beside the bar, it goes on its own line above the bars rather than be cut.
            task.Value = total;
            string done = string.Create(CultureInfo.InvariantCulture, $"done in {stageClock.Elapsed.TotalSeconds:F0} s");
            string full = $"{stage}: {done}{(summary is null ? "" : ", " + summary)}";
            int room = Layout(AnsiConsole.Profile.Width).Description;
            if (full.Length > room) AnsiConsole.WriteLine(full);
            task.Description = Markup.Escape(full.Length <= room ? full : Fit(stage + ":", done, room));
            task.StopTask();
            task = null;
            return;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{Now}] {stage}: done in {stageClock.Elapsed.TotalSeconds:F0} s{(summary is null ? "" : ", " + summary)}"));
    }

    public void Message(string text)
    {
        if (ctx is not null) AnsiConsole.WriteLine(text); // renders above the live bars
        else Console.WriteLine(text);
    }

    /// <summary>
    /// Remaining time from the observer's rate since the stage's first report. Spectre's own RemainingTimeColumn takes its
    /// speed from the task's value changes, so a resumed run's first jump (0 to the checkpoint's step) reads as thousands of
    /// steps in a second.
    /// </summary>
    internal sealed class EtaColumn : ProgressColumn
    {
        public const string Key = "pretext.eta";
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            if (task.IsFinished) return new Spectre.Console.Text("0:00:00", new Style(Color.Blue));
            double eta = task.State.Get<double>(Key);
            return new Spectre.Console.Text(FormatEta(eta), new Style(Color.Blue));
        }
    }

    /// <summary>
    /// Widths of the bar and of the description on a terminal <paramref name="width"/> columns wide. Percentage, elapsed
    /// time, ETA, spinner and the gaps take 26 columns; a description longer than its share makes Spectre drop the
    /// whole row to an ellipsis, which on an 80-column terminal hid the bar and the loss.
    /// </summary>
    internal static (int Bar, int Description) Layout(int width)
    {
        int bar = Math.Clamp(width / 6, 10, 40);
        return (bar, Math.Max(20, width - 26 - bar));
    }

    /// <summary>
    /// "stage  status" in at most <paramref name="max"/> characters: whole when it fits; else the stage cut short with an
    /// ellipsis so that the status (loss, samples/s) stays whole; else the status cut short.
    /// </summary>
    internal static string Fit(string stage, string status, int max)
    {
        string full = $"{stage}  {status}";
        if (full.Length <= max) return full;
        int room = max - status.Length - 2;
        if (room >= 8) return $"{stage[..(room - 1)]}…  {status}";
        return Cut(status, max);
    }

    /// <summary><paramref name="text"/> in at most <paramref name="max"/> characters, cut short with an ellipsis.</summary>
    internal static string Cut(string text, int max) => text.Length <= max ? text : text[..Math.Max(0, max - 1)] + "…";

    /// <summary>h:mm:ss, or "-:--:--" while the rate is unknown.</summary>
    internal static string FormatEta(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds < 0) return "-:--:--";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}");
    }

    private static string Now => DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
}
