using Pretext.Data;

namespace Pretext.Runs;

/// <summary>Options of <see cref="Quickstart"/>.</summary>
public sealed record QuickstartOptions
{
    public string Dataset { get; init; } = "fashion-mnist";
    public string RunDirectory { get; init; } = Path.Combine("runs", "quickstart");
    public string? DataDirectory { get; init; }
    public int Threads { get; init; } = 2;
    public bool Fast { get; init; }
    public bool Resume { get; init; }
    /// <summary>
    /// Pretraining time budget in minutes (null or 0: the whole recipe, 6 epochs). The recipe's 6 epochs take
    /// about 15 minutes on a 2-core CPU with native bf16; on slower machines the run is cut to what fits
    /// (see <see cref="Pretraining.FitToBudget"/>). --fast has its own (<see cref="Presets.FastPretrainMinutes"/>).
    /// </summary>
    public double? Minutes { get; init; } = DefaultMinutes;

    /// <summary>The default pretraining budget: the recipe's 6 epochs on the 2-core reference machine.</summary>
    public const double DefaultMinutes = 15;
}

/// <summary>Result of the quickstart: where everything went and the headline numbers.</summary>
public sealed record QuickstartResult(string RunDirectory, string ReportPath, Dictionary<string, object> Summary, PretrainResult Pretrain, EvaluationResult Evaluation);

/// <summary>
/// The newcomer's path: get the data set, pretrain SimCLR on its training images without labels,
/// evaluate the frozen encoder (kNN, linear probes at 100/10/1 % labels) against the same architecture
/// trained from scratch on the same 10 % and 1 % subsets, write plots, report.html and summary.json.
/// </summary>
public static class Quickstart
{
    public static QuickstartResult Run(QuickstartOptions options, IRunObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= NullObserver.Instance;
        var config = Presets.SimClrSmallGrey(options.Dataset, options.Threads);
        if (options.Fast) config = Presets.Fast(config);

        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = options.DataDirectory, Log = observer.Message });
        using var trainFull = fetcher.LoadSplit(options.Dataset, DataSplit.Train, cancel);
        using var test = fetcher.LoadSplit(options.Dataset, DataSplit.Test, cancel);
        TensorDataset train = trainFull;
        TensorDataset? subset = null;
        if (options.Fast)
        {
            subset = trainFull.Subset(Enumerable.Range(0, Presets.FastTrainSamples).Select(i => (long)i).ToArray(), $"{trainFull.Name}[first {Presets.FastTrainSamples}]");
            train = subset;
        }
        try
        {
            config = ApplyBudget(config, options, new UnlabelledView(train), observer);
            // Pretraining sees the images only; labels are used by evaluation alone.
            var pre = Pretraining.Run(config, new UnlabelledView(train), options.RunDirectory, options.Resume, observer, cancel);
            var (method, _, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
            using (method)
            {
                var ev = Evaluating.Run(method, config, train, test, observer);
                var report = RunReport.Write(options.RunDirectory, config, pre, ev, options.Dataset);
                return new QuickstartResult(options.RunDirectory, report, RunReport.Summary(pre, ev), pre, ev);
            }
        }
        finally
        {
            subset?.Dispose();
        }
    }

    /// <summary>The quickstart's time budget (<see cref="Pretraining.WithinBudget"/>).</summary>
    public static RunConfig ApplyBudget(RunConfig config, QuickstartOptions options, IDataset data, IRunObserver observer)
    {
        if (options.Fast) return Pretraining.WithinBudget(config, data, options.RunDirectory, options.Resume, Presets.FastPretrainMinutes, observer, FastLongerRunAdvice);
        return Pretraining.WithinBudget(config, data, options.RunDirectory, options.Resume, options.Minutes, observer);
    }

    /// <summary>--fast ignores --minutes, so its cut says how to get the real run instead.</summary>
    public const string FastLongerRunAdvice = "--fast is a smoke test; drop --fast for the full quickstart (--minutes sets its budget).";
}

/// <summary>A dataset with its labels hidden, so pretraining provably never sees them.</summary>
public sealed class UnlabelledView(IDataset inner) : IDataset
{
    public string Name => inner.Name;
    public long Count => inner.Count;
    public long[] SampleShape => inner.SampleShape;
    public int[]? Labels => null;
    public IReadOnlyList<string> ClassNames => [];
    public TorchSharp.torch.Tensor Gather(ReadOnlySpan<long> indices) => inner.Gather(indices);
    public string SampleId(long index) => inner.SampleId(index);
}
