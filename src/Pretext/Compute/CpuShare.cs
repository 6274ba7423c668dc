using System.Globalization;

namespace Pretext.Compute;

/// <summary>Cumulative CPU time of the whole machine from the first line of /proc/stat, in clock ticks (all cores together).</summary>
/// <param name="Busy">Ticks spent running anything: user, nice, system, irq, softirq and steal (guest time is inside user).</param>
/// <param name="Total">Busy plus idle and iowait ticks.</param>
public sealed record MachineCpuTimes(long Busy, long Total)
{
    /// <summary>Linux reports /proc/stat in USER_HZ ticks, 100 per second on every architecture .NET runs on.</summary>
    public const double TicksPerSecond = 100;

    /// <summary>The totals of the "cpu" line of a /proc/stat text.</summary>
    /// <exception cref="FormatException">The text has no "cpu " line with at least the user..softirq columns.</exception>
    public static MachineCpuTimes Parse(string procStat)
    {
        var line = procStat.Split('\n').FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal))
            ?? throw new FormatException("No aggregate 'cpu ' line in /proc/stat.");
        var v = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        if (v.Length < 7) throw new FormatException($"The /proc/stat cpu line has {v.Length} columns, expected at least 7: '{line}'.");
        long At(int i) => i < v.Length ? v[i] : 0;
        long busy = At(0) + At(1) + At(2) + At(5) + At(6) + At(7);
        return new MachineCpuTimes(busy, busy + At(3) + At(4));
    }

    /// <summary>The machine's times now; null where /proc/stat is missing (not Linux).</summary>
    public static MachineCpuTimes? Read() => File.Exists("/proc/stat") ? Parse(File.ReadAllText("/proc/stat")) : null;
}

/// <summary>
/// How much of the machine other processes took while a measured process ran: the machine's busy time over the window, less
/// the CPU time the measured process (with its reaped children) and the observer itself report, as a share of all cores'
/// time in the window. Speeds are only comparable from runs where this stays small (FACTS: two threads collapse when
/// another process competes).
/// </summary>
public static class CpuShare
{
    /// <summary>
    /// Share of the machine's CPU time in (<paramref name="before"/>, <paramref name="after"/>) that went to other processes;
    /// 0 when the accounted seconds cover all the busy time (tick rounding can make them exceed it slightly).
    /// </summary>
    /// <param name="accountedSeconds">CPU seconds of the measured process and of the observer over the same window.</param>
    /// <exception cref="ArgumentException">The readings go backwards or cover no time.</exception>
    public static double Others(MachineCpuTimes before, MachineCpuTimes after, double accountedSeconds)
    {
        long busy = after.Busy - before.Busy, total = after.Total - before.Total;
        if (busy < 0 || total <= 0 || busy > total)
            throw new ArgumentException($"CPU readings must move forward over a non-empty window (busy {busy}, total {total} ticks).");
        double others = busy / MachineCpuTimes.TicksPerSecond - accountedSeconds;
        return Math.Max(0, others) / (total / MachineCpuTimes.TicksPerSecond);
    }

    /// <summary>Whether a run whose window gave <paramref name="othersShare"/> is kept: others took at most <paramref name="maxShare"/> of the machine.</summary>
    public static bool Keep(double othersShare, double maxShare) => othersShare <= maxShare;
}
