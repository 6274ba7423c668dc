using System.CommandLine;
using System.Globalization;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Cli;

/// <summary>The commands only text models have: search and similar.</summary>
internal static class TextCommands
{
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
            PretextCli.SetThreads(p.GetValue(threads));
            string path = p.GetValue(checkpoint)!;
            var (method, cfg, _) = Pretraining.LoadMethod(path);
            using (method)
            {
                RequireText(cfg, path);
                if (p.GetValue(k) < 1) throw new ArgumentException("--k must be at least 1.");
                var text = (TextModality)ModalityCatalog.Get(Modality.Text);
                using var inputs = (TextModality.TextInputs)text.InputsFor(cfg, path);
                using var samples = Embeddings.Samples(text, cfg, p.GetValue(dataset) ?? cfg.Dataset, p.GetValue(split), p.GetValue(dataDir), Console.WriteLine);
                var docs = TextSamples.Of(samples).Data;
                using var corpus = ConsoleObserver.Run(o => Embeddings.Extract(method, inputs, samples, o));
                using var q = new TokenizedDataset("query", [p.GetValue(query)!], inputs.Tokenizer, inputs.MaxLength);
                using var qf = Features.Extract(method.Encoder, q, null);
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
                var tokenizer = TextModality.LoadTokenizer(cfg, path);
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
