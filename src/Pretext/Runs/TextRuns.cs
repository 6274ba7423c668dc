using Pretext.Data;
using Pretext.Methods;
using Pretext.Text;

namespace Pretext.Runs;

/// <summary>
/// The text side of a run: what --dataset means for text (a catalogued corpus, or a file or folder of
/// documents), the run's tokenizer (trained on the training texts and saved as tokenizer.json in the run
/// folder, or loaded back on resume and for evaluation), and pretraining through the one training loop.
/// </summary>
public static class TextRuns
{
    /// <summary>File name of the tokenizer inside a run folder; configs refer to it by this relative name.</summary>
    public const string TokenizerFile = "tokenizer.json";

    /// <summary>The text method used when --method is not given for text data.</summary>
    public const string DefaultMethod = "mlm";

    /// <summary>Whether <paramref name="spec"/> names a catalogued text corpus (spamassassin, wordnet).</summary>
    public static bool IsTextCorpus(string spec) => DataCatalog.Contains(spec, Modality.Text);

    /// <summary>
    /// Loads (train, test) documents. SpamAssassin: its fixed split. WordNet: all glosses as train, no test. A file or
    /// folder (<see cref="TextFiles.Load"/>): when a test split is needed and the data is labelled, a class-stratified
    /// fifth (seed 0) is held out.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither a known corpus nor an existing file or folder.</exception>
    public static (TextDataset Train, TextDataset? Test) Load(string spec, string? dataDir, Action<string>? log, bool needTest)
    {
        if (IsTextCorpus(spec))
        {
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            var entry = DataCatalog.Get(spec);
            var train = fetcher.LoadText(spec, DataSplit.Train).Dataset;
            return (train, needTest && entry.Splits.Contains(DataSplit.Test) ? fetcher.LoadText(spec, DataSplit.Test).Dataset : null);
        }
        if (!File.Exists(spec) && !Directory.Exists(spec))
            throw new FileNotFoundException($"'{spec}' is neither a known text corpus ({string.Join(", ", DataCatalog.All.Where(e => e.Modality == Modality.Text).Select(e => e.Name))}) nor an existing file or folder of documents.");
        var all = TextFiles.Load(spec, new TextFileOptions { Log = log }).Dataset;
        if (!needTest || all.Labels is null) return (all, null);
        var testIdx = new HashSet<long>(Evaluation.LabelSubsets.Stratified(all.Labels, 0.2, 0));
        var trainIdx = Enumerable.Range(0, all.Count).Where(i => !testIdx.Contains(i)).ToArray();
        return (all.Subset(trainIdx, $"{spec} (train 80 %)"), all.Subset(testIdx.Order().Select(i => (int)i).ToArray(), $"{spec} (held-out 20 %)"));
    }

    /// <summary>
    /// The run's tokenizer and the config that refers to it. An existing tokenizer.json in the run folder is reused
    /// when resuming; a tokenizer named by the config (encoder.text.tokenizer) is loaded; otherwise one is trained on
    /// <paramref name="train"/> with the config's vocabulary size and saved to the run folder.
    /// </summary>
    public static (RunConfig Config, ITextTokenizer Tokenizer) PrepareTokenizer(RunConfig config, TextDataset train, string runDirectory, bool resume, IRunObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= NullObserver.Instance;
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

    /// <summary>The tokenizer a checkpoint's model reads through (relative paths resolve against the checkpoint's run folder).</summary>
    /// <exception cref="FileNotFoundException">The tokenizer file is missing; the message says where it was looked for.</exception>
    /// <exception cref="InvalidDataException">The file is not the tokenizer the model was trained with.</exception>
    public static ITextTokenizer LoadTokenizer(RunConfig config, string checkpointPath)
    {
        var name = config.Encoder.Text.Tokenizer
            ?? throw new InvalidDataException($"Checkpoint '{checkpointPath}' names no tokenizer (encoder.text.tokenizer is empty); it was not written by a text run.");
        string runDirectory = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!)!;
        string path = Path.IsPathRooted(name) ? name : Path.Combine(runDirectory, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The tokenizer of checkpoint '{checkpointPath}' is missing: expected '{path}'. Keep the checkpoint inside its run folder (run/checkpoints/) next to {TokenizerFile}.");
        var tokenizer = TextTokenizers.Load(path);
        config.Encoder.Text.CheckMatches(tokenizer, path);
        return tokenizer;
    }

    /// <summary>Pretrains a text method on <paramref name="train"/> (labels never seen) in <paramref name="runDirectory"/>.</summary>
    /// <exception cref="ArgumentException">The configured method is not a text method.</exception>
    public static PretrainResult Pretrain(RunConfig config, TextDataset train, string runDirectory, bool resume, IRunObserver? observer = null, CancellationToken cancel = default)
    {
        var entry = MethodRegistry.Get(config.Method);
        if (entry.Modality != Modality.Text || config.Encoder.Modality != Modality.Text)
            throw new ArgumentException($"Method '{config.Method}' with a {config.Encoder.Kind} encoder does not train on text; use a text method ({string.Join(", ", MethodRegistry.All.Where(m => m.Modality == Modality.Text).Select(m => m.Name))}).");
        // Refuse before the tokenizer is trained, so an existing run's tokenizer.json is never overwritten.
        if (!resume && new Training.CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), 1).Latest is { } latest)
            throw new InvalidOperationException($"Run folder '{runDirectory}' already has checkpoints (newest: {Path.GetFileName(latest)}). Pass --resume to continue it, or choose another --run-dir.");
        var (cfg, tokenizer) = PrepareTokenizer(config, train, runDirectory, resume, observer, cancel);
        using var data = TokenizedDataset.Windows(train, tokenizer, cfg.Encoder.Text.MaxLength, cfg.Encoder.Text.PretrainingWindows);
        observer?.Message($"{train.Name}: {train.Count} documents, {data.Count} windows of up to {cfg.Encoder.Text.MaxLength} tokens for pretraining.");
        return Pretraining.Run(cfg, new UnlabelledView(data), runDirectory, resume, observer, cancel);
    }
}
