using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Masked language modelling's options.</summary>
    public MlmOptions Mlm { get; init; } = new();
}

/// <summary>Options of <see cref="MaskedLanguageModel"/>; defaults from BERT (Devlin et al. 2019, section 3.1).</summary>
public sealed record MlmOptions
{
    /// <summary>Share of (non-special) tokens predicted per sequence.</summary>
    public double MaskProbability { get; init; } = 0.15;
    /// <summary>Share of predicted tokens shown as [MASK].</summary>
    public double MaskFraction { get; init; } = 0.8;
    /// <summary>Share of predicted tokens shown as a random token (the rest are shown unchanged).</summary>
    public double RandomFraction { get; init; } = 0.1;
    /// <summary>Decode with the transposed input embeddings (BERT) instead of an own output matrix.</summary>
    public bool TieOutputEmbedding { get; init; } = true;

    /// <summary>The masker that makes this method's views.</summary>
    public MlmMasker BuildMasker(TextEncoderConfig text) =>
        new(text.VocabSize, text.MaskId, text.SpecialIds(), MaskProbability, MaskFraction, RandomFraction);
}

/// <summary>
/// Masked language modelling (BERT, Devlin et al. 2019): the <see cref="MlmMasker"/> hides 15 % of the
/// tokens (80 % [MASK], 10 % random, 10 % unchanged); a Transformer reads the corrupted sequence and an
/// <see cref="MlmHead"/> predicts the original token at each chosen position. The loss is the cross
/// entropy over the chosen positions only (logits are computed for those alone). Views: the corrupted
/// ids and the targets, as the masker makes them.
/// </summary>
public sealed class MaskedLanguageModel : nn.Module, ISslMethod
{
    private readonly Encoder encoder;
    private readonly MlmHead head;
    private readonly ITokenEncoder tokens;

    public MaskedLanguageModel(Encoder encoder, MlmOptions? options = null) : base(nameof(MaskedLanguageModel))
    {
        options ??= new MlmOptions();
        tokens = encoder as ITokenEncoder ?? throw new ArgumentException($"Masked language modelling needs a text encoder (Transformer), got {encoder.GetType().Name}. Pretrain it on a text data set.");
        this.encoder = encoder;
        head = new MlmHead(tokens.TokenDim, tokens.VocabSize, options.TieOutputEmbedding ? tokens.TokenEmbedding : null);
        Options = options;
        RegisterComponents();
    }

    public MlmOptions Options { get; }
    public string Name => "mlm";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    public MlmHead Head => head;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>Cross entropy of the head's predictions at the positions where <paramref name="targets"/> (B, L) is not
    /// <see cref="MlmMasker.IgnoreIndex"/>, from per-token outputs <paramref name="hidden"/> (B, L, D). Zero (with a graph)
    /// when no position is chosen, so a tiny batch cannot produce NaN.</summary>
    public Tensor Loss(Tensor hidden, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var flatTargets = targets.flatten();
        var chosen = flatTargets.ne(MlmMasker.IgnoreIndex).nonzero().flatten();
        if (chosen.shape[0] == 0) return hidden.sum().mul(0).MoveToOuterDisposeScope();
        var h = hidden.reshape(-1, hidden.shape[2]).index_select(0, chosen);
        var logits = head.forward(h);
        return nn.functional.cross_entropy(logits, flatTargets.index_select(0, chosen)).MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"MLM needs the masked ids and the targets (2 views), got {batch.Views.Count}.");
        var input = batch.Views[0];
        var hidden = tokens.EncodeTokens(input, batch.Random);
        return new StepOutput(Loss(hidden, batch.Views[1]), tokens.Pool(hidden, input));
    }
}
