using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Pretext.Data;

/// <summary>How a clip shorter than the clip length is filled up.</summary>
public enum AudioPadding
{
    /// <summary>The clip is repeated (looped) until it fills the length, so no part of a sample is silence that the source does not have.</summary>
    Repeat,
    /// <summary>Zeros (silence) after the clip.</summary>
    Zeros,
}

/// <summary>
/// How audio files become samples: one sample rate, mono, one length, and optionally labels from file names. Travels
/// with a run's config (encoder.audio.clip) so evaluation and export read audio exactly as pretraining did.
/// </summary>
public sealed record AudioClipOptions
{
    /// <summary>Every clip is resampled to this rate (Hz). 16 kHz is the usual rate of speech models (COLA, wav2vec 2.0).</summary>
    public int SampleRate { get; init; } = 16_000;
    /// <summary>
    /// Clip length in seconds: longer files are cut to their first <see cref="Seconds"/>, shorter ones filled up as
    /// <see cref="Padding"/> says. 3 s is about the median length of the Fish Fillets voice clips (3.07 s; 90 % under 5.4 s).
    /// </summary>
    public double Seconds { get; init; } = 3.0;
    public AudioPadding Padding { get; init; } = AudioPadding.Repeat;
    /// <summary>
    /// A regular expression with a group named "label", matched against each file name without its extension, e.g.
    /// <c>^(?&lt;label&gt;[a-z]+)_</c>; the matched text is the file's class. Null: classes are sub-folders (or there are none).
    /// </summary>
    public string? LabelPattern { get; init; }
    /// <summary>Class of files <see cref="LabelPattern"/> does not match; null: such files are an error that names them.</summary>
    public string? UnmatchedLabel { get; init; }
    /// <summary>Leave out files that are empty, hold no audio or cannot be decoded (each is reported by name); false: they are an error.</summary>
    public bool SkipBad { get; init; }

    /// <summary>Samples per clip: <see cref="Seconds"/> x <see cref="SampleRate"/>, rounded.</summary>
    [JsonIgnore]
    public int Samples => (int)Math.Round(Seconds * SampleRate);

    /// <exception cref="ArgumentException">A rate or length out of range, or a label pattern that is not a regular expression with a "label" group.</exception>
    public void Validate()
    {
        if (SampleRate is < 1000 or > 384_000) throw new ArgumentException($"encoder.audio.clip.sampleRate must be between 1000 and 384000 Hz, got {SampleRate}.");
        if (!(Seconds > 0) || Samples < 1 || Seconds > 600) throw new ArgumentException($"encoder.audio.clip.seconds must be positive and at most 600, got {Seconds}.");
        if (LabelPattern is not null) _ = LabelRegex();
    }

    /// <summary>The compiled <see cref="LabelPattern"/>.</summary>
    /// <param name="setting">How the user gave the pattern, for the messages (the config key, or the CLI's --label-pattern).</param>
    /// <exception cref="ArgumentException">It is not a valid regular expression or has no group named "label".</exception>
    public Regex LabelRegex(string setting = "encoder.audio.clip.labelPattern")
    {
        Regex regex;
        try { regex = new Regex(LabelPattern ?? throw new InvalidOperationException("No label pattern is set."), RegexOptions.CultureInvariant); }
        catch (ArgumentException e) { throw new ArgumentException($"{setting} '{LabelPattern}' is not a regular expression: {e.Message}"); }
        if (!regex.GetGroupNames().Contains("label"))
            throw new ArgumentException($"{setting} '{LabelPattern}' has no group named \"label\"; mark the class with (?<label>...), e.g. ^(?<label>[a-z]+)_.");
        return regex;
    }

    /// <summary>The class of <paramref name="fileName"/> under <see cref="LabelPattern"/>, or null when it does not match and there is no <see cref="UnmatchedLabel"/>.</summary>
    public string? LabelOf(string fileName, Regex pattern)
    {
        var m = pattern.Match(Path.GetFileNameWithoutExtension(fileName));
        return m.Success && m.Groups["label"].Success && m.Groups["label"].Length > 0 ? m.Groups["label"].Value : UnmatchedLabel;
    }
}

/// <summary>How clips are read; not part of a run's config.</summary>
public sealed class AudioReadOptions
{
    /// <summary>
    /// Applied to each chunk of decoded clips, (n, samples) fp32, as soon as it is decoded (the log-mel front end), so only its
    /// result is kept in memory; it returns a new (n, ...) fp32 tensor. Null: the waveforms are kept.
    /// </summary>
    public Func<Tensor, Tensor>? Features { get; init; }
    /// <summary>Clips decoded before <see cref="Features"/> runs on them.</summary>
    public int ChunkSize { get; init; } = 128;
    /// <summary>Files decoded at once. Default: 2, or fewer on a machine with fewer cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Math.Min(2, Environment.ProcessorCount);
    /// <summary>Receives progress and skip reports; nothing is printed when null.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>Where <see cref="Features"/> of stamped sources are kept between runs; null: computed every time.</summary>
    public LogMelCache? Cache { get; init; }
}

/// <summary>Clips read into one data set, and the files left out.</summary>
/// <param name="Dataset">(N, samples) fp32 waveforms, or (N, ...) of <see cref="AudioReadOptions.Features"/>; ids as the sources named them.</param>
/// <param name="Skipped">"id: reason" for every file left out (only with <see cref="AudioClipOptions.SkipBad"/>).</param>
public sealed record AudioLoad(TensorDataset Dataset, IReadOnlyList<string> Skipped);

/// <summary>One audio file to read: an id (a relative path) and how to get its bytes.</summary>
/// <param name="Stamp">Size and modification time of the file the bytes come from (<see cref="LogMelCache.Stamp"/>); null: not cacheable.</param>
public sealed record AudioSource(string Id, Func<byte[]> Bytes, string? Stamp = null);

/// <summary>Turns audio files into fixed-length mono clips at one rate: decode, mix down, resample, cut or fill up.</summary>
public static class AudioClips
{
    /// <summary>How to fix a file that cannot be read, for error messages.</summary>
    private const int ProgressEvery = 1000;

    public const string BadFileFix = "delete or replace it (re-encoding helps: `ffmpeg -i FILE -ac 1 -ar 16000 FILE.wav`), or set encoder.audio.clip.skipBad=true (--set) to leave such files out";

    /// <summary>One clip of <paramref name="clip"/>'s length and rate from a file's bytes.</summary>
    /// <exception cref="InvalidDataException">The file is empty, cannot be decoded or holds no audio; the message says which (without the file name).</exception>
    public static float[] Read(byte[] bytes, AudioClipOptions clip, Dictionary<int, Resampler>? resamplers = null)
    {
        // A little more than the clip: the resampler's kernel reaches past the last sample it outputs.
        var audio = AudioDecoder.Decode(bytes, clip.Seconds + 0.05);
        if (audio.Frames == 0) throw new InvalidDataException($"it holds no audio (0 samples at {audio.SampleRate} Hz): empty, truncated or damaged");
        var mono = audio.ToMono();
        Resampler resampler;
        if (resamplers is null) resampler = new Resampler(audio.SampleRate, clip.SampleRate);
        else lock (resamplers)
        {
            if (!resamplers.TryGetValue(audio.SampleRate, out resampler!)) resamplers[audio.SampleRate] = resampler = new Resampler(audio.SampleRate, clip.SampleRate);
        }
        return FitLength(resampler.Resample(mono, clip.Samples), clip.Samples, clip.Padding);
    }

    /// <summary><paramref name="samples"/> cut to <paramref name="length"/>, or filled up to it as <paramref name="padding"/> says.</summary>
    public static float[] FitLength(float[] samples, int length, AudioPadding padding)
    {
        if (samples.Length == length) return samples;
        var result = new float[length];
        if (samples.Length > length || samples.Length == 0 || padding == AudioPadding.Zeros)
        {
            samples.AsSpan(0, Math.Min(length, samples.Length)).CopyTo(result);
            return result;
        }
        for (int start = 0; start < length; start += samples.Length)
            samples.AsSpan(0, Math.Min(samples.Length, length - start)).CopyTo(result.AsSpan(start));
        return result;
    }

    /// <summary>
    /// Reads <paramref name="sources"/> into one data set named <paramref name="name"/> (clips of <paramref name="clip"/>, passed
    /// through <see cref="AudioReadOptions.Features"/> chunk by chunk). Files that are empty, hold no audio or cannot be decoded
    /// are left out and reported with <see cref="AudioClipOptions.SkipBad"/>, else they are an error listing every one of them.
    /// </summary>
    /// <exception cref="InvalidDataException">Unreadable files without SkipBad (every one named, with the fix), or no readable file at all.</exception>
    public static AudioLoad Read(string name, IReadOnlyList<AudioSource> sources, int[]? labels, IReadOnlyList<string> classNames,
        AudioClipOptions clip, AudioReadOptions? options = null)
    {
        options ??= new AudioReadOptions();
        clip.Validate();
        if (options.ChunkSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.ChunkSize, "ChunkSize must be at least 1.");
        if (options.MaxDegreeOfParallelism < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be at least 1.");
        if (labels is not null && labels.Length != sources.Count) throw new ArgumentException($"{labels.Length} labels for {sources.Count} audio files.");
        var cachePath = options.Features is null ? null : options.Cache?.PathFor(sources, clip);
        if (cachePath is not null && options.Cache!.TryLoad(cachePath, options.Log) is var (cached, cachedIds, cachedSkipped))
        {
            var index = sources.Select((s, i) => (s.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
            if (cachedIds.All(index.ContainsKey))
            {
                options.Log?.Invoke($"{name}: log-mels of {cachedIds.Length} clips from the cache ({cachePath}).");
                if (cachedSkipped.Length > 0)
                    options.Log?.Invoke($"{name}: left out {cachedSkipped.Length} unusable file(s): {string.Join("; ", cachedSkipped.Take(10))}{(cachedSkipped.Length > 10 ? "; ..." : "")}.");
                return new AudioLoad(new TensorDataset(name, cached, labels is null ? null : cachedIds.Select(id => labels[index[id]]).ToArray(), classNames, cachedIds), cachedSkipped);
            }
            cached.Dispose();
        }
        var resamplers = new Dictionary<int, Resampler>();
        var parts = new List<Tensor>();
        var keep = new List<int>();
        var problems = new List<string>();
        try
        {
            for (int start = 0; start < sources.Count; start += options.ChunkSize)
            {
                int n = Math.Min(options.ChunkSize, sources.Count - start);
                var clips = new float[n][];
                var failures = new string?[n];
                Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism }, i =>
                {
                    try { clips[i] = Read(sources[start + i].Bytes(), clip, resamplers); }
                    catch (InvalidDataException e) { failures[i] = e.Message; }
                });
                var kept = Enumerable.Range(0, n).Where(i => failures[i] is null).ToList();
                problems.AddRange(Enumerable.Range(0, n).Where(i => failures[i] is not null).Select(i => $"{sources[start + i].Id}: {failures[i]}"));
                keep.AddRange(kept.Select(i => start + i));
                if (kept.Count == 0) continue;
                var flat = new float[(long)kept.Count * clip.Samples];
                for (int k = 0; k < kept.Count; k++) clips[kept[k]].CopyTo(flat, (long)k * clip.Samples);
                using var scope = NewDisposeScope();
                var wave = tensor(flat, [kept.Count, clip.Samples]);
                var part = options.Features is null ? wave : options.Features(wave);
                parts.Add(part.DetachFromDisposeScope());
                if ((start + n) / ProgressEvery > start / ProgressEvery || start + n == sources.Count)
                    options.Log?.Invoke($"{name}: {start + n} of {sources.Count} files read.");
            }
            if (problems.Count > 0 && !clip.SkipBad)
                throw new InvalidDataException(
                    // One line, as every error (issue 24); every file is still found in this one pass.
                    $"{problems.Count} audio file(s) of {name} cannot be used: {string.Join("; ", problems.Take(20))}" +
                    $"{(problems.Count > 20 ? $"; and {problems.Count - 20} more" : "")}. To fix it: {BadFileFix}.");
            if (problems.Count > 0)
                options.Log?.Invoke($"{name}: left out {problems.Count} unusable file(s): {string.Join("; ", problems.Take(10))}{(problems.Count > 10 ? "; ..." : "")}.");
            if (keep.Count == 0)
                throw new InvalidDataException($"None of the {sources.Count} audio files of {name} could be read; {BadFileFix}.");
            var data = parts.Count == 1 ? parts[0] : cat(parts, 0);
            if (parts.Count > 1) foreach (var p in parts) p.Dispose();
            parts.Clear();
            var ids = keep.Select(i => sources[i].Id).ToArray();
            if (cachePath is not null)
            {
                try { options.Cache!.Save(cachePath, data, ids, problems, options.Log); }
                catch (IOException e) { options.Log?.Invoke($"warning: could not write the log-mel cache file {cachePath} ({e.Message}); the clips will be decoded again next time."); }
                catch (UnauthorizedAccessException e) { options.Log?.Invoke($"warning: could not write the log-mel cache file {cachePath} ({e.Message}); the clips will be decoded again next time."); }
            }
            return new AudioLoad(new TensorDataset(name, data, labels is null ? null : keep.Select(i => labels[i]).ToArray(), classNames, ids), problems);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}
