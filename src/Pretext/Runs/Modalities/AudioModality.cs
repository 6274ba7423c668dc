using System.Text.Json;
using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using static TorchSharp.torch;

namespace Pretext.Runs.Modalities;

/// <summary>
/// Audio: the catalogued Fish Fillets speech sets (speaker, language; split by line), or a folder of WAV and Ogg Vorbis files
/// (<see cref="AudioFolder"/>). Every file becomes a mono clip of one rate and length, then a log-mel spectrogram (the front end of
/// encoder.audio); encoders read (B, mels, frames) standardised per mel band with the statistics of the pretraining clips, which
/// pretraining measures once and records in the config. The no-learning baseline is logistic regression on MFCC statistics.
/// </summary>
public sealed class AudioModality : IModality
{
    /// <summary>MFCCs the baseline keeps (the classic 20).</summary>
    public const int BaselineCoefficients = 20;

    /// <summary>The folder of the data cache that keeps decoded clips' log-mels (<see cref="LogMelCache"/>).</summary>
    public const string LogMelCacheFolder = "log-mels";

    public Modality Kind => Modality.Audio;
    public string DefaultMethod => "cola";
    public string BaselineName => "MFCC statistics";

    public bool IsCatalogued(string dataset) => DataCatalog.Contains(dataset, Modality.Audio);

    public RunConfig BasePreset(string dataset, int threads) => Presets.Audio(IsCatalogued(dataset) ? dataset.ToLowerInvariant() : dataset, threads);

    /// <summary>
    /// Fish Fillets: its split by line. A folder: when a test split is needed and the clips are labelled, a class-stratified fifth (seed
    /// 0) is held out, as for image folders. Clips are turned into log-mels as they are decoded, so only those stay in memory.
    /// </summary>
    public (ISampleSet Train, ISampleSet? Test) Load(string dataset, RunConfig config, string? dataDir, Action<string>? log, bool needTest)
    {
        var audio = config.Encoder.Audio;
        using var frontEnd = audio.FrontEnd();
        // Log-mels are kept in the data cache, keyed by the front end's settings and the files, under a size cap (LogMelCache).
        long cap = LogMelCache.CapFromEnvironment();
        var cache = cap == 0 ? null : new LogMelCache(Path.Combine(DataCatalog.ResolveCacheFolder(dataDir), LogMelCacheFolder), JsonSerializer.Serialize(audio.LogMel), cap);
        var read = new AudioReadOptions { Features = frontEnd.Compute, Log = log, Cache = cache };
        if (IsCatalogued(dataset))
        {
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            // Grouped by line: the Czech and the Dutch recording of a sentence stay on one side of the validation split too.
            var train = new AudioSamples(fetcher.LoadAudio(dataset, DataSplit.Train, audio.Clip, read).Dataset, FilletsVoices.LineOf);
            return (train, needTest ? new AudioSamples(fetcher.LoadAudio(dataset, DataSplit.Test, audio.Clip, read).Dataset, FilletsVoices.LineOf) : null);
        }
        if (!Directory.Exists(dataset))
            throw new DirectoryNotFoundException(DataPathHints.NotReadable(dataset, Modality.Audio, "a folder of WAV or Ogg Vorbis files"));
        return HeldOut.Split(new AudioSamples(AudioFolder.Load(dataset, audio.Clip, read).Dataset), dataset, needTest);
    }

    /// <summary>
    /// Pretraining reads the training clips' log-mels standardised per mel band. The statistics come from the config when it has them, from
    /// the run's config.json when resuming, else from these clips; the completed config records them for evaluation and export.
    /// </summary>
    /// <exception cref="ArgumentException">The configured method or encoder is not an audio one.</exception>
    public PreparedRun PrepareRun(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel)
    {
        var entry = MethodRegistry.Get(config.Method);
        if (!entry.TrainsOn(Modality.Audio) || config.Encoder.Modality != Modality.Audio)
            throw new ArgumentException($"Method '{config.Method}' with a {config.Encoder.Kind} encoder does not train on audio; use an audio method ({string.Join(", ", MethodRegistry.All.Where(m => m.TrainsOn(Modality.Audio)).Select(m => m.Name))}).");
        Pretraining.RefuseOverwrite(runDirectory, resume);
        var clips = AudioSamples.Of(train).Data;
        var audio = config.Encoder.Audio;
        if (!clips.SampleShape.SequenceEqual(audio.InputShape))
            throw new ArgumentException($"'{clips.Name}' holds log-mels of shape [{string.Join(",", clips.SampleShape)}] but the encoder reads [{string.Join(",", audio.InputShape)}]; load it with the same encoder.audio settings.");
        if (audio.Mean.Length == 0)
        {
            var recorded = resume ? Pretraining.Recorded(runDirectory)?.Encoder.Audio : null;
            var (mean, std) = recorded is { Mean.Length: > 0 } r ? (r.Mean, r.Std) : Statistics(clips);
            config = config with { Encoder = config.Encoder with { Audio = audio with { Mean = mean, Std = std } } };
        }
        var data = Standardize(clips, config.Encoder.Audio, $"{clips.Name} (pretraining)");
        observer.Message($"{clips.Name}: {data.Count} clips of {audio.Clip.Seconds:0.##} s at {audio.Clip.SampleRate} Hz as {audio.LogMel.Mels} mel bands x {audio.Frames} frames for pretraining.");
        return new PreparedRun(config, data, data);
    }

    public ModelInputs InputsFor(RunConfig config, string checkpointPath)
    {
        if (config.Encoder.Audio.Mean.Length == 0)
            throw new InvalidDataException($"Checkpoint '{checkpointPath}' records no log-mel statistics (encoder.audio.mean); it was not written by an audio pretraining run.");
        return new AudioInputs(config);
    }

    // Speakers are unbalanced (few "other" clips): macro F1 beside accuracy.
    public EvaluationPlan Plan(EvaluationConfig ev) => EvaluationPlan.Standard(ev) with { F1 = true };

    /// <summary>
    /// <paramref name="config"/> reading the files of the audio folder <paramref name="dataset"/> with classes taken from their names by
    /// <paramref name="pattern"/> (encoder.audio.clip.labelPattern; the CLI's --label-pattern); null changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">Not an audio run, a catalogued data set (its labels are its own), or a pattern that is not a
    /// regular expression with a group named "label".</exception>
    public static RunConfig WithLabelPattern(RunConfig config, string? pattern, string dataset, string setting = "--label-pattern")
    {
        if (pattern is null) return config;
        if (config.Encoder.Modality != Modality.Audio)
            throw new ArgumentException($"{setting} labels the files of an audio folder by their names; this is a {config.Encoder.Modality.ToString().ToLowerInvariant()} run ({config.Encoder.Kind} encoder).");
        if (DataCatalog.Contains(dataset, Modality.Audio))
            throw new ArgumentException($"{setting} labels the files of an audio folder; '{dataset}' is a catalogued data set with its own labels.");
        var clip = config.Encoder.Audio.Clip with { LabelPattern = pattern };
        _ = clip.LabelRegex(setting);
        return config with { Encoder = config.Encoder with { Audio = config.Encoder.Audio with { Clip = clip } } };
    }

    /// <summary>Per mel band mean and standard deviation over every frame of every clip (in double precision).</summary>
    public static (float[] Mean, float[] Std) Statistics(TensorDataset logMels)
    {
        using var scope = NewDisposeScope();
        var x = logMels.Data.to(ScalarType.Float64);
        var mean = x.mean([0L, 2L]);
        var std = x.sub(mean.view(1, -1, 1)).square().mean([0L, 2L]).sqrt().clamp_min(1e-6);
        return (mean.to(ScalarType.Float32).data<float>().ToArray(), std.to(ScalarType.Float32).data<float>().ToArray());
    }

    /// <summary>A new data set of (log-mel - mean) / std per mel band, with the labels and ids of <paramref name="logMels"/>.</summary>
    public static TensorDataset Standardize(TensorDataset logMels, AudioEncoderConfig audio, string name)
    {
        using var scope = NewDisposeScope();
        var mean = tensor(audio.Mean).view(1, -1, 1);
        var std = tensor(audio.Std).view(1, -1, 1);
        var x = logMels.Data.sub(mean).div_(std);
        return new TensorDataset(name, x, logMels.Labels, logMels.ClassNames, Enumerable.Range(0, (int)logMels.Count).Select(i => logMels.SampleId(i)).ToArray());
    }

    /// <summary>
    /// The no-learning baseline's features: the mean and standard deviation over time of each of the first
    /// <see cref="BaselineCoefficients"/> MFCCs, (N, 2 x 20), the classic fixed-length summary of a clip for speaker and language
    /// identification.
    /// </summary>
    public static Tensor MfccStatistics(TensorDataset logMels)
    {
        using var scope = NewDisposeScope();
        var mfcc = LogMelSpectrogram.Mfcc(logMels.Data, Math.Min(BaselineCoefficients, (int)logMels.Data.shape[1]));
        return cat([mfcc.mean([2L]), mfcc.std(2)], 1).MoveToOuterDisposeScope();
    }

    /// <summary>Clips read as standardised log-mels; SpecAugment masks for supervised training; MFCC statistics as the baseline.</summary>
    public sealed class AudioInputs(RunConfig config) : ModelInputs
    {
        private readonly AudioEncoderConfig audio = config.Encoder.Audio;
        private readonly IAugmentation? labelled = config.Encoder.Audio.Supervised.Build();

        protected override (IDataset Data, bool Owned) EncodeCore(ISampleSet samples)
        {
            var clips = AudioSamples.Of(samples).Data;
            if (!clips.SampleShape.SequenceEqual(audio.InputShape))
                throw new ArgumentException($"'{clips.Name}' holds log-mels of shape [{string.Join(",", clips.SampleShape)}] but the model reads [{string.Join(",", audio.InputShape)}].");
            return (Standardize(clips, audio, clips.Name), true);
        }

        public override IAugmentation? LabelledAugmentation => labelled;
        public override int FeatureBatchSize => 256;

        public override (Tensor Train, Tensor Test, bool Standardize) BaselineFeatures(ISampleSet train, ISampleSet test) =>
            (MfccStatistics(AudioSamples.Of(train).Data), MfccStatistics(AudioSamples.Of(test).Data), true);
    }
}

/// <summary>Clips as samples: a <see cref="TensorDataset"/> of (mels, frames) log-mel spectrograms, before standardisation.</summary>
/// <param name="group">Maps a clip's id to its group (<see cref="ISampleSet.GroupId"/>); null: every clip is its own group.</param>
public sealed class AudioSamples(TensorDataset data, Func<string, string>? group = null) : TensorSamples(data), ISampleSet
{
    public override ISampleSet Subset(long[] indices, string name) => new AudioSamples(Data.Subset(indices, name), group);

    /// <summary>The clip's group: for Fish Fillets its line (<see cref="FilletsVoices.LineOf"/>), else its id.</summary>
    public string GroupId(int index) => group is null ? SampleId(index) : group(SampleId(index));

    /// <exception cref="ArgumentException"><paramref name="samples"/> are not audio clips.</exception>
    public static AudioSamples Of(ISampleSet samples) =>
        samples as AudioSamples ?? throw new ArgumentException($"'{samples.Name}' holds no audio clips; an audio model reads audio data sets or folders of WAV and Ogg files.");
}
