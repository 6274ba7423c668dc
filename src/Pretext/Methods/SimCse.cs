using Pretext.Encoders;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Unsupervised SimCSE's options.</summary>
    public SimCseOptions SimCse { get; init; } = new();
}

/// <summary>Options of <see cref="SimCse"/>; defaults from Gao et al. 2021.</summary>
public sealed record SimCseOptions
{
    /// <summary>Temperature tau of the contrastive loss (section 3: 0.05).</summary>
    public double Temperature { get; init; } = 0.05;
    /// <summary>Train through an MLP (dense + tanh) on the sentence vector, dropped at evaluation (section 3, "MLP only in training" for unsupervised SimCSE).</summary>
    public bool Projector { get; init; } = true;
}

/// <summary>
/// Unsupervised SimCSE (Gao et al. 2021): the same batch goes through the encoder twice, and the
/// independent dropout masks (the Transformer's standard 0.1) are the only augmentation. Each sentence's
/// second pass is its positive and the other sentences' second passes its in-batch negatives
/// (NT-Xent in the paper's one-directional form, eq. 1, temperature 0.05). Both passes run as one
/// forward of the batch stacked on itself, as the authors' code does. One view: the token ids.
/// </summary>
public sealed class SimCse : nn.Module, ISslMethod
{
    /// <summary>
    /// SimCSE's defaults on top of the text base preset (the Transformer recipe) at batch 64 (the paper's unsupervised
    /// BERT batch, Gao et al. 2021, appendix A): 3 epochs, because each step runs the batch twice, so 3 epochs take about
    /// the time of masked language modelling's 6. The paper starts from a pretrained BERT at lr 3e-5; starting from
    /// random weights here keeps the recipe's larger 5e-4.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with { Train = cfg.Train with { Epochs = 3, WarmupEpochs = 0.15 } };

    private readonly Encoder encoder;
    private readonly ITokenEncoder tokens;
    private readonly Sequential? projector;
    private readonly NtXentLoss loss;

    public SimCse(Encoder encoder, SimCseOptions? options = null) : base(nameof(SimCse))
    {
        options ??= new SimCseOptions();
        tokens = encoder as ITokenEncoder ?? throw new ArgumentException($"SimCSE needs a text encoder (Transformer), got {encoder.GetType().Name}. Pretrain it on a text data set.");
        this.encoder = encoder;
        if (options.Projector) projector = Sequential(("dense", Linear(encoder.FeatureDim, encoder.FeatureDim)), ("act", Tanh()));
        loss = new NtXentLoss(options.Temperature, crossViewOnly: true);
        Options = options;
        RegisterComponents();
    }

    public SimCseOptions Options { get; }
    public string Name => "simcse";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"SimCSE takes one view (the token ids), got {batch.Views.Count}.");
        var x = batch.Views[0];
        long n = x.shape[0];
        var both = cat([x, x], 0);
        var h = tokens.Pool(tokens.EncodeTokens(both, batch.Random), both);
        var z = projector is null ? h : projector.forward(h);
        return new StepOutput(loss.Compute(z.narrow(0, 0, n), z.narrow(0, n, n)), h.narrow(0, 0, n));
    }
}
