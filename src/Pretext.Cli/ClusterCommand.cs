using System.CommandLine;
using System.Globalization;
using Pretext.Export;
using Pretext.Runs;

namespace Pretext.Cli;

/// <summary>`pretext cluster`: a segment for every record (k-means on embeddings) and a profile of each segment.</summary>
internal static class ClusterCommand
{
    public static Command Create()
    {
        var defaults = new RecordClusterOptions();
        var checkpoint = new Option<string>("--checkpoint") { Description = "A table, image, text or audio checkpoint (run-dir/checkpoints/step-*.safetensors); not series.", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "What to segment: for a table model credit-g, unbalanced, diabetes, segment, letter, shuttle or a .csv/.parquet/.arff file with the model's columns (--set table.columns.id=..., see docs/tables.md); for other models their data sets or folders (default: the run's data set)." };
        var output = new Option<string[]>("--out") { Description = "Segments: .csv and/or .parquet (repeat for both); one row per record, columns id (a table's id column or line, an image's or document's path), entity (tables with an entity column), part (reference, validation, test), segment, distance (to its segment's centre), label (when labelled).", Required = true, AllowMultipleArgumentsPerToken = true };
        var profile = new Option<string[]>("--profile") { Description = "Segment profiles: .csv and/or .parquet; one row per segment and column that differs most from the whole table: segment, size, share, rank, column, kind, segment_value, overall_value, difference (in the table's standard deviations); other data: one row per segment with its size and share. Default: <first --out without extension>-profile.csv.", AllowMultipleArgumentsPerToken = true };
        var k = new Option<int>("--k") { Description = "Number of segments; 0 chooses it by the mean silhouette of the validation records among --k-min..--k-max.", DefaultValueFactory = _ => defaults.K };
        var kMin = new Option<int>("--k-min") { Description = "Smallest number of segments tried when --k is 0.", DefaultValueFactory = _ => defaults.MinK };
        var kMax = new Option<int>("--k-max") { Description = "Largest number of segments tried when --k is 0.", DefaultValueFactory = _ => defaults.MaxK };
        var top = new Option<int>("--top-columns") { Description = "Columns named in each segment's profile (those whose means or most frequent values differ most from the whole table).", DefaultValueFactory = _ => defaults.TopColumns };
        var seed = new Option<int>("--seed") { Description = "Seed of the validation part and of k-means' starts.", DefaultValueFactory = _ => defaults.Seed };
        var set = new Option<string[]>("--set") { Description = "How the file is read, e.g. --set table.columns.id=customer (the encoding comes from the checkpoint)." };
        var stream = new Option<Streaming>("--stream") { Description = "Tables: read a CSV file in chunks with bounded memory (Always), whole (Never), or in chunks when it is 16 MiB or more (Auto). In chunks, a row's part comes from a hash of its id, k-means is fitted on a seeded sample of the reference records (--max-reference) and k chosen on one of the validation records (--max-validation); see docs/tables.md.", DefaultValueFactory = _ => defaults.Stream };
        var maxReference = new Option<int>("--max-reference") { Description = "Tables read in chunks: reference records k-means is fitted on (a seeded sample when there are more).", DefaultValueFactory = _ => defaults.Limits.ReferenceRows };
        var maxValidation = new Option<int>("--max-validation") { Description = "Tables read in chunks: validation records the silhouettes are measured on (a seeded sample when there are more; the cost grows with its square).", DefaultValueFactory = _ => defaults.Limits.SilhouetteRows };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("cluster", "A segment for every record of a table, image folder, corpus or sound set from its checkpoint (k-means on the embeddings, k given or chosen by silhouette on a validation part of the training records), with a profile of each segment; CSV/Parquet.")
        {
            checkpoint, dataset, output, profile, k, kMin, kMax, top, seed, set, stream, maxReference, maxValidation, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var outs = p.GetValue(output)!;
            var profiles = p.GetValue(profile) is { Length: > 0 } given ? given
                : [Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outs[0]))!, Path.GetFileNameWithoutExtension(outs[0]) + "-profile.csv")];
            foreach (var o in outs.Concat(profiles))
                if (!ColumnTable.Writable(o)) throw new ArgumentException($"'{o}': write segments and profiles to a .csv or .parquet file.");
            var options = new RecordClusterOptions
            {
                K = p.GetValue(k), MinK = p.GetValue(kMin), MaxK = p.GetValue(kMax), TopColumns = p.GetValue(top), Seed = p.GetValue(seed), Stream = p.GetValue(stream),
                Limits = defaults.Limits with { ReferenceRows = p.GetValue(maxReference), SilhouetteRows = p.GetValue(maxValidation) },
            };
            options.Validate();
            PretextCli.SetThreads(p.GetValue(threads));
            var path = p.GetValue(checkpoint)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
            if (RecordStreaming.Applies(Pretraining.ReadConfig(path), p.GetValue(dataset), options.Stream, options.Limits))
            {
                var streamed = ConsoleObserver.Run(o => RecordStreaming.Cluster(path, p.GetValue(dataset), p.GetValue(set) ?? [], options, outs, profiles, o, Console.WriteLine));
                var ci = CultureInfo.InvariantCulture;
                if (streamed.Chosen)
                    Console.WriteLine($"k = {streamed.K}, chosen by the mean silhouette of {streamed.SilhouetteRecords:N0} validation records: " +
                        string.Join(", ", streamed.Candidates.Select(x => string.Create(ci, $"k {x.K}: {x.Silhouette:F3}"))) + ".");
                else Console.WriteLine(string.Create(ci, $"k = {streamed.K} (given); validation silhouette {streamed.Candidates[0].Silhouette:F3}."));
                Console.WriteLine(string.Create(ci, $"Wrote {streamed.Rows:N0} record segments to {string.Join(" and ", outs)}"));
                Console.WriteLine($"Wrote the profiles of {streamed.Profiles.Count} segments to {string.Join(" and ", profiles)}");
                foreach (var line in RecordClustering.Describe(streamed.Profiles)) Console.WriteLine(line);
                return 0;
            }
            var result = ConsoleObserver.Run(o => RecordClustering.Run(p.GetValue(checkpoint)!, p.GetValue(dataset), p.GetValue(set) ?? [], p.GetValue(dataDir), options, o, Console.WriteLine));
            using (result)
            {
                var c = CultureInfo.InvariantCulture;
                if (result.Chosen)
                    Console.WriteLine($"k = {result.K}, chosen by the validation records' mean silhouette: " +
                        string.Join(", ", result.Candidates.Select(x => string.Create(c, $"k {x.K}: {x.Silhouette:F3}"))) + ".");
                else Console.WriteLine(string.Create(c, $"k = {result.K} (given); validation silhouette {result.Candidates[0].Silhouette:F3}."));
                var table = result.Table();
                foreach (var o in outs) table.Write(o);
                Console.WriteLine($"Wrote {table.Rows:N0} record segments to {string.Join(" and ", outs)}");
                var profileTable = result.ProfileTable();
                foreach (var o in profiles) profileTable.Write(o);
                Console.WriteLine($"Wrote the profiles of {result.Profiles.Count} segments to {string.Join(" and ", profiles)}");
                foreach (var line in result.Describe()) Console.WriteLine(line);
            }
            return 0;
        }));
        return cmd;
    }
}
