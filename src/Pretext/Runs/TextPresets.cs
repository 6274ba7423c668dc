using Pretext.Core;
using Pretext.Encoders;
using Pretext.Training;

namespace Pretext.Runs;

/// <summary>
/// Defaults of the text methods. Each turns any base config (the CLI starts from the image preset) into
/// the method's text recipe, keeping the data set, seed, threads and any tokenizer already chosen.
/// Sized for a few thousand documents (SpamAssassin) on 2 CPU cores.
/// </summary>
public static class TextPresets
{
    /// <summary>
    /// The shared Transformer recipe: 4 pre-LN blocks of width 256 with 4 heads (BERT-mini's shape, Turc et
    /// al. 2019), 128 tokens per document, an 8,000-subword vocabulary, bf16 matrix products with an fp32 residual
    /// stream, layer norms and master weights (about twice the fp32 step rate here); AdamW with BERT's weight decay
    /// 0.01 and RoBERTa's beta2 0.98 (Liu et al. 2019, section 3.1), 5 % warmup then cosine decay. Epochs count
    /// pretraining windows (up to 8 per document): SpamAssassin's 4,637 training mails give 16,467 windows, 257 steps
    /// of 64 per epoch; 6 epochs (1,542 steps) take about 20 minutes on 2 cores.
    /// </summary>
    public static RunConfig Transformer(RunConfig cfg) => cfg with
    {
        Encoder = new EncoderConfig
        {
            Kind = EncoderKind.Transformer, Precision = Precision.Auto, Layout = MemoryLayout.Contiguous,
            Text = cfg.Encoder.Text with { Dim = 256, Depth = 4, Heads = 4, MlpRatio = 4, Dropout = 0.1, Pooling = TextPooling.Mean },
        },
        Train = new TrainerOptions
        {
            Epochs = 6, BatchSize = 64, LearningRate = 5e-4, WarmupEpochs = 0.3, Seed = cfg.Train.Seed, Threads = cfg.Train.Threads,
            CheckpointEvery = 200, KeepCheckpoints = 3,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0.01, Beta1 = 0.9, Beta2 = 0.98, Epsilon = 1e-6 },
        },
    };

    /// <summary>Masked language modelling: the Transformer recipe with BERT's masking (<see cref="Methods.MlmOptions"/>).</summary>
    public static RunConfig Mlm(RunConfig cfg) => Transformer(cfg);

    /// <summary>
    /// Unsupervised SimCSE: the Transformer recipe at batch 64 (the paper's unsupervised BERT batch, Gao et al.
    /// 2021, appendix A) and temperature 0.05, for 3 epochs: each step runs the batch twice, so 3 epochs take
    /// about the time of masked language modelling's 6. The paper starts from a pretrained BERT at lr 3e-5;
    /// starting from random weights here takes the Transformer recipe's larger 5e-4.
    /// </summary>
    public static RunConfig SimCse(RunConfig cfg)
    {
        var t = Transformer(cfg);
        return t with { Train = t.Train with { Epochs = 3, WarmupEpochs = 0.15 } };
    }

    /// <summary>
    /// word2vec: 100-dimensional word vectors (word2vec.c's default size), window 5, 5 negatives,
    /// subsampling 1e-3; Adam (lr 2e-3, no weight decay) replaces word2vec.c's per-pair SGD because the loss
    /// here is a mean over the pairs of a batch of 32 windows; 5 epochs (2,570 steps on SpamAssassin) take a few minutes.
    /// </summary>
    public static RunConfig Word2Vec(RunConfig cfg) => cfg with
    {
        Encoder = new EncoderConfig
        {
            Kind = EncoderKind.WordEmbedding, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous,
            Text = cfg.Encoder.Text with { Dim = 100 },
        },
        Train = new TrainerOptions
        {
            Epochs = 5, BatchSize = 32, LearningRate = 2e-3, WarmupEpochs = 0, Seed = cfg.Train.Seed, Threads = cfg.Train.Threads,
            CheckpointEvery = 200, KeepCheckpoints = 3,
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0 },
        },
    };
}
