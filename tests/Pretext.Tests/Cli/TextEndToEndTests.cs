using Pretext.Export;
using Pretext.Tests.Text;

namespace Pretext.Tests.Cli;

/// <summary>The user's path through the CLI on their own documents: pretrain a text method, resume, evaluate, embed, search, similar.</summary>
[Collection("console")]
public class TextEndToEndTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    /// <summary>A result line of search and similar: the cosine first.</summary>
    private static readonly System.Text.RegularExpressions.Regex Result = new(@"^\s*-?\d\.\d{4}  \S");

    /// <summary>A folder with one sub-folder per class (ham, spam) of one-document text files.</summary>
    internal static void WriteTextFolder(string root, int documents)
    {
        var corpus = TestText.Corpus(documents, seed: 4);
        for (int i = 0; i < corpus.Count; i++)
        {
            var dir = Path.Combine(root, corpus.ClassNames[corpus.Labels![i]]);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, $"doc{i:D3}.txt"), corpus.Texts[i]);
        }
    }

    // Tiny model and evaluation budgets, set at pretraining time: they travel in the checkpoint.
    internal static readonly string[] Small =
    [
        "--set", "encoder.text.vocabSize=300", "--set", "encoder.text.dim=16", "--set", "encoder.text.depth=1", "--set", "encoder.text.heads=2",
        "--set", "encoder.text.maxLength=16", "--set", "evaluation.text.fineTuning.steps=4", "--set", "evaluation.text.fineTuning.minEpochs=1",
        "--set", "evaluation.text.scratch.steps=4", "--set", "evaluation.text.scratch.minEpochs=1", "--set", "evaluation.probe.iterations=30",
        "--set", "evaluation.knnK=5",
    ];

    [Theory]
    [InlineData("mlm")]
    [InlineData("word2vec")]
    public async Task PretrainResumeEvaluateEmbedSearchOnATextFolder(string method)
    {
        using var dir = new TempDirectory();
        var docs = Path.Combine(dir.Path, "docs");
        WriteTextFolder(docs, 80);
        var run = Path.Combine(dir.Path, "run");
        string[] common = ["--dataset", docs, "--method", method, "--run-dir", run, "--batch-size", "16", "--epochs", "2", "--threads", "1",
                           "--checkpoint-every", "3", .. Small];

        var (c1, o1, e1) = Run(["pretrain", .. common, "--max-steps", "4"]);
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains("Done: 4 steps", o1);
        Assert.True(File.Exists(Path.Combine(run, "tokenizer.json")));
        var tokenizerBytes = File.ReadAllBytes(Path.Combine(run, "tokenizer.json"));
        var (c2, _, e2) = Run(["pretrain", .. common, "--max-steps", "4"]);
        Assert.Equal(2, c2);
        Assert.Contains("--resume", e2);
        // The refused run left the tokenizer alone; the resumed one reuses it.
        Assert.Equal(tokenizerBytes, File.ReadAllBytes(Path.Combine(run, "tokenizer.json")));
        var (c3, o3, e3) = Run(["pretrain", .. common, "--max-steps", "4", "--resume"]);
        Assert.True(c3 == 0, o3 + e3);
        Assert.Contains("Resuming", o3);
        Assert.Equal(tokenizerBytes, File.ReadAllBytes(Path.Combine(run, "tokenizer.json")));

        var ckpt = Path.Combine(run, "checkpoints", "step-00000004.safetensors");
        var (c4, o4, e4) = Run("evaluate", "--checkpoint", ckpt, "--threads", "1");
        Assert.True(c4 == 0, o4 + e4);
        foreach (var model in new[] { "linear probe (frozen)", "fine-tuned", "from scratch", "TF-IDF (no learning)", "kNN (frozen)" }) Assert.Contains(model, o4);
        Assert.Contains("F1 of spam", o4);
        var summary = File.ReadAllText(Path.Combine(run, "evaluation", "summary.json"));
        Assert.Contains("\"finetune_1\"", summary);
        Assert.Contains("\"baseline_100_f1\"", summary);
        Assert.Contains("\"baseline\": \"TF-IDF\"", summary);
        Assert.True(File.Exists(Path.Combine(run, "evaluation", "report.html")));

        var csv = Path.Combine(dir.Path, "emb.csv");
        var parquet = Path.Combine(dir.Path, "emb.parquet");
        var (c5, o5, e5) = Run("embed", "--checkpoint", ckpt, "--out", csv, "--out", parquet, "--threads", "1");
        Assert.True(c5 == 0, o5 + e5);
        var table = EmbeddingWriter.ReadCsv(csv);
        Assert.Equal(80, table.Count); // a folder is embedded whole (--split picks a split of catalogued data sets only), as image folders are
        Assert.Equal(16, table.Dim); // --set encoder.text.dim=16 wins over the presets (word2vec's is 100)
        Assert.Contains("doc", table.Ids[0]);
        var fromParquet = await EmbeddingWriter.ReadParquetAsync(parquet);
        Assert.Equal(table.Data, fromParquet.Data);

        var (c6, o6, e6) = Run("search", "cheap money offer", "--checkpoint", ckpt, "--k", "3", "--threads", "1");
        Assert.True(c6 == 0, o6 + e6);
        var hits = o6.Split('\n').Where(l => Result.IsMatch(l)).ToList();
        Assert.Equal(3, hits.Count);
        Assert.All(hits, h => Assert.Matches(@"(ham|spam)/doc\d+\.txt \[(ham|spam)\]", h));

        var (c7, o7, e7) = Run("similar", "cheap", "--checkpoint", ckpt, "--k", "4");
        Assert.True(c7 == 0, o7 + e7);
        Assert.Equal(4, o7.Split('\n').Count(l => Result.IsMatch(l)));
        var (c8, _, e8) = Run("similar", "cheap", "--checkpoint", ckpt, "--k", "0");
        Assert.Equal(2, c8);
        Assert.Contains("at least one", e8);
    }

    [Fact]
    public void MismatchedMethodAndDataAreRefusedWithAHint()
    {
        using var dir = new TempDirectory();
        var (c1, _, e1) = Run("pretrain", "--dataset", "fashion-mnist", "--method", "mlm", "--run-dir", dir.Path, "--max-steps", "1");
        Assert.Equal(2, c1);
        Assert.Contains("text method", e1);
        var (c2, _, e2) = Run("pretrain", "--dataset", "spamassassin", "--method", "simclr", "--run-dir", dir.Path, "--max-steps", "1");
        Assert.Equal(2, c2);
        Assert.Contains("image method", e2);
        var (c3, _, e3) = Run("pretrain", "--dataset", "spamassassin", "--widths", "8,16", "--run-dir", dir.Path, "--max-steps", "1");
        Assert.Equal(2, c3);
        Assert.Contains("--set encoder.text", e3);
    }
}
