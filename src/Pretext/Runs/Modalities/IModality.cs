using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Methods;
using TorchSharp;

namespace Pretext.Runs.Modalities;

/// <summary>
/// A kind of data (images, text, series, audio, tables) as the run layer sees it. Everything above the
/// training loop that differs between kinds of data lives behind this contract, so pretraining, evaluation,
/// reports and the CLI exist once. Adding a modality is one folder under Runs/Modalities plus one row in
/// <see cref="ModalityCatalog"/> (and its data sources, encoders and methods in their own layers).
/// </summary>
public interface IModality
{
    Modality Kind { get; }
    /// <summary>The method used when none is named (the best measured default for this kind of data).</summary>
    string DefaultMethod { get; }
    /// <summary>What the no-learning baseline is called in reports ("raw pixels", "TF-IDF").</summary>
    string BaselineName { get; }
    /// <summary>Whether <paramref name="dataset"/> names a catalogued data set of this modality.</summary>
    bool IsCatalogued(string dataset);
    /// <summary>
    /// The base preset for <paramref name="dataset"/>: encoder, views, schedule and evaluation defaults that fit
    /// this kind of data (a method's own preset is applied on top by <see cref="Presets.For"/>).
    /// </summary>
    RunConfig BasePreset(string dataset, int threads);
    /// <summary>
    /// Loads <paramref name="dataset"/> (a catalogue name, a folder or a file) as (train, test). A data set without
    /// an official split gets a seeded, class-stratified held-out fifth when <paramref name="needTest"/>; unlabelled
    /// data returns test = null.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a catalogued data set nor an existing file or folder.</exception>
    (ISampleSet Train, ISampleSet? Test) Load(string dataset, RunConfig config, string? dataDir, Action<string>? log, bool needTest);
    /// <summary>
    /// What pretraining in <paramref name="runDirectory"/> trains on, and the config completed for it (a text run
    /// trains or reloads its tokenizer here). Refuses, before writing anything, a folder that already has
    /// checkpoints unless <paramref name="resume"/>.
    /// </summary>
    PreparedRun PrepareRun(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel);
    /// <summary>How a model of <paramref name="config"/>, saved at <paramref name="checkpointPath"/>, reads samples.</summary>
    ModelInputs InputsFor(RunConfig config, string checkpointPath);
    /// <summary>Which evaluation protocols run, at which label fractions and with which training options.</summary>
    EvaluationPlan Plan(EvaluationConfig evaluation);
    /// <summary>Whatever a finished pretraining run adds to its folder beyond checkpoints and metrics (text: a causal model's sampled continuations); nothing by default.</summary>
    void AfterPretraining(PretrainResult result, IRunObserver observer) { }
    /// <summary>
    /// Evaluations of this kind of data beyond the label protocols, written into <paramref name="outDirectory"/> and returned as
    /// report sections (video: next-frame error on the test clips against copying the last frame, a strip of predicted frames);
    /// none by default. Runs on <paramref name="test"/> only after every choice was made on the training side; <paramref name="train"/> is
    /// the labelled training split the label protocols carved their validation split from (video scores the same validation clips, for choices).
    /// <paramref name="dataset"/> and <paramref name="dataDirectory"/> are the evaluated data set's name and cache folder (video reads Moving MNIST's
    /// single digits from there).
    /// </summary>
    IReadOnlyList<ReportSection> EvaluateMore(ISslMethod method, RunConfig config, ModelInputs inputs, ISampleSet train, ISampleSet test, string outDirectory, IRunObserver observer,
        string dataset, string? dataDirectory) => [];
}

/// <summary>What pretraining trains on: the completed config and the unlabelled encoder inputs (disposed with this).</summary>
public sealed class PreparedRun(RunConfig config, IDataset data, IDisposable? owned) : IDisposable
{
    public RunConfig Config { get; } = config;
    /// <summary>Encoder inputs without labels (<see cref="UnlabelledView"/>): pretraining never sees a label.</summary>
    public IDataset Data { get; } = new UnlabelledView(data);
    public void Dispose() => owned?.Dispose();
}

/// <summary>
/// Samples of one modality in their source form (images as tensors, documents as strings), with labels when
/// the data has them. The modality's <see cref="ModelInputs"/> turns them into what an encoder reads.
/// </summary>
public interface ISampleSet : IDisposable
{
    string Name { get; }
    int Count { get; }
    int[]? Labels { get; }
    IReadOnlyList<string> ClassNames { get; }
    string SampleId(int index);
    /// <summary>
    /// The group of sample <paramref name="index"/>: samples of one group (the same sentence recorded in two languages) stay on one
    /// side of the validation split. Default: the sample's own id.
    /// </summary>
    string GroupId(int index) => SampleId(index);
    /// <summary>The samples at <paramref name="indices"/>, in that order, as a set of their own (the caller disposes it).</summary>
    ISampleSet Subset(long[] indices, string name);
}

/// <summary>
/// How one model reads one modality's samples: encoding into an <see cref="IDataset"/> of encoder inputs, the
/// normalisation applied before the encoder, the light augmentation of supervised training, and the
/// no-learning baseline's features. Disposes what it encoded.
/// </summary>
public abstract class ModelInputs : IDisposable
{
    private readonly List<IDisposable> owned = [];

    /// <summary>Encoder inputs for <paramref name="samples"/> (owned by this object).</summary>
    public IDataset Encode(ISampleSet samples)
    {
        var (data, owns) = EncodeCore(samples);
        if (owns && data is IDisposable d) owned.Add(d);
        return data;
    }

    /// <summary>
    /// Encoder inputs for <paramref name="samples"/> that the caller disposes: a long-lived reader (a service encoding request after
    /// request) would otherwise keep every batch it encoded until this object is disposed.
    /// </summary>
    public EncodedSamples EncodeForCaller(ISampleSet samples)
    {
        var (data, owns) = EncodeCore(samples);
        return new EncodedSamples(data, owns ? data as IDisposable : null);
    }

    /// <summary>The encoded samples and whether they are new (disposed with this object) or a view of the source.</summary>
    protected abstract (IDataset Data, bool Owned) EncodeCore(ISampleSet samples);

    /// <summary>Applied to every batch before the encoder in evaluation and supervised training (null: none).</summary>
    public virtual Normalize? Normalization => null;
    /// <summary>Random augmentation of fine-tuning and training from scratch (null: none).</summary>
    public virtual IAugmentation? LabelledAugmentation => null;
    /// <summary>The augmentation of supervised training with <paramref name="options"/> (images: its crop); <see cref="LabelledAugmentation"/> unless overridden.</summary>
    public virtual IAugmentation? LabelledAugmentationFor(Evaluation.SupervisedOptions options) => LabelledAugmentation;
    /// <summary>Batch size of frozen feature extraction.</summary>
    public virtual int FeatureBatchSize => 512;
    /// <summary>
    /// The no-learning baseline's features of <paramref name="train"/> and <paramref name="test"/>, (N, D) fp32, fitted
    /// on the training samples without their labels, and whether a linear probe should standardise them.
    /// </summary>
    public abstract (TorchSharp.torch.Tensor Train, TorchSharp.torch.Tensor Test, bool Standardize) BaselineFeatures(ISampleSet train, ISampleSet test);

    public void Dispose()
    {
        foreach (var d in owned) d.Dispose();
        owned.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Encoder inputs handed to the caller by <see cref="ModelInputs.EncodeForCaller"/>; disposing frees what encoding made (a view of the source frees nothing).</summary>
public sealed class EncodedSamples(IDataset data, IDisposable? owned) : IDisposable
{
    public IDataset Data { get; } = data;
    public void Dispose() => owned?.Dispose();
}

/// <summary>
/// What <see cref="Evaluating"/> runs: kNN, a linear probe on the frozen encoder, fine-tuning, training from
/// scratch and the no-learning baseline, each at its label fractions (empty: not run).
/// </summary>
public sealed record EvaluationPlan
{
    public bool Knn { get; init; } = true;
    public IReadOnlyList<double> LinearFractions { get; init; } = [];
    public IReadOnlyList<double> FineTuneFractions { get; init; } = [];
    public SupervisedOptions FineTuning { get; init; } = new();
    /// <summary>Encoder learning rate as a multiple of the head's when fine-tuning.</summary>
    public double FineTuneEncoderLrScale { get; init; } = 1.0;
    public IReadOnlyList<double> ScratchFractions { get; init; } = [];
    public SupervisedOptions Scratch { get; init; } = new();
    public IReadOnlyList<double> BaselineFractions { get; init; } = [];
    /// <summary>Fractions of gradient-boosted trees on the baseline's features (tables); they also run at the counts per class.</summary>
    public IReadOnlyList<double> TreeFractions { get; init; } = [];
    public TreeOptions TreeSettings { get; init; } = new();
    /// <summary>Tree settings chosen among on the validation split (empty: <see cref="TreeSettings"/> only).</summary>
    public IReadOnlyList<TreeOptions> TreeCandidates { get; init; } = [];
    /// <summary>Report F1 beside accuracy: of <see cref="PositiveClass"/> for two classes, macro F1 otherwise.</summary>
    public bool F1 { get; init; }
    public string PositiveClass { get; init; } = "";
    /// <summary>PCA/t-SNE maps and diagnostics of the frozen test features.</summary>
    public bool Maps { get; init; }

    /// <summary>Whether each label protocol runs; one that runs does so at its fractions and at the counts per class.</summary>
    public bool LinearProbe { get; init; } = true;
    public bool FineTune { get; init; }
    public bool FromScratch { get; init; } = true;
    public bool Baseline { get; init; } = true;
    public bool Trees { get; init; }

    /// <summary>
    /// The plan of the tensor modalities (images, audio, video): kNN, linear probes at the fractions and counts per class, training
    /// the same encoder from scratch, the baseline at the probe's fractions, maps; fine-tuning when asked, and whenever distilling
    /// (distillation's pretrained teacher is the fine-tuned network, so it fine-tunes at least at the trained counts per class).
    /// </summary>
    public static EvaluationPlan Standard(EvaluationConfig ev) => new()
    {
        Knn = true,
        FineTune = ev.FineTune || ev.FineTuneFractions.Length > 0 || ev.Distill,
        Baseline = ev.Baseline,
        LinearFractions = ev.LinearFractions,
        FineTuneFractions = ev.FineTuneFractions,
        FineTuning = ev.Supervised with { CropScaleMin = ev.FineTuneCropScaleMin ?? ev.Supervised.CropScaleMin, HeadFromProbe = ev.FineTuneFromProbe },
        FineTuneEncoderLrScale = ev.FineTuneEncoderLrScale,
        ScratchFractions = ev.ScratchFractions,
        Scratch = ev.Supervised,
        BaselineFractions = ev.Baseline ? ev.LinearFractions : [],
        Maps = ev.Maps.Samples > 0,
    };

    /// <summary>Whether <paramref name="protocol"/> runs at all.</summary>
    public bool Runs(Protocol protocol) => protocol switch
    {
        Protocol.LinearProbe => LinearProbe,
        Protocol.FineTune => FineTune,
        Protocol.FromScratch => FromScratch,
        Protocol.Baseline => Baseline,
        Protocol.Trees => Trees,
        Protocol.Knn => Knn,
        _ => false,
    };

    /// <summary>The fractions a protocol runs at.</summary>
    public IReadOnlyList<double> FractionsOf(Protocol protocol) => protocol switch
    {
        Protocol.LinearProbe => LinearFractions,
        Protocol.FineTune => FineTuneFractions,
        Protocol.FromScratch => ScratchFractions,
        Protocol.Baseline => BaselineFractions,
        Protocol.Trees => TreeFractions,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };
}

/// <summary>The modalities, one row each.</summary>
public static class ModalityCatalog
{
    public static IReadOnlyList<IModality> All { get; } = [new ImageModality(), new TextModality(), new SeriesModality(), new AudioModality(), new TableModality(), new VideoModality()];

    public static IModality Get(Modality kind) =>
        All.FirstOrDefault(m => m.Kind == kind) ?? throw new ArgumentException($"No modality '{kind}' is registered.");

    /// <summary>The modality whose catalogue holds <paramref name="dataset"/>, or null for folders, files and unknown names.</summary>
    public static IModality? Catalogued(string dataset) => All.FirstOrDefault(m => m.IsCatalogued(dataset));
}

/// <summary>
/// Samples held as one <see cref="TensorDataset"/> (images, log-mel clips, series windows): the pass-through members of
/// <see cref="ISampleSet"/>; each modality's subclass says what the tensors are and keeps its own type for <c>Of</c> checks.
/// </summary>
public abstract class TensorSamples(TensorDataset data) : ISampleSet
{
    public TensorDataset Data { get; } = data;
    public string Name => Data.Name;
    public int Count => (int)Data.Count;
    public int[]? Labels => Data.Labels;
    public IReadOnlyList<string> ClassNames => Data.ClassNames;
    public string SampleId(int index) => Data.SampleId(index);
    public abstract ISampleSet Subset(long[] indices, string name);
    public void Dispose() => Data.Dispose();
}
