using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Pretext.Training;

namespace Pretext.Bench;

/// <summary>
/// Issue 24's chaos bench: a small pretraining run through the real CLI, killed with SIGKILL at random moments (about half of
/// them while a checkpoint is being written, which PRETEXT_TEST_WRITE_DELAY_MS makes easy to hit) and resumed with --resume
/// each time, against the same run left alone. Reports how many kills resumed, whether any checkpoint on disk was ever
/// unreadable, whether half-written temp files outlived the next start, and whether the interrupted run's losses and final
/// checkpoint equal the uninterrupted run's, bit for bit.
///
///   chaos [--kills 20] [--steps 200] [--epochs 1000] [--checkpoint-every 5] [--write-delay-ms 400] [--seed 1] [--out chaos.json]
///         [--pretext src/Pretext.Cli/bin/Release/net10.0/linux-x64/pretext]
/// Exit code 0 when every kill resumed and both runs agree, 1 otherwise.
/// </summary>
internal static class ChaosBench
{
    public static int Run(BenchArgs a)
    {
        int kills = a.Int("kills", 20), steps = a.Int("steps", 200), every = a.Int("checkpoint-every", 5), delayMs = a.Int("write-delay-ms", 400);
        var rng = new Random(a.Int("seed", 1));
        string exe = a.Get("pretext", Path.Combine(Machine.RepositoryRoot(), "src", "Pretext.Cli", "bin", "Release", "net10.0", "linux-x64", "pretext"));
        if (!File.Exists(exe)) throw new FileNotFoundException($"'{exe}' does not exist; build the CLI (dotnet build -c Release) or give --pretext.");
        string work = Path.Combine(Path.GetTempPath(), "pretext-chaos-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            string data = Path.Combine(work, "images");
            MakeImages(data);
            string[] Args(string run, bool resume) =>
            [
                "pretrain", "--dataset", data, "--max-steps", steps.ToString(CultureInfo.InvariantCulture), "--epochs", a.Get("epochs", "1000"), "--checkpoint-every", every.ToString(CultureInfo.InvariantCulture),
                "--keep-checkpoints", "3", "--batch-size", "8", "--image-size", "16", "--widths", "8,16", "--blocks", "1,1", "--threads", "1",
                "--run-dir", run, .. resume ? new[] { "--resume" } : [],
            ];

            var clock = Stopwatch.StartNew();
            string reference = Path.Combine(work, "reference");
            var (refCode, refOut) = RunToEnd(exe, Args(reference, false), delayMs);
            if (refCode != 0) throw new InvalidOperationException($"the uninterrupted run failed (exit {refCode}):\n{refOut}");
            double referenceSeconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(FormattableString.Invariant($"uninterrupted run: {steps} steps in {referenceSeconds:F1} s (with the {delayMs} ms write pause)"));

            string chaos = Path.Combine(work, "chaos");
            int resumed = 0, inWrite = 0, unreadable = 0, starts = 0, staleAfterStart = 0;
            var log = new List<string>();
            bool first = true;
            for (int k = 0; k < kills; k++)
            {
                bool aimAtWrite = k % 2 == 1;
                // A kill before the run folder existed leaves nothing to resume: start afresh then, as a user would.
                var psi = Start(exe, Args(chaos, !first && Directory.Exists(chaos)), delayMs);
                var staleBefore = TempFiles(chaos);
                var (p, lines) = Machine.StartCapturing(psi);
                starts++;
                first = false;
                string when;
                var wait = Stopwatch.StartNew();
                if (aimAtWrite)
                {
                    // Let the run pass 0-2 checkpoint writes of its own, then kill inside the next one (the write pause holds its
                    // temp file open half-written): resumes start from checkpoints all along the run, not only the first.
                    int pass = rng.Next(0, 3), seen = 0;
                    var known = new HashSet<string>(staleBefore);
                    while (!p.HasExited && wait.Elapsed < TimeSpan.FromSeconds(120))
                    {
                        var fresh = TempFiles(chaos).Where(known.Add).ToList();
                        if (fresh.Count > 0 && seen++ >= pass) break;
                        Thread.Sleep(5);
                    }
                    Thread.Sleep(rng.Next(0, Math.Max(1, delayMs / 2)));
                    when = "inside a checkpoint write";
                }
                else
                {
                    // A random moment after the run has taken 1-8 steps of its own (start-up takes seconds on a loaded machine).
                    int rows = MetricsRows(chaos), need = rng.Next(1, 9);
                    while (!p.HasExited && MetricsRows(chaos) < rows + need && wait.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(5);
                    int ms = rng.Next(0, 300);
                    Thread.Sleep(ms);
                    when = $"{ms} ms after {need} new step(s)";
                }
                if (p.HasExited)
                {
                    log.Add($"kill {k + 1}: the run ended before the kill ({when}); exit {p.ExitCode}");
                    if (p.ExitCode != 0) { Console.WriteLine(string.Join('\n', lines)); return 1; }
                    break;
                }
                bool hadTemp = TempFiles(chaos).Except(staleBefore).Any();
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
                if (hadTemp) inWrite++;
                // Whatever is on disk now must be readable: every checkpoint a resume could pick.
                foreach (var ck in Checkpoints(chaos))
                {
                    try { using (Checkpoint.Load(ck)) { } }
                    catch (Exception e) when (e is InvalidDataException or IOException) { unreadable++; log.Add($"  unreadable after kill {k + 1}: {ck}: {e.Message}"); }
                }
                int step = LastStep(chaos);
                log.Add($"kill {k + 1} {when}: newest checkpoint step {step}, {TempFiles(chaos).Count} temp file(s) left{(hadTemp ? " (killed mid-write)" : "")}");
                resumed++;
            }
            // The last start runs to the end; it must first remove what the kills left half-written.
            var last = Start(exe, Args(chaos, Directory.Exists(chaos)), delayMs);
            var stale = TempFiles(chaos);
            var (lp, llines) = Machine.StartCapturing(last);
            lp.WaitForExit();
            starts++;
            staleAfterStart = stale.Count(File.Exists);
            if (lp.ExitCode != 0) { Console.WriteLine(string.Join('\n', llines)); return 1; }

            var refLoss = Losses(reference);
            var chaosLoss = Losses(chaos);
            bool lossesEqual = refLoss.Count > 0 && refLoss.SequenceEqual(chaosLoss);
            if (!lossesEqual)
                foreach (var (r, c) in refLoss.Zip(chaosLoss).Where(p => p.First != p.Second).Take(3)) log.Add($"  metrics differ: uninterrupted {r} | interrupted {c}");
            string refFinal = Checkpoints(reference).Last(), chaosFinal = Checkpoints(chaos).Last();
            bool finalEqual = Path.GetFileName(refFinal) == Path.GetFileName(chaosFinal) && Tensors(refFinal) == Tensors(chaosFinal);
            foreach (var l in log) Console.WriteLine(l);
            var result = new
            {
                bench = "chaos",
                kills = resumed,
                kills_inside_checkpoint_writes = inWrite,
                starts,
                unreadable_checkpoints = unreadable,
                temp_files_left_after_resume = staleAfterStart,
                losses_equal = lossesEqual,
                metrics_rows = new[] { refLoss.Count, chaosLoss.Count },
                final_checkpoint_equal = finalEqual,
                write_delay_ms = delayMs,
                seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                load_average = Machine.LoadAverage(),
            };
            string json = JsonSerializer.Serialize(result);
            Console.WriteLine(json);
            if (a.Get("out", "") is { Length: > 0 } outPath) File.WriteAllText(outPath, json + Environment.NewLine);
            Console.WriteLine(FormattableString.Invariant(
                $"{resumed} of {kills} kills resumed ({inWrite} inside checkpoint writes); {unreadable} unreadable checkpoints; {staleAfterStart} temp files outlived the next start; losses {(lossesEqual ? "equal" : "DIFFER")}; final checkpoint {(finalEqual ? "identical" : "DIFFERS")}."));
            return resumed == kills && unreadable == 0 && staleAfterStart == 0 && lossesEqual && finalEqual ? 0 : 1;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    internal static ProcessStartInfo Start(string exe, string[] args, int delayMs)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var x in args) psi.ArgumentList.Add(x);
        psi.Environment[SafeTensors.WriteDelayVariable] = delayMs.ToString(CultureInfo.InvariantCulture);
        return psi;
    }

    internal static (int Code, string Output) RunToEnd(string exe, string[] args, int delayMs)
    {
        var (p, lines) = Machine.StartCapturing(Start(exe, args, delayMs));
        p.WaitForExit();
        lock (lines) return (p.ExitCode, string.Join('\n', lines));
    }

    private static int MetricsRows(string run)
    {
        string f = Path.Combine(run, "metrics.csv");
        try { return File.Exists(f) ? File.ReadLines(f).Count() : 0; }
        catch (IOException) { return 0; }
    }

    private static List<string> TempFiles(string run)
    {
        string dir = Path.Combine(run, "checkpoints");
        return Directory.Exists(dir) ? Directory.GetFiles(dir, ".step-*.tmp").ToList() : [];
    }

    private static List<string> Checkpoints(string run)
    {
        string dir = Path.Combine(run, "checkpoints");
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "step-*.safetensors").Order(StringComparer.Ordinal).ToList() : [];
    }

    private static int LastStep(string run) =>
        Checkpoints(run).Select(f => int.Parse(Path.GetFileNameWithoutExtension(f)[5..], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    /// <summary>step, epoch, loss and learning rate of every metrics row (timings differ between runs by nature).</summary>
    private static List<string> Losses(string run) =>
        File.ReadLines(Path.Combine(run, "metrics.csv")).Skip(1).Select(l => string.Join(',', l.Split(',').Take(4))).ToList();

    /// <summary>A digest of every tensor's name and bytes (model and optimiser), independent of metadata order.</summary>
    internal static string Tensors(string checkpoint)
    {
        var (tensors, _) = SafeTensors.Load(checkpoint);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, t) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var cpu = t.contiguous();
            sha.AppendData(cpu.bytes.ToArray());
            t.Dispose();
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>48 small 24-bit BMPs in two classes, deterministic: the run needs no download (BMP: no compression to write).</summary>
    internal static void MakeImages(string folder)
    {
        const int w = 20, h = 20, stride = (w * 3 + 3) / 4 * 4;
        foreach (var cls in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(folder, cls));
            for (int i = 0; i < 24; i++)
            {
                var bmp = new byte[54 + stride * h];
                "BM"u8.CopyTo(bmp);
                BitConverter.TryWriteBytes(bmp.AsSpan(2), bmp.Length);
                BitConverter.TryWriteBytes(bmp.AsSpan(10), 54);
                BitConverter.TryWriteBytes(bmp.AsSpan(14), 40);
                BitConverter.TryWriteBytes(bmp.AsSpan(18), w);
                BitConverter.TryWriteBytes(bmp.AsSpan(22), h);
                BitConverter.TryWriteBytes(bmp.AsSpan(26), (short)1);
                BitConverter.TryWriteBytes(bmp.AsSpan(28), (short)24);
                BitConverter.TryWriteBytes(bmp.AsSpan(34), stride * h);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        byte v = (byte)(cls == "a" ? (x * 11 + y * (i + 3)) & 255 : (x * y + i * 17) & 255);
                        bmp[54 + y * stride + 3 * x] = bmp[54 + y * stride + 3 * x + 1] = bmp[54 + y * stride + 3 * x + 2] = v;
                    }
                File.WriteAllBytes(Path.Combine(folder, cls, $"{i:D2}.bmp"), bmp);
            }
        }
    }
}
