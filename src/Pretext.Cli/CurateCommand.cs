using System.CommandLine;
using Pretext.Curation;
using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using TorchSharp;

namespace Pretext.Cli;

/// <summary>`pretext curate`: near-duplicates, outliers and a diverse subset to label first, from a checkpoint's embeddings.</summary>
internal static class CurateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint file (run-dir/checkpoints/step-*.safetensors).", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "fashion-mnist, mnist, or an image folder (default: the run's data set)." };
        var split = new Option<DataSplit>("--split") { Description = "Train or Test (catalogue data sets; image folders use every image).", DefaultValueFactory = _ => DataSplit.Train };
        var output = new Option<string?>("--out") { Description = "CSV to write (default: <run>/curation.csv): kind,rank,index,sample,label,group,score." };
        var select = new Option<int>("--select") { Description = "Samples to pick for labelling first (0: none).", DefaultValueFactory = _ => 100 };
        var strategy = new Option<SelectionStrategy?>("--strategy") { Description = "Typical: the sample nearest each k-means centroid (the default without --labelled; best for a first, small budget); KCenter: greedy covering, rim and rare samples first; Margin: what a probe trained on the --labelled samples is least sure about (the default with --labelled)." };
        var labelled = new Option<string?>("--labelled") { Description = "CSV of samples labelled so far (columns label and index or sample; e.g. the previous round's curation.csv with its label column filled in): picks what to label next, leaving them out." };
        var threshold = new Option<double>("--dup-threshold") { Description = "Cosine similarity above which samples are near-duplicates.", DefaultValueFactory = _ => 0.95 };
        var outliers = new Option<int>("--outliers") { Description = "Outliers to list (largest mean distance to their nearest neighbours; 0: none).", DefaultValueFactory = _ => 20 };
        var neighbours = new Option<int>("--neighbours") { Description = "k of the outlier score (mean distance to the k nearest samples).", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of the selection (k-means initialisation or first k-center pick).", DefaultValueFactory = _ => 0 };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("curate", "Find near-duplicates and outliers in a data set and pick a diverse subset to label first, in a checkpoint's embedding space.")
        {
            checkpoint, dataset, split, output, select, strategy, labelled, threshold, outliers, neighbours, seed, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var options = new CurationOptions
            {
                Select = p.GetValue(select), DuplicateThreshold = p.GetValue(threshold), Outliers = p.GetValue(outliers),
                OutlierNeighbours = p.GetValue(neighbours), Seed = p.GetValue(seed),
                Strategy = p.GetValue(strategy) ?? (p.GetValue(labelled) is null ? SelectionStrategy.Typical : SelectionStrategy.Margin),
            };
            string? labelsPath = p.GetValue(labelled);
            if (labelsPath is not null && !File.Exists(labelsPath)) throw new ArgumentException($"--labelled '{labelsPath}' does not exist; pass the CSV of the samples labelled so far (e.g. the previous round's curation.csv with its label column filled in).");
            var outPath = p.GetValue(output);
            if (outPath is not null && !outPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--out '{outPath}': use a .csv file name.");
            PretextCli.SetThreads(p.GetValue(threads));
            string path = p.GetValue(checkpoint)!;
            var (method, cfg, _) = Pretraining.LoadMethod(path);
            using (method)
            {
                var modality = ModalityCatalog.Get(cfg.Encoder.Modality);
                using var inputs = modality.InputsFor(cfg, path);
                using var data = Embeddings.Samples(modality, cfg, p.GetValue(dataset) ?? cfg.Dataset, p.GetValue(split), p.GetValue(dataDir), Console.WriteLine);
                Func<long, string> id = i => data.SampleId((int)i);
                if (labelsPath is not null) options = options with { Labelled = Curator.ReadLabels(labelsPath, data.Count, id) };
                options.Validate(data.Count); // before the encoder runs over the whole data set
                var result = ConsoleObserver.Run(o =>
                {
                    using var feats = Embeddings.Extract(method, inputs, data, o);
                    o.BeginStage("Similarity search, duplicates, outliers, selection", 1);
                    var r = Curator.Run(feats, options);
                    o.EndStage();
                    return r;
                });
                string run = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))!;
                outPath ??= Path.Combine(run, "curation.csv");
                Curator.WriteCsv(outPath, result, id, data.Labels, data.ClassNames);
                Console.Write(Curator.Summary(result, id));
                Console.WriteLine($"Wrote {outPath}");
            }
            return 0;
        }));
        return cmd;
    }
}
