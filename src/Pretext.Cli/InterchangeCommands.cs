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
        var from = new Option<string>("--from") { Description = "The folder `pretext export --format pytorch` wrote (its config.json says which encoder the weights belong to).", Required = true };
        var weights = new Option<string?>("--weights") { Description = "Weights under the same PyTorch names: a safetensors file (pretext_model.save_weights after training in PyTorch) or a TorchScript module of the exported class (torch.jit.trace(model, x).save(path)) (default: the folder's model.safetensors)." };
        var runDir = new Option<string>("--run-dir") { Description = "Run folder to create: config.json and checkpoints/step-00000000.safetensors, which evaluate, embed, score and cluster take.", Required = true };
        var cmd = new Command("import", "Import encoder weights trained in PyTorch into a Pretext checkpoint (docs/pytorch.md).") { from, weights, runDir };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var r = PyTorchInterchange.Import(p.GetValue(from)!, p.GetValue(weights), p.GetValue(runDir)!);
            Console.WriteLine($"Imported the {r.Kind} encoder ({r.Tensors} tensors). Checkpoint: {r.Checkpoint}");
            return 0;
        }));
        return cmd;
    }
}
