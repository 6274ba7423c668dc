namespace Pretext.Runs;

/// <summary>How long-running library work reports progress; the CLI renders it as progress bars.</summary>
public interface IRunObserver
{
    /// <summary>A new stage begins with <paramref name="total"/> units of work.</summary>
    void BeginStage(string name, long total);
    /// <summary>Progress within the current stage; <paramref name="status"/> is a short line (loss, samples/s).</summary>
    void Report(long done, string? status = null);
    /// <summary>The current stage finished.</summary>
    void EndStage(string? summary = null);
    /// <summary>The current stage now has <paramref name="total"/> units of work (a time budget cut a run short).</summary>
    void Resize(long total) { }
    /// <summary>A message for the user (warnings, paths written).</summary>
    void Message(string text);
}

/// <summary>An observer that ignores everything (library use without a console).</summary>
public sealed class NullObserver : IRunObserver
{
    public static NullObserver Instance { get; } = new();
    public void BeginStage(string name, long total) { }
    public void Report(long done, string? status = null) { }
    public void EndStage(string? summary = null) { }
    public void Message(string text) { }
}
