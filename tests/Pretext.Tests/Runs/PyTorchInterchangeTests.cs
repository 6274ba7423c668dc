using System.Text.Json.Nodes;
using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Tests.Cli;
using Pretext.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>
/// Encoders to PyTorch and back, checked against Debian's PyTorch: the exported module gives Pretext's embeddings, and
/// weights trained in PyTorch come back into Pretext giving PyTorch's. One case per encoder family with a PyTorch form.
/// </summary>
[Collection("console")]
public class PyTorchInterchangeTests(ITestOutputHelper output)
{
    /// <summary>Largest difference allowed between the two frameworks' fp32 embeddings, relative to the largest feature (at least 1).</summary>
    private const double Tolerance = 1e-4;

    public static TheoryData<EncoderKind> Kinds => new(PyTorchForm.Supported);

    /// <summary>A small encoder of <paramref name="kind"/> in a config of its modality's method, and fixed inputs it reads (B = 6).</summary>
    private static (RunConfig Config, Tensor Inputs) Sample(EncoderKind kind)
    {
        using var g = new Generator(7);
        switch (kind)
        {
            case EncoderKind.ResNet:
            {
                // The quickstart's encoder (Fashion-MNIST's statistics, normalised inside the PyTorch module; channels-last
                // storage) with a second block in the first stage, in fp32.
                var cfg = Presets.For("simclr", "fashion-mnist", threads: 1);
                cfg = cfg with
                {
                    Encoder = cfg.Encoder with { Widths = [32, 64, 128, 256], Blocks = [2, 1, 1, 1], Precision = Precision.Float32, Layout = MemoryLayout.ChannelsLast },
                    Methods = new MethodSettings { SimClr = new SimClrOptions { ProjectionDim = 8 } },
                };
                return (cfg, rand([6, 1, 28, 28], generator: g));
            }
            case EncoderKind.Mlp:
            {
                // Colour with its own per-channel statistics.
                var cfg = ImageModality.WithShape(Presets.For("simclr", "fashion-mnist", threads: 1), 3, 8);
                cfg = cfg with
                {
                    Encoder = cfg.Encoder with { Kind = EncoderKind.Mlp, Hidden = [32, 16] },
                    Augment = cfg.Augment with { Mean = [0.4f, 0.5f, 0.6f], Std = [0.2f, 0.25f, 0.3f] },
                    Methods = new MethodSettings { SimClr = new SimClrOptions { ProjectionDim = 8 } },
                };
                return (cfg, rand([6, 3, 8, 8], generator: g));
            }
            case EncoderKind.TableMlp:
            {
                var cfg = Presets.For("scarf", "credit-g", threads: 1);
                cfg = cfg with { Encoder = cfg.Encoder with { Table = new TableEncoderConfig { Numeric = 3, Cardinalities = [4, 3], Hidden = [16, 8], Dropout = 0.1 } } };
                var numbers = randn([6, 3], generator: g);
                var missing = rand([6, 3], generator: g).gt(0.7).to(ScalarType.Float32);
                // Codes in range, the unknown bucket, and codes outside the vocabulary (which both sides read as unknown).
                var codes = tensor(new float[] { 1, 2, 3, 0, 5, -1, 2, 1, 0, 2, 3, 1 }).view(6, 2);
                return (cfg, cat([numbers.mul(missing.logical_not()), missing, codes], 1));
            }
            case EncoderKind.Transformer:
            {
                var cfg = Presets.For("simcse", "spamassassin", threads: 1);
                cfg = cfg with
                {
                    Encoder = cfg.Encoder with
                    {
                        Precision = Precision.Float32,
                        Text = cfg.Encoder.Text with { VocabSize = 40, MaxLength = 10, Dim = 16, Depth = 2, Heads = 2, MlpRatio = 2, Tokenizer = null },
                    },
                };
                // [CLS] tokens [SEP], right-padded with 0, of lengths 10 down to 3.
                var ids = randint(5, 40, [6, 10], dtype: ScalarType.Int64, generator: g);
                int[] lengths = [10, 9, 7, 5, 4, 3];
                for (int i = 0; i < 6; i++)
                {
                    ids[i, 0] = tensor(2L);
                    ids[i, lengths[i] - 1] = tensor(3L);
                    if (lengths[i] < 10) ids[i].narrow(0, lengths[i], 10 - lengths[i]).fill_(0);
                }
                return (cfg, ids);
            }
            default:
                throw new InvalidOperationException($"PyTorchForm supports {kind}; add a sample of it here.");
        }
    }

    /// <summary>
    /// Every floating-point tensor of the encoder's state given values that matter: batch-norm and layer-norm scales and
    /// shifts, running statistics and the batch counters away from their initial 1, 0 and 0 (the ResNet starts each
    /// block's last scale at 0, which would hide a wrong name there).
    /// </summary>
    private static void Scramble(nn.Module encoder, ulong seed)
    {
        using var g = new Generator(seed);
        using var noGrad = no_grad();
        foreach (var (name, t) in encoder.state_dict())
        {
            if (!t.is_floating_point()) t.fill_(11);
            else if (name.EndsWith("running_var", StringComparison.Ordinal)) t.uniform_(0.5, 2.0, g);
            else if (name.EndsWith("running_mean", StringComparison.Ordinal) || name.EndsWith("bias", StringComparison.Ordinal)) t.normal_(0, 0.2, g);
            else if (t.dim() == 1) t.uniform_(0.5, 1.5, g);
        }
    }

    /// <summary>Pretext's fp32 embeddings of <paramref name="inputs"/> as evaluation computes them (normalised, eval mode).</summary>
    private static Tensor Embed(Encoder encoder, RunConfig config, Tensor inputs)
    {
        using var noGrad = no_grad();
        encoder.eval();
        var x = config.Encoder.Modality == Pretext.Data.Modality.Image ? config.Augment.BuildNormalize().Apply(inputs) : inputs;
        return encoder.forward(x);
    }

    private static double MaxAbs(Tensor t) { using var m = t.abs().max(); return m.item<float>(); }
    private static double MaxDiff(Tensor a, Tensor b) { using var d = a.sub(b); return MaxAbs(d); }

    private static Tensor ReadFeatures(string path)
    {
        var (tensors, _) = SafeTensors.Load(path);
        return tensors["features"];
    }

    [PyTorchTheory, MemberData(nameof(Kinds))]
    public void PyTorchLoadsTheExportAndGetsPretextsEmbeddings(EncoderKind kind)
    {
        torch.set_num_threads(1);
        using var dir = new TempDirectory();
        var (cfg, inputs) = Sample(kind);
        using var method = Pretraining.CreateMethod(cfg);
        Scramble(method.Encoder, 3);
        using var ours = Embed(method.Encoder, cfg, inputs);

        var export = dir.Combine("export");
        PyTorchInterchange.Export(method.Encoder, cfg, export);
        SafeTensors.Save(dir.File("inputs.safetensors"), new Dictionary<string, Tensor> { ["inputs"] = inputs });
        PythonTorch.Run(export, PyTorchInterchange.ModuleFile, dir.File("inputs.safetensors"), dir.File("features.safetensors"));
        using var theirs = ReadFeatures(dir.File("features.safetensors"));

        Assert.Equal(ours.shape, theirs.shape);
        double diff = MaxDiff(ours, theirs), scale = MaxAbs(ours);
        output.WriteLine($"{kind}: PyTorch {PythonTorch.Version} against Pretext, max |difference| {diff:E2} (largest feature {scale:F3})");
        Assert.True(diff <= Tolerance * Math.Max(1, scale), $"{kind}: PyTorch's embeddings differ from Pretext's by up to {diff:E3} (largest feature {scale:F3}).");
        if (kind == EncoderKind.ResNet && NativeBf16.Available)
        {
            // What a run with --precision Auto computes here (bf16 convolutions on fp32 master weights) against the fp32 module.
            var bf16 = cfg with { Encoder = cfg.Encoder with { Precision = Precision.BFloat16 } };
            using var encoder = bf16.Encoder.Build();
            using (no_grad())
                foreach (var (name, t) in encoder.state_dict()) t.copy_(method.Encoder.state_dict()[name]);
            using var mixed = Embed(encoder, bf16, inputs);
            output.WriteLine($"{kind}: Pretext in bf16 mixed precision against PyTorch in fp32, max |difference| {MaxDiff(mixed, theirs):E2}");
        }
    }

    [PyTorchTheory, MemberData(nameof(Kinds))]
    public void WeightsTrainedInPyTorchComeBackAndGivePyTorchsEmbeddings(EncoderKind kind)
    {
        torch.set_num_threads(1);
        using var dir = new TempDirectory();
        var (cfg, inputs) = Sample(kind);
        var export = dir.Combine("export");
        Tensor before;
        using (var method = Pretraining.CreateMethod(cfg))
        {
            Scramble(method.Encoder, 5);
            before = Embed(method.Encoder, cfg, inputs);
            PyTorchInterchange.Export(method.Encoder, cfg, export);
        }
        SafeTensors.Save(dir.File("inputs.safetensors"), new Dictionary<string, Tensor> { ["inputs"] = inputs });
        // A few SGD steps in training mode: every weight moves, and batch norm's running statistics and counters change.
        File.WriteAllText(dir.File("train.py"), """
            import sys, torch
            torch.set_num_threads(1)
            export, inputs, weights, features = sys.argv[1:5]
            sys.path.insert(0, export)
            import pretext_model as pm
            torch.manual_seed(0)
            model = pm.load(export)
            x = pm.read_safetensors(inputs)["inputs"]
            model.train()
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            for _ in range(4):
                opt.zero_grad()
                loss = (model(x) - 1.0).pow(2).mean()
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                f = model(x)
            pm.save_weights(model, weights)
            pm.write_safetensors(features, {"features": f})
            torch.jit.trace(model, x).save(sys.argv[5])
            torch.save(model.state_dict(), sys.argv[6])
            """);
        PythonTorch.Run(dir.Path, dir.File("train.py"), export, dir.File("inputs.safetensors"), dir.File("trained.safetensors"), dir.File("features.safetensors"),
            dir.File("traced.pt"), dir.File("state_dict.pt"));
        using var theirs = ReadFeatures(dir.File("features.safetensors"));
        using (before)
        {
            double moved = MaxDiff(before, theirs);
            Assert.True(moved > 1e-2, $"Training in PyTorch hardly changed the embeddings ({moved:E2}); the test would not see a lost import.");
        }

        // The safetensors file through the command line, the TorchScript module through the library.
        var run = dir.Combine("imported");
        var (code, stdout, stderr) = CliRunner.Run("import", "--from", export, "--weights", dir.File("trained.safetensors"), "--run-dir", run);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains(Path.Combine(run, "checkpoints", "step-00000000.safetensors"), stdout);
        var traced = PyTorchInterchange.Import(export, dir.File("traced.pt"), dir.Combine("imported-torchscript"));
        var pickled = PyTorchInterchange.Import(export, dir.File("state_dict.pt"), dir.Combine("imported-pickle"));
        foreach (var (source, checkpoint) in new[] { ("safetensors", Path.Combine(run, "checkpoints", "step-00000000.safetensors")), ("TorchScript", traced.Checkpoint), ("torch.save state dict", pickled.Checkpoint) })
        {
            var (imported, config, _) = Pretraining.LoadMethod(checkpoint);
            using (imported)
            {
                using var ours = Embed(imported.Encoder, config, inputs);
                double diff = MaxDiff(ours, theirs), scale = MaxAbs(theirs);
                output.WriteLine($"{kind}: trained in PyTorch {PythonTorch.Version}, imported from {source}: max |difference| {diff:E2} (largest feature {scale:F3})");
                Assert.True(diff <= Tolerance * Math.Max(1, scale), $"{kind}: the encoder imported from {source} gives embeddings that differ from PyTorch's by up to {diff:E3}.");
            }
        }
    }

    [PyTorchFact]
    public void EncodeRowsInPythonMatchesTheTableEncodingPretextFitted()
    {
        using var dir = new TempDirectory();
        float nan = float.NaN;
        // Numbers with a missing one; categories with a missing value and one the training rows never had.
        var train = new Pretext.Data.Tables.TableRows("train", ["amount", "visits"], ["city", "member"], [[], ["yes", "no"]],
            [10f, 1f, 30f, 4f, nan, 9f, 20f, 2f], ["Oslo", "yes", "Rome", "no", "Oslo", null, "Bern", "no"], null, [], ["1", "2", "3", "4"], null);
        var rows = new Pretext.Data.Tables.TableRows("new", ["amount", "visits"], ["city", "member"], [[], ["yes", "no"]],
            [15f, nan, 40f, 3f], ["Lima", "no", null, "yes"], null, [], ["5", "6"], null);
        var enc = Pretext.Data.Tables.TableEncoding.Fit(train);
        var cfg = Presets.For("scarf", "credit-g", threads: 1);
        cfg = cfg with
        {
            Encoder = cfg.Encoder with { Table = cfg.Encoder.Table with { Numeric = 2, Cardinalities = enc.Cardinalities, Hidden = [8] } },
            Table = cfg.Table with { Encoding = enc },
        };
        using (var encoder = cfg.Encoder.Build()) PyTorchInterchange.Export(encoder, cfg, dir.Combine("export"));
        File.WriteAllText(dir.File("rows.json"), """[{"amount": 15, "visits": null, "city": "Lima", "member": "no"}, {"amount": 40, "visits": 3, "member": "yes"}]""");
        File.WriteAllText(dir.File("encode.py"), """
            import json, sys
            sys.path.insert(0, sys.argv[1])
            import pretext_model as pm
            config = pm.read_config(sys.argv[1])
            rows = json.load(open(sys.argv[2]))
            pm.write_safetensors(sys.argv[3], {"features": pm.encode_rows(config, rows)})
            """);
        PythonTorch.Run(dir.Path, dir.File("encode.py"), dir.Combine("export"), dir.File("rows.json"), dir.File("encoded.safetensors"));
        using var theirs = ReadFeatures(dir.File("encoded.safetensors"));
        using var ours = enc.Apply(rows);
        Assert.Equal(ours.shape, theirs.shape);
        Assert.True(MaxDiff(ours, theirs) < 1e-6, $"encode_rows gave {string.Join(",", theirs.data<float>().ToArray())}; Pretext {string.Join(",", ours.data<float>().ToArray())}.");
    }

    [Fact]
    public void AWeightsFileOfNoKnownFormIsRefusedNamingTheFileAndTheThreeWaysToSaveOne()
    {
        using var dir = new TempDirectory();
        var (cfg, inputs) = Sample(EncoderKind.ResNet);
        inputs.Dispose();
        using (var method = Pretraining.CreateMethod(cfg)) PyTorchInterchange.Export(method.Encoder, cfg, dir.Combine("export"));
        // Random bytes, and a zip archive (the container of TorchScript and of torch.save) that holds neither.
        File.WriteAllBytes(dir.File("noise.pt"), Enumerable.Range(0, 300).Select(i => (byte)(i * 37 % 251)).ToArray());
        using (var zip = System.IO.Compression.ZipFile.Open(dir.File("other.pt"), System.IO.Compression.ZipArchiveMode.Create))
        using (var w = new StreamWriter(zip.CreateEntry("other/readme.txt").Open())) w.Write("not weights");
        foreach (var name in new[] { "noise.pt", "other.pt" })
        {
            var e = Assert.Throws<InvalidDataException>(() => PyTorchInterchange.Import(dir.Combine("export"), dir.File(name), dir.Combine("run-" + name)));
            Assert.Contains(name, e.Message);
            Assert.Contains("torch.save(model.state_dict(), path)", e.Message);
            Assert.Contains("torch.jit.trace", e.Message);
            Assert.Contains("save_weights", e.Message);
            Assert.False(Directory.Exists(Path.Combine(dir.Combine("run-" + name), "checkpoints")) && Directory.EnumerateFiles(Path.Combine(dir.Combine("run-" + name), "checkpoints")).Any());
        }
    }

    [Fact]
    public void TheResNetIsExportedUnderTorchvisionsNamesOneForEachTensorInFp32()
    {
        using var dir = new TempDirectory();
        var (cfg, inputs) = Sample(EncoderKind.ResNet);
        inputs.Dispose();
        using var method = Pretraining.CreateMethod(cfg);
        var r = PyTorchInterchange.Export(method.Encoder, cfg, dir.Path);
        var (tensors, meta) = SafeTensors.Load(dir.File(PyTorchInterchange.WeightsFile));
        try
        {
            Assert.Equal(method.Encoder.state_dict().Count, tensors.Count);
            Assert.Equal(r.Tensors, tensors.Count);
            foreach (var name in new[] { "conv1.weight", "bn1.running_var", "layer1.0.conv2.weight", "layer1.1.bn2.weight", "layer2.0.downsample.0.weight", "layer4.0.downsample.1.num_batches_tracked" })
                Assert.True(tensors.ContainsKey(name), $"No '{name}' among {string.Join(", ", tensors.Keys)}");
            Assert.All(tensors.Where(kv => kv.Value.is_floating_point()), kv => Assert.Equal(ScalarType.Float32, kv.Value.dtype));
            Assert.Equal(PyTorchInterchange.Format, meta["format"]);
            // Channels-last in Pretext, row-major NCHW in the file: the first input channel's 3x3 kernel of the stem's first filter.
            using var stem = method.Encoder.state_dict()["stem.weight"].contiguous();
            Assert.Equal(stem.data<float>().ToArray(), tensors["conv1.weight"].contiguous().data<float>().ToArray());
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }

        var json = JsonNode.Parse(File.ReadAllText(dir.File(PyTorchInterchange.ConfigFile)))!;
        Assert.Equal("ResNet", (string?)json["module"]);
        Assert.Equal(cfg.Augment.Mean, json["input"]!["mean"]!.AsArray().Select(n => (float)n!).ToArray());
        Assert.Equal(cfg.ToJson(), RunConfig.FromJson(json["pretext"]!.ToJsonString(), "export").ToJson());
        Assert.Contains("class ResNet(nn.Module)", File.ReadAllText(dir.File(PyTorchInterchange.ModuleFile)));
    }

    [Fact]
    public void ExportOfAPretrainedCheckpointCarriesItsEncoderAndRecordsTheSource()
    {
        using var data = TestData.Blobs(32);
        using var dir = new TempDirectory();
        var cfg = Pretext.Tests.Training.TrainingLoopTests.Tiny(steps: 2, checkpointEvery: 2);
        var run = Pretraining.Run(cfg, data, dir.Combine("run"), resume: false);
        var export = dir.Combine("export");
        var (code, stdout, stderr) = CliRunner.Run("export", "--checkpoint", run.FinalCheckpoint, "--format", "pytorch", "--out", export);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("pretext_model.load", stdout);

        var (method, _, _) = Pretraining.LoadMethod(run.FinalCheckpoint);
        var (tensors, _) = SafeTensors.Load(Path.Combine(export, PyTorchInterchange.WeightsFile));
        using (method)
        {
            try
            {
                var form = PyTorchForm.For(cfg.Encoder);
                var state = method.Encoder.state_dict();
                Assert.Equal(state.Count, tensors.Count);
                foreach (var (key, t) in state)
                {
                    using var same = t.to(tensors[form.Name(key)].dtype).eq(tensors[form.Name(key)]).all();
                    Assert.True(same.item<bool>(), $"{key} (exported as {form.Name(key)}) differs from the checkpoint's.");
                }
            }
            finally { foreach (var t in tensors.Values) t.Dispose(); }
        }
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(export, PyTorchInterchange.ConfigFile)))!;
        Assert.Equal(2, (long)json["source"]!["step"]!);
        Assert.Equal("simclr", (string?)json["source"]!["method"]);

        // The export's own weights imported back: the same encoder, bit for bit (channels-last storage restored).
        var (c1, o1, e1) = CliRunner.Run("import", "--from", export, "--run-dir", dir.Combine("back"));
        Assert.True(c1 == 0, o1 + e1);
        var (original, _, _) = Pretraining.LoadMethod(run.FinalCheckpoint);
        var (back, _, _) = Pretraining.LoadMethod(Path.Combine(dir.Combine("back"), "checkpoints", "step-00000000.safetensors"));
        using (original)
        using (back)
        {
            var expected = original.Encoder.state_dict();
            foreach (var (key, t) in back.Encoder.state_dict())
            {
                using var same = t.eq(expected[key]).all();
                Assert.True(same.item<bool>(), $"{key} changed on the way out and back.");
            }
        }
        var (c3, _, e3) = CliRunner.Run("import", "--from", export, "--run-dir", dir.Combine("back"));
        Assert.Equal(2, c3);
        Assert.Contains("already has checkpoints", e3);

        var (code2, _, err2) = CliRunner.Run("export", "--checkpoint", dir.File("missing.safetensors"), "--out", export);
        Assert.Equal(2, code2);
        Assert.Contains("missing.safetensors", err2);
    }

    [Fact]
    public void ATextExportCarriesItsTokenizerAndImportsBackToTheSameEmbeddings()
    {
        using var dir = new TempDirectory();
        var docs = dir.Combine("docs");
        TextEndToEndTests.WriteTextFolder(docs, 40);
        var run = dir.Combine("run");
        var (c1, o1, e1) = CliRunner.Run(["pretrain", "--dataset", docs, "--method", "mlm", "--run-dir", run, "--batch-size", "16", "--max-steps", "2", "--threads", "1", .. TextEndToEndTests.Small]);
        Assert.True(c1 == 0, o1 + e1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000002.safetensors");
        var export = dir.Combine("export");
        var (c2, o2, e2) = CliRunner.Run("export", "--checkpoint", ckpt, "--format", "pytorch", "--out", export);
        Assert.True(c2 == 0, o2 + e2);
        Assert.Equal(File.ReadAllBytes(Path.Combine(run, TextModality.TokenizerFile)), File.ReadAllBytes(Path.Combine(export, TextModality.TokenizerFile)));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(export, PyTorchInterchange.ConfigFile)))!;
        Assert.Equal("TextTransformer", (string?)json["module"]);
        Assert.Equal(TextModality.TokenizerFile, (string?)json["input"]!["tokenizer"]);

        var back = dir.Combine("back");
        var (c3, o3, e3) = CliRunner.Run("import", "--from", export, "--run-dir", back);
        Assert.True(c3 == 0, o3 + e3);
        var embeddings = new List<string>();
        foreach (var checkpoint in new[] { ckpt, Path.Combine(back, "checkpoints", "step-00000000.safetensors") })
        {
            var csv = dir.File($"emb{embeddings.Count}.csv");
            var (c, o, e) = CliRunner.Run("embed", "--checkpoint", checkpoint, "--dataset", docs, "--out", csv, "--threads", "1");
            Assert.True(c == 0, o + e);
            embeddings.Add(File.ReadAllText(csv));
        }
        Assert.Equal(embeddings[0], embeddings[1]);
    }

    [Fact]
    public void WeightsThatDoNotFitAreRefusedNamingMissingUnexpectedAndMisshapenTensors()
    {
        using var dir = new TempDirectory();
        var (cfg, inputs) = Sample(EncoderKind.ResNet);
        inputs.Dispose();
        var export = dir.Combine("export");
        using (var method = Pretraining.CreateMethod(cfg)) PyTorchInterchange.Export(method.Encoder, cfg, export);
        var (tensors, _) = SafeTensors.Load(Path.Combine(export, PyTorchInterchange.WeightsFile));
        tensors.Remove("layer1.0.conv1.weight", out var dropped);
        dropped!.Dispose();
        tensors["fc.weight"] = zeros(10, 16);
        tensors["bn1.weight"].Dispose();
        tensors["bn1.weight"] = ones(9);
        SafeTensors.Save(dir.File("bad.safetensors"), tensors);
        foreach (var t in tensors.Values) t.Dispose();

        var run = dir.Combine("run");
        var (code, stdout, stderr) = CliRunner.Run("import", "--from", export, "--weights", dir.File("bad.safetensors"), "--run-dir", run);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", stderr);
        foreach (var part in new[] { "missing 1: layer1.0.conv1.weight [32,32,3,3]", "unexpected 1: fc.weight [10,16]", "wrong shape 1: bn1.weight is [9], the encoder's is [32]", "bad.safetensors" })
            Assert.Contains(part, stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
        Assert.False(Directory.Exists(Path.Combine(run, "checkpoints")), "A refused import must write no checkpoint.");
    }

    [Fact]
    public void AnEncoderWithoutAPyTorchFormIsRefusedBeforeAnythingIsWritten()
    {
        var e = Assert.Throws<NotSupportedException>(() => PyTorchForm.For(new EncoderConfig { Kind = EncoderKind.Tcn }));
        foreach (var kind in PyTorchForm.Supported) Assert.Contains(kind.ToString(), e.Message);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void PyTorchNamesAreOneToOne(EncoderKind kind)
    {
        var (cfg, inputs) = Sample(kind);
        inputs.Dispose();
        using var encoder = cfg.Encoder.Build();
        var keys = encoder.state_dict().Keys.ToList();
        var form = PyTorchForm.For(cfg.Encoder);
        Assert.Equal(keys.Count, keys.Select(form.Name).Distinct().Count());
    }
}
