using Pretext.Bench;

// Benchmarks of Pretext. Modes:
//   (none) or `step`  throughput of the SimCLR training step, one JSON line (StepBench.cs)
//   `methods`         the method table of docs/benchmarks.md: every registered method under one time budget (MethodTable.cs)
//   `curation`        linear probe on the K samples curation picks against K random ones (CurationBench.cs)
//   `curve`           accuracy against pretraining time over the checkpoints of one run (CurveBench.cs)
//   `row`             one row of that table in this process (the `methods` mode runs each row as a child process)
//   `probe`           seconds and accuracy of feature extraction, kNN and each linear probe on one checkpoint (ProbeBench.cs)
//   `text`            throughput of the default text pretraining step (tokens/s), one JSON line (TextBench.cs)
//   `series`          anomaly scores on the Suthaharan sets against no-learning baselines; one-step forecasting (SeriesBench.cs)
//   `stream`          `pretext stream` on the sensor data replayed at full speed: readings/s, updates/s, latency, memory (StreamBench.cs)
//   `audio`           Fish Fillets clips: decode + resample and log-mel throughput; cola/msm/cpc pretraining clips/s and peak RSS (AudioBench.cs)
//   `serve`           load test of `pretext serve` /embed on loopback at 1, 8 and 32 clients: requests/s, p50/p99, errors, RSS (ServeBench.cs)
//   `tables-stream`   `pretext score` and `pretext cluster` on a 1,000,000-row CSV read in chunks: rows/s and peak memory (TableStreamBench.cs)
//   `tables-anomaly`  AUROC/AUPRC of the pretrained record scorers against isolation forest, PCA and raw kNN on a table (TableAnomalyBench.cs)
//   `chaos`           a small pretraining killed with SIGKILL at random moments (some inside checkpoint writes) and resumed, against the same run left alone (ChaosBench.cs)
//   `minilm`          all-MiniLM-L6-v2 imported from ONNX against ONNX Runtime on 100 sentences of each of three sets: token and sentence cosines (MiniLmBench.cs)
//   `chaos-stream`    `pretext stream` on a sensor file killed at random moments (some inside state writes) and restarted, against the same stream left alone (StreamChaosBench.cs)
//   `soak`            20,000 steps of a small model in this process: resident memory growth and live tensor count after warm-up (SoakBench.cs)
//   `images-load`     8,000 mixed-size PNGs (some above 100 megapixels) loaded by `pretext pretrain`: peak memory, seconds, oversized ones reported (ImageFolderBench.cs)
//   `mlnet`           docs/mlnet.md's example: a checkpoint's embeddings into an ML.NET trainer on labelled image folders, accuracy (MlNetBench.cs)
//   `peer`            the step against a plain PyTorch SimCLR loop (bench/peer/simclr_peer.py), alternating runs, busy-machine runs discarded (PeerBench.cs)
//   `layers`          the step's convolutions one by one (forward, backward, batch norm + ReLU, inference), against the peer's with --peer (LayerBench.cs)
//   `embed-speed`     the quickstart encoder's embedding throughput against its training samples/s, one JSON line (EmbedSpeedBench.cs)
//   `time-to-accuracy` minutes of pretraining to reach linear-probe thresholds on validation, Pretext against the peer (TimeToAccuracyBench.cs)
// `--text` (the older spelling of the text mode) still works.
if (args.Contains("--text")) args = ["text", .. args.Where(a => a != "--text")];
var mode = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "step";
var rest = new BenchArgs(args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args);
return mode switch
{
    "step" => StepBench.Run(rest),
    "methods" => MethodTable.RunAll(rest),
    "row" => MethodTable.RunRow(rest),
    "curation" => CurationBench.Run(rest),
    "curve" => CurveBench.Run(rest),
    "probe" => ProbeBench.Run(rest),
    "propagate" => PropagationBench.Run(rest),
    "text" => TextBench.Run(rest.Get),
    "series" => SeriesBench.Run(rest),
    "stream" => StreamBench.Run(rest),
    "serve" => ServeBench.Run(rest),
    "tables-stream" => TableStreamBench.Run(rest),
    "tables-anomaly" => TableAnomalyBench.Run(rest),
    "mlnet" => MlNetBench.Run(rest),
    "minilm" => MiniLmBench.Run(rest),
    "audio" => AudioBench.Run(rest),
    "chaos" => ChaosBench.Run(rest),
    "soak" => SoakBench.Run(rest),
    "chaos-stream" => StreamChaosBench.Run(rest),
    "images-load" => ImageFolderBench.Run(rest),
    "peer" => PeerBench.Run(rest),
    "embed-speed" => EmbedSpeedBench.Run(rest),
    "layers" => LayerBench.Run(rest),
    "time-to-accuracy" => TimeToAccuracyBench.Run(rest),
    _ => Fail($"Unknown mode '{mode}'. Modes: step, methods, row, curation, curve, probe, propagate, text, series, stream, serve, tables-stream, tables-anomaly, mlnet, minilm, audio, chaos, chaos-stream, soak, images-load, peer, embed-speed, layers, time-to-accuracy."),
};

static int Fail(string message)
{
    Console.Error.WriteLine("error: " + message);
    return 2;
}
