using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Runs;

namespace Pretext.Methods;

/// <summary>One registered method: its key, a one-line description, and how to build it and its views.</summary>
public sealed record MethodEntry(string Name, string Description, Func<Encoder, RunConfig, ISslMethod> Create, Func<RunConfig, IViewGenerator> Views);

/// <summary>The table of self-supervised methods, one row each. Keys are lower-case and stable.</summary>
public static class MethodRegistry
{
    public static IReadOnlyList<MethodEntry> All { get; } =
    [
        new("simclr", "SimCLR: contrastive, two augmented views, NT-Xent with in-batch negatives (Chen et al. 2020).",
            (enc, cfg) => new SimClr(enc, cfg.SimClr),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2)),
    ];

    /// <exception cref="ArgumentException">Unknown method; the message lists the known ones.</exception>
    public static MethodEntry Get(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown method '{name}'. Known methods: {string.Join(", ", All.Select(m => m.Name))}.");
}
