using Pretext.Augmentations;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs.Modalities;
using Pretext.Training;

namespace Pretext.Runs;

/// <summary>
/// The preset table: one base preset per kind of data (what its modality's <see cref="IModality.BasePreset"/> returns),
/// with each method's own defaults (<see cref="MethodEntry.Preset"/>) applied on top by <see cref="For"/>. Good defaults
/// per kind of data matter more than knobs.
/// </summary>
public static class Presets
{
    /// <summary>
    /// A run of <paramref name="method"/> on <paramref name="dataset"/>: the base preset of the method's kind of data, then
    /// the method's own defaults.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown method.</exception>
    public static RunConfig For(string method, string dataset, int threads = 2)
    {
        var entry = MethodRegistry.Get(method);
        return entry.ApplyPreset(ModalityCatalog.Get(ModalityOf(entry, dataset)).BasePreset(dataset, threads));
    }

    /// <summary>
    /// The kind of data <paramref name="entry"/> trains on when given <paramref name="dataset"/>: the catalogued set's kind, or audio for a
    /// folder of audio files, when the method trains on it; else the method's first kind (CPC: series for a CSV file, audio for clips).
    /// </summary>
    public static Modality ModalityOf(MethodEntry entry, string dataset) =>
        entry.ModalityFor(ModalityCatalog.Catalogued(dataset)?.Kind ?? (AudioFolder.HoldsAudio(dataset) ? Modality.Audio : null));

    /// <summary>
    /// Images, sized on 28x28 grey data (Fashion-MNIST, MNIST) to finish pretraining in about a quarter of an hour on 2 CPU
    /// cores: a one-block-per-stage ResNet (widths 32-64-128-256) computing in bf16 with fp32 master weights and
    /// channels-last layout (about 1.6x the fp32 throughput here), batch 256, 5 epochs (1,170 steps: 0.715 s/step measured
    /// on the 2-core reference machine, so 14 minutes; the 6 epochs this preset had took 16.7 and the quickstart's 15-minute
    /// budget cut them on the machine they were sized for; a 20-epoch curve gains 1.5 points or less at 1 % of the labels
    /// after the fourth epoch, docs/benchmarks.md), LARS at lr 2.4 (twice SimCLR
    /// appendix B.1's square-root rule 0.075*sqrt(256): measured +1.2 points of linear-probe accuracy after one epoch here;
    /// short runs want larger steps), weight decay 1e-6, crop scale 0.2-1 (28-pixel images lose their object below that),
    /// brightness/contrast jitter in place of colour jitter (grey images). Inputs are standardised with the catalogued data
    /// set's per-channel mean and std (Fashion-MNIST's for other data until the shape is known,
    /// <see cref="ImageModality.WithShape"/>).
    /// </summary>
    public static RunConfig Image(string dataset = "fashion-mnist", int threads = 2)
    {
        // The statistics travel with the catalogue entry; data without them starts from Fashion-MNIST's (grey, similar range).
        var stats = (DataCatalog.TryGet(dataset, out var entry) ? entry.Normalization : null) ?? DataCatalog.FashionMnist.Normalization!;
        float[] mean = [.. stats.Mean], std = [.. stats.Std];
        return new RunConfig
        {
            Method = "simclr",
            Dataset = dataset,
            Encoder = new EncoderConfig(),
            Augment = new ImageAugmentationConfig { Mean = mean, Std = std },
            Train = new TrainerOptions
            {
                Epochs = 5, MinSteps = ImageMinSteps, BatchSize = 256, LearningRate = 2.4, WarmupEpochs = 0.5, Seed = 42, Threads = threads,
                CheckpointEvery = 100, KeepCheckpoints = 3,
                Optimizer = new OptimizerOptions { Kind = OptimizerKind.Lars, WeightDecay = 1e-6, Momentum = 0.9 },
            },
            // Fine-tuning runs beside the frozen probe at the trained counts per class, and validation picks between them. It trains on
            // whole images with flips: on Fashion-MNIST's validation split at 10 labels per class, 75.39 % against 73.86 with crops of at
            // least half the image. From scratch keeps those crops: on a folder of 3,000 MNIST images (held out of the tuning) whole
            // images cost it 5.5 points on validation (79.08 against 84.58 %), while on Fashion-MNIST they moved it by 0.36.
            Evaluation = new Evaluation.EvaluationConfig { FineTune = true, FineTuneCropScaleMin = WholeImageCrop },
        };
    }

    /// <summary>
    /// The image preset's crop for fine-tuning (<see cref="Evaluation.EvaluationConfig.FineTuneCropScaleMin"/>): whole images, flips only.
    /// Chosen on Fashion-MNIST's validation split (docs/quickstart.md, "Levers tried").
    /// </summary>
    public const double WholeImageCrop = 1.0;

    /// <summary>
    /// Steps the image preset trains for at least (<see cref="TrainerOptions.MinSteps"/>): its 5 epochs of Fashion-MNIST. A folder of
    /// 3,000 images gives 11 steps of 256 per epoch, so 5 epochs would be 55 steps; it trains for 107 epochs instead.
    /// </summary>
    public const long ImageMinSteps = 1170;

    /// <summary>
    /// Text, sized for a few thousand documents (SpamAssassin) on 2 CPU cores: a Transformer of 4 pre-LN blocks of width
    /// 256 with 4 heads (BERT-mini's shape, Turc et al. 2019), 128 tokens per document, an 8,000-subword vocabulary, bf16
    /// matrix products with an fp32 residual stream, layer norms and master weights (about twice the fp32 step rate here);
    /// AdamW with BERT's weight decay 0.01 and RoBERTa's beta2 0.98 (Liu et al. 2019, section 3.1), 5 % warmup then cosine
    /// decay. Epochs count pretraining windows (up to 8 per document): SpamAssassin's 4,637 training mails give 16,467
    /// windows, 257 steps of 64 per epoch; 6 epochs (1,542 steps) take about 20 minutes on 2 cores.
    /// </summary>
    public static RunConfig Text(string dataset = "spamassassin", int threads = 2) => new()
    {
        Method = "mlm",
        Dataset = dataset,
        Encoder = new EncoderConfig
        {
            Kind = EncoderKind.Transformer, Precision = Precision.Auto, Layout = MemoryLayout.Contiguous,
            Text = new TextEncoderConfig { Dim = 256, Depth = 4, Heads = 4, MlpRatio = 4, Dropout = 0.1, Pooling = TextPooling.Mean },
        },
        Train = new TrainerOptions
        {
            Epochs = 6, BatchSize = 64, LearningRate = 5e-4, WarmupEpochs = 0.3, Seed = 42, Threads = threads,
            CheckpointEvery = 200, KeepCheckpoints = 3,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.01, Beta1 = 0.9, Beta2 = 0.98, Epsilon = 1e-6 },
        },
    };

    /// <summary>
    /// Series, sized for the Suthaharan sensor sets (four motes, about 15,000 training readings of 2 channels) on 2 CPU cores:
    /// windows of 64 readings (5 min 20 s at one reading per 5 s) every 8 readings, which gives about 1,800 training windows;
    /// a causal TCN of 5 residual blocks of width 64 (it sees 125 readings back, the whole window) with 64 features; fp32 (the
    /// model is small); AdamW at 1e-3 as TS2Vec trains (Yue et al. 2022, appendix), batch 64, 20 epochs (about 560 steps).
    /// A catalogued set brings its columns. kNN votes among 10 neighbours, not 200: the anomaly class has a few dozen training
    /// windows, which 200 neighbours would always outvote. These are starting points, not tuned values: nothing here was chosen
    /// on data yet.
    /// </summary>
    public static RunConfig Series(string dataset, int threads = 2)
    {
        var columns = DataCatalog.TryGet(dataset, out var entry) && entry.Series is { } c ? c : new Data.Series.SeriesColumns();
        return new RunConfig
        {
            Method = "ts2vec",
            Dataset = dataset,
            Encoder = new EncoderConfig
            {
                Kind = EncoderKind.Tcn, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous,
                Series = new SeriesEncoderConfig { Channels = Math.Max(1, columns.Channels.Length), Length = 64, Dim = 64, Width = 64, Blocks = 5, Kernel = 3 },
            },
            Series = new Data.Series.SeriesDataConfig { Columns = columns, Window = 64, Stride = 8 },
            Train = new TrainerOptions
            {
                Epochs = 20, BatchSize = 64, LearningRate = 1e-3, WarmupEpochs = 1, Seed = 42, Threads = threads,
                CheckpointEvery = 100, KeepCheckpoints = 3,
                Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.01, Beta1 = 0.9, Beta2 = 0.999 },
            },
            Evaluation = new Evaluation.EvaluationConfig { KnnK = 10 },
        };
    }

    /// <summary>
    /// Audio, sized for a few thousand clips of speech (the Fish Fillets sets) on 2 CPU cores: 3 s mono clips at 16 kHz as 64-band
    /// log-mels every 10 ms (COLA's front end), the 1-D convolutional encoder (widths 128-128-256-256, time stride 4, fp32), AdamW at
    /// 1e-3 with weight decay 1e-4, batches of 128, 30 epochs with one of warmup. Evaluation at 5 and 20 labelled clips per class and
    /// with all labels (linear probe, from scratch, MFCC statistics), as the audio issue asks. Not tuned beyond checking that short runs learn.
    /// </summary>
    public static RunConfig Audio(string dataset = "fillets-speaker", int threads = 2) => new()
    {
        Method = "cola",
        Dataset = dataset,
        Encoder = new EncoderConfig { Kind = EncoderKind.AudioConv, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous, Audio = new AudioEncoderConfig() },
        Train = new TrainerOptions
        {
            Epochs = 30, BatchSize = 128, LearningRate = 1e-3, WarmupEpochs = 1, Seed = 42, Threads = threads,
            CheckpointEvery = 100, KeepCheckpoints = 3,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 1e-4 },
        },
        Evaluation = new Evaluation.EvaluationConfig { LinearFractions = [1.0], ScratchFractions = [1.0], PerClass = [5, 20], TrainedPerClass = [5, 20] },
    };

    /// <summary>
    /// Tables, sized for credit-g to letter recognition (800-16,000 training rows) on 2 CPU cores: the table MLP (3 x 256, BN-ReLU),
    /// AdamW at 1e-3 for 30 epochs at batch 128 (SCARF and VIME train with Adam at 1e-3, batch 128). Evaluation at the label
    /// budgets: 100 %, 10 %, 1 % and 10 labels per class, fine-tuning and from scratch included, kNN with k = 20 (a few hundred
    /// labelled rows per class at most). Not tuned beyond checking that short runs learn.
    /// </summary>
    public static RunConfig Table(string dataset, int threads = 2)
    {
        var entry = DataCatalog.TryGet(dataset, out var e) && e.Table is not null ? e : null;
        return new RunConfig
        {
            Method = "scarf",
            Dataset = dataset,
            Encoder = new EncoderConfig { Kind = EncoderKind.TableMlp, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous, Table = new TableEncoderConfig() },
            Table = new Data.Tables.TableDataConfig { Columns = entry?.Table ?? new Data.Tables.TableColumns() },
            Train = new TrainerOptions
            {
                Epochs = 30, BatchSize = 128, LearningRate = 1e-3, WarmupEpochs = 1, Seed = 42, Threads = threads,
                CheckpointEvery = 200, KeepCheckpoints = 3,
                Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 1e-4 },
            },
            Evaluation = new Evaluation.EvaluationConfig
            {
                LinearFractions = [1.0, 0.1, 0.01], ScratchFractions = [1.0, 0.1, 0.01], FineTuneFractions = [1.0, 0.1, 0.01],
                PerClass = [10], TrainedPerClass = [10], KnnK = 20,
                Supervised = new Evaluation.SupervisedOptions { Steps = 300, MinEpochs = 10, BatchSize = 128, LearningRate = 1e-3, WeightDecay = 1e-4 },
                Table = new Evaluation.TableEvaluationOptions { PositiveClass = entry?.Name switch { "credit-g" => "bad", "unbalanced" => "Active", "diabetes" => "tested_positive", _ => "" } },
            },
        };
    }

    /// <summary>
    /// Video, sized for Moving MNIST (2,000 training clips of 20 frames of 64x64) on 2 CPU cores: the FrameSequence encoder with
    /// narrow stride-2 convolutions (widths 16-32-64, a quarter of the encoder's default channel count) and a GRU of width 64, fp32;
    /// AdamW at 1e-3 with weight decay 1e-4, batches of 16 clips, 10 epochs (1,250 steps) with half an epoch of warmup. Sizes were set
    /// from the step cost, not chosen on data. Frame vectors keep position (<see cref="FramePooling.Flatten"/>) and next-frame
    /// prediction's decoder reads the maps of frames t and t - 1 (<see cref="NextFrameOptions.Skips"/> 2): set on design grounds (an
    /// average-pooled frame vector cannot say where a digit is, and a 64-wide state cannot redraw two digits), then checked on the
    /// validation clips (51 % below copy-last after 300 steps; docs/video.md). The clip embedding is the last feature map's maximum over
    /// positions, averaged over the frames (<see cref="ClipEmbedding.MapMax"/>): chosen on validation digit probes at 10 labelled clips per
    /// class (after 300 steps: 31.5 % against 29.2 % for the position-averaged map and 16.6 % for the mean frame vector; docs/video.md). Evaluation as the video issue asks: linear probe at 1 and 10 labelled clips per class and at 100 %, the same
    /// encoder trained from scratch at 10 per class and 100 % (300 steps of 32 clips: 100 left the earlier
    /// average-pooled encoder at chance; 300 reached 14.4 % on validation at 10 per class, one subset, chance 10 %), 5 label subsets where labels are few, kNN with k = 20.
    /// </summary>
    public static RunConfig Video(string dataset = "moving-mnist", int threads = 2) => new()
    {
        Method = "nextframe",
        Dataset = dataset,
        Encoder = new EncoderConfig
        {
            Kind = EncoderKind.FrameSequence, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous,
            Video = new VideoEncoderConfig
            {
                Frames = 20, Size = 64, Channels = 1, Widths = [16, 32, 64], Dim = 64,
                Pooling = FramePooling.Flatten, Embedding = ClipEmbedding.MapMax,
            },
        },
        Methods = new MethodSettings { NextFrame = new NextFrameOptions { Skips = 2 } },
        Train = new TrainerOptions
        {
            Epochs = 10, BatchSize = 16, LearningRate = 1e-3, WarmupEpochs = 0.5, Seed = 42, Threads = threads,
            CheckpointEvery = 50, KeepCheckpoints = 3,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 1e-4 },
        },
        Evaluation = new Evaluation.EvaluationConfig
        {
            LinearFractions = [1.0], ScratchFractions = [1.0], PerClass = [1, 10], TrainedPerClass = [10], Seeds = 5, KnnK = 20,
            Supervised = new Evaluation.SupervisedOptions { Steps = 300, MinEpochs = 1, BatchSize = 32, LearningRate = 1e-3, WeightDecay = 1e-4 },
        },
    };

    /// <summary>
    /// The --fast smoke run: same recipe on 12,800 training images for 2 epochs (100 steps), short baselines, from scratch only at
    /// the headline's 10 labels per class (3 runs instead of 7), no fine-tuning (3 runs more).
    /// </summary>
    public static RunConfig Fast(RunConfig full) => full with
    {
        Train = full.Train with { Epochs = 2, MinSteps = 0, CheckpointEvery = 50 },
        Evaluation = full.Evaluation with { Supervised = full.Evaluation.Supervised with { Steps = 100, MinEpochs = 2 }, ScratchFractions = [], FineTune = false },
    };

    /// <summary>
    /// Pretraining budget of the --fast run in minutes: its 100 steps take about a minute with native bf16, but 167 s
    /// on an AVX2-only 2-core CPU in fp32, which put the whole smoke run at 5m24s; this cuts the steps there so it
    /// stays under 5 minutes, and never lengthens the run. 1.5 minutes gave 4m08s and, on a day the host ran its
    /// steps 26 % slower than timed, 4m35s; 1 minute keeps a margin for such days.
    /// </summary>
    public const double FastPretrainMinutes = 1.0;

    /// <summary>Training images the --fast run uses.</summary>
    public const int FastTrainSamples = 12_800;
}

/// <summary>A registry entry applied to whole run configs (the registry itself only knows <see cref="MethodSetup"/>).</summary>
public static class MethodEntryRunExtensions
{
    /// <summary><paramref name="config"/> with <paramref name="entry"/> selected and its preset applied to the setup.</summary>
    public static RunConfig ApplyPreset(this MethodEntry entry, RunConfig config) => config.With(entry.ApplyPreset(config.Setup)) with { Method = entry.Name };
}
