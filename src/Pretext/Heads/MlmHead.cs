using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Heads;

/// <summary>
/// BERT's masked-language-model head (Devlin et al. 2019; the reference implementation's
/// BertLMPredictionHead): a dense layer, GELU and layer norm, then a decoder to vocabulary logits.
/// With a tied decoder the logits are x E^T + b with E the encoder's input token embeddings (Press and
/// Wolf 2017, as BERT does); otherwise the decoder has its own (V, D) weight. Input (N, D); output (N, V).
/// </summary>
public sealed class MlmHead : Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm norm;
    private readonly Parameter bias;
    private readonly Parameter? decoder;
    private readonly Parameter? tied;

    /// <param name="dim">Width of the per-token encoder outputs.</param>
    /// <param name="vocabSize">Number of logits.</param>
    /// <param name="tiedEmbedding">The encoder's (V, D) input embeddings to reuse as decoder weight, or null for an own decoder.</param>
    public MlmHead(int dim, int vocabSize, Parameter? tiedEmbedding) : base(nameof(MlmHead))
    {
        if (tiedEmbedding is not null && (tiedEmbedding.shape[0] != vocabSize || tiedEmbedding.shape[1] != dim))
            throw new ArgumentException($"Tied embedding has shape [{string.Join(",", tiedEmbedding.shape)}], the head needs [{vocabSize},{dim}].");
        dense = Linear(dim, dim);
        norm = LayerNorm(dim);
        bias = new Parameter(zeros(vocabSize));
        if (tiedEmbedding is null)
        {
            var w = empty(vocabSize, dim);
            init.normal_(w, 0, 0.02);
            decoder = new Parameter(w);
        }
        RegisterComponents();
        // Registered after RegisterComponents so the shared weight stays the encoder's (one checkpoint key).
        tied = tiedEmbedding;
        using var noGrad = no_grad();
        init.normal_(dense.weight!, 0, 0.02);
        dense.bias!.zero_();
    }

    public bool Tied => tied is not null;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = norm.forward(functional.gelu(dense.forward(x)));
        return functional.linear(h, tied ?? decoder!, bias).MoveToOuterDisposeScope();
    }
}
