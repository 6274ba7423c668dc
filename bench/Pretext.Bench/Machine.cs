using System.Globalization;

namespace Pretext.Bench;

/// <summary>What the benches read about the machine and their processes: load average, a process's memory, the repository.</summary>
internal static class Machine
{
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
}
