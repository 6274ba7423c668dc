using System.CommandLine;
using System.Globalization;
using Pretext.Runs;
using Spectre.Console;

namespace Pretext.Cli;

/// <summary>The `pretext` command line: one sub-command per task, --help on each.</summary>
public static class PretextCli
{
    public static int Run(string[] args)
    {
        var parsed = Parse(args);
        // A usage mistake is one line and exit code 2, as every other mistake (README), not 30 lines of help and exit 1.
        if (parsed.Errors.Count > 0)
        {
            var command = parsed.CommandResult.Command;
            string help = command.Parents.Any() ? $"pretext {command.Name} --help" : "pretext --help";
            Console.Error.WriteLine($"error: {parsed.Errors[0].Message} (options: {help})");
            return 2;
        }
        return parsed.Invoke();
    }

    /// <summary>Parses <paramref name="args"/> against every command, numbers in the invariant culture (<see cref="InvariantNumbers"/>).</summary>
    internal static ParseResult Parse(string[] args)
    {
        var root = new RootCommand("Pretext: self-supervised pretraining, evaluation and export for .NET (TorchSharp).");
        root.Subcommands.Add(QuickstartCommand());
        root.Subcommands.Add(Commands.Data());
        root.Subcommands.Add(Commands.Pretrain());
        root.Subcommands.Add(Commands.Evaluate());
        root.Subcommands.Add(Commands.Embed());
        root.Subcommands.Add(InterchangeCommands.Export());
        root.Subcommands.Add(InterchangeCommands.Import());
        root.Subcommands.Add(TextCommands.Search());
        root.Subcommands.Add(TextCommands.Similar());
        root.Subcommands.Add(Commands.Methods());
        root.Subcommands.Add(Commands.Info());
        root.Subcommands.Add(CurateCommand.Create());
        root.Subcommands.Add(ScoreCommand.Create());
        root.Subcommands.Add(ClusterCommand.Create());
        root.Subcommands.Add(StreamCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        InvariantNumbers.Apply(root);
        return root.Parse(args);
    }

    internal static Option<int> ThreadsOption() => new("--threads") { Description = "CPU threads for tensor work, at least 1 (default: all cores; tests and benchmarks pin this).", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
    /// <summary>The one place a command sets TorchSharp's intra-op thread count (training also sets it from its options).</summary>
    /// <exception cref="ArgumentException"><paramref name="threads"/> is below 1 (libtorch aborts the process on 0 or a negative count).</exception>
    internal static void SetThreads(int threads)
    {
        CheckThreads(threads);
        TorchSharp.torch.set_num_threads(threads);
    }

    /// <exception cref="ArgumentException"><paramref name="threads"/> is below 1.</exception>
    internal static void CheckThreads(int threads)
    {
        if (threads < 1)
            throw new ArgumentException($"--threads must be at least 1, got {threads}; this machine has {Environment.ProcessorCount} (the default).");
    }

    internal static Option<string?> DataDirOption() => new("--data-dir") { Description = "Data cache folder (default: $PRETEXT_DATA, else ~/.cache/pretext/data)." };

    private static Command QuickstartCommand()
    {
        var fast = new Option<bool>("--fast") { Description = FormattableString.Invariant($"Smoke run: {Presets.FastTrainSamples:N0} images, up to 2 epochs cut to {Presets.FastPretrainMinutes:0.#} minute(s) of pretraining on slower machines (--minutes is ignored), short baselines; under 5 minutes.") };
        var runDir = new Option<string>("--run-dir") { Description = "Run folder for config, metrics, checkpoints, plots and report.", DefaultValueFactory = _ => Path.Combine("runs", "quickstart") };
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist or mnist.", DefaultValueFactory = _ => "fashion-mnist" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --run-dir from its newest checkpoint." };
        var minutes = new Option<double>("--minutes")
        {
            Description = "Pretraining time budget: the recipe (5 epochs, about 14 min on a 2-core CPU with native bf16) is cut to what fits on this machine, at the rate its own first 100 steps ran. 0: always the whole recipe.",
            DefaultValueFactory = _ => QuickstartOptions.DefaultMinutes,
        };
        var threads = ThreadsOption();
        var dataDir = DataDirOption();
        var cmd = new Command("quickstart", "Get Fashion-MNIST, pretrain SimCLR without labels, evaluate with 100/10/1 % labels against training from scratch, write a report. The from-scratch and raw-pixel rows are kept in ~/.cache/pretext/baselines and reused by later runs on the same data and settings (PRETEXT_BASELINE_CACHE=off turns that off).")
        {
            fast, runDir, dataset, resume, minutes, threads, dataDir,
        };
        cmd.SetAction(p => Guard(() =>
        {
            CheckThreads(p.GetValue(threads));
            var opts = new QuickstartOptions
            {
                Fast = p.GetValue(fast), RunDirectory = p.GetValue(runDir)!, Dataset = p.GetValue(dataset)!,
                Resume = p.GetValue(resume), Threads = p.GetValue(threads), DataDirectory = p.GetValue(dataDir),
                Minutes = p.GetValue(minutes) >= 0 ? p.GetValue(minutes) : throw new ArgumentException($"--minutes must be 0 (the whole recipe) or a positive number of minutes, got {p.GetValue(minutes)}."),
                BaselineCache = BaselineCache.FromEnvironment(),
            };
            var r = ConsoleObserver.Run(o => Quickstart.Run(opts, o));
            PrintSummary(r);
            return 0;
        }));
        return cmd;
    }

    private static void PrintSummary(QuickstartResult r)
    {
        var ev = r.Evaluation;
        // The gain comes first: what the labels buy with pretraining against without it.
        foreach (var line in RunReport.HeadlineLines(ev)) AnsiConsole.MarkupLine($"[bold]{Markup.Escape(line)}[/]");
        var (header, rows) = RunReport.AccuracyTable(ev);
        var t = new Table().Title($"{Markup.Escape(r.Summary.Dataset)} test accuracy");
        foreach (var h in header) t.AddColumn(Markup.Escape(h));
        foreach (var row in rows) t.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(t);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Pretraining: {r.Pretrain.Seconds:F0} s, {r.Pretrain.SamplesPerSecond:F0} samples/s."));
        Console.WriteLine($"Report: {Path.GetFullPath(r.ReportPath)}");
        Console.WriteLine($"Summary: {Path.GetFullPath(Path.Combine(r.RunDirectory, "summary.json"))}");
    }

    /// <summary>Turns user mistakes into one red line and exit code 2, anything else into exit code 1 with the message.</summary>
    internal static int Guard(Func<int> action)
    {
        try { return action(); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                                    or InvalidOperationException or IOException or Training.TrainingDivergedException or NotSupportedException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled.");
            return 130;
        }
        // libtorch's allocator failing (a model or batch larger than the memory) came out as an unhandled exception with C++ frames.
        catch (System.Runtime.InteropServices.ExternalException e) when (OutOfMemory(e.Message) is { } line)
        {
            Console.Error.WriteLine($"error: {line}");
            return 2;
        }
        catch (OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {OutOfMemory(null)}");
            return 2;
        }
    }

    private static readonly System.Text.RegularExpressions.Regex AllocationSize = new(@"tried to allocate (\d+) bytes", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// The one-line error for a failed allocation (libtorch's "DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes",
    /// or the .NET runtime's own); null when <paramref name="message"/> is another native error.
    /// </summary>
    internal static string? OutOfMemory(string? message)
    {
        string what = "Not enough memory";
        if (message is not null)
        {
            if (!message.Contains("allocate", StringComparison.OrdinalIgnoreCase) || !message.Contains("memory", StringComparison.OrdinalIgnoreCase)) return null;
            var m = AllocationSize.Match(message);
            if (m.Success && double.TryParse(m.Groups[1].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out double bytes))
                what += string.Create(CultureInfo.InvariantCulture, $": one tensor needed {bytes / 1e9:#,0.###} GB");
        }
        return what + $" (this machine has {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9:0.#} GB). Lower --batch-size or --image-size, or use a smaller " +
            "encoder (--widths, --hidden), or run on a machine with more memory; checkpoints already written are kept (--resume continues a run).";
    }
}
