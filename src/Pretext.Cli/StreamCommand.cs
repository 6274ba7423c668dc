using System.CommandLine;
using System.Globalization;
using Pretext.Runs;

namespace Pretext.Cli;

/// <summary>`pretext stream`: online learning and a score per reading on a stream of CSV lines (stdin or a growing file).</summary>
internal static class StreamCommand
{
    public static Command Create()
    {
        var d = new StreamOptions();
        var checkpoint = new Option<string>("--checkpoint") { Description = "The series checkpoint the stream starts from (a state in --state takes precedence: the stream continues it).", Required = true };
        var state = new Option<string>("--state") { Description = "Folder of the stream's state (stream.safetensors: weights, optimiser, replay buffer, windows in progress, counters), written atomically; restarted with the same arguments, the stream continues from it. The file is a checkpoint `score` and `embed` read too.", Required = true };
        var input = new Option<string>("--input") { Description = "CSV lines with a header first (the checkpoint's columns: time, channels, entity): '-' for stdin, or a file; a file read again after a restart skips the lines the state already consumed.", DefaultValueFactory = _ => "-" };
        var follow = new Option<bool>("--follow") { Description = "Keep reading --input as it grows (like tail -f) until interrupted." };
        var output = new Option<string>("--out") { Description = "Where scores go, one CSV line per good reading (entity,time,score; score empty until the entity has a full window): '-' for stdout, or a file (appended to when the stream continues a state).", DefaultValueFactory = _ => "-" };
        var updateEvery = new Option<int>("--update-every") { Description = "One optimiser step every N good readings (0: never learn).", DefaultValueFactory = _ => d.UpdateEvery };
        var batch = new Option<int>("--batch-size") { Description = "Windows from the replay buffer per optimiser step.", DefaultValueFactory = _ => d.BatchSize };
        var replay = new Option<int>("--replay") { Description = "Windows the replay buffer holds (a uniform sample of all windows seen).", DefaultValueFactory = _ => d.Replay };
        var refresh = new Option<int>("--refresh") { Description = "Buffered windows re-embedded with the current encoder per optimiser step, so the kNN bank follows the learning encoder.", DefaultValueFactory = _ => d.Refresh };
        var k = new Option<int>("--k") { Description = "Neighbours in the replay buffer averaged by the score.", DefaultValueFactory = _ => d.K };
        var lr = new Option<double>("--lr") { Description = "Constant learning rate of the online steps.", DefaultValueFactory = _ => d.LearningRate };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write the state every N good readings (and always at the end).", DefaultValueFactory = _ => d.CheckpointEvery };
        var reportEvery = new Option<int>("--report-every") { Description = "Print readings/s, updates/s, latency p50/p99 and memory to stderr every N good readings (0: only at the end).", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the replay sampling, batches and views.", DefaultValueFactory = _ => d.Seed };
        var set = new Option<string[]>("--set") { Description = "How lines are read, e.g. --set series.columns.entity=machine (the model and window come from the checkpoint)." };
        var threads = new Option<int>("--threads") { Description = "CPU threads for tensor work (1 keeps a stream's latency steady beside other work).", DefaultValueFactory = _ => 1 };
        var cmd = new Command("stream", "Score readings as they arrive (stdin or a growing file) while learning online: bounded replay buffer, a fixed budget per update, bad lines reported and skipped, periodic atomic checkpoints; prints updates/s and latency.")
        {
            checkpoint, state, input, follow, output, updateEvery, batch, replay, refresh, k, lr, checkpointEvery, reportEvery, seed, set, threads,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var options = new StreamOptions
            {
                UpdateEvery = p.GetValue(updateEvery), BatchSize = p.GetValue(batch), Replay = p.GetValue(replay), Refresh = p.GetValue(refresh), K = p.GetValue(k),
                LearningRate = p.GetValue(lr), CheckpointEvery = p.GetValue(checkpointEvery), Seed = p.GetValue(seed),
            };
            int every = p.GetValue(reportEvery);
            if (every < 0) throw new ArgumentException($"--report-every must be 0 or more, got {every}.");
            PretextCli.SetThreads(p.GetValue(threads));
            string inPath = p.GetValue(input)!, outPath = p.GetValue(output)!;
            if (inPath != "-" && !File.Exists(inPath)) throw new FileNotFoundException($"--input '{inPath}' does not exist; give a CSV file, or '-' to read stdin.");
            using var stream = SeriesStream.Open(p.GetValue(checkpoint)!, p.GetValue(state)!, options, p.GetValue(set) ?? []);
            var err = Console.Error;
            if (stream.Resumed) err.WriteLine($"Continuing the stream in {stream.StateDirectory}: {stream.Counters.Good:N0} readings and {stream.Counters.Updates:N0} updates so far.");
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler stop = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += stop;
            try
            {
                using var reader = inPath == "-" ? null : new StreamReader(new FileStream(inPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
                var source = reader ?? Console.In;
                bool append = outPath != "-" && stream.Resumed && File.Exists(outPath);
                using var file = outPath == "-" ? null : new StreamWriter(outPath, append) { AutoFlush = false };
                var writer = file ?? Console.Out;
                if (!append) writer.WriteLine("entity,time,score");
                var c = CultureInfo.InvariantCulture;
                var meter = new StreamMeter();
                stream.Run(SeriesStream.Lines(source, p.GetValue(follow), cancel.Token), skipConsumed: reader is not null,
                    s =>
                    {
                        writer.Write(s.Entity.Contains(',') || s.Entity.Contains('"') ? "\"" + s.Entity.Replace("\"", "\"\"") + "\"" : s.Entity);
                        writer.Write(',');
                        writer.Write(s.Time.ToString("R", c));
                        writer.Write(',');
                        writer.WriteLine(double.IsFinite(s.Score) ? s.Score.ToString("G6", c) : "");
                        writer.Flush();
                    },
                    warning => err.WriteLine($"warning: {warning}"), meter, every, line => err.WriteLine(line), cancel.Token);
                writer.Flush();
                err.WriteLine($"Done: {meter.Summary(stream).Describe()}. State: {stream.StatePath}");
            }
            catch (OperationCanceledException)
            {
                err.WriteLine($"Stopped; state written to {stream.StatePath} ({stream.Counters.Good:N0} readings).");
            }
            finally
            {
                Console.CancelKeyPress -= stop;
            }
            return 0;
        }));
        return cmd;
    }
}
