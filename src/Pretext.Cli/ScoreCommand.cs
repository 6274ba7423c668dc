using System.CommandLine;
using System.Globalization;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Runs;

namespace Pretext.Cli;

/// <summary>`pretext score`: anomaly scores for every window and reading of a series, or every record of a table, thresholds chosen on validation, tables and plots.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A series checkpoint (run-dir/checkpoints/step-*.safetensors of cpc, ts2vec, maskedpatches or forecast): readings and windows are scored; or a table, image, text or audio checkpoint: every record (row, image, document, clip) is scored.", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "What to score: suthaharan-single-hop, suthaharan-multi-hop, or a .csv/.parquet file with the model's channels; for a table model credit-g, unbalanced, diabetes, segment, letter, shuttle or a .csv/.parquet/.arff file with the model's columns; for other models their data sets or folders (default: the run's data set). Columns: --set series.columns.time=... or --set table.columns.id=..., see docs/series.md and docs/tables.md." };
        var output = new Option<string[]>("--out") { Description = "Scores: .csv and/or .parquet (repeat for both). Series: one row per reading, columns entity, time, score, flagged, part (reference, validation, test), label when the data has one. Records (tables, images, text, audio): one row per record, columns id (a table's id column or line, an image's or document's path), entity (tables with an entity column), part, score, flagged, knn, reconstruction (vime, dae, mae, denoising, inpainting), label (when labelled).", Required = true, AllowMultipleArgumentsPerToken = true };
        var windowsOut = new Option<string[]>("--windows-out") { Description = "Series only: window scores too, .csv and/or .parquet; columns entity, start, end, score, flagged, part, anomaly (when labelled).", AllowMultipleArgumentsPerToken = true };
        var plots = new Option<string?>("--plots") { Description = "Folder for one PNG per entity: the series, its scores, the threshold and the flagged readings (default: <first --out without extension>-plots)." };
        var noPlots = new Option<bool>("--no-plots") { Description = "Write no plots." };
        var scorer = new Option<SeriesScorer>("--scorer") { Description = "The score that flags. Knn: mean distance in embedding space to the k nearest windows or records of the normal reference (the training part less validation); Reconstruction: the method's forecast or reconstruction error (forecast, maskedpatches; vime, dae; mae, denoising, inpainting). Records get both columns when the method has a reconstruction error.", DefaultValueFactory = _ => SeriesScorer.Knn };
        var k = new Option<int>("--k") { Description = "Neighbours averaged by the kNN score.", DefaultValueFactory = _ => new SeriesScoreOptions().K };
        var stride = new Option<int>("--stride") { Description = "Series only: readings between scored windows (1: every reading ends a window).", DefaultValueFactory = _ => new SeriesScoreOptions().Stride };
        var aggregate = new Option<ReadingAggregate>("--aggregate") { Description = "Series only: a reading's score from the windows covering it: Mean (localises events) or Max.", DefaultValueFactory = _ => new SeriesScoreOptions().Aggregate };
        var draws = new Option<int>("--draws") { Description = "Records: corruptions or masks each reconstruction error is averaged over.", DefaultValueFactory = _ => new RecordScoreOptions().Draws };
        var anomalyClass = new Option<string?>("--anomaly-class") { Description = "Records: the class of labelled data counted as anomalies in the threshold and the metrics (default: the checkpoint's evaluation.table.positiveClass, else the rarest class). Labels choose only the threshold and score the test part." };
        var threshold = new Option<ThresholdRule>("--threshold") { Description = "How the flagging threshold is chosen on the validation part: Auto (BestF1 when it holds labelled anomalies, else Quantile), Quantile (1 - contamination), BestF1.", DefaultValueFactory = _ => new SeriesScoreOptions().Threshold };
        var contamination = new Option<double>("--contamination") { Description = "Expected share of anomalies, for the quantile threshold.", DefaultValueFactory = _ => new SeriesScoreOptions().Contamination };
        var set = new Option<string[]>("--set") { Description = "How the data is read, e.g. --set series.columns.entity=machine --set series.gaps=Split, or --set table.columns.id=customer (the window, normalisation and table encoding come from the checkpoint)." };
        var limits = new StreamLimits();
        var stream = new Option<Streaming>("--stream") { Description = "Tables: read a CSV file in chunks with bounded memory (Always), whole (Never), or in chunks when it is 16 MiB or more (Auto). In chunks, a row's part comes from a hash of its id and the kNN bank and validation scores are seeded samples (--max-reference, --max-validation); see docs/tables.md.", DefaultValueFactory = _ => Streaming.Auto };
        var maxReference = new Option<int>("--max-reference") { Description = "Tables read in chunks: reference records kept as the kNN bank (a seeded sample when there are more).", DefaultValueFactory = _ => limits.ReferenceRows };
        var maxValidation = new Option<int>("--max-validation") { Description = "Tables read in chunks: validation records whose scores choose the threshold (a seeded sample when there are more).", DefaultValueFactory = _ => limits.ValidationRows };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("score", "Anomaly scores for every window and reading of a series (series checkpoint) or every record of a table, image folder, corpus or sound set (other checkpoints), flagged above a threshold chosen on a validation part of the training data; CSV/Parquet, and plots for series.")
        {
            checkpoint, dataset, output, windowsOut, plots, noPlots, scorer, k, stride, aggregate, anomalyClass, draws, threshold, contamination, set, stream, maxReference, maxValidation, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var outs = p.GetValue(output)!;
            var windowOuts = p.GetValue(windowsOut) ?? [];
            foreach (var o in outs.Concat(windowOuts))
                if (!ColumnTable.Writable(o)) throw new ArgumentException($"'{o}': write scores to a .csv or .parquet file.");
            var path = p.GetValue(checkpoint)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
            var config = Pretraining.ReadConfig(path);
            if (config.Encoder.Modality != Pretext.Data.Modality.Series)
            {
                if (windowOuts.Length > 0) throw new ArgumentException("--windows-out is for series; a table, image, text or audio model scores records, written with --out.");
                PretextCli.SetThreads(p.GetValue(threads));
                var options = new RecordScoreOptions
                {
                    Scorer = p.GetValue(scorer), K = p.GetValue(k), Threshold = p.GetValue(threshold), Contamination = p.GetValue(contamination),
                    AnomalyClass = p.GetValue(anomalyClass), Draws = p.GetValue(draws), Stream = p.GetValue(stream),
                    Limits = limits with { ReferenceRows = p.GetValue(maxReference), ValidationRows = p.GetValue(maxValidation) },
                };
                options.Validate();
                if (RecordStreaming.Applies(config, p.GetValue(dataset), options.Stream, options.Limits))
                {
                    var streamed = ConsoleObserver.Run(o => RecordStreaming.Score(path, p.GetValue(dataset), p.GetValue(set) ?? [], options, outs, o, Console.WriteLine));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Wrote {streamed.Rows:N0} record scores to {string.Join(" and ", outs)}"));
                    Console.WriteLine($"Score: {streamed.Scorer}.");
                    Console.WriteLine($"Threshold: {streamed.Threshold.Describe()}.");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Flagged {streamed.Flagged:N0} of {streamed.Rows:N0} records."));
                    if (streamed.ValidationMetrics is { } sv) Console.WriteLine($"Validation records ({streamed.AnomalyClass} as anomalies): {sv.Describe()}");
                    if (streamed.Test is { } st) Console.WriteLine($"Test records ({streamed.AnomalyClass} as anomalies): {st.Describe()}");
                    return 0;
                }
                var result = ConsoleObserver.Run(o => RecordScoring.Run(path, p.GetValue(dataset), p.GetValue(set) ?? [], p.GetValue(dataDir), options, o, Console.WriteLine));
                using (result)
                {
                    var table = result.Table();
                    foreach (var o in outs) table.Write(o);
                    Console.WriteLine($"Wrote {table.Rows:N0} record scores to {string.Join(" and ", outs)}");
                    Console.WriteLine($"Score: {result.Scorer}.");
                    Console.WriteLine($"Threshold: {result.Threshold.Describe()}.");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Flagged {result.Flagged:N0} of {result.Scores.Length:N0} records."));
                    if (result.Validation is { } val) Console.WriteLine($"Validation records ({result.AnomalyClass} as anomalies): {val.Describe()}");
                    if (result.Test is { } test) Console.WriteLine($"Test records ({result.AnomalyClass} as anomalies): {test.Describe()}");
                }
                return 0;
            }
            var request = new ScoreRequest
            {
                Checkpoint = p.GetValue(checkpoint)!, Dataset = p.GetValue(dataset), Set = p.GetValue(set) ?? [], DataDirectory = p.GetValue(dataDir),
                Options = new SeriesScoreOptions
                {
                    Scorer = p.GetValue(scorer), K = p.GetValue(k), Stride = p.GetValue(stride), Aggregate = p.GetValue(aggregate),
                    Threshold = p.GetValue(threshold), Contamination = p.GetValue(contamination),
                },
            };
            PretextCli.SetThreads(p.GetValue(threads));
            using var scores = ConsoleObserver.Run(o => SeriesScoring.Run(request, o, Console.WriteLine));
            var readings = scores.ReadingTable();
            foreach (var o in outs) readings.Write(o);
            Console.WriteLine($"Wrote {readings.Rows:N0} reading scores to {string.Join(" and ", outs)}");
            if (windowOuts.Length > 0)
            {
                var windows = scores.WindowTable();
                foreach (var o in windowOuts) windows.Write(o);
                Console.WriteLine($"Wrote {windows.Rows:N0} window scores to {string.Join(" and ", windowOuts)}");
            }
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine($"Score: {scores.Scorer}; a reading's score is the {scores.Aggregate.ToString().ToLowerInvariant()} over the windows covering it.");
            Console.WriteLine($"Reading threshold: {scores.ReadingThreshold.Describe()}; window threshold: {scores.WindowThreshold.Describe()}.");
            Console.WriteLine(string.Create(c, $"Flagged {scores.FlaggedReadings:N0} of {scores.ReadingScores.Sum(s => s.Length):N0} readings."));
            if (scores.TestReadings is { } t) Console.WriteLine($"Test readings: {t.Describe()}");
            if (scores.TestWindows is { } w) Console.WriteLine($"Test windows: {w.Describe()}");
            if (!p.GetValue(noPlots))
            {
                string dir = p.GetValue(plots) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outs[0]))!, Path.GetFileNameWithoutExtension(outs[0]) + "-plots");
                var files = SeriesScoring.Plot(scores, dir);
                Console.WriteLine($"Plots: {files.Count} in {dir}");
            }
            return 0;
        }));
        return cmd;
    }
}
