using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs.Modalities;
using Pretext.Training;

namespace Pretext.Runs;

/// <summary>
/// What a user asks `pretext pretrain` for: a data set, perhaps a method, and any knobs they set (null: the preset's).
/// <see cref="Resolve"/> holds the rules that turn it into a run config, so the command line only parses.
/// </summary>
public sealed record PretrainRequest
{
    /// <summary>A catalogued data set of any modality, a folder of images, or a file or folder of documents; null: the
    /// <see cref="ConfigFile"/>'s, else fashion-mnist.</summary>
    public string? Dataset { get; init; }
    /// <summary>A registered method; null: the <see cref="ConfigFile"/>'s, else the default of the data's modality.</summary>
    public string? Method { get; init; }
    /// <summary>CPU threads; null: the <see cref="ConfigFile"/>'s train.threads, else every core (<see cref="DefaultThreads"/>).</summary>
    public int? Threads { get; init; }
    /// <summary>
    /// A config file (<see cref="Runs.ConfigFile"/>, JSON or YAML, e.g. an earlier run's config.json) laid over the preset of
    /// its method and data set; every knob set in this request (and <see cref="Set"/>) overrides it.
    /// </summary>
    public string? ConfigFile { get; init; }
    /// <summary>Pretrain on a folder's held-out test part too (<see cref="RunConfig.Transductive"/>).</summary>
    public bool Transductive { get; init; }
    public int? Epochs { get; init; }
    public long? MaxSteps { get; init; }
    public int? BatchSize { get; init; }
    public double? LearningRate { get; init; }
    public OptimizerKind? Optimizer { get; init; }
    public double? WeightDecay { get; init; }
    public double? WarmupEpochs { get; init; }
    /// <summary>SimCLR's NT-Xent temperature (other methods: <see cref="Set"/>).</summary>
    public double? Temperature { get; init; }
    public int? Seed { get; init; }
    public int? CheckpointEvery { get; init; }
    /// <summary>Image folders: leave out undecodable files instead of stopping (<see cref="Data.ImageDataConfig.SkipBad"/>).</summary>
    public bool SkipBad { get; init; }
    /// <summary>Image folders: skip images above this many megapixels before decoding (<see cref="Data.ImageDataConfig.MaxMegapixels"/>); null: the default.</summary>
    public double? MaxMegapixels { get; init; }
    public int? KeepCheckpoints { get; init; }
    public Precision? Precision { get; init; }
    // Image encoder shape; rejected for text methods.
    public EncoderKind? Encoder { get; init; }
    public int[]? Hidden { get; init; }
    public int[]? Widths { get; init; }
    public int[]? Blocks { get; init; }
    public int? ImageSize { get; init; }
    public int? Channels { get; init; }
    public MemoryLayout? Layout { get; init; }
    /// <summary>Audio folders: classes from file names by this regular expression with a "label" group (<see cref="AudioModality.WithLabelPattern"/>).</summary>
    public string? LabelPattern { get; init; }
    /// <summary><c>path=value</c> overrides of any config field (<see cref="ConfigOverrides"/>), applied last.</summary>
    public IReadOnlyList<string> Set { get; init; } = [];
    /// <summary>A checkpoint whose encoder (shape, weights and a text encoder's tokenizer) the run starts from (<see cref="RunConfig.InitFrom"/>).</summary>
    public string? InitFrom { get; init; }

    /// <summary>The method this request runs: the one named, else the default of the catalogued data set's modality (images for folders).</summary>
    /// <summary>
    /// The samples pretraining on <paramref name="config"/> may see: a catalogued data set's training split; a labelled
    /// folder or file without the part evaluation holds out as test, unless transductive; an unlabelled one whole.
    /// </summary>
    public static ISampleSet TrainingSamples(RunConfig config, string? dataDir, Action<string>? log)
    {
        var modality = ModalityCatalog.Get(MethodRegistry.Get(config.Method).ModalityFor(config.Encoder.Modality));
        bool holdOut = !modality.IsCatalogued(config.Dataset) && !config.Transductive;
        var (train, test) = modality.Load(config.Dataset, config, dataDir, log, needTest: holdOut);
        if (test is not null)
        {
            log?.Invoke($"{config.Dataset}: {test.Count} held-out test samples stay out of pretraining (--transductive pretrains on them too, unlabelled).");
            test.Dispose();
        }
        return train;
    }

    public MethodEntry MethodEntry()
    {
        string dataset = Dataset ?? DefaultDataset;
        return MethodRegistry.Get(Method ?? (ModalityCatalog.Catalogued(dataset) ?? ModalityCatalog.Get(AudioFolder.HoldsAudio(dataset) ? Modality.Audio : Modality.Image)).DefaultMethod);
    }

    /// <summary>The data set when neither the request nor its config file names one.</summary>
    public const string DefaultDataset = "fashion-mnist";

    /// <summary>CPU threads when neither the request nor its config file sets them: every core, as the CLI's --threads.</summary>
    public static int DefaultThreads => Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// The run config: the method's preset for the data, then the <see cref="ConfigFile"/>, then the knobs given, then
    /// <see cref="Set"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A method of another modality than the catalogued data set, an option that does
    /// not apply to the method's data (image shape options for text), or a bad value.</exception>
    /// <exception cref="InvalidDataException">The config file cannot be read or has an unknown key or a wrong value; the message
    /// names the file, the key and the fix.</exception>
    /// <exception cref="FileNotFoundException">The config file does not exist.</exception>
    public RunConfig Resolve()
    {
        if (ConfigFile is null) return (this with { Dataset = Dataset ?? DefaultDataset, Threads = Threads ?? DefaultThreads }).ResolveComplete(null);
        var file = Runs.ConfigFile.Read(ConfigFile);
        var request = this with
        {
            Dataset = Dataset ?? file.Text(nameof(RunConfig.Dataset)) ?? DefaultDataset,
            Method = Method ?? file.Text(nameof(RunConfig.Method)),
            // 0 or less leaves the count unset there: every core.
            Threads = Threads ?? (file.Int(nameof(RunConfig.Train), nameof(TrainerOptions.Threads)) is int t && t > 0 ? t : DefaultThreads),
        };
        // The method, data set and threads are the request's now (the file's where it gave none): they pick the preset.
        return request.ResolveComplete(file with
        {
            Values = file.Without([nameof(RunConfig.Method)], [nameof(RunConfig.Dataset)], [nameof(RunConfig.Train), nameof(TrainerOptions.Threads)]),
        });
    }

    /// <summary><see cref="Resolve()"/> once the data set and threads are known.</summary>
    private RunConfig ResolveComplete(Runs.ConfigFile? file)
    {
        string dataset = Dataset!;
        int threads = Threads!.Value;
        // In the config, 0 means "no step limit" (max_steps) and "only the last step" (checkpoint_every); on the command
        // line a 0 is far more likely a slip than a wish for a full run or a single checkpoint, so it is refused here.
        if (threads < 1) throw new ArgumentException($"--threads must be at least 1, got {threads}; this machine has {Environment.ProcessorCount} (the default).");
        if (MaxSteps is long steps && steps <= 0)
            throw new ArgumentException($"--max-steps must be a positive number of steps, got {steps}; leave it out to train for --epochs.");
        if (CheckpointEvery is int every && every <= 0)
            throw new ArgumentException($"--checkpoint-every must be a positive number of steps, got {every}; the last step always writes a checkpoint, so a number above the run's length writes only that one.");
        if (KeepCheckpoints is int keep && keep < 1)
            throw new ArgumentException($"--keep-checkpoints must be at least 1, got {keep}.");
        var entry = MethodEntry();
        var kind = Presets.ModalityOf(entry, dataset);
        var modality = ModalityCatalog.Get(kind);
        if (ModalityCatalog.Catalogued(dataset) is { } data && !entry.TrainsOn(data.Kind))
            throw new ArgumentException($"'{entry.Name}' is {Article(entry.Modality)} method but '{dataset}' is {Article(data.Kind)} data set; use {Article(data.Kind)} method " +
                $"({string.Join(", ", MethodRegistry.All.Where(m => m.TrainsOn(data.Kind)).Select(m => m.Name))}) or {Article(entry.Modality)} data set.");
        var cfg = Presets.For(entry.Name, dataset, threads);
        if (file is not null)
        {
            cfg = ConfigOverrides.Merge(cfg, file.Values, file.Path);
            // A length the file gives is the length, as one typed on the command line is (below).
            const string train = nameof(RunConfig.Train);
            if ((file.Has(train, nameof(TrainerOptions.Epochs)) || file.Has(train, nameof(TrainerOptions.MaxSteps))) && !file.Has(train, nameof(TrainerOptions.MinSteps)))
                cfg = cfg with { Train = cfg.Train with { MinSteps = 0 } };
        }
        if (kind == Modality.Image)
        {
            cfg = cfg with
            {
                Encoder = cfg.Encoder with
                {
                    Kind = Encoder ?? cfg.Encoder.Kind, Hidden = Hidden ?? cfg.Encoder.Hidden, Widths = Widths ?? cfg.Encoder.Widths,
                    Blocks = Blocks ?? cfg.Encoder.Blocks, Layout = Layout ?? cfg.Encoder.Layout,
                },
            };
            cfg = ImageModality.WithShape(cfg, Channels, ImageSize);
        }
        else
        {
            if (Encoder is EncoderKind encoderKind)
            {
                if (EncoderRegistry.Get(encoderKind).Modality != kind)
                    throw new ArgumentException($"--encoder {encoderKind} does not read {kind.ToString().ToLowerInvariant()} data; {entry.Name} takes {string.Join(" or ", EncoderRegistry.All.Where(e => e.Modality == kind).Select(e => e.Kind))}.");
                cfg = cfg with { Encoder = cfg.Encoder with { Kind = encoderKind } };
            }
            var imageOnly = new (object? Value, string Option)[]
            {
                (Hidden, "--hidden"), (Widths, "--widths"), (Blocks, "--blocks"), (ImageSize, "--image-size"), (Channels, "--channels"), (Layout, "--layout"),
            }.FirstOrDefault(o => o.Value is not null).Option;
            string kindName = modality.Kind.ToString().ToLowerInvariant();
            if (imageOnly is not null)
                throw new ArgumentException(modality.Kind switch
                {
                    Modality.Series => $"{imageOnly} shapes image encoders; a series run takes --encoder Tcn or PatchTransformer, and their sizes with --set encoder.series.<option>=<value> (dim, width, blocks, kernel, patchSize, depth, heads, pooling); channels and length come from the data.",
                    Modality.Text => $"{imageOnly} shapes image encoders; the text encoder is set with --set encoder.text.<option>=<value> (dim, depth, heads, maxLength, vocabSize).",
                    _ => $"{imageOnly} shapes image encoders; the {kindName} encoder is set with --set encoder.{kindName}.<option>=<value>.",
                });
        }
        cfg = cfg with { Encoder = cfg.Encoder with { Precision = Precision ?? cfg.Encoder.Precision } };
        var t = cfg.Train;
        cfg = cfg with
        {
            Train = t with
            {
                Epochs = Epochs ?? t.Epochs, MaxSteps = MaxSteps ?? t.MaxSteps, BatchSize = BatchSize ?? t.BatchSize,
                MinSteps = Epochs is null && MaxSteps is null ? t.MinSteps : 0, // a length the user gives is the length
                LearningRate = LearningRate ?? t.LearningRate, WarmupEpochs = WarmupEpochs ?? t.WarmupEpochs, Seed = Seed ?? t.Seed,
                CheckpointEvery = CheckpointEvery ?? t.CheckpointEvery, KeepCheckpoints = KeepCheckpoints ?? t.KeepCheckpoints,
                Optimizer = t.Optimizer with { Kind = Optimizer ?? t.Optimizer.Kind, WeightDecay = WeightDecay ?? t.Optimizer.WeightDecay },
            },
        };
        if (Temperature is double tau)
        {
            if (cfg.Method != "simclr") throw new ArgumentException($"--temperature is SimCLR's; for {cfg.Method} use --set methods.{cfg.Method}.<option>=<value>.");
            cfg = cfg with { Methods = cfg.Methods with { SimClr = cfg.Methods.SimClr with { Temperature = tau } } };
        }
        if (MaxMegapixels is double mp && !(mp > 0 && double.IsFinite(mp)))
            throw new ArgumentException($"--max-megapixels must be a positive number of megapixels, got {mp}.");
        cfg = cfg with
        {
            Images = cfg.Images with { SkipBad = SkipBad || cfg.Images.SkipBad, MaxMegapixels = MaxMegapixels ?? cfg.Images.MaxMegapixels },
            Video = cfg.Video with { SkipBad = SkipBad || cfg.Video.SkipBad },
        };
        cfg = AudioModality.WithLabelPattern(cfg, LabelPattern, dataset);
        if (InitFrom is not null) cfg = WithInitFrom(cfg, InitFrom);
        cfg = ConfigOverrides.Apply(cfg with { Transductive = Transductive || cfg.Transductive }, Set);
        cfg.Train.Validate();
        return cfg;
    }

    /// <summary>
    /// <paramref name="cfg"/> starting from the encoder of <paramref name="checkpoint"/>: its encoder config (shape; a text encoder's
    /// tokenizer, by absolute path, and its layout), with the run's own precision, pretraining windows and causal masking (the method's).
    /// </summary>
    /// <exception cref="FileNotFoundException">No such checkpoint, or its text tokenizer is missing.</exception>
    /// <exception cref="ArgumentException">The checkpoint's encoder is of another kind than the method trains.</exception>
    public static RunConfig WithInitFrom(RunConfig cfg, string checkpoint)
    {
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"--init-from: checkpoint '{checkpoint}' does not exist.", checkpoint);
        var source = Pretraining.ReadConfig(checkpoint);
        if (source.Encoder.Kind != cfg.Encoder.Kind)
            throw new ArgumentException($"--init-from: '{checkpoint}' holds a {source.Encoder.Kind} encoder, but {cfg.Method} on {cfg.Dataset} trains a {cfg.Encoder.Kind}; choose a method and data set of that encoder.");
        var encoder = source.Encoder with { Precision = cfg.Encoder.Precision };
        if (encoder.Modality == Data.Modality.Text)
        {
            string tokenizer = Path.GetFullPath(TextModality.TokenizerPath(source, checkpoint));
            if (!File.Exists(tokenizer)) throw new FileNotFoundException($"--init-from: the tokenizer of '{checkpoint}' is missing: expected '{tokenizer}'. Keep the checkpoint inside its run folder.", tokenizer);
            encoder = encoder with
            {
                Text = encoder.Text with { Tokenizer = tokenizer, PretrainingWindows = cfg.Encoder.Text.PretrainingWindows, Causal = cfg.Encoder.Text.Causal },
            };
        }
        return cfg with { Encoder = encoder, InitFrom = Path.GetFullPath(checkpoint) };
    }

    private static string Article(Modality m) => m switch
    {
        Modality.Image => "an image",
        _ => "a " + m.ToString().ToLowerInvariant(),
    };
}
