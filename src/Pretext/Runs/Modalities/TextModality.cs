using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Text;
using static TorchSharp.torch;

namespace Pretext.Runs.Modalities;

/// <summary>
/// Text: catalogued corpora (SpamAssassin with its fixed split, WordNet glosses without labels), or a file or folder of
/// documents. A run trains a byte-level BPE tokenizer on its training documents (saved as tokenizer.json in the run
/// folder, which configs and checkpoints refer to); encoders read (B, L) token ids. The no-learning baseline is TF-IDF
/// with logistic regression.
/// </summary>
public sealed class TextModality : IModality
{
    /// <summary>File name of the tokenizer inside a run folder; configs refer to it by this relative name.</summary>
    public const string TokenizerFile = "tokenizer.json";

    public Modality Kind => Modality.Text;
    public string DefaultMethod => "mlm";
    public string BaselineName => "TF-IDF";

    public bool IsCatalogued(string dataset) => DataCatalog.Contains(dataset, Modality.Text);

    public RunConfig BasePreset(string dataset, int threads) => Presets.Text(IsCatalogued(dataset) ? dataset.ToLowerInvariant() : dataset, threads);

    /// <summary>
    /// SpamAssassin: its fixed split. WordNet: all glosses as train, no test. A file or folder (<see cref="TextFiles.Load"/>):
    /// when a test split is needed and the data is labelled, a class-stratified fifth (seed 0) is held out.
    /// </summary>
    public (ISampleSet Train, ISampleSet? Test) Load(string dataset, RunConfig config, string? dataDir, Action<string>? log, bool needTest)
    {
        if (IsCatalogued(dataset))
        {
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            var entry = DataCatalog.Get(dataset);
            var train = new TextSamples(fetcher.LoadText(dataset, DataSplit.Train).Dataset);
            return (train, needTest && entry.Splits.Contains(DataSplit.Test) ? new TextSamples(fetcher.LoadText(dataset, DataSplit.Test).Dataset) : null);
        }
        if (!File.Exists(dataset) && !Directory.Exists(dataset))
            throw new FileNotFoundException(DataPathHints.NotReadable(dataset, Modality.Text, "a file or folder of documents"));
        if ((Directory.Exists(dataset) ? DataPathHints.KindOfFolder(dataset) : DataPathHints.KindOfFile(dataset)) is { } kind && kind != Modality.Text)
            throw new InvalidDataException(DataPathHints.NotReadable(dataset, Modality.Text, "a file or folder of documents"));
        return HeldOut.Split(new TextSamples(TextFiles.Load(dataset, new TextFileOptions { Log = log }).Dataset), dataset, needTest);
    }

    /// <summary>
    /// Pretraining reads each document as up to <see cref="TextEncoderConfig.PretrainingWindows"/> windows, through the
    /// run's tokenizer (trained here on the training documents unless the run or the config already has one).
    /// </summary>
    /// <exception cref="ArgumentException">The configured method or encoder is not a text one.</exception>
    public PreparedRun PrepareRun(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel)
    {
        var entry = MethodRegistry.Get(config.Method);
        if (!entry.TrainsOn(Modality.Text) || config.Encoder.Modality != Modality.Text)
            throw new ArgumentException($"Method '{config.Method}' with a {config.Encoder.Kind} encoder does not train on text; use a text method ({string.Join(", ", MethodRegistry.All.Where(m => m.TrainsOn(Modality.Text)).Select(m => m.Name))}).");
        // Refuse before the tokenizer is trained, so an existing run's tokenizer.json is never overwritten.
        Pretraining.RefuseOverwrite(runDirectory, resume);
        var docs = TextSamples.Of(train).Data;
        var (cfg, tokenizer) = PrepareTokenizer(config, docs, runDirectory, resume, observer, cancel);
        var data = TokenizedDataset.Windows(docs, tokenizer, cfg.Encoder.Text.MaxLength, cfg.Encoder.Text.PretrainingWindows);
        observer.Message($"{docs.Name}: {docs.Count} documents, {data.Count} windows of up to {cfg.Encoder.Text.MaxLength} tokens for pretraining.");
        return new PreparedRun(cfg, data, data);
    }

    public ModelInputs InputsFor(RunConfig config, string checkpointPath) => new TextInputs(config, LoadTokenizer(config, checkpointPath));

    public EvaluationPlan Plan(EvaluationConfig ev)
    {
        var o = ev.Text;
        return new EvaluationPlan
        {
            Knn = o.Knn,
            LinearProbe = o.LinearProbe, FineTune = o.FineTune, FromScratch = o.FromScratch, Baseline = o.TfIdf && ev.Baseline,
            LinearFractions = o.LinearProbe ? o.Fractions : [],
            FineTuneFractions = o.FineTune ? o.Fractions : [],
            // Text fine-tuning trains encoder and head at one rate (o.FineTuning sets the lower, BERT-style rate for both).
            FineTuning = o.FineTuning with { HeadFromProbe = ev.FineTuneFromProbe },
            FineTuneEncoderLrScale = 1.0,
            ScratchFractions = o.FromScratch ? o.Fractions : [],
            Scratch = o.Scratch,
            BaselineFractions = o.TfIdf && ev.Baseline ? o.Fractions : [],
            F1 = true,
            PositiveClass = o.PositiveClass,
        };
    }

    /// <summary>A causal language model writes a few sampled continuations (<see cref="Continuations"/>) to its run folder and shows them.</summary>
    public void AfterPretraining(PretrainResult result, IRunObserver observer)
    {
        if (!File.Exists(result.FinalCheckpoint)) return;
        var (method, cfg, _) = Pretraining.LoadMethod(result.FinalCheckpoint);
        using (method)
        {
            if (method is not CausalLanguageModel clm) return;
            var tokenizer = LoadTokenizer(cfg, result.FinalCheckpoint);
            string path = Path.Combine(result.RunDirectory, Continuations.FileName);
            string text = Continuations.Write(clm, tokenizer, cfg.Train.Seed, path);
            observer.Message($"Sampled continuations (a sanity check, written to {path}):\n{text}");
        }
    }

    /// <summary>
    /// The run's tokenizer and the config that refers to it. An existing tokenizer.json in the run folder is reused
    /// when resuming; a tokenizer named by the config (encoder.text.tokenizer) is loaded; otherwise one is trained on
    /// <paramref name="train"/> with the config's vocabulary size and saved to the run folder.
    /// </summary>
    public static (RunConfig Config, ITextTokenizer Tokenizer) PrepareTokenizer(RunConfig config, TextDataset train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel = default)
    {
        var text = config.Encoder.Text;
        string inRun = Path.Combine(runDirectory, TokenizerFile);
        ITextTokenizer tokenizer;
        string reference;
        if (resume && File.Exists(inRun))
        {
            tokenizer = TextTokenizers.Load(inRun);
            reference = TokenizerFile;
        }
        else if (!string.IsNullOrEmpty(text.Tokenizer))
        {
            if (!File.Exists(text.Tokenizer)) throw new FileNotFoundException($"Tokenizer file '{text.Tokenizer}' (encoder.text.tokenizer) does not exist.");
            tokenizer = TextTokenizers.Load(text.Tokenizer);
            reference = Path.GetFullPath(text.Tokenizer);
        }
        else
        {
            observer.BeginStage($"Training a byte-level BPE tokenizer of up to {text.VocabSize} tokens on {train.Name}", 1);
            var trained = ByteLevelBpeTokenizer.Train(train.Texts, new BpeTokenizerOptions { VocabSize = text.VocabSize }, cancel);
            Directory.CreateDirectory(runDirectory);
            trained.Save(inRun);
            observer.EndStage($"{trained.VocabSize} tokens, saved to {inRun}");
            tokenizer = trained;
            reference = TokenizerFile;
        }
        return (config with { Encoder = config.Encoder with { Text = text.WithTokenizer(tokenizer, reference) } }, tokenizer);
    }

    /// <summary>Where the tokenizer file of a checkpoint's model is (a relative encoder.text.tokenizer resolves against the checkpoint's run folder); it may not exist.</summary>
    /// <exception cref="InvalidDataException">The config names no tokenizer (not a text run).</exception>
    public static string TokenizerPath(RunConfig config, string checkpointPath)
    {
        var name = config.Encoder.Text.Tokenizer
            ?? throw new InvalidDataException($"Checkpoint '{checkpointPath}' names no tokenizer (encoder.text.tokenizer is empty); it was not written by a text run.");
        string runDirectory = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!)!;
        return Path.IsPathRooted(name) ? name : Path.Combine(runDirectory, name);
    }

    /// <summary>The tokenizer a checkpoint's model reads through (relative paths resolve against the checkpoint's run folder).</summary>
    /// <exception cref="FileNotFoundException">The tokenizer file is missing; the message says where it was looked for.</exception>
    /// <exception cref="InvalidDataException">The file is not the tokenizer the model was trained with.</exception>
    public static ITextTokenizer LoadTokenizer(RunConfig config, string checkpointPath)
    {
        string path = TokenizerPath(config, checkpointPath);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The tokenizer of checkpoint '{checkpointPath}' is missing: expected '{path}'. Keep the checkpoint inside its run folder (run/checkpoints/) next to {TokenizerFile}.");
        var tokenizer = TextTokenizers.Load(path);
        config.Encoder.Text.CheckMatches(tokenizer, path);
        return tokenizer;
    }

    /// <summary>Documents read through the model's tokenizer (first window of each); TF-IDF as the baseline.</summary>
    public sealed class TextInputs(RunConfig config, ITextTokenizer tokenizer) : ModelInputs
    {
        public ITextTokenizer Tokenizer { get; } = tokenizer;
        public int MaxLength { get; } = config.Encoder.Text.MaxLength;
        private readonly TfIdfOptions tfIdf = config.Evaluation.Text.TfIdfFeatures;

        protected override (IDataset Data, bool Owned) EncodeCore(ISampleSet samples) => (TokenizedDataset.From(TextSamples.Of(samples).Data, Tokenizer, MaxLength), true);
        public override int FeatureBatchSize => 128;

        /// <summary>Vocabulary and idf from all training documents, without their labels (as pretraining sees them).</summary>
        public override (Tensor Train, Tensor Test, bool Standardize) BaselineFeatures(ISampleSet train, ISampleSet test)
        {
            var trainDocs = TextSamples.Of(train).Data.Texts;
            var vectorizer = TfIdfVectorizer.Fit(trainDocs, tfIdf);
            return (vectorizer.Transform(trainDocs), vectorizer.Transform(TextSamples.Of(test).Data.Texts), false);
        }
    }
}

/// <summary>Documents as samples.</summary>
public sealed class TextSamples(TextDataset data) : ISampleSet
{
    public TextDataset Data { get; } = data;
    public string Name => Data.Name;
    public int Count => Data.Count;
    public int[]? Labels => Data.Labels;
    public IReadOnlyList<string> ClassNames => Data.ClassNames;
    public string SampleId(int index) => Data.SampleId(index);
    public ISampleSet Subset(long[] indices, string name) => new TextSamples(Data.Subset(indices.Select(i => (int)i).ToArray(), name));
    public void Dispose() { }

    /// <exception cref="ArgumentException"><paramref name="samples"/> are not documents.</exception>
    public static TextSamples Of(ISampleSet samples) =>
        samples as TextSamples ?? throw new ArgumentException($"'{samples.Name}' holds no documents; a text model reads text corpora, files or folders of documents.");
}
