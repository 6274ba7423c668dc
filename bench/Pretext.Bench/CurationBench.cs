using System.Globalization;
using System.Text.Json;
using Pretext.Curation;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Does curation pay? For each budget K: a linear probe trained on the K training samples a selection
/// strategy picks in embedding space, against the same probe on K random samples (mean over seeds), both
/// on the frozen features of the checkpoint. Under the evaluation protocol: the strategies pick from the training
/// samples outside the validation split (1/6, class-stratified, seed 0), the probe's penalty is chosen on that split,
/// and each strategy is reported with its validation accuracy (what a choice between strategies reads) and its test
/// accuracy (the final figure). Strategies, the code `pretext curate` runs:
/// typical (the sample nearest each of K k-means centroids; the default), greedy k-center (`--strategy KCenter`), and
/// labelling in rounds: K/10 typical picks are labelled, then `--labelled` margin picks fill the budget, in one round
/// (9K/10) or two (3K/10, then 6K/10), each protocol repeated with seeds 0..seeds-1; the labels of each round are the
/// data set's own, as a labeller would give them.
/// Prints one JSON line per K.
///   dotnet run -c Release --project bench/Pretext.Bench -- curation --checkpoint CKPT [--k 100,1000] [--seeds 3] [--threads 2]
/// </summary>
internal static class CurationBench
{
    public static int Run(BenchArgs a)
    {
        set_num_threads(a.Int("threads", 2));
        var (method, cfg, _) = Pretraining.LoadMethod(a.Get("checkpoint", ""));
        using var fetcher = new DatasetFetcher();
        using var train = fetcher.LoadSplit(cfg.Dataset, DataSplit.Train);
        using var test = fetcher.LoadSplit(cfg.Dataset, DataSplit.Test);
        var norm = cfg.Augment.BuildNormalize();
        using var tf = Features.Extract(method.Encoder, train, norm);
        using var sf = Features.Extract(method.Encoder, test, norm);
        var labels = train.Labels!;
        int classes = labels.Max() + 1;
        int seeds = a.Int("seeds", 3);
        var ev = cfg.Evaluation;
        var (pool, valIdx) = ValidationSplit.Carve(labels, i => train.SampleId(i), ev.ValidationFraction, ev.ValidationSeed);
        var valY = valIdx.Select(i => labels[i]).ToArray();
        using var poolIx = tensor(pool);
        using var valIx = tensor(valIdx);
        using var pf = tf.index_select(0, poolIx);
        using var vf = tf.index_select(0, valIx);
        // The same probe as evaluate's (L2 penalty chosen on the validation split); positions in the pool -> (validation, test) accuracy.
        (double Val, double Test) Probe(long[] positions)
        {
            using var scope = NewDisposeScope();
            using var ix = tensor(positions);
            using var model = LinearProbe.Train(pf.index_select(0, ix), positions.Select(p => labels[pool[p]]).ToArray(), classes, ev.Probe, (vf, valY));
            return (Metrics.Accuracy(model.Predict(vf), valY), Metrics.Accuracy(model.Predict(sf), test.Labels!));
        }
        static double[] Of(IEnumerable<(double Val, double Test)> runs, bool validation) => runs.Select(r => validation ? r.Val : r.Test).ToArray();
        foreach (var k in BenchArgs.Ints(a.Get("k", "100,1000")))
        {
            var kcenter = KCenterGreedy.Select(pf, k, 0).Select(p => p.Index).ToArray();
            var typical = TypicalSelection.Select(pf, k, 0).Select(p => p.Index).ToArray();
            // Labelling in rounds, repeated with seeds 0..seeds-1 (k-means initialisation of the first round and the probe's held-out split).
            int first = Math.Max(10, k / 10), second = (k - first) / 3;
            // The typical first round of each seed, shared by both protocols.
            var firstRounds = Enumerable.Range(0, seeds).Select(s => TypicalSelection.Select(pf, first, s).Select(p => p.Index).ToArray()).ToArray();
            long[] Rounds(int seed, params int[] more)
            {
                var have = firstRounds[seed].ToList();
                foreach (var m in more)
                    have.AddRange(UncertaintySelection.Select(pf, have.ToDictionary(i => i, i => labels[pool[i]]), m, seed).Select(p => p.Index));
                return have.ToArray();
            }
            var oneRoundRuns = Enumerable.Range(0, seeds).Select(s => Probe(Rounds(s, k - first))).ToArray();
            var twoRoundRuns = Enumerable.Range(0, seeds).Select(s => Probe(Rounds(s, second, k - first - second))).ToArray();
            var randomRuns = Enumerable.Range(0, seeds).Select(s =>
            {
                var perm = Enumerable.Range(0, pool.Length).Select(i => (long)i).ToArray();
                new Random(1000 + s).Shuffle(perm);
                return Probe(perm.Take(k).ToArray());
            }).ToArray();
            var (kcenterAcc, typicalAcc) = (Probe(kcenter), Probe(typical));
            var (oneRound, twoRounds, random) = (Of(oneRoundRuns, false), Of(twoRoundRuns, false), Of(randomRuns, false));
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                k,
                validation = new
                {
                    kcenter = Math.Round(100 * kcenterAcc.Val, 2), kmeans_typical = Math.Round(100 * typicalAcc.Val, 2),
                    one_round_mean = Math.Round(100 * Of(oneRoundRuns, true).Average(), 2), two_rounds_mean = Math.Round(100 * Of(twoRoundRuns, true).Average(), 2),
                    random_mean = Math.Round(100 * Of(randomRuns, true).Average(), 2), random_std = Math.Round(100 * Metrics.SampleStd(Of(randomRuns, true)), 2),
                },
                kcenter = Math.Round(100 * kcenterAcc.Test, 2),
                kmeans_typical = Math.Round(100 * typicalAcc.Test, 2),
                kmeans_typical_count = typical.Length,
                rounds = $"{first} typical, then {k - first} by margin in one round, or {second} + {k - first - second} in two",
                one_round_mean = Math.Round(100 * oneRound.Average(), 2),
                one_round_std = Math.Round(100 * Metrics.SampleStd(oneRound), 2),
                one_round = oneRound.Select(r => Math.Round(100 * r, 2)).ToArray(),
                two_rounds_mean = Math.Round(100 * twoRounds.Average(), 2),
                two_rounds_std = Math.Round(100 * Metrics.SampleStd(twoRounds), 2),
                two_rounds = twoRounds.Select(r => Math.Round(100 * r, 2)).ToArray(),
                random_mean = Math.Round(100 * random.Average(), 2),
                random_std = Math.Round(100 * Metrics.SampleStd(random), 2),
                random = random.Select(r => Math.Round(100 * r, 2)).ToArray(),
                classes_covered_kcenter = kcenter.Select(i => labels[pool[i]]).Distinct().Count(),
                classes_covered_typical = typical.Select(i => labels[pool[i]]).Distinct().Count(),
            }));
        }
        method.Dispose();
        return 0;
    }
}
