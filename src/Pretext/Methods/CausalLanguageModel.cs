using Pretext.Encoders;
using Pretext.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Causal language modelling's options.</summary>
    public ClmOptions Clm { get; init; } = new();
}

/// <summary>Options of <see cref="CausalLanguageModel"/>; defaults from GPT (Radford et al. 2018) and GPT-2 (2019).</summary>
public sealed record ClmOptions
{
    /// <summary>Decode with the transposed input embeddings (GPT, GPT-2; Press and Wolf 2017) instead of an own output matrix.</summary>
    public bool TieOutputEmbedding { get; init; } = true;
}

/// <summary>
/// Causal language modelling (GPT, Radford et al. 2018): a Transformer whose attention is causal
/// (<see cref="TransformerOptions.Causal"/>) reads the token ids, and the output at position t predicts the token at
/// t + 1. The logits are the final per-token outputs times the transposed input embeddings plus a bias (tied, as GPT
/// does; an own (V, D) matrix when untied). The loss is the mean cross entropy over every position whose next token is
/// not padding. One view: the ids themselves; no corruption, so every token is a target (unlike MLM's 15 %).
/// </summary>
public sealed class CausalLanguageModel : nn.Module, ISslMethod
{
    /// <summary>
    /// The text base preset (schedule, optimiser, batch) with the Transformer made causal. Pooling stays as configured:
    /// Mean or Last, chosen on validation (docs/text.md); a [CLS] pooling from the base preset becomes Mean, since under a
    /// causal mask the first position has read nothing.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg)
    {
        var text = cfg.Encoder.Text;
        return cfg with { Encoder = cfg.Encoder with { Text = text with { Causal = true, Pooling = text.Pooling == TextPooling.Cls ? TextPooling.Mean : text.Pooling } } };
    }

    private readonly TransformerEncoder encoder;
    private readonly Parameter bias;
    private readonly Parameter? decoder;
    private readonly Parameter? tied;

    public CausalLanguageModel(Encoder encoder, ClmOptions? options = null) : base(nameof(CausalLanguageModel))
    {
        options ??= new ClmOptions();
        this.encoder = encoder as TransformerEncoder
            ?? throw new ArgumentException($"Causal language modelling needs the text Transformer, got {encoder.GetType().Name}. Pretrain it on a text data set with the Transformer encoder.");
        if (!this.encoder.Options.Causal)
            throw new ArgumentException("Causal language modelling needs a causal Transformer (encoder.text.causal = true; the clm preset sets it). A bidirectional one would see the token it predicts.");
        bias = new Parameter(zeros(this.encoder.VocabSize));
        if (!options.TieOutputEmbedding)
        {
            var w = empty(this.encoder.VocabSize, this.encoder.TokenDim);
            nn.init.normal_(w, 0, 0.02);
            decoder = new Parameter(w);
        }
        Options = options;
        RegisterComponents();
        // Kept after RegisterComponents so the shared weight has one checkpoint key, the encoder's.
        if (options.TieOutputEmbedding) tied = this.encoder.TokenEmbedding;
    }

    public ClmOptions Options { get; }
    public string Name => "clm";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    public bool Tied => tied is not null;
    /// <summary>Longest sequence the model reads, prompt and continuation together.</summary>
    public int MaxLength => encoder.MaxLength;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>Vocabulary logits (..., V) of per-token outputs <paramref name="hidden"/> (..., D).</summary>
    public Tensor Logits(Tensor hidden) => nn.functional.linear(hidden, tied ?? decoder!, bias);

    /// <summary>
    /// Mean next-token cross entropy: outputs <paramref name="hidden"/> (B, L, D) at positions 0..L-2 predict
    /// <paramref name="ids"/> (B, L) at 1..L-1; positions whose next token is padding are left out. Zero (with a graph)
    /// when no position has a next token.
    /// </summary>
    public Tensor Loss(Tensor hidden, Tensor ids)
    {
        if (hidden.dim() != 3 || ids.dim() != 2 || hidden.shape[0] != ids.shape[0] || hidden.shape[1] != ids.shape[1])
            throw new ArgumentException($"CLM loss takes outputs (B, L, D) and ids (B, L), got [{string.Join(",", hidden.shape)}] and [{string.Join(",", ids.shape)}].");
        using var scope = NewDisposeScope();
        long l = ids.shape[1];
        if (l < 2) return hidden.sum().mul(0).MoveToOuterDisposeScope();
        var next = ids.narrow(1, 1, l - 1).flatten();
        var from = hidden.narrow(1, 0, l - 1).reshape(-1, hidden.shape[2]);
        var kept = next.ne(encoder.PadId).nonzero().flatten();
        if (kept.shape[0] == 0) return hidden.sum().mul(0).MoveToOuterDisposeScope();
        // Logits only where there is a target: the (N, V) product is the step's largest tensor.
        var logits = Logits(from.index_select(0, kept));
        return nn.functional.cross_entropy(logits, next.index_select(0, kept)).MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"CLM takes the token ids as its one view, got {batch.Views.Count} views.");
        var ids = batch.Views[0];
        var hidden = encoder.EncodeTokens(ids, batch.Random);
        return new StepOutput(Loss(hidden, ids), encoder.Pool(hidden, ids));
    }

    /// <summary>
    /// Continues <paramref name="prompt"/> (token ids, no padding) by up to <paramref name="newTokens"/> tokens, one at a
    /// time from the model's next-token distribution: greedy (arg max) when <paramref name="temperature"/> is 0, else sampled
    /// from softmax(logits / temperature) with <paramref name="generator"/>. Stops early at <paramref name="stopId"/> (kept)
    /// or at the encoder's max length. Runs in eval mode under no_grad and restores the training mode. Returns the prompt
    /// and the continuation.
    /// </summary>
    /// <exception cref="ArgumentException">An empty prompt, a prompt at or over the max length, or a negative temperature.</exception>
    public int[] Continue(IReadOnlyList<int> prompt, int newTokens, double temperature = 0, Generator? generator = null, int? stopId = null)
    {
        if (prompt.Count == 0 || prompt.Count >= encoder.MaxLength)
            throw new ArgumentException($"A prompt needs 1 to {encoder.MaxLength - 1} tokens (the model's max length is {encoder.MaxLength}), got {prompt.Count}.");
        if (!(temperature >= 0)) throw new ArgumentException($"Temperature must be 0 (greedy) or positive, got {temperature}.");
        bool wasTraining = training;
        eval();
        try
        {
            using var noGrad = no_grad();
            var ids = new List<int>(prompt);
            for (int i = 0; i < newTokens && ids.Count < encoder.MaxLength; i++)
            {
                using var scope = NewDisposeScope();
                var x = tensor(ids.Select(v => (long)v).ToArray()).view(1, -1);
                var logits = Logits(encoder.EncodeTokens(x).select(1, ids.Count - 1)).squeeze(0);   // (V)
                // The pad token is never a continuation.
                logits[encoder.PadId] = float.NegativeInfinity;
                int next = temperature == 0
                    ? (int)logits.argmax().item<long>()
                    : (int)logits.div(temperature).softmax(0).multinomial(1, generator: generator).item<long>();
                ids.Add(next);
                if (next == stopId) break;
            }
            return ids.ToArray();
        }
        finally
        {
            train(wasTraining);
        }
    }
}
