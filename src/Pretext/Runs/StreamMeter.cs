using System.Diagnostics;
using System.Globalization;

namespace Pretext.Runs;

/// <summary>
/// Throughput and latency of a stream in bounded memory: latencies go into histograms of 10 microsecond buckets up to 1 s (larger ones
/// count in the last), one for the whole run and one since the last report, so percentiles are exact to 10 us whatever the length.
/// </summary>
public sealed class StreamMeter
{
    private const double BucketSeconds = 10e-6;
    private const int Buckets = 100_000;
    private readonly long[] all = new long[Buckets], recent = new long[Buckets];
    private long allCount, recentCount, updatesAtReport, readingsAtReport, updatesAtStart, readingsAtStart;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private double reportedAt, cpuAtStart;

    /// <summary>Starts counting rates from <paramref name="stream"/>'s counters now (a restarted stream's earlier readings do not count).</summary>
    public void Begin(SeriesStream stream)
    {
        readingsAtStart = readingsAtReport = stream.Counters.Good;
        updatesAtStart = updatesAtReport = stream.Counters.Updates;
        reportedAt = Seconds;
        cpuAtStart = CpuSeconds();
    }

    /// <summary>CPU time of this process, all threads.</summary>
    private static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>The whole run since <see cref="Begin"/>: readings and updates per second, latency percentiles (ms), memory.</summary>
    public StreamSummary Summary(SeriesStream stream)
    {
        double span = Math.Max(Seconds, 1e-9);
        var c = stream.Counters;
        double cpu = CpuSeconds() - cpuAtStart;
        return new StreamSummary(c.Good - readingsAtStart, c.Bad, c.Updates - updatesAtStart, span, (c.Good - readingsAtStart) / span, (c.Updates - updatesAtStart) / span,
            Percentile(0.5), Percentile(0.99), ResidentMegabytes(), cpu, (c.Good - readingsAtStart) / Math.Max(cpu, 1e-9));
    }

    /// <summary>Records one reading-to-score latency.</summary>
    public void Record(TimeSpan latency)
    {
        int b = (int)Math.Min(Buckets - 1, latency.TotalSeconds / BucketSeconds);
        all[b]++; recent[b]++;
        allCount++; recentCount++;
    }

    public double Seconds => clock.Elapsed.TotalSeconds;
    public long Count => allCount;

    /// <summary>The <paramref name="q"/> quantile of all latencies, in milliseconds (upper edge of its bucket); NaN before any.</summary>
    public double Percentile(double q) => Percentile(all, allCount, q);

    private static double Percentile(long[] histogram, long count, double q)
    {
        if (count == 0) return double.NaN;
        long rank = (long)Math.Ceiling(q * count), seen = 0;
        for (int b = 0; b < Buckets; b++)
        {
            seen += histogram[b];
            if (seen >= Math.Max(1, rank)) return (b + 1) * BucketSeconds * 1000;
        }
        return Buckets * BucketSeconds * 1000;
    }

    /// <summary>Resident memory of this process in MB (Linux /proc), NaN where unknown.</summary>
    public static double ResidentMegabytes()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return double.NaN;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>One line: readings, rates and latency since the last report and overall, memory; starts a new reporting interval.</summary>
    public string Describe(SeriesStream stream)
    {
        var c = stream.Counters;
        double now = Seconds, span = Math.Max(now - reportedAt, 1e-9);
        string line = string.Create(CultureInfo.InvariantCulture,
            $"readings {c.Good:N0} (bad {c.Bad:N0}): {(c.Good - readingsAtReport) / span:F0}/s, updates {c.Updates:N0} ({(c.Updates - updatesAtReport) / span:F0}/s), ") +
            string.Create(CultureInfo.InvariantCulture,
            $"latency p50 {Percentile(recent, recentCount, 0.5):F2} ms, p99 {Percentile(recent, recentCount, 0.99):F2} ms (all: {Percentile(0.5):F2} / {Percentile(0.99):F2}), RSS {ResidentMegabytes():F0} MB, loss {stream.LastLoss:F4}");
        Array.Clear(recent);
        recentCount = 0;
        readingsAtReport = c.Good;
        updatesAtReport = c.Updates;
        reportedAt = now;
        return line;
    }
}

/// <summary>
/// What a stream did: good readings and updates since it (re)started, per second of wall time, latency percentiles in ms, resident memory
/// in MB, and the process's CPU seconds with readings per CPU second (what a dedicated core would sustain single-threaded, whatever else
/// shares the machine).
/// </summary>
public sealed record StreamSummary(long Readings, long BadLines, long Updates, double Seconds, double ReadingsPerSecond, double UpdatesPerSecond,
    double LatencyP50, double LatencyP99, double ResidentMegabytes, double CpuSeconds, double ReadingsPerCpuSecond)
{
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Readings:N0} readings in {Seconds:F1} s ({ReadingsPerSecond:F0}/s; {CpuSeconds:F1} CPU s, {ReadingsPerCpuSecond:F0} per CPU second), {Updates:N0} updates ({UpdatesPerSecond:F0}/s), bad lines {BadLines:N0}; ") +
        string.Create(CultureInfo.InvariantCulture, $"reading-to-score latency p50 {LatencyP50:F2} ms, p99 {LatencyP99:F2} ms; RSS {ResidentMegabytes:F0} MB");
}
