using System.CommandLine;
using System.Globalization;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Cli;

/// <summary>The text model's sides of evaluate and embed, and the text-only commands search and similar.</summary>
internal static class TextCommands
{
    /// <summary>Text evaluation of a loaded checkpoint: probes, fine-tuning, baselines; summary.json and report.html.</summary>
    public static int Evaluate(ISslMethod method, RunConfig cfg, long step, string checkpoint, string dataset, bool noBaselines, string? outDir, string? dataDir)
    {
        var tokenizer = TextRuns.LoadTokenizer(cfg, checkpoint);
        var (train, test) = TextRuns.Load(dataset, dataDir, Console.WriteLine, needTest: true);
        if (test is null || train.Labels is null)
            throw new ArgumentException($"'{dataset}' has no labels; evaluation needs labelled documents (spamassassin, or a folder with one sub-folder per class).");
        if (noBaselines) cfg = cfg with { Evaluation = cfg.Evaluation with { Text = cfg.Evaluation.Text with { FromScratch = false, TfIdf = false } } };
        var ev = ConsoleObserver.Run(o => TextEvaluating.Run(method, cfg, train, test, tokenizer, o));
        string run = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpoint)))!;
        string dir = outDir ?? Path.Combine(run, "evaluation");
        Directory.CreateDirectory(dir);
        var pre = new PretrainResult(run, checkpoint, step, double.NaN, double.NaN, double.NaN, double.NaN);
        if (File.Exists(Path.Combine(run, "metrics.csv"))) File.Copy(Path.Combine(run, "metrics.csv"), Path.Combine(dir, "metrics.csv"), overwrite: true);
        var report = TextRunReport.Write(dir, cfg, pre, ev, dataset);
        foreach (var line in TextRunReport.Lines(ev)) Console.WriteLine(line);
        Console.WriteLine($"Report: {report}");
        return 0;
    }

    /// <summary>Documents and their embeddings by a text checkpoint, as an <see cref="EmbeddingTable"/>.</summary>
    private static (TextDataset Docs, EmbeddingTable Table) EmbedDocuments(ISslMethod method, RunConfig cfg, string checkpoint, string dataset, DataSplit split, string? dataDir)
    {
        var tokenizer = TextRuns.LoadTokenizer(cfg, checkpoint);
        var (train, test) = TextRuns.Load(dataset, dataDir, Console.WriteLine, needTest: split == DataSplit.Test);
        // Data without a test split (unlabelled folders, WordNet) is embedded whole.
        var docs = split == DataSplit.Test && test is not null ? test : train;
        using var data = TokenizedDataset.From(docs, tokenizer, cfg.Encoder.Text.MaxLength);
        var feats = ConsoleObserver.Run(o =>
        {
            o.BeginStage($"Embedding {docs.Name}", data.Count);
            var f = Features.Extract(method.Encoder, data, null, batchSize: 128, progress: (d, _) => o.Report(d));
            o.EndStage();
            return f;
        });
        using (feats)
            return (docs, new EmbeddingTable(feats.data<float>().ToArray(), (int)feats.shape[0], (int)feats.shape[1],
                Enumerable.Range(0, docs.Count).Select(docs.SampleId).ToArray(), docs.Labels));
    }

    public static int Embed(ISslMethod method, RunConfig cfg, string checkpoint, string dataset, DataSplit split, string[] outs, string? dataDir)
    {
        var (_, table) = EmbedDocuments(method, cfg, checkpoint, dataset, split, dataDir);
        foreach (var o in outs)
        {
            if (o.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) EmbeddingWriter.WriteCsv(o, table);
            else EmbeddingWriter.WriteParquetAsync(o, table).GetAwaiter().GetResult();
            Console.WriteLine($"Wrote {table.Count} x {table.Dim} embeddings to {o}");
        }
        return 0;
    }

    public static Command Search()
    {
        var query = new Argument<string>("query") { Description = "The text to look for." };
        var checkpoint = new Option<string>("--checkpoint") { Description = "A text model's checkpoint (run-dir/checkpoints/step-*.safetensors).", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Documents to search: spamassassin, wordnet, a file or folder (default: the run's data set)." };
        var split = new Option<DataSplit>("--split") { Description = "Train or Test (corpora with a split).", DefaultValueFactory = _ => DataSplit.Test };
        var k = new Option<int>("--k") { Description = "Number of results.", DefaultValueFactory = _ => 10 };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("search", "Nearest documents to a query by cosine similarity of a text model's embeddings.") { query, checkpoint, dataset, split, k, threads, dataDir };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            torch.set_num_threads(p.GetValue(threads));
            string path = p.GetValue(checkpoint)!;
            var (method, cfg, _) = Pretraining.LoadMethod(path);
            using (method)
            {
                RequireText(cfg, path);
                if (p.GetValue(k) < 1) throw new ArgumentException("--k must be at least 1.");
                var (docs, table) = EmbedDocuments(method, cfg, path, p.GetValue(dataset) ?? cfg.Dataset, p.GetValue(split), p.GetValue(dataDir));
                var tokenizer = TextRuns.LoadTokenizer(cfg, path);
                using var q = new TokenizedDataset("query", [p.GetValue(query)!], tokenizer, cfg.Encoder.Text.MaxLength);
                using var qf = Features.Extract(method.Encoder, q, null);
                using var corpus = tensor(table.Data, [table.Count, table.Dim]);
                foreach (var (index, cosine) in NearestDocuments.Find(qf, corpus, p.GetValue(k)))
                {
                    string label = docs.Labels is null ? "" : $" [{docs.ClassNames[docs.Labels[index]]}]";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cosine,7:F4}  {docs.SampleId(index)}{label}  {NearestDocuments.Snippet(docs.Texts[index], 100)}"));
                }
            }
            return 0;
        }));
        return cmd;
    }

    public static Command Similar()
    {
        var word = new Argument<string>("word") { Description = "A word (split into subwords when the tokenizer does)." };
        var checkpoint = new Option<string>("--checkpoint") { Description = "A text model's checkpoint (word2vec, or a Transformer's input embeddings).", Required = true };
        var k = new Option<int>("--k") { Description = "Number of neighbours.", DefaultValueFactory = _ => 10 };
        var cmd = new Command("similar", "Nearest-neighbour words of WORD by cosine similarity of a text model's word vectors.") { word, checkpoint, k };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            string path = p.GetValue(checkpoint)!;
            var (method, cfg, _) = Pretraining.LoadMethod(path);
            using (method)
            {
                RequireText(cfg, path);
                var tokenizer = TextRuns.LoadTokenizer(cfg, path);
                var near = WordNeighbours.Nearest((ITokenEncoder)method.Encoder, tokenizer, p.GetValue(word)!, p.GetValue(k), cfg.Encoder.Text.SpecialIds());
                foreach (var n in near) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n.Cosine,7:F4}  {n.Token}"));
            }
            return 0;
        }));
        return cmd;
    }

    private static void RequireText(RunConfig cfg, string checkpoint)
    {
        if (cfg.Encoder.Modality != Modality.Text)
            throw new ArgumentException($"Checkpoint '{checkpoint}' holds a {cfg.Encoder.Kind} encoder for images; search and similar need a text model (mlm, simcse, word2vec).");
    }
}
