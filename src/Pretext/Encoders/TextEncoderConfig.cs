using Pretext.Compute;
using Pretext.Text;

namespace Pretext.Encoders;

/// <summary>
/// The text side of <see cref="EncoderConfig"/>: the tokenizer the model reads through and its special
/// ids (filled in from the trained tokenizer by <see cref="WithTokenizer"/>), and the Transformer's
/// shape. It travels in config.json and in every checkpoint so evaluation and export rebuild the
/// same model and tokenize the same way.
/// </summary>
public sealed record TextEncoderConfig
{
    /// <summary>File of the saved tokenizer; a relative path is relative to the run folder (tokenizer.json there).</summary>
    public string? Tokenizer { get; init; }
    /// <summary>Vocabulary size: the target when a tokenizer is trained, then the trained tokenizer's actual size.</summary>
    public int VocabSize { get; init; } = 8000;
    /// <summary>Tokens per sequence, [CLS] and [SEP] included; longer texts are truncated.</summary>
    public int MaxLength { get; init; } = 128;
    /// <summary>
    /// Pretraining reads each document as up to this many consecutive windows of <see cref="MaxLength"/> tokens
    /// (<see cref="TokenizedDataset.Windows"/>); 1 reads only the start. Evaluation, fine-tuning and export read the
    /// first window of each document. SpamAssassin mails average about 620 tokens: 8 windows of 128 take in nearly
    /// all of most mails while no single long mail counts for more than 8.
    /// </summary>
    public int PretrainingWindows { get; init; } = 8;
    public int PadId { get; init; }
    public int UnknownId { get; init; } = 1;
    public int ClsId { get; init; } = 2;
    public int SepId { get; init; } = 3;
    public int MaskId { get; init; } = 4;
    /// <summary>Model width (also the word-vector width of <see cref="EncoderKind.WordEmbedding"/>).</summary>
    public int Dim { get; init; } = 256;
    public int Depth { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public int MlpRatio { get; init; } = 4;
    /// <summary>Dropout inside the Transformer (BERT's 0.1; it is SimCSE's augmentation).</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>
    /// How the per-token outputs become one vector (evaluation, export). A causal model (<see cref="Causal"/>) takes Mean or
    /// Last; which is better is an empirical question answered on the evaluation's validation split (docs/text.md,
    /// "Causal language modelling"). It has no weights, so `pretext evaluate --set encoder.text.pooling=Last` tries it on a
    /// trained checkpoint.
    /// </summary>
    public TextPooling Pooling { get; init; } = TextPooling.Mean;
    /// <summary>Causal attention (each position sees only itself and earlier ones); set by causal language modelling's preset.</summary>
    public bool Causal { get; init; }
    /// <summary>BERT's post-LN Transformer (<see cref="TransformerOptions.PostNorm"/>); set by `pretext import --onnx` for BERT-family encoders.</summary>
    public bool PostNorm { get; init; }
    /// <summary>Epsilon of the Transformer's layer norms (torch's 1e-5; BERT's 1e-12).</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Ids no masking, subsampling or pair making may ever touch: pad, [CLS], [SEP], [MASK].</summary>
    public int[] SpecialIds() => new[] { PadId, ClsId, SepId, MaskId }.Distinct().ToArray();

    /// <summary>This config with the vocabulary size and special ids of <paramref name="tokenizer"/>, saved at <paramref name="tokenizerFile"/>.</summary>
    public TextEncoderConfig WithTokenizer(ITextTokenizer tokenizer, string? tokenizerFile) => this with
    {
        Tokenizer = tokenizerFile, VocabSize = tokenizer.VocabSize, PadId = tokenizer.PadId, UnknownId = tokenizer.UnknownId,
        ClsId = tokenizer.ClsId, SepId = tokenizer.SepId, MaskId = tokenizer.MaskId,
    };

    /// <exception cref="InvalidDataException">The tokenizer's vocabulary or special ids differ from this config's (it is not the model's tokenizer).</exception>
    public void CheckMatches(ITextTokenizer tokenizer, string source)
    {
        if (tokenizer.VocabSize != VocabSize || tokenizer.PadId != PadId || tokenizer.ClsId != ClsId || tokenizer.SepId != SepId || tokenizer.MaskId != MaskId)
            throw new InvalidDataException($"Tokenizer '{source}' (vocabulary {tokenizer.VocabSize}) is not the one this model was trained with (vocabulary {VocabSize}). Use the tokenizer.json of the model's run folder.");
    }

    public TransformerEncoder BuildTransformer(Precision precision) => new(new TransformerOptions
    {
        VocabSize = VocabSize, MaxLength = MaxLength, PadId = PadId, Dim = Dim, Depth = Depth, Heads = Heads,
        MlpRatio = MlpRatio, Dropout = Dropout, Pooling = Pooling, Causal = Causal, Precision = precision,
        PostNorm = PostNorm, LayerNormEps = LayerNormEps,
    });

    public WordEmbeddingEncoder BuildWordEmbedding() => new(VocabSize, Dim, MaxLength, PadId);
}
