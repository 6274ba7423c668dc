using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Runs;

namespace Pretext.Methods;

/// <summary>One registered method: its key, family, a one-line description, and how to build it, its views and its defaults.</summary>
/// <param name="Name">Registry key, lower-case and stable.</param>
/// <param name="Family">contrastive, non-contrastive, clustering, masked or classic.</param>
/// <param name="Description">One line for `pretext methods`.</param>
/// <param name="Create">Builds the method around an encoder from the run config.</param>
/// <param name="Views">The view generator the training loop feeds the method with.</param>
/// <param name="Preset">Turns a data set's base preset (<see cref="Presets"/>) into this method's defaults
/// (optimiser, learning rate, augmentation); identity when the base preset already suits it.</param>
/// <param name="Modality">The data the method trains on; text methods get token-id batches and a text encoder.</param>
public sealed record MethodEntry(string Name, string Family, string Description, Func<Encoder, RunConfig, ISslMethod> Create,
    Func<RunConfig, IViewGenerator> Views, Func<RunConfig, RunConfig>? Preset = null, Modality Modality = Modality.Image)
{
    /// <summary>The run config with this method selected and its defaults applied.</summary>
    public RunConfig ApplyPreset(RunConfig baseConfig)
    {
        var cfg = baseConfig with { Method = Name };
        return Preset is null ? cfg : Preset(cfg);
    }
}

/// <summary>The table of self-supervised methods, one row each. Keys are lower-case and stable.</summary>
public static class MethodRegistry
{
    public static IReadOnlyList<MethodEntry> All { get; } =
    [
        new("simclr", "contrastive", "SimCLR: contrastive, two augmented views, NT-Xent with in-batch negatives (Chen et al. 2020).",
            (enc, cfg) => new SimClr(enc, cfg.Methods.SimClr),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2)),
        new("mlm", "masked", "Masked language modelling: predict 15 % hidden tokens (80/10/10 mask/random/keep) with a Transformer (BERT, Devlin et al. 2019).",
            (enc, cfg) => new MaskedLanguageModel(enc, cfg.Methods.Mlm),
            cfg => cfg.Methods.Mlm.BuildMasker(cfg.Encoder.Text), TextPresets.Mlm, Modality.Text),
        new("simcse", "contrastive", "Unsupervised SimCSE: the same sentences twice through the Transformer, dropout as the only noise, NT-Xent at tau 0.05 (Gao et al. 2021).",
            (enc, cfg) => new SimCse(enc, cfg.Methods.SimCse),
            _ => new IdentityViews(), TextPresets.SimCse, Modality.Text),
        new("word2vec", "classic", "word2vec skip-gram with negative sampling: subsampled words predict their window against unigram^0.75 noise (Mikolov et al. 2013).",
            (enc, cfg) => new Word2Vec(enc, cfg.Encoder.Text.SpecialIds(), cfg.Methods.Word2Vec),
            _ => new IdentityViews(), TextPresets.Word2Vec, Modality.Text),
    ];

    /// <exception cref="ArgumentException">Unknown method; the message lists the known ones.</exception>
    public static MethodEntry Get(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown method '{name}'. Known methods: {string.Join(", ", All.Select(m => m.Name))}.");
}
