using System.Globalization;
using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Data.Series;
using Pretext.Evaluation;
using Pretext.Methods;
using static TorchSharp.torch;

namespace Pretext.Runs.Modalities;

/// <summary>
/// Time series: the catalogued Suthaharan sensor sets, or a CSV or Parquet file (<see cref="SeriesFiles"/>; columns from
/// <c>series.columns</c>). A series is cut into windows of <c>series.window</c> readings every <c>series.stride</c>, within one
/// entity and one gap-free segment; the held-out test part is every fifth block of 500 readings per entity
/// (<see cref="SeriesSplit"/>), so no window shares a reading across the split. Encoders read windows (B, C, L) normalised per
/// channel with the mean and std of the training readings (fitted when pretraining starts, kept in the config and every
/// checkpoint). A window's label is "anomaly" when any of its readings is labelled (<see cref="WindowLabel"/>). The no-learning
/// baseline is logistic regression on the raw normalised windows.
/// </summary>
public sealed class SeriesModality : IModality
{
    public Modality Kind => Modality.Series;
    public string DefaultMethod => "ts2vec";
    public string BaselineName => "raw windows";

    public bool IsCatalogued(string dataset) => DataCatalog.Contains(dataset, Modality.Series);

    public RunConfig BasePreset(string dataset, int threads) => Presets.Series(IsCatalogued(dataset) ? dataset.ToLowerInvariant() : dataset, threads);

    /// <summary>
    /// A catalogued set's train blocks, and its test blocks when <paramref name="needTest"/>. A file: split the same way when a test
    /// part is needed and the file is labelled, else every window as train (no test).
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a catalogued series nor an existing .csv or .parquet file.</exception>
    /// <exception cref="InvalidDataException">The file breaks a rule of <see cref="SeriesFiles"/>, or gives no window.</exception>
    public (ISampleSet Train, ISampleSet? Test) Load(string dataset, RunConfig config, string? dataDir, Action<string>? log, bool needTest)
    {
        var sc = config.Series;
        var (table, name, catalogued) = ReadTable(dataset, sc, dataDir, log);
        bool split = Splits(sc, catalogued || (needTest && table.Labelled));
        var (trainSegments, testSegments) = split
            ? SeriesSplit.Blocks(table.Segments, table.Channels, sc.BlockLength, sc.TestEvery)
            : ([.. table.Segments], []);
        var c = CultureInfo.InvariantCulture;
        var train = Samples(table, trainSegments, split ? $"{name}/train" : name, sc);
        log?.Invoke(string.Create(c, $"{name}: {table.Readings:N0} readings of {table.Segments.Select(s => s.EntityIndex).Distinct().Count()} series, channels {string.Join(", ", table.ChannelNames)}; ") +
            string.Create(c, $"{(split ? "train part " : "")}{trainSegments.Sum(s => s.Count):N0} readings in {train.Count:N0} windows of {sc.Window} (stride {sc.Stride})") +
            (split ? string.Create(c, $", test part every {sc.TestEvery}th block of {sc.BlockLength} readings.") : "."));
        if (!split || !needTest) return (train, null);
        if (!testSegments.Any(s => s.Count >= sc.Window))
        {
            train.Dispose();
            throw new InvalidDataException(string.Create(c,
                $"'{name}' has no held-out test block with a whole window: every {sc.TestEvery}th block of {sc.BlockLength} readings of each series is test, and its longest series has {table.Segments.GroupBy(s => s.EntityIndex).Max(g => g.Sum(s => s.Count)):N0} readings. ") +
                "Use shorter blocks (--set series.blockLength=N, at least series.window), or, to pretrain on all of it, --transductive.");
        }
        return (train, Samples(table, testSegments, $"{name}/test", sc));
    }

    /// <summary>
    /// Reads <paramref name="dataset"/>, a catalogued series set (fetched into the cache when missing) or a .csv or .parquet file, with
    /// the columns and checks of <paramref name="series"/>; returns the table, its name in messages and whether it is catalogued.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a catalogued series nor an existing .csv or .parquet file.</exception>
    /// <exception cref="InvalidDataException">The file breaks a rule of <see cref="SeriesFiles"/>.</exception>
    public static (SeriesTable Table, string Name, bool Catalogued) ReadTable(string dataset, SeriesDataConfig series, string? dataDir, Action<string>? log)
    {
        series.Validate();
        if (DataCatalog.Contains(dataset, Modality.Series))
        {
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            string name = DataCatalog.Get(dataset).Name;
            return (fetcher.LoadSeries(name, series.Columns, series.ReadOptions), name, true);
        }
        if (SeriesFiles.IsSeriesFile(dataset)) return (SeriesFiles.Read(dataset, series.Columns, series.ReadOptions), dataset, false);
        throw new FileNotFoundException(DataPathHints.NotReadable(dataset, Modality.Series, "a .csv or .parquet file"));
    }

    /// <summary>
    /// Whether a series is cut into train and test blocks: when <c>series.testEvery</c> allows it and <paramref name="heldOut"/>, which
    /// is true for catalogued sets (always split, as image sets have a test split) and for labelled files that need a test part.
    /// </summary>
    public static bool Splits(SeriesDataConfig series, bool heldOut) => series.TestEvery > 0 && heldOut;

    private static SeriesSamples Samples(SeriesTable table, IReadOnlyList<SeriesSegment> segments, string name, SeriesDataConfig sc) =>
        new(SeriesWindows.Cut(name, table, segments, sc.Window, sc.Stride, sc.Label), table.ChannelNames, ChannelStats.Fit(segments, table.Channels));

    /// <summary>
    /// Pretraining reads the training windows normalised with the statistics of the training readings; the config is completed with
    /// them and with the data's shape (channels, window length) so every later reader of the checkpoint does the same.
    /// </summary>
    /// <exception cref="ArgumentException">The configured method or encoder is not a series one.</exception>
    public PreparedRun PrepareRun(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel)
    {
        var entry = MethodRegistry.Get(config.Method);
        if (!entry.TrainsOn(Modality.Series) || config.Encoder.Modality != Modality.Series)
            throw new ArgumentException($"Method '{config.Method}' with a {config.Encoder.Kind} encoder does not train on series; use a series method ({string.Join(", ", MethodRegistry.All.Where(m => m.TrainsOn(Modality.Series)).Select(m => m.Name))}) with a series encoder (Tcn, PatchTransformer).");
        var samples = SeriesSamples.Of(train);
        var cfg = Completed(config, samples);
        var data = SeriesInputs.Normalised(samples.Data, cfg.Series.Normalization!, labels: false);
        observer.Message(string.Create(CultureInfo.InvariantCulture,
            $"{samples.Name}: {data.Count} windows of {samples.Length} readings x {samples.Channels} channels ({string.Join(", ", samples.ChannelNames)}), normalised with the training readings' mean and std."));
        return new PreparedRun(cfg, data, data);
    }

    /// <summary><paramref name="config"/> with the encoder's input shape and the normalisation taken from <paramref name="train"/>.</summary>
    public static RunConfig Completed(RunConfig config, SeriesSamples train) => config with
    {
        Encoder = config.Encoder with { Series = config.Encoder.Series with { Channels = train.Channels, Length = train.Length } },
        Series = config.Series with { Normalization = train.ReadingStats },
    };

    public ModelInputs InputsFor(RunConfig config, string checkpointPath) => new SeriesInputs(config, checkpointPath);

    public EvaluationPlan Plan(EvaluationConfig ev)
    {
        var o = ev.Series;
        bool raw = o.RawWindows && ev.Baseline;
        return new EvaluationPlan
        {
            Knn = o.Knn,
            LinearProbe = o.LinearProbe, FineTune = ev.FineTune || ev.FineTuneFractions.Length > 0, FromScratch = o.FromScratch, Baseline = raw,
            LinearFractions = o.LinearProbe ? o.Fractions : [],
            FineTuneFractions = ev.FineTuneFractions,
            FineTuning = o.Supervised with { HeadFromProbe = ev.FineTuneFromProbe },
            FineTuneEncoderLrScale = ev.FineTuneEncoderLrScale,
            ScratchFractions = o.FromScratch ? o.Fractions : [],
            Scratch = o.Supervised,
            BaselineFractions = raw ? o.Fractions : [],
            F1 = true,
            PositiveClass = o.PositiveClass,
            Maps = ev.Maps.Samples > 0,
        };
    }

    /// <summary>
    /// Windows read through the checkpoint's normalisation; for supervised training the default jitter and channel scaling of
    /// <see cref="SeriesAugmentationConfig"/> whatever the pretraining method's views were; raw normalised windows as the baseline.
    /// </summary>
    public sealed class SeriesInputs : ModelInputs
    {
        private readonly ChannelStats stats;
        private readonly IAugmentation labelled = new SeriesAugmentationConfig().BuildSupervised();
        private readonly int length;

        /// <exception cref="InvalidDataException">The config has no fitted normalisation (it was not written by a series run).</exception>
        public SeriesInputs(RunConfig config, string checkpointPath)
        {
            stats = config.Series.Normalization
                ?? throw new InvalidDataException($"Checkpoint '{checkpointPath}' has no series normalisation (series.normalization is empty); it was not written by a series pretraining run.");
            length = config.Encoder.Series.Length;
        }

        public override IAugmentation? LabelledAugmentation => labelled;

        protected override (IDataset Data, bool Owned) EncodeCore(ISampleSet samples)
        {
            var s = SeriesSamples.Of(samples);
            if (s.Length != length)
                throw new ArgumentException($"'{s.Name}' has windows of {s.Length} readings; the model reads {length} (series.window of its run).");
            return (Normalised(s.Data, stats, labels: true), true);
        }

        /// <summary>Training statistics applied to every window, so the baseline sees what the encoder sees.</summary>
        public override (Tensor Train, Tensor Test, bool Standardize) BaselineFeatures(ISampleSet train, ISampleSet test)
        {
            Tensor Flat(ISampleSet s)
            {
                using var windows = stats.Apply(SeriesSamples.Of(s).Data.Data);
                return windows.reshape(windows.shape[0], -1).clone().DetachFromDisposeScope();
            }
            return (Flat(train), Flat(test), true);
        }

        /// <summary>Normalised copies of <paramref name="windows"/>, with their labels and ids when <paramref name="labels"/>.</summary>
        public static TensorDataset Normalised(TensorDataset windows, ChannelStats stats, bool labels) =>
            new(windows.Name, stats.Apply(windows.Data), labels ? windows.Labels : null, labels ? windows.ClassNames : [],
                [.. Enumerable.Range(0, (int)windows.Count).Select(i => windows.SampleId(i))]);
    }
}

/// <summary>Windows of a series as samples: raw (unnormalised) fp32 (N, C, L), labels per window, ids "ENTITY@TIME".</summary>
/// <param name="readingStats">Mean and std per channel of the readings the windows were cut from (what a run fits on its training part).</param>
public sealed class SeriesSamples(TensorDataset data, IReadOnlyList<string> channelNames, ChannelStats readingStats) : TensorSamples(data)
{
    public IReadOnlyList<string> ChannelNames { get; } = channelNames;
    public ChannelStats ReadingStats { get; } = readingStats;
    public int Channels => (int)Data.SampleShape[0];
    public int Length => (int)Data.SampleShape[1];
    /// <summary>A subset keeps the statistics of the readings of the whole set it came from.</summary>
    public override ISampleSet Subset(long[] indices, string name) => new SeriesSamples(Data.Subset(indices, name), ChannelNames, ReadingStats);

    /// <exception cref="ArgumentException"><paramref name="samples"/> are not windows of a series.</exception>
    public static SeriesSamples Of(ISampleSet samples) =>
        samples as SeriesSamples ?? throw new ArgumentException($"'{samples.Name}' holds no series windows; a series model reads series data sets or .csv/.parquet files.");
}
