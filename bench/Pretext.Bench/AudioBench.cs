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
/// optimiser): the log-mels standardised as <see cref="AudioModality.PrepareRun"/> does, the real training loop, clips/s from the
/// median step time after <c>--warmup</c> steps, and peak RSS.</item>
/// </list>
/// Peak RSS is the process's VmHWM, reset (<c>/proc/self/clear_refs</c>, "5") before each method is prepared, so each row's peak is
/// its own: what the process already holds (<c>rss_at_start_mb</c>: the runtime, libtorch, the resident log-mels of the training
/// clips, <c>data_mb</c>, and heap the earlier rows freed but kept) plus the standardised copy, the model, optimiser and activations.
/// Where the reset is refused, <c>peak_rss_reset</c> is false and the peak is the process's since it started.
///   Pretext.Bench audio [--dataset fillets-speaker] [--methods cola,msm,cpc] [--threads 1] [--steps 10] [--warmup 3]
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
        var preset = Presets.For("cola", dataset, threads);
        var audio = preset.Encoder.Audio;

        // Stage 1: decode + mono + resample. Without Features the reader keeps the waveforms and never touches the cache.
        var clock = Stopwatch.StartNew();
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions());
        var waves = fetcher.LoadAudio(dataset, DataSplit.Train, audio.Clip, new AudioReadOptions { MaxDegreeOfParallelism = threads }).Dataset;
        double decodeSeconds = clock.Elapsed.TotalSeconds;
        long clips = waves.Count;
        Row(new { bench = "audio_front_end", stage = "decode_resample", clips, seconds = Round(decodeSeconds, 2), clips_per_second = Round(clips / decodeSeconds, 1),
            sample_rate = audio.Clip.SampleRate, clip_seconds = audio.Clip.Seconds, threads, data = dataset, load_average = LoadAverage() });

        // Stage 2: log-mels of those waveforms, in the reader's chunks.
        using var frontEnd = audio.FrontEnd();
        clock.Restart();
        var parts = new List<Tensor>();
        for (long start = 0; start < clips; start += 128)
        {
            using var scope = NewDisposeScope();
            using var chunk = waves.Data.narrow(0, start, Math.Min(128, clips - start));
            parts.Add(frontEnd.Compute(chunk).DetachFromDisposeScope());
        }
        var logMelTensor = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        double logMelSeconds = clock.Elapsed.TotalSeconds;
        Row(new { bench = "audio_front_end", stage = "log_mel", clips, seconds = Round(logMelSeconds, 2), clips_per_second = Round(clips / logMelSeconds, 1),
            mels = audio.LogMel.Mels, frames = audio.Frames, threads, data = dataset, load_average = LoadAverage() });
        Row(new { bench = "audio_front_end", stage = "total", clips, seconds = Round(decodeSeconds + logMelSeconds, 2),
            clips_per_second = Round(clips / (decodeSeconds + logMelSeconds), 1), threads, data = dataset, load_average = LoadAverage() });

        using var logMels = new TensorDataset(dataset, logMelTensor, waves.Labels, waves.ClassNames, Enumerable.Range(0, (int)clips).Select(i => waves.SampleId(i)).ToArray());
        waves.Dispose();
        // Measured once, as pretraining does before its first step; every method's config carries them, so PrepareRun only standardises.
        var (mean, std) = AudioModality.Statistics(logMels);
        double dataMb = logMels.Data.numel() * 4.0 / (1 << 20);
        foreach (var name in methods) Pretrain(name, dataset, threads, steps, warmup, logMels, mean, std, dataMb);
        return 0;
    }

    private static void Pretrain(string name, string dataset, int threads, int steps, int warmup, TensorDataset logMels, float[] mean, float[] std, double dataMb)
    {
        var entry = MethodRegistry.Get(name);
        var cfg = Presets.For(entry.Name, dataset, threads);
        if (cfg.Encoder.Modality != Modality.Audio) throw new ArgumentException($"Method '{name}' does not train on audio here (its preset builds a {cfg.Encoder.Kind} encoder).");
        cfg = cfg with
        {
            Encoder = cfg.Encoder with { Audio = cfg.Encoder.Audio with { Mean = mean, Std = std } },
            Train = cfg.Train with { MaxSteps = steps + warmup, Epochs = 1000, CheckpointEvery = 0 },
        };
        GC.Collect();
        bool reset = ResetPeak();
        long rssAtStartKb = StatusKb("VmRSS:");
        string runDir = Path.Combine(Path.GetTempPath(), $"pretext-audio-bench-{Environment.ProcessId}");
        // Not disposed here: the log-mels are shared by every row (disposing the samples would dispose them).
        var samples = new AudioSamples(logMels);
        using var prepared = ModalityCatalog.Get(Modality.Audio).PrepareRun(cfg, samples, runDir, resume: false, NullObserver.Instance, CancellationToken.None);
        using var method = Pretraining.CreateMethod(prepared.Config);
        using var optimizer = new Pretext.Training.Optimizer(method.ParameterGroups(), prepared.Config.Train.Optimizer);
        var trainer = new Trainer(method, prepared.Data, entry.Views(prepared.Config.Setup), prepared.Config.Train);
        var stepSeconds = new List<double>();
        double firstLoss = double.NaN, lastLoss = double.NaN;
        var clock = Stopwatch.StartNew();
        trainer.Run(optimizer, 0, null, r =>
        {
            if (r.Step == 1) firstLoss = r.Loss;
            lastLoss = r.Loss;
            if (r.Step > warmup) stepSeconds.Add(cfg.Train.BatchSize / r.SamplesPerSecond);
        });
        double wall = clock.Elapsed.TotalSeconds;
        stepSeconds.Sort();
        double median = stepSeconds[stepSeconds.Count / 2];
        Row(new
        {
            bench = "audio_pretrain", method = entry.Name, encoder = cfg.Encoder.Kind.ToString(), batch = cfg.Train.BatchSize,
            clips_per_second = Round(cfg.Train.BatchSize / median, 1), step_ms = Round(1000 * median, 1),
            peak_rss_mb = Math.Round(StatusKb("VmHWM:") / 1024.0), rss_at_start_mb = Math.Round(rssAtStartKb / 1024.0), peak_rss_reset = reset, data_mb = Math.Round(dataMb),
            first_loss = Round(firstLoss, 3), last_loss = Round(lastLoss, 3), steps_measured = stepSeconds.Count, warmup, wall_seconds = Round(wall, 1),
            threads, data = dataset, load_average = LoadAverage(),
        });
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

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "";
}
