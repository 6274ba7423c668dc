using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Runs.Modalities;

/// <summary>
/// Images: catalogued IDX sets (Fashion-MNIST, MNIST) with their official split, or a folder of images (one
/// sub-folder per class, or none). Encoders read (B, C, H, W) normalised by the data's per-channel mean and std;
/// the no-learning baseline is a linear probe on the raw pixels.
/// </summary>
public sealed class ImageModality : IModality
{
    public Modality Kind => Modality.Image;
    public string DefaultMethod => "simclr";
    public string BaselineName => "raw pixels";

    public bool IsCatalogued(string dataset) => DataCatalog.Contains(dataset, Modality.Image);

    public RunConfig BasePreset(string dataset, int threads) => Presets.Image(IsCatalogued(dataset) ? dataset.ToLowerInvariant() : dataset, threads);

    /// <summary>
    /// <paramref name="config"/> for images of <paramref name="channels"/> channels and side <paramref name="imageSize"/>
    /// (null: unchanged). Colour images of a data set without measured statistics are normalised with mean 0.5 and std
    /// 0.25 per channel (inputs in [0, 1] then span about [-2, 2], as the grey presets' do).
    /// </summary>
    /// <exception cref="ArgumentException">Channels other than 1 or 3, or a text encoder.</exception>
    public static RunConfig WithShape(RunConfig config, int? channels, int? imageSize)
    {
        var enc = config.Encoder with { InChannels = channels ?? config.Encoder.InChannels, ImageSize = imageSize ?? config.Encoder.ImageSize };
        if (enc.Modality != Modality.Image) throw new ArgumentException($"--encoder {enc.Kind} reads text; it trains with a text method on text data.");
        if (enc.InChannels is not (1 or 3)) throw new ArgumentException($"--channels must be 1 (grey) or 3 (RGB), got {enc.InChannels}.");
        if (enc.ImageSize < 1)
            throw new ArgumentException($"--image-size must be a positive number of pixels, got {enc.ImageSize}; the preset is {config.Encoder.ImageSize}.");
        var aug = config.Augment with { Size = enc.ImageSize };
        if (aug.Mean.Length != enc.InChannels)
            aug = enc.InChannels == 3 ? aug with { Mean = [0.5f, 0.5f, 0.5f], Std = [0.25f, 0.25f, 0.25f] } : aug with { Mean = [0.5f], Std = [0.25f] };
        return config with { Encoder = enc, Augment = aug };
    }

    public (ISampleSet Train, ISampleSet? Test) Load(string dataset, RunConfig config, string? dataDir, Action<string>? log, bool needTest)
    {
        if (IsCatalogued(dataset))
        {
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            var train = fetcher.LoadSplit(dataset.ToLowerInvariant(), DataSplit.Train);
            var test = needTest ? fetcher.LoadSplit(dataset.ToLowerInvariant(), DataSplit.Test) : null;
            return (new ImageSamples(train), test is null ? null : new ImageSamples(test));
        }
        if (!Directory.Exists(dataset))
            throw new DirectoryNotFoundException(DataPathHints.NotReadable(dataset, Modality.Image, "a folder of images (one sub-folder per class, or none)"));
        if (DataPathHints.KindOfFolder(dataset) is { } kind && kind != Modality.Image)
            throw new InvalidDataException(DataPathHints.NotReadable(dataset, Modality.Image, "a folder of images (one sub-folder per class, or none)"));
        var all = new ImageSamples(ImageFolderDataset.Load(dataset, config.Encoder.ImageSize, config.Encoder.InChannels, config.Images.Options(log, dataDir)));
        return HeldOut.Split(all, dataset, needTest);
    }

    public PreparedRun PrepareRun(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel)
    {
        var images = ImageSamples.Of(train).Data;
        var enc = config.Encoder;
        if (!images.SampleShape.SequenceEqual(new long[] { enc.InChannels, enc.ImageSize, enc.ImageSize }))
            throw new ArgumentException($"Data '{images.Name}' has samples of shape [{string.Join(",", images.SampleShape)}] but the encoder expects [{enc.InChannels},{enc.ImageSize},{enc.ImageSize}]; set --channels/--image-size to match.");
        if (!config.Images.EntityPositives) return new PreparedRun(config, images, null);
        SameEntity.Check(Methods.MethodRegistry.Get(config.Method), "images.entityPositives");
        var paths = Enumerable.Range(0, (int)images.Count).Select(i => images.SampleId(i)).ToArray();
        var groups = SameEntity.Groups(config.Images.EntitiesOf(paths, images.Name), "images", observer);
        return new PreparedRun(config, new WithEntities(images, groups), null);
    }

    public ModelInputs InputsFor(RunConfig config, string checkpointPath) => new ImageInputs(config);

    public EvaluationPlan Plan(EvaluationConfig ev) => EvaluationPlan.Standard(ev);

    /// <summary>Images read as they are, normalised per channel; crop and flip for supervised training.</summary>
    public sealed class ImageInputs(RunConfig config) : ModelInputs
    {
        private readonly Normalize normalize = config.Augment.BuildNormalize();
        private readonly IAugmentation labelled = config.Augment.BuildSupervised(config.Evaluation.Supervised.CropScaleMin);

        protected override (IDataset Data, bool Owned) EncodeCore(ISampleSet samples) => (ImageSamples.Of(samples).Data, false);
        public override Normalize? Normalization => normalize;
        public override IAugmentation? LabelledAugmentation => labelled;
        /// <summary>The crop of <paramref name="options"/> (fine-tuning may have its own, <see cref="EvaluationConfig.FineTuneCropScaleMin"/>).</summary>
        public override IAugmentation? LabelledAugmentationFor(SupervisedOptions options) =>
            options.CropScaleMin == config.Evaluation.Supervised.CropScaleMin ? labelled : config.Augment.BuildSupervised(options.CropScaleMin);

        public override (Tensor Train, Tensor Test, bool Standardize) BaselineFeatures(ISampleSet train, ISampleSet test) =>
            (Features.Raw(ImageSamples.Of(train).Data), Features.Raw(ImageSamples.Of(test).Data), true);
    }
}

/// <summary>Images as samples: a <see cref="TensorDataset"/> of (C, H, W) fp32 in [0, 1].</summary>
public sealed class ImageSamples(TensorDataset data) : TensorSamples(data)
{
    public override ISampleSet Subset(long[] indices, string name) => new ImageSamples(Data.Subset(indices, name));

    /// <exception cref="ArgumentException"><paramref name="samples"/> are not images.</exception>
    public static ImageSamples Of(ISampleSet samples) =>
        samples as ImageSamples ?? throw new ArgumentException($"'{samples.Name}' holds no images; an image model reads image data sets or folders.");
}

/// <summary>The held-out split of data that comes without one (folders of images or documents).</summary>
public static class HeldOut
{
    /// <summary>Fraction of a labelled folder held out as its test split.</summary>
    public const double TestFraction = 0.2;

    /// <summary>
    /// (train, test) of <paramref name="all"/>: a class-stratified fifth (seed 0) as test when <paramref name="needTest"/> and the
    /// samples are labelled, else everything as train and no test. Disposes <paramref name="all"/> when it splits.
    /// </summary>
    public static (ISampleSet Train, ISampleSet? Test) Split(ISampleSet all, string source, bool needTest)
    {
        if (!needTest || all.Labels is null) return (all, null);
        var testIdx = new HashSet<long>(LabelSubsets.Stratified(all.Labels, TestFraction, 0));
        var trainIdx = Enumerable.Range(0, all.Count).Select(i => (long)i).Where(i => !testIdx.Contains(i)).ToArray();
        var train = all.Subset(trainIdx, $"{source} (train 80 %)");
        var test = all.Subset(testIdx.Order().ToArray(), $"{source} (held-out 20 %)");
        all.Dispose();
        return (train, test);
    }
}
