using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Export;
using Pretext.Runs.Modalities;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>What an export to PyTorch wrote.</summary>
/// <param name="Module">Class of pretext_model.py that builds the encoder.</param>
/// <param name="Tensors">Tensors in model.safetensors.</param>
public sealed record PyTorchExport(string Directory, EncoderKind Kind, string Module, int Tensors, int FeatureDim);

/// <summary>What an import from PyTorch wrote: a run folder with config.json and one checkpoint (step 0, no optimiser state).</summary>
public sealed record PyTorchImport(string RunDirectory, string Checkpoint, EncoderKind Kind, int Tensors);

/// <summary>
/// Encoders to and from PyTorch. An export folder holds model.safetensors (the encoder's state_dict in fp32 under the
/// names of a plain PyTorch module, <see cref="PyTorchForm"/>), pretext_model.py (that module in plain PyTorch, plus a
/// safetensors reader and writer) and config.json (the module's arguments, what the encoder reads and how to prepare it,
/// and the whole Pretext run config). An import reads weights saved by that module back into the encoder of the same
/// config and writes a run folder whose checkpoint evaluate, embed, score and cluster take. docs/pytorch.md.
/// </summary>
public static class PyTorchInterchange
{
    public const string WeightsFile = "model.safetensors";
    public const string ConfigFile = "config.json";
    public const string ModuleFile = "pretext_model.py";
    /// <summary>The "format" field of config.json and of model.safetensors' metadata.</summary>
    public const string Format = "pretext-pytorch";
    public const int FormatVersion = 1;

    /// <summary>Exports the encoder of a checkpoint to <paramref name="outDirectory"/> (created; files there of the same names are replaced).</summary>
    /// <exception cref="NotSupportedException">The checkpoint's encoder has no PyTorch form (<see cref="PyTorchForm.Supported"/>).</exception>
    /// <exception cref="InvalidDataException">The file is not a Pretext checkpoint.</exception>
    public static PyTorchExport Export(string checkpointPath, string outDirectory)
    {
        var config = Pretraining.ReadConfig(checkpointPath);
        PyTorchForm.For(config.Encoder);   // an encoder without a PyTorch form fails before anything is built or written
        var (method, loaded, step) = Pretraining.LoadMethod(checkpointPath);
        using (method)
        {
            string? tokenizer = loaded.Encoder.Modality == Modality.Text ? TextModality.TokenizerPath(loaded, checkpointPath) : null;
            if (tokenizer is not null && !File.Exists(tokenizer))
                throw new FileNotFoundException($"The tokenizer of checkpoint '{checkpointPath}' is missing: expected '{tokenizer}'. Keep the checkpoint inside its run folder.", tokenizer);
            var source = new JsonObject
            {
                ["checkpoint"] = Path.GetFullPath(checkpointPath), ["step"] = step, ["method"] = method.Name, ["dataset"] = loaded.Dataset,
            };
            return Export(method.Encoder, loaded, outDirectory, source, tokenizer);
        }
    }

    /// <summary>Exports <paramref name="encoder"/>, built from <paramref name="config"/>.Encoder, to <paramref name="outDirectory"/>.</summary>
    /// <param name="source">Where the weights came from (recorded in config.json; null: nothing recorded).</param>
    /// <param name="tokenizerFile">A text encoder's tokenizer file, copied beside the weights.</param>
    /// <exception cref="NotSupportedException">The encoder has no PyTorch form.</exception>
    public static PyTorchExport Export(Encoder encoder, RunConfig config, string outDirectory, JsonObject? source = null, string? tokenizerFile = null)
    {
        var form = PyTorchForm.For(config.Encoder);
        if (tokenizerFile is not null) config = config with { Encoder = config.Encoder with { Text = config.Encoder.Text with { Tokenizer = TextModality.TokenizerFile } } };
        var input = InputSection(config, encoder);
        Directory.CreateDirectory(outDirectory);
        int count;
        using (var scope = NewDisposeScope())
        {
            // fp32 whatever the run computed in (its parameters are fp32 master weights anyway); SafeTensors writes row-major
            // (NCHW) data, so a channels-last weight arrives in PyTorch's default layout.
            var tensors = new Dictionary<string, Tensor>();
            foreach (var (key, t) in encoder.state_dict())
                tensors.Add(form.Name(key), t.is_floating_point() && t.dtype != ScalarType.Float32 ? t.to(ScalarType.Float32) : t);
            SafeTensors.Save(Path.Combine(outDirectory, WeightsFile), tensors,
                new Dictionary<string, string> { ["format"] = Format, ["module"] = form.Module });
            count = tensors.Count;
        }
        var json = new JsonObject
        {
            ["format"] = Format, ["format_version"] = FormatVersion, ["module"] = form.Module, ["arguments"] = form.Arguments.DeepClone(),
            ["feature_dim"] = encoder.FeatureDim, ["input"] = input,
        };
        if (source is not null) json["source"] = source.DeepClone();
        json["pretext"] = JsonNode.Parse(config.ToJson());
        AtomicFile.WriteText(Path.Combine(outDirectory, ConfigFile), w => w.Write(json.ToJsonString(Indented)));
        AtomicFile.WriteText(Path.Combine(outDirectory, ModuleFile), w => w.Write(ModuleSource()));
        if (tokenizerFile is not null) File.Copy(tokenizerFile, Path.Combine(outDirectory, TextModality.TokenizerFile), overwrite: true);
        return new PyTorchExport(outDirectory, config.Encoder.Kind, form.Module, count, encoder.FeatureDim);
    }

    /// <summary>
    /// Reads <paramref name="weightsPath"/> (default: the export's own model.safetensors; safetensors or a TorchScript module), weights under the PyTorch names of
    /// the encoder in <paramref name="exportDirectory"/>'s config.json, into that encoder, and writes a run folder at
    /// <paramref name="runDirectory"/>: config.json, checkpoints/step-00000000.safetensors (the method's other modules, its
    /// heads, fresh from the run's seed; no optimiser state) and, when the export names one, a text encoder's tokenizer.json.
    /// </summary>
    /// <exception cref="FileNotFoundException">No config.json in the folder, or no weights file.</exception>
    /// <exception cref="InvalidDataException">config.json is not an export, or the weights do not fit the encoder; the message names the missing, unexpected and misshapen tensors.</exception>
    /// <exception cref="InvalidOperationException">The run folder already has checkpoints.</exception>
    public static PyTorchImport Import(string exportDirectory, string? weightsPath, string runDirectory)
    {
        var config = ReadExportConfig(exportDirectory);
        var form = PyTorchForm.For(config.Encoder);
        string weights = weightsPath ?? Path.Combine(exportDirectory, WeightsFile);
        if (!File.Exists(weights)) throw new FileNotFoundException($"Weights file '{weights}' does not exist.", weights);
        string? tokenizer = null;
        if (config.Encoder.Modality == Modality.Text && config.Encoder.Text.Tokenizer is not null)
        {
            tokenizer = Path.Combine(exportDirectory, TextModality.TokenizerFile);
            if (!File.Exists(tokenizer)) throw new FileNotFoundException($"'{exportDirectory}' has no {TextModality.TokenizerFile}; a text encoder's export carries its tokenizer.", tokenizer);
            config = config with { Encoder = config.Encoder with { Text = config.Encoder.Text with { Tokenizer = TextModality.TokenizerFile } } };
        }
        Pretraining.RefuseOverwrite(runDirectory, resume: false);
        using var method = Pretraining.CreateMethod(config);
        int count = LoadWeights(method.Encoder, form, weights);
        var folder = new CheckpointFolder(Path.Combine(runDirectory, "checkpoints"), keep: 1);
        Directory.CreateDirectory(folder.Directory);
        Pretraining.AtomicJson(Path.Combine(runDirectory, "config.json"), config.ToJson());
        if (tokenizer is not null) File.Copy(tokenizer, Path.Combine(runDirectory, TextModality.TokenizerFile), overwrite: true);
        string checkpoint = folder.PathFor(0);
        Checkpoint.Save(checkpoint, 0, method.Name, config.ToJson(), method.Module.state_dict(), null);
        return new PyTorchImport(runDirectory, checkpoint, config.Encoder.Kind, count);
    }

    /// <summary>The Pretext run config inside an export folder's config.json.</summary>
    /// <exception cref="FileNotFoundException">The folder has no config.json.</exception>
    /// <exception cref="InvalidDataException">config.json is not an export of this format.</exception>
    public static RunConfig ReadExportConfig(string exportDirectory)
    {
        string path = Path.Combine(exportDirectory, ConfigFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{exportDirectory}' has no {ConfigFile}; pass the folder `pretext export --format pytorch` wrote.", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not JSON ({e.Message})."); }
        if (root is not JsonObject o || (string?)o["format"] != Format || o["pretext"] is not JsonObject pretext)
            throw new InvalidDataException($"'{path}' is not the config.json of a Pretext PyTorch export (no \"format\": \"{Format}\" with a \"pretext\" run config).");
        if ((int?)o["format_version"] is not FormatVersion)
            throw new InvalidDataException($"'{path}' has format_version {o["format_version"]}; this Pretext reads version {FormatVersion}.");
        return RunConfig.FromJson(pretext.ToJsonString(), path);
    }

    /// <summary>
    /// Copies the tensors of a weights file (safetensors, or a TorchScript module's state_dict), named as <paramref name="form"/>
    /// names them, into <paramref name="encoder"/>.
    /// </summary>
    /// <returns>The number of tensors copied.</returns>
    /// <exception cref="InvalidDataException">Names or shapes differ (the message lists the missing, unexpected and misshapen
    /// tensors with their shapes), or a tensor holds NaN or infinity. Nothing is copied then.</exception>
    public static int LoadWeights(Encoder encoder, PyTorchForm form, string weightsPath)
    {
        var tensors = ReadWeights(weightsPath);
        try
        {
            var target = encoder.state_dict().ToDictionary(kv => form.Name(kv.Key), kv => kv.Value);
            var missing = target.Keys.Where(k => !tensors.ContainsKey(k)).Order(StringComparer.Ordinal).Select(k => $"{k} {Shape(target[k])}").ToList();
            var unexpected = tensors.Keys.Where(k => !target.ContainsKey(k) && !form.NotWeights.Contains(k)).Order(StringComparer.Ordinal).Select(k => $"{k} {Shape(tensors[k])}").ToList();
            var misshapen = target.Where(kv => tensors.TryGetValue(kv.Key, out var s) && !s.shape.SequenceEqual(kv.Value.shape)).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => $"{kv.Key} is {Shape(tensors[kv.Key])}, the encoder's is {Shape(kv.Value)}").ToList();
            if (missing.Count + unexpected.Count + misshapen.Count > 0)
            {
                var parts = new List<string>();
                if (missing.Count > 0) parts.Add($"missing {missing.Count}: {List(missing)}");
                if (unexpected.Count > 0) parts.Add($"unexpected {unexpected.Count}: {List(unexpected)}");
                if (misshapen.Count > 0) parts.Add($"wrong shape {misshapen.Count}: {List(misshapen)}");
                throw new InvalidDataException($"'{weightsPath}' does not fit the {form.Module} encoder ({target.Count} tensors): {string.Join("; ", parts)}. " +
                    $"Save the state_dict of the module {ModuleFile} builds from the export's {ConfigFile} (pretext_model.save_weights).");
            }
            if (Checkpoint.FirstNonFinite(tensors) is { } bad)
                throw new InvalidDataException($"'{weightsPath}' holds NaN or infinity in tensor '{bad.Name}' ({bad.Count} of {bad.Total} tensors); it cannot be imported.");
            using var noGrad = no_grad();
            foreach (var (name, t) in target) t.copy_(tensors[name]);   // copy_ converts dtype and keeps the target's (channels-last) strides
            return target.Count;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// The tensors of a weights file, by name: safetensors (pretext_model.save_weights); a TorchScript module saved by
    /// torch.jit.script(...).save or torch.jit.trace(...).save, whose state_dict carries the module's own names; or a pickled
    /// state dict, torch.save(model.state_dict(), path), read with TorchSharp.PyBridge's unpickler.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is none of these; the message says how to save one.</exception>
    private static Dictionary<string, Tensor> ReadWeights(string path)
    {
        if (LooksLikeSafeTensors(path)) return SafeTensors.Load(path).Tensors;
        jit.ScriptModule module;
        try { module = jit.load(path); }
        catch (Exception e) when (e is ExternalException or ArgumentException)
        {
            // Both torch.jit's files and torch.save's (since PyTorch 1.6) are zip archives; a state dict has no code to load.
            return ReadPickledStateDict(path, FirstLine(e.Message));
        }
        using (module)
            return module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>A pickled state dict (torch.save(model.state_dict())): names to tensors, or the error that says how to save one.</summary>
    private static Dictionary<string, Tensor> ReadPickledStateDict(string path, string notScript)
    {
        System.Collections.Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' is neither safetensors, a TorchScript module ({notScript}) nor a pickled state dict ({FirstLine(e.Message)}). " +
                "Save the weights with pretext_model.save_weights(model, path), torch.save(model.state_dict(), path), or the module with torch.jit.trace(model, x).save(path).");
        }
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in table)
        {
            if (entry.Key is string name && entry.Value is Tensor t) tensors[name] = t.DetachFromDisposeScope();
            else
            {
                foreach (var done in tensors.Values) done.Dispose();
                throw new InvalidDataException($"'{path}' is a pickle, but not a state dict of tensors (entry '{entry.Key}' holds {entry.Value?.GetType().Name ?? "nothing"}). " +
                    "Save model.state_dict(), not the model or an optimiser: torch.save(model.state_dict(), path).");
            }
        }
        return tensors;
    }

    /// <summary>An 8-byte little-endian header length that fits the file, followed by a JSON object.</summary>
    private static bool LooksLikeSafeTensors(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        if (f.Read(head) < 9) return false;
        ulong n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(head);
        return n > 0 && n <= (ulong)(f.Length - 8) && head[8] == (byte)'{';
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    private static string Shape(Tensor t) => "[" + string.Join(",", t.shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string List(List<string> items, int shown = 8) =>
        string.Join(", ", items.Take(shown)) + (items.Count > shown ? $" and {items.Count - shown} more" : "");

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>What the encoder reads and what the PyTorch side does to prepare it (config.json's "input").</summary>
    private static JsonObject InputSection(RunConfig config, Encoder encoder)
    {
        var input = new JsonObject { ["shape"] = new JsonArray(encoder.InputShape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()) };
        switch (config.Encoder.Modality)
        {
            case Modality.Image:
                // The module normalises inside forward, so PyTorch users feed the pixels as they are.
                input["kind"] = "image";
                input["range"] = "pixels in [0, 1], channels first; normalised inside the module";
                input["mean"] = Floats(config.Augment.Mean);
                input["std"] = Floats(config.Augment.Std);
                break;
            case Modality.Table:
                input["kind"] = "table";
                input["range"] = "rows encoded by encode_rows(): standardised numbers, their missing indicators, then one code per categorical column (0: unknown)";
                if (config.Table.Encoding is { } e)
                    input["encoding"] = new JsonObject
                    {
                        ["numeric_names"] = Strings(e.NumericNames), ["mean"] = Floats(e.Mean), ["std"] = Floats(e.Std),
                        ["categorical_names"] = Strings(e.CategoricalNames),
                        ["vocabularies"] = new JsonArray(e.Vocabularies.Select(v => (JsonNode?)Strings(v)).ToArray()),
                    };
                break;
            case Modality.Text:
                var t = config.Encoder.Text;
                input["kind"] = "text";
                input["range"] = "int64 token ids of the tokenizer in tokenizer.json: [CLS] ... [SEP], right-padded with pad_id";
                input["tokenizer"] = t.Tokenizer;
                input["pad_id"] = t.PadId; input["cls_id"] = t.ClsId; input["sep_id"] = t.SepId; input["unknown_id"] = t.UnknownId; input["mask_id"] = t.MaskId;
                break;
            default:
                throw new NotSupportedException($"{config.Encoder.Modality} inputs have no PyTorch description.");
        }
        return input;
    }

    private static JsonArray Floats(IEnumerable<float> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    /// <summary>pretext_model.py, embedded in this assembly.</summary>
    public static string ModuleSource()
    {
        using var stream = typeof(PyTorchInterchange).Assembly.GetManifestResourceStream(ModuleFile)
            ?? throw new InvalidOperationException($"{ModuleFile} is not embedded in {typeof(PyTorchInterchange).Assembly.GetName().Name}; the build lost it.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
