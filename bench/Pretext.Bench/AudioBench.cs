using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pretext.Data;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Audio throughput on the Fish Fillets speaker set's training clips (issue #21), one JSON line per row:
/// <list type="bullet">
/// <item>the front end, in two stages timed apart: decoding the Ogg Vorbis clips, mixing to mono and resampling to 16 kHz
/// (no log-mel cache: every clip is decoded), then the log-mel spectrograms of those waveforms in chunks of 128, and the two
/// together (clips/s);</item>
/// <item>pretraining with each audio method at its preset (<see cref="Presets.For"/> on fillets-speaker: batch, encoder, views,
/// optimiser), each in a child process of its own so its memory is its own: the log-mels loaded as <c>pretext pretrain</c> loads
/// them (through the log-mel cache), standardised as <see cref="AudioModality.PrepareRun"/> does, the real training loop; clips/s
/// from the median step time after <c>--warmup</c> steps.</item>
/// </list>
/// Memory per method: <c>peak_rss_mb</c> is the child's VmHWM at the end (loading the cached log-mels, their statistics in double
/// precision, the standardised copy, model, optimiser and steps: what <c>pretext pretrain</c> peaks at); <c>training_peak_rss_mb</c>
/// is the peak over the training steps alone (VmHWM reset through <c>/proc/self/clear_refs</c> just before the first step, from
/// <c>rss_before_training_mb</c>; null where the reset is refused). <c>data_mb</c> is the log-mels' size.
///   Pretext.Bench audio [--dataset fillets-speaker] [--methods cola,msm,cpc] [--front-end true|false] [--threads 1] [--steps 10] [--warmup 3]
/// </summary>
internal static class AudioBench
{
    public static int Run(BenchArgs a)
    {
        string dataset = a.Get("dataset", "fillets-speaker");
        var methods = a.Get("methods", "cola,msm,cpc").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int threads = a.Int("threads", 1), steps = a.Int("steps", 10), warmup = a.Int("warmup", 3);
        if (threads < 1 || steps < 1 || warmup < 0) throw new ArgumentException("--threads and --steps must be at least 1, --warmup at least 0.");
        set_num_threads(threads);
        if (a.Has("child")) return Pretrain(MethodRegistry.Get(methods.Single()).Name, dataset, threads, steps, warmup);
        if (a.Get("front-end", "true") != "false") FrontEnd(dataset, threads);
        int failed = 0;
        foreach (var name in methods)
        {
            var child = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
            foreach (var arg in new[] { "audio", "--child", "--methods", name, "--dataset", dataset, "--threads", $"{threads}", "--steps", $"{steps}", "--warmup", $"{warmup}" })
                child.ArgumentList.Add(arg);
            using var process = Process.Start(child)!;
            // Only the JSON rows: the child's log lines go to stderr.
            while (process.StandardOutput.ReadLine() is { } line) Console.WriteLine(line);
            process.WaitForExit();
            if (process.ExitCode != 0) { failed++; Console.Error.WriteLine($"error: the {name} row failed (exit code {process.ExitCode})."); }
        }
        return failed == 0 ? 0 : 1;
    }

    private static void FrontEnd(string dataset, int threads)
    {
        var audio = Presets.For("cola", dataset, threads).Encoder.Audio;
        // Stage 1: decode + mono + resample. Without Features the reader keeps the waveforms and never touches the cache.
        var clock = Stopwatch.StartNew();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions());
        using var waves = fetcher.LoadAudio(dataset, DataSplit.Train, audio.Clip, new AudioReadOptions { MaxDegreeOfParallelism = threads }).Dataset;
        double decodeSeconds = clock.Elapsed.TotalSeconds;
        long clips = waves.Count;
        Row(new { bench = "audio_front_end", stage = "decode_resample", clips, seconds = Round(decodeSeconds, 2), clips_per_second = Round(clips / decodeSeconds, 1),
            sample_rate = audio.Clip.SampleRate, clip_seconds = audio.Clip.Seconds, threads, data = dataset, load_average = Machine.LoadAverage() });

        // Stage 2: log-mels of those waveforms, in the reader's chunks.
        using var frontEnd = audio.FrontEnd();
        clock.Restart();
        for (long start = 0; start < clips; start += 128)
        {
            using var scope = NewDisposeScope();
            frontEnd.Compute(waves.Data.narrow(0, start, Math.Min(128, clips - start)));
        }
        double logMelSeconds = clock.Elapsed.TotalSeconds;
        Row(new { bench = "audio_front_end", stage = "log_mel", clips, seconds = Round(logMelSeconds, 2), clips_per_second = Round(clips / logMelSeconds, 1),
            mels = audio.LogMel.Mels, frames = audio.Frames, threads, data = dataset, load_average = Machine.LoadAverage() });
        Row(new { bench = "audio_front_end", stage = "total", clips, seconds = Round(decodeSeconds + logMelSeconds, 2),
            clips_per_second = Round(clips / (decodeSeconds + logMelSeconds), 1), threads, data = dataset, load_average = Machine.LoadAverage() });
    }

    private static int Pretrain(string name, string dataset, int threads, int steps, int warmup)
    {
        var entry = MethodRegistry.Get(name);
        var cfg = Presets.For(entry.Name, dataset, threads);
        if (cfg.Encoder.Modality != Modality.Audio) throw new ArgumentException($"Method '{name}' does not train on audio here (its preset builds a {cfg.Encoder.Kind} encoder).");
        cfg = cfg with { Train = cfg.Train with { MaxSteps = steps + warmup, Epochs = 1000, CheckpointEvery = 0 } };
        var modality = ModalityCatalog.Get(Modality.Audio);
        // As pretext pretrain loads them: the log-mels through the cache (decoded and cached the first time).
        var (train, _) = modality.Load(dataset, cfg, null, m => Console.Error.WriteLine(m), needTest: false);
        using var samples = train;
        double dataMb = AudioSamples.Of(samples).Data.Data.numel() * 4.0 / (1 << 20);
        string runDir = Path.Combine(Path.GetTempPath(), $"pretext-audio-bench-{Environment.ProcessId}");
        using var prepared = modality.PrepareRun(cfg, samples, runDir, resume: false, NullObserver.Instance, CancellationToken.None);
        using var method = Pretraining.CreateMethod(prepared.Config);
        using var optimizer = new Pretext.Training.Optimizer(method.ParameterGroups(), prepared.Config.Train.Optimizer);
        var trainer = new Trainer(method, prepared.Data, entry.Views(prepared.Config.Setup), prepared.Config.Train);
        var stepSeconds = new List<double>();
        double firstLoss = double.NaN, lastLoss = double.NaN;
        GC.Collect();
        long rssBeforeKb = StatusKb("VmRSS:"), loadingPeakKb = StatusKb("VmHWM:");
        bool reset = ResetPeak();
        var clock = Stopwatch.StartNew();
        trainer.Run(optimizer, 0, null, r =>
        {
            if (r.Step == 1) firstLoss = r.Loss;
            lastLoss = r.Loss;
            if (r.Step > warmup) stepSeconds.Add(cfg.Train.BatchSize / r.SamplesPerSecond);
        });
        double wall = clock.Elapsed.TotalSeconds;
        long trainingPeakKb = StatusKb("VmHWM:");
        stepSeconds.Sort();
        double median = stepSeconds[stepSeconds.Count / 2];
        Row(new
        {
            bench = "audio_pretrain", method = entry.Name, encoder = cfg.Encoder.Kind.ToString(), batch = cfg.Train.BatchSize,
            clips_per_second = Round(cfg.Train.BatchSize / median, 1), step_ms = Round(1000 * median, 1),
            // After the reset VmHWM restarts from the current RSS, so the process's peak is the larger of the two readings.
            peak_rss_mb = Math.Round(Math.Max(loadingPeakKb, trainingPeakKb) / 1024.0),
            training_peak_rss_mb = reset ? Math.Round(trainingPeakKb / 1024.0) : (double?)null, rss_before_training_mb = Math.Round(rssBeforeKb / 1024.0),
            data_mb = Math.Round(dataMb), first_loss = Round(firstLoss, 3), last_loss = Round(lastLoss, 3), steps_measured = stepSeconds.Count, warmup,
            wall_seconds = Round(wall, 1), threads, clips = samples.Count, data = dataset, load_average = Machine.LoadAverage(),
        });
        return 0;
    }

    private static void Row(object row) => Console.WriteLine(JsonSerializer.Serialize(row));

    private static double Round(double x, int digits) => double.IsFinite(x) ? Math.Round(x, digits) : x;

    /// <summary>Resets the process's peak RSS (Linux 4.0+: writing 5 to clear_refs); false where that is refused or not Linux.</summary>
    private static bool ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>A kB figure of /proc/self/status ("VmHWM:" the peak RSS, "VmRSS:" the current one); 0 where there is none.</summary>
    private static long StatusKb(string field) => File.Exists("/proc/self/status")
        ? File.ReadLines("/proc/self/status").Where(l => l.StartsWith(field, StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).FirstOrDefault()
        : 0;

}
