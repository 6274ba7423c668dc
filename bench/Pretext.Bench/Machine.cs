using System.Diagnostics;
using System.Globalization;

namespace Pretext.Bench;

/// <summary>What the benches read about the machine and their processes: load average, a process's memory, the repository.</summary>
internal static class Machine
{
    /// <summary>Where Debian's tcmalloc (libtcmalloc-minimal4) is, or null; `./pretext` preloads it when present.</summary>
    public static string? Tcmalloc() =>
        new[] { "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4" }.FirstOrDefault(File.Exists);

    /// <summary>An allocator option: "system" (null: glibc's malloc), "auto" (tcmalloc where installed), or a library's path.</summary>
    public static string? Allocator(string option) => option switch
    {
        "system" => null,
        "auto" => Tcmalloc(),
        _ => File.Exists(option) ? option : throw new ArgumentException($"No allocator library at '{option}'; give system, auto or the path of one (apt-get install libtcmalloc-minimal4)."),
    };

    /// <summary>The 1-, 5- and 15-minute load averages as /proc/loadavg gives them ("" off Linux).</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "";

    /// <summary>
    /// A memory figure of process <paramref name="pid"/> from /proc/PID/status in MB ("VmHWM:" the peak resident set, "VmRSS:"
    /// the current one); null once the process is gone or the field is missing.
    /// </summary>
    public static double? StatusMegabytes(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? null : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The folder holding Pretext.slnx above the working directory or the bench's binaries (else the working directory).</summary>
    public static string RepositoryRoot()
    {
        foreach (var from in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(from); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Pretext.slnx"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }

    /// <summary>Starts <paramref name="start"/> (redirecting both streams) and collects its output lines, stderr ones prefixed "stderr: ".</summary>
    public static (Process Process, List<string> Lines) StartCapturing(ProcessStartInfo start)
    {
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, lines);
    }
}
