using Pretext.Augmentations;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;

namespace Pretext.Methods;

/// <summary>One registered method: its key, family, a one-line description, and how to build it, its views and its defaults.</summary>
/// <param name="Name">Registry key, lower-case and stable.</param>
/// <param name="Family">contrastive, non-contrastive, clustering, masked or classic.</param>
/// <param name="Description">One line for `pretext methods`.</param>
/// <param name="Create">Builds the method around an encoder from the run config.</param>
/// <param name="Views">The view generator the training loop feeds the method with.</param>
/// <param name="Preset">Turns a data set's base preset (the run layer's presets) into this method's defaults
/// (optimiser, learning rate, augmentation); identity when the base preset already suits it.</param>
/// <param name="Modality">The data the method trains on first (its row in `pretext methods`); text methods get token-id batches and a text encoder.</param>
/// <param name="EntityPositives">Whether the method takes its positives from <see cref="Training.Batch.Partners"/> when the data has entity
/// groups (same-entity positives); methods without it refuse such data rather than ignore the option.</param>
/// <param name="AlsoOn">Other kinds of data the same method trains on, with an encoder of that kind (CPC: series and audio).
/// <see cref="Views"/> and <see cref="Preset"/> then read <see cref="MethodSetup.Encoder"/>'s modality to tell them apart.</param>
public sealed record MethodEntry(string Name, string Family, string Description, Func<Encoder, MethodSetup, ISslMethod> Create,
    Func<MethodSetup, IViewGenerator> Views, Func<MethodSetup, MethodSetup>? Preset = null, Modality Modality = Modality.Image,
    bool EntityPositives = false, IReadOnlyList<Modality>? AlsoOn = null)
{
    /// <summary>Every kind of data the method trains on, <see cref="Modality"/> first.</summary>
    public IReadOnlyList<Modality> Modalities => [Modality, .. AlsoOn ?? []];

    /// <summary>Whether the method trains on <paramref name="kind"/> data.</summary>
    public bool TrainsOn(Modality kind) => Modalities.Contains(kind);

    /// <summary><paramref name="kind"/> when the method trains on it, else the method's first kind of data.</summary>
    public Modality ModalityFor(Modality? kind) => kind is { } k && TrainsOn(k) ? k : Modality;

    /// <summary><paramref name="baseSetup"/> (the data's base preset) with this method's defaults applied.</summary>
    public MethodSetup ApplyPreset(MethodSetup baseSetup) => Preset is null ? baseSetup : Preset(baseSetup);
}

/// <summary>The table of self-supervised methods, one row each. Keys are lower-case and stable.</summary>
public static class MethodRegistry
{
    public static IReadOnlyList<MethodEntry> All { get; } =
    [
        new("simclr", "contrastive", "SimCLR: contrastive, two augmented views, NT-Xent with in-batch negatives (Chen et al. 2020).",
            (enc, cfg) => new SimClr(enc, cfg.Methods.SimClr),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), SimClr.Preset, EntityPositives: true),
        new("mocov2", "contrastive", "MoCo v2: momentum key encoder, queue of negative keys, InfoNCE (He et al. 2020; Chen et al. 2020).",
            (enc, cfg) => new MoCoV2(enc, cfg.Encoder.Build(), cfg.Methods.MoCoV2),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), MoCoV2.Preset),
        new("mocov3", "contrastive", "MoCo v3: momentum encoder, predictor, symmetric InfoNCE with in-batch keys (Chen, Xie, He 2021).",
            (enc, cfg) => new MoCoV3(enc, cfg.Encoder.Build(), cfg.Methods.MoCoV3),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), MoCoV3.Preset),
        new("nnclr", "contrastive", "NNCLR: nearest neighbour from a support set of projections as the positive (Dwibedi et al. 2021).",
            (enc, cfg) => new Nnclr(enc, cfg.Methods.Nnclr),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), Nnclr.Preset),
        new("byol", "non-contrastive", "BYOL: online network predicts an EMA target's projection, no negatives (Grill et al. 2020).",
            (enc, cfg) => new Byol(enc, cfg.Encoder.Build(), cfg.Methods.Byol),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), Byol.Preset),
        new("simsiam", "non-contrastive", "SimSiam: predictor and stop-gradient, negative cosine, no momentum encoder (Chen and He 2021).",
            (enc, cfg) => new SimSiam(enc, cfg.Methods.SimSiam),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), SimSiam.Preset),
        new("mae", "masked", "MAE: mask 75 % of ViT patches, encode the visible ones, decode all, MSE on masked normalised pixels (He et al. 2022). ViT encoder only (its preset picks it).",
            (enc, cfg) => new Mae(enc, cfg.Methods.Mae, cfg.Train.Seed),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 1), Mae.Preset),
        new("rotnet", "classic", "RotNet: predict which of 4 rotations (0/90/180/270) was applied (Gidaris et al. 2018).",
            (enc, cfg) => new RotNet(enc, cfg.Methods.RotNet),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 1), RotNet.Preset),
        new("jigsaw", "classic", "Jigsaw: predict which permutation shuffled the 3x3 tiles of an image (Noroozi and Favaro 2016).",
            (enc, cfg) => new Jigsaw(enc, cfg.Methods.Jigsaw, cfg.Train.Seed),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 1), Jigsaw.Preset),
        new("inpainting", "classic", "Context encoder: fill in a dropped square from its surroundings, L2 on the hole (Pathak et al. 2016).",
            (enc, cfg) => new Inpainting(enc, cfg.Methods.Inpainting, new ComputeOptions(cfg.Encoder.Precision, cfg.Encoder.Layout), cfg.Train.Seed),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 1), Inpainting.Preset),
        new("denoising", "classic", "Denoising autoencoder: reconstruct the clean image from Gaussian and masking noise (Vincent et al. 2008).",
            (enc, cfg) => new Denoising(enc, cfg.Methods.Denoising, new ComputeOptions(cfg.Encoder.Precision, cfg.Encoder.Layout), cfg.Train.Seed),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 1), Denoising.Preset),
        new("barlowtwins", "non-contrastive", "Barlow Twins: two views, cross-correlation of standardised embeddings driven to the identity (Zbontar et al. 2021).",
            (enc, cfg) => new BarlowTwins(enc, cfg.Methods.BarlowTwins),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), BarlowTwins.Preset),
        new("vicreg", "non-contrastive", "VICReg: two views, invariance + variance hinge + covariance regularisation (Bardes et al. 2022).",
            (enc, cfg) => new VicReg(enc, cfg.Methods.VicReg),
            cfg => new MultiViewAugmentation(cfg.Augment.BuildView(), 2), VicReg.Preset),
        new("swav", "clustering", "SwAV: multi-crop, Sinkhorn-Knopp codes on prototypes, swapped prediction (Caron et al. 2020).",
            (enc, cfg) => new Swav(enc, cfg.Methods.Swav),
            cfg => MultiCrop.Views(cfg.Augment, cfg.Methods.Swav.MultiCrop, "methods.swav.multiCrop"), Swav.Preset),
        new("dino", "clustering", "DINO: multi-crop self-distillation to an EMA teacher with centring and sharpening (Caron et al. 2021).",
            (enc, cfg) => new Dino(enc, cfg.Encoder.Build(), cfg.Methods.Dino),
            cfg => MultiCrop.Views(cfg.Augment, cfg.Methods.Dino.MultiCrop, "methods.dino.multiCrop"), Dino.Preset),
        new("mlm", "masked", "Masked language modelling: predict 15 % hidden tokens (80/10/10 mask/random/keep) with a Transformer (BERT, Devlin et al. 2019).",
            (enc, cfg) => new MaskedLanguageModel(enc, cfg.Methods.Mlm),
            cfg => cfg.Methods.Mlm.BuildMasker(cfg.Encoder.Text), null, Modality.Text),
        new("clm", "classic", "Causal language modelling: a causal Transformer predicts every next token, output tied to the input embeddings (GPT, Radford et al. 2018).",
            (enc, cfg) => new CausalLanguageModel(enc, cfg.Methods.Clm),
            _ => new IdentityViews(), CausalLanguageModel.Preset, Modality.Text),
        new("simcse", "contrastive", "Unsupervised SimCSE: the same sentences twice through the Transformer, dropout as the only noise, NT-Xent at tau 0.05 (Gao et al. 2021).",
            (enc, cfg) => new SimCse(enc, cfg.Methods.SimCse),
            _ => new IdentityViews(), SimCse.Preset, Modality.Text),
        new("word2vec", "classic", "word2vec skip-gram with negative sampling: subsampled words predict their window against unigram^0.75 noise (Mikolov et al. 2013).",
            (enc, cfg) => new Word2Vec(enc, cfg.Encoder.Text.SpecialIds(), cfg.Methods.Word2Vec),
            _ => new IdentityViews(), Word2Vec.Preset, Modality.Text),
        new("cpc", "contrastive", "CPC: a GRU context over causal per-step latents predicts the next K latents, InfoNCE against the batch's (van den Oord et al. 2018).",
            (enc, cfg) => new Cpc(enc, cfg.Methods.Cpc),
            Cpc.Views, Cpc.Preset, Modality.Series, AlsoOn: [Modality.Audio]),
        new("ts2vec", "contrastive", "TS2Vec: two overlapping crops with timestamp masking, hierarchical instance-wise and temporal contrast (Yue et al. 2022).",
            (enc, cfg) => new Ts2Vec(enc, cfg.Methods.Ts2Vec),
            cfg => new MultiViewAugmentation(cfg.SeriesAugment.BuildView(), 1), Ts2Vec.Preset, Modality.Series),
        new("maskedpatches", "masked", "Masked patch reconstruction: hide 40 % of a window's patches, rebuild their readings from per-step features, MSE on the hidden ones (PatchTST, Nie et al. 2023).",
            (enc, cfg) => new MaskedPatches(enc, cfg.Methods.MaskedPatches),
            cfg => new MultiViewAugmentation(cfg.SeriesAugment.BuildView(), 1), MaskedPatches.Preset, Modality.Series),
        new("forecast", "classic", "Forecasting: a causal encoder's features at each step predict the next reading(s) of every channel, MSE.",
            (enc, cfg) => new Forecasting(enc, cfg.Methods.Forecast),
            cfg => new MultiViewAugmentation(cfg.SeriesAugment.BuildView(), 1), Forecasting.Preset, Modality.Series),
        new("cola", "contrastive", "COLA: two random segments of a clip are positives, bilinear similarity, the batch's other clips as negatives (Saeed et al. 2021).",
            (enc, cfg) => new Cola(enc, cfg.Methods.Cola),
            cfg => cfg.Methods.Cola.Views(cfg.Encoder.Audio), Cola.Preset, Modality.Audio),
        new("msm", "masked", "Masked spectrogram modelling: hide spans of log-mel frames, predict them from the rest, MSE on the hidden frames (Mockingjay, Liu et al. 2020).",
            (enc, cfg) => new MaskedSpectrogram(enc, cfg.Methods.Msm, cfg.Train.Seed),
            _ => new IdentityViews(), MaskedSpectrogram.Preset, Modality.Audio),
        new("scarf", "contrastive", "SCARF: corrupt 60 % of a row's columns with draws from their marginals, InfoNCE between clean and corrupted rows (Bahri et al. 2022).",
            (enc, cfg) => new Scarf(enc, cfg.Encoder.Table, cfg.Methods.Scarf),
            _ => new IdentityViews(), Scarf.Preset, Modality.Table, EntityPositives: true),
        new("vime", "masked", "VIME self-supervision: mask cells (p 0.3), replace them from their marginals, estimate the mask and reconstruct the row (Yoon et al. 2020).",
            (enc, cfg) => new Vime(enc, cfg.Encoder.Table, cfg.Methods.Vime),
            _ => new IdentityViews(), Vime.Preset, Modality.Table),
        new("dae", "classic", "Denoising autoencoder for rows: swap 15 % of cells from their marginals, rebuild the clean row (Vincent et al. 2008, swap noise).",
            (enc, cfg) => new RowDenoising(enc, cfg.Encoder.Table, cfg.Methods.Dae),
            _ => new IdentityViews(), RowDenoising.Preset, Modality.Table),
        new("nextframe", "classic", "Next-frame prediction: frame encoder, causal GRU over the frames, a decoder draws frame t + 1 from frames 0..t as a change of frame t, cross-entropy on pixels (Srivastava et al. 2015).",
            (enc, cfg) => new NextFramePrediction(enc, cfg.Methods.NextFrame),
            _ => new IdentityViews(), null, Modality.Video),
        new("timecontrastive", "contrastive", "Time-contrastive: frames of one clip at most 2 apart are positives, other clips' frames negatives, NT-Xent (after Sermanet et al. 2018).",
            (enc, cfg) => new TimeContrastive(enc, cfg.Methods.TimeContrastive),
            _ => new IdentityViews(), null, Modality.Video),
    ];

    /// <exception cref="ArgumentException">Unknown method; the message lists the known ones.</exception>
    public static MethodEntry Get(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown method '{name}'. Known methods: {string.Join(", ", All.Select(m => m.Name))}.");
}
