using System.Diagnostics;
using System.Text.Json;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Time and accuracy of the frozen-encoder evaluation of one checkpoint: feature extraction, kNN, and the
/// linear probe at each label fraction of the run's config (100 %, 10 %, 1 % by default), one JSON line
/// each with seconds and test accuracy. This is the part of every quickstart, table row and curve point
/// that does not depend on the method, so its speed is worth watching on its own.
///   dotnet run -c Release --project bench/Pretext.Bench -- probe --checkpoint runs/x/checkpoints/step-00000300.safetensors [--threads 2]
///       [--selection-samples 0,10000] (each probe once per value of LinearProbeOptions.SelectionSamples; default the run's)
///       [--fractions 1,0.1,0.01] (label fractions of the probes; default the run's)
///       [--iterations 300,1000] (each probe once per value of LinearProbeOptions.Iterations, to see whether the fit has converged)
/// </summary>
internal static class ProbeBench
{
    public static int Run(BenchArgs a)
    {
        string path = a.Get("checkpoint", "");
        if (!File.Exists(path)) return Fail($"No checkpoint '{path}'; pass --checkpoint of a run's checkpoints/step-*.safetensors.");
        int threads = a.Int("threads", 2);
        set_num_threads(threads);
        var (method, cfg, _) = Pretraining.LoadMethod(path);
        using var _m = method;
        using var fetcher = new DatasetFetcher();
        using var train = fetcher.LoadSplit(cfg.Dataset, DataSplit.Train);
        using var test = fetcher.LoadSplit(cfg.Dataset, DataSplit.Test);
        var trainY = train.Labels!;
        var testY = test.Labels!;
        int classes = trainY.Max() + 1;
        var ev = cfg.Evaluation;
        // --selection-samples 0,10000 judges every probe once per value (0 = choose the penalty on all labels).
        var selections = a.Has("selection-samples") ? BenchArgs.Ints(a.Get("selection-samples", "")) : [ev.Probe.SelectionSamples];

        var iterationCounts = a.Has("iterations") ? BenchArgs.Ints(a.Get("iterations", "")) : [ev.Probe.Iterations];

        void Emit(string stage, double seconds, double? accuracy, int? labelled = null, double? weightDecay = null, int? selectionSamples = null, int? iterations = null) =>
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                bench = "probe", stage, seconds = Math.Round(seconds, 2), accuracy = accuracy is null ? (double?)null : Math.Round(100 * accuracy.Value, 2),
                labelled, weight_decay = weightDecay, selection_samples = selectionSamples, iterations, threads,
            }));

        var clock = Stopwatch.StartNew();
        var norm = cfg.Augment.BuildNormalize();
        using var trainF = Features.Extract(method.Encoder, train, norm);
        using var testF = Features.Extract(method.Encoder, test, norm);
        Emit("features", clock.Elapsed.TotalSeconds, null);

        clock.Restart();
        double knn = Knn.Accuracy(trainF, trainY, testF, testY, classes, ev.KnnK, ev.KnnTemperature);
        Emit("knn", clock.Elapsed.TotalSeconds, knn);

        var fractions = a.Has("fractions") ? BenchArgs.Doubles(a.Get("fractions", "")) : ev.LinearFractions;
        foreach (var f in fractions)
        foreach (var seed in LabelSubsets.SeedsFor(f, ev.Seeds, ev.SubsetSeed))
        {
            var idx = LabelSubsets.Stratified(trainY, f, seed);
            using var ix = tensor(idx);
            using var x = trainF.index_select(0, ix);
            var y = idx.Select(i => trainY[i]).ToArray();
            foreach (var selection in selections)
            foreach (var iterations in iterationCounts)
            {
                clock.Restart();
                var r = LinearProbe.Evaluate(x, y, testF, testY, classes, ev.Probe with { SelectionSamples = selection, Iterations = iterations });
                Emit($"linear_{RunReport.Key(f)}", clock.Elapsed.TotalSeconds, r.Accuracy, idx.Length, r.ChosenWeightDecay, selection, iterations);
            }
        }
        return 0;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }
}
