using System.Runtime.InteropServices;

namespace Pretext.Compute;

/// <summary>
/// Whether this machine's CPU computes bf16 natively. Mixed precision pays only there: on the reference
/// machine with AVX-512 BF16 it ran the quickstart step 1.6x faster than fp32, while on an AVX2-only AMD
/// EPYC (Zen 2) oneDNN emulates bf16 and the same step took 35 s against 2.1 s in fp32.
/// </summary>
public static class NativeBf16
{
    private static readonly Lazy<string?> Detected = new(() => Detect(ReadCpuInfo(), RuntimeInformation.ProcessArchitecture));

    /// <summary>True when the CPU has a bf16 instruction set that oneDNN uses (x86: AVX-512 BF16 or AMX-BF16; Arm: BF16).</summary>
    public static bool Available => Detected.Value is not null;

    /// <summary>The CPU feature that makes bf16 native ("avx512_bf16", "amx_bf16", "bf16"), or null.</summary>
    public static string? Feature => Detected.Value;

    /// <summary>
    /// The bf16 feature named in a /proc/cpuinfo text: x86 lists CPU features on "flags" lines, Arm on
    /// "Features" lines. Null when there is none (or no cpuinfo: not Linux), so callers fall back to fp32.
    /// </summary>
    public static string? Detect(string? cpuinfo, Architecture arch)
    {
        if (string.IsNullOrEmpty(cpuinfo)) return null;
        var wanted = arch is Architecture.Arm64 ? new[] { "bf16" } : ["amx_bf16", "avx512_bf16"];
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string key = line[..colon].Trim();
            if (key is not ("flags" or "Features")) continue;
            var features = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var w in wanted)
                if (features.Contains(w)) return w;
            return null; // every core lists the same features; the first line decides
        }
        return null;
    }

    private static string? ReadCpuInfo()
    {
        try { return File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
