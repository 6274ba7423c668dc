using System.Diagnostics;
using System.Text.Json;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Label propagation on frozen features against the plain linear probe, on the validation split only: for each label
/// count per class and each propagation setting, the mean validation accuracy over the label subsets of
///   (a) the linear probe on the labelled samples (what evaluate reports as "linear"),
///   (b) kNN from the pool with propagated pseudo-labels,
///   (c) the linear probe on every pool sample with its pseudo-label,
/// on the checkpoint's features and on the no-learning baseline's (raw pixels, TF-IDF), one JSON line each. The test
/// split is not read: this picks settings, the evaluate command reports.
///   dotnet run -c Release --project bench/Pretext.Bench -- propagate --checkpoint runs/x/checkpoints/step-N.safetensors
///       [--per-class 10,1] [--neighbours 10,20,50] [--alpha 0.9,0.99] [--gamma 3] [--subsets 5] [--limit-train N] [--threads 2]
/// </summary>
internal static class PropagationBench
{
    public static int Run(BenchArgs a)
    {
        string path = a.Get("checkpoint", "");
        if (!File.Exists(path)) { Console.Error.WriteLine($"No checkpoint '{path}'."); return 2; }
        set_num_threads(a.Int("threads", 2));
        var (method, cfg, _) = Pretraining.LoadMethod(path);
        using var _m = method;
        var modality = ModalityCatalog.Get(cfg.Encoder.Modality);
        var (train, test) = modality.Load(cfg.Dataset, cfg, null, Console.Error.WriteLine, needTest: true);
        using var _t = train;
        using var _s = test;
        var inputs = modality.InputsFor(cfg, path);
        using var _i = inputs;
        var ev = cfg.Evaluation;
        var trainY = train.Labels!;
        int classes = Math.Max(train.ClassNames.Count, trainY.Max() + 1);
        var (pool, valIdx) = ValidationSplit.Carve(trainY, train.SampleId, ev.ValidationFraction, ev.ValidationSeed);
        int limit = a.Int("limit-train", 0);
        if (limit > 0) pool = pool.Take(limit).ToArray();
        var valY = valIdx.Select(i => trainY[i]).ToArray();
        var poolY = pool.Select(i => trainY[i]).ToArray();

        var clock = Stopwatch.StartNew();
        var data = inputs.Encode(train);
        using var all = Features.Extract(method.Encoder, data, inputs.Normalization, inputs.FeatureBatchSize);
        var (rawTrain, rawTest, standardize) = inputs.BaselineFeatures(train, test!);
        rawTest.Dispose();
        using var _r = rawTrain;
        Console.Error.WriteLine($"features {clock.Elapsed.TotalSeconds:F0} s");

        var perClass = BenchArgs.Ints(a.Get("per-class", "10"));
        var ks = BenchArgs.Ints(a.Get("neighbours", "20"));
        var alphas = BenchArgs.Doubles(a.Get("alpha", "0.99"));
        var gammas = BenchArgs.Doubles(a.Get("gamma", "3"));
        int subsets = a.Int("subsets", 5);
        using var poolIx = tensor(pool);
        using var valIx = tensor(valIdx);
        foreach (var (name, source, std) in new[] { ("pretrained", all, true), ("baseline", rawTrain, standardize) })
        {
            using var poolF = source.index_select(0, poolIx);
            using var valF = source.index_select(0, valIx);
            var probe = ev.Probe with { Standardize = std };
            foreach (var gamma in gammas)
            foreach (var k in ks)
            {
                clock.Restart();
                using var graph = AffinityGraph.Build(poolF, k, gamma);
                double graphSeconds = clock.Elapsed.TotalSeconds;
                foreach (var n in perClass)
                foreach (var alpha in alphas)
                {
                    var linear = new List<double>(); var knn = new List<double>(); var probed = new List<double>(); var pseudoAcc = new List<double>();
                    clock.Restart();
                    for (int seed = 0; seed < subsets; seed++)
                    {
                        // Subsets are positions in the pool, drawn from the pool's labels.
                        var local = LabelSubsets.PerClass(poolY, n, seed, Enumerable.Range(0, pool.Length).Select(i => (long)i).ToArray());
                        var localY = local.Select(i => poolY[i]).ToArray();
                        using var ix = tensor(local);
                        using (var x = poolF.index_select(0, ix))
                        using (var m = LinearProbe.Train(x, localY, classes, probe, (valF, valY)))
                            linear.Add(Metrics.Accuracy(m.Predict(valF), valY));
                        using var scores = LabelPropagation.Propagate(graph, local, localY, classes, new PropagationOptions { Neighbours = k, Gamma = gamma, Alpha = alpha });
                        var (pseudo, _) = LabelPropagation.PseudoLabels(scores, local, localY);
                        pseudoAcc.Add(Metrics.Accuracy(pseudo, poolY));
                        knn.Add(Metrics.Accuracy(Knn.Predict(poolF, pseudo, valF, classes, ev.KnnK, ev.KnnTemperature), valY));
                        using (var m = LinearProbe.Train(poolF, pseudo, classes, probe, (valF, valY)))
                            probed.Add(Metrics.Accuracy(m.Predict(valF), valY));
                    }
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        bench = "propagate", features = name, per_class = n, k, gamma, alpha, subsets,
                        linear = R(linear), linear_std = RS(linear), pseudo_label_accuracy = R(pseudoAcc),
                        propagated_knn = R(knn), propagated_knn_std = RS(knn), propagated_linear = R(probed), propagated_linear_std = RS(probed),
                        graph_seconds = Math.Round(graphSeconds, 1), seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                    }));
                }
            }
        }
        return 0;
    }

    private static double R(List<double> v) => Math.Round(100 * v.Average(), 2);
    private static double RS(List<double> v) => Math.Round(100 * Metrics.SampleStd(v), 2);
}
