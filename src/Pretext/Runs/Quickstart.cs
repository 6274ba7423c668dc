using Pretext.Data;
using Pretext.Runs.Modalities;

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
    /// Pretraining time budget in minutes (null or 0: the whole recipe, 5 epochs). The recipe's 5 epochs (1,170 steps) take
    /// about 14 minutes on a 2-core CPU with native bf16 (0.715 s/step measured), so the recipe is kept whole within the budget's
    /// 5 % margin there; on slower machines the run is cut to what fits, at the rate the run itself measured over its steps 34-100
    /// (see <see cref="Pretraining.TimeBudget"/>). --fast has its own (<see cref="Presets.FastPretrainMinutes"/>).
    /// </summary>
    public double? Minutes { get; init; } = DefaultMinutes;
    /// <summary>Where the evaluation keeps the rows that do not depend on the checkpoint (<see cref="Runs.BaselineCache"/>); null: computed every time.</summary>
    public BaselineCache? BaselineCache { get; init; }

    /// <summary>The default pretraining budget: the recipe's 5 epochs on the 2-core reference machine.</summary>
    public const double DefaultMinutes = 15;
}

/// <summary>Result of the quickstart: where everything went and the headline numbers.</summary>
public sealed record QuickstartResult(string RunDirectory, string ReportPath, RunSummary Summary, PretrainResult Pretrain, EvaluationResult Evaluation);

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
        Pretraining.CheckRunFolder(options.RunDirectory, options.Resume);
        var config = Presets.For("simclr", options.Dataset, options.Threads);
        if (options.Fast) config = Presets.Fast(config);
        var images = ModalityCatalog.Get(Modality.Image);
        var (trainFull, test) = images.Load(options.Dataset, config, options.DataDirectory, observer.Message, needTest: true);
        using (trainFull)
        using (test)
        {
            // --fast: the first 12,800 training images, for pretraining and evaluation alike.
            using var subset = options.Fast
                ? trainFull.Subset(Enumerable.Range(0, Presets.FastTrainSamples).Select(i => (long)i).ToArray(), $"{trainFull.Name}[first {Presets.FastTrainSamples}]")
                : null;
            var train = subset ?? trainFull;
            double? minutes = options.Fast ? Presets.FastPretrainMinutes : options.Minutes;
            string? advice = options.Fast ? FastLongerRunAdvice : null;
            // Pretraining sees the images only; labels are used by evaluation alone.
            var pre = Pretraining.Run(config, train, options.RunDirectory, options.Resume, observer, minutes, advice, cancel);
            var (method, trained, _) = Pretraining.LoadMethod(pre.FinalCheckpoint);
            using (method)
            using (var inputs = images.InputsFor(trained, pre.FinalCheckpoint))
            {
                var ev = Evaluating.Run(method, trained, inputs, train, test!, observer, cache: options.BaselineCache);
                var report = RunReport.Write(options.RunDirectory, trained, pre, ev, options.Dataset);
                return new QuickstartResult(options.RunDirectory, report, RunReport.Summary(trained, options.Dataset, pre, ev), pre, ev);
            }
        }
    }

    /// <summary>--fast ignores --minutes, so its cut says how to get the real run instead.</summary>
    public const string FastLongerRunAdvice = "--fast is a smoke test; drop --fast for the full quickstart (--minutes sets its budget).";
}
