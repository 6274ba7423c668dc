using System.Diagnostics;

namespace Pretext.Tests.Runs;

/// <summary>Debian's PyTorch (`python3-torch`) run through /usr/bin/python3, the peer of the interchange tests.</summary>
internal static class PythonTorch
{
    /// <summary>Set to 1 (CI does) to make the PyTorch tests fail, not skip, when python3 cannot import torch.</summary>
    public const string RequireVariable = "PRETEXT_REQUIRE_PYTORCH";

    public const string Python = "/usr/bin/python3";

    /// <summary>torch.__version__, or null when /usr/bin/python3 is missing or cannot import torch.</summary>
    public static string? Version { get; } = Probe();

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    private static string? Probe()
    {
        if (!File.Exists(Python)) return null;
        try
        {
            var (code, stdout, _) = Execute(["-c", "import torch; print(torch.__version__)"], Path.GetTempPath(), 300);
            return code == 0 ? stdout.Trim() : null;
        }
        catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Runs python3 with <paramref name="args"/> in <paramref name="workingDirectory"/>; returns stdout.</summary>
    /// <exception cref="InvalidOperationException">torch is not importable, or the script failed (the message carries its output).</exception>
    public static string Run(string workingDirectory, params string[] args)
    {
        if (Version is null)
            throw new InvalidOperationException($"{Python} cannot import torch: run 'apt-get install python3-torch' (scripts/setup.sh --with-test-tools does it when run as root).");
        var (code, stdout, stderr) = Execute(args, workingDirectory, 600);
        if (code != 0) throw new InvalidOperationException($"python3 {string.Join(' ', args)} exited with {code}:\n{stdout}\n{stderr}");
        return stdout;
    }

    private static (int Code, string Out, string Err) Execute(string[] args, string workingDirectory, int timeoutSeconds)
    {
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // One thread, as the tests pin TorchSharp to (the machines are shared; FACTS.md).
        psi.Environment["OMP_NUM_THREADS"] = "1";
        psi.Environment["MKL_NUM_THREADS"] = "1";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python3 {string.Join(' ', args)} did not finish within {timeoutSeconds} s.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>Runs only where python3 imports torch, unless CI requires it (then a missing PyTorch fails the test).</summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public PyTorchFactAttribute()
    {
        if (PythonTorch.Version is null && !PythonTorch.Required)
            Skip = "python3 cannot import torch here; scripts/setup.sh --with-test-tools installs the Debian package 'python3-torch' when run as root.";
    }
}

/// <summary>The theory form of <see cref="PyTorchFactAttribute"/>.</summary>
public sealed class PyTorchTheoryAttribute : TheoryAttribute
{
    public PyTorchTheoryAttribute()
    {
        if (PythonTorch.Version is null && !PythonTorch.Required)
            Skip = "python3 cannot import torch here; scripts/setup.sh --with-test-tools installs the Debian package 'python3-torch' when run as root.";
    }
}
