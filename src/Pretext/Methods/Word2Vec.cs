using Pretext.Data;
using Pretext.Encoders;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>word2vec's options.</summary>
    public Word2VecOptions Word2Vec { get; init; } = new();
}

/// <summary>Options of <see cref="Word2Vec"/>; defaults are word2vec.c's (and gensim's).</summary>
public sealed record Word2VecOptions
{
    /// <summary>Largest distance between centre and context; each centre draws its own window in [1, Window] (word2vec.c).</summary>
    public int Window { get; init; } = 5;
    /// <summary>Noise words per pair (Mikolov et al. 2013, section 2.2: 5-20 for small data).</summary>
    public int Negatives { get; init; } = 5;
    /// <summary>Subsampling threshold t: a word of frequency f is kept with probability min(1, sqrt(t / f)) (section 2.3; 1e-3 is word2vec.c's default, the paper's 1e-5 suits billions of words).</summary>
    public double SubsampleThreshold { get; init; } = 1e-3;
    /// <summary>Noise distribution: unigram counts to this power (section 2.2: 3/4).</summary>
    public double NoisePower { get; init; } = 0.75;

    internal void Validate()
    {
        if (Window < 1) throw new ArgumentException($"word2vec window must be at least 1, got {Window}.");
        if (Negatives < 1) throw new ArgumentException($"word2vec needs at least one negative, got {Negatives}.");
        if (!(SubsampleThreshold > 0)) throw new ArgumentException($"word2vec subsampling threshold must be positive, got {SubsampleThreshold}.");
        if (!(NoisePower >= 0)) throw new ArgumentException($"word2vec noise power must be >= 0, got {NoisePower}.");
    }
}

/// <summary>
/// word2vec, skip-gram with negative sampling (Mikolov et al. 2013): frequent words are subsampled,
/// every remaining word predicts the words within its (randomly shrunk) window, against K noise words
/// drawn from the unigram distribution raised to 3/4. The encoder is the table of input ("centre")
/// vectors; a sequence's embedding is the mean of its words' vectors. Word counts come from the training
/// data once (<see cref="Prepare"/>) and are kept as a buffer, so checkpoints carry them. Randomness
/// (subsampling, windows, noise words) comes from the step's generator.
/// One view: the token ids.
/// </summary>
public sealed class Word2Vec : nn.Module, ISslMethod
{
    /// <summary>
    /// word2vec's defaults, replacing the text base preset's Transformer: 100-dimensional word vectors (word2vec.c's
    /// default size); Adam (lr 2e-3, no weight decay) replaces word2vec.c's per-pair SGD because the loss here is a mean
    /// over the pairs of a batch of 32 windows; 5 epochs (2,570 steps on SpamAssassin) take a few minutes.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with
    {
        Encoder = new EncoderConfig
        {
            Kind = EncoderKind.WordEmbedding, Precision = Compute.Precision.Float32, Layout = Compute.MemoryLayout.Contiguous,
            Text = cfg.Encoder.Text with { Dim = 100 },
        },
        Train = new TrainerOptions
        {
            Epochs = 5, BatchSize = 32, LearningRate = 2e-3, WarmupEpochs = 0, Seed = cfg.Train.Seed, Threads = cfg.Train.Threads,
            CheckpointEvery = 200, KeepCheckpoints = 3,
            Optimizer = new Training.OptimizerOptions { Kind = OptimizerKind.AdamW, WeightDecay = 0 },
        },
    };

    private readonly WordEmbeddingEncoder encoder;
    private readonly Parameter output;
    private readonly Tensor counts;
    private readonly long[] specials;

    /// <param name="specialIds">Ids that are never words (pad, [CLS], [SEP], [MASK]): never centres, contexts or noise.</param>
    public Word2Vec(Encoder encoder, IReadOnlyCollection<int> specialIds, Word2VecOptions? options = null) : base(nameof(Word2Vec))
    {
        options ??= new Word2VecOptions();
        options.Validate();
        this.encoder = encoder as WordEmbeddingEncoder ?? throw new ArgumentException($"word2vec learns a word-embedding encoder (EncoderKind.WordEmbedding), got {encoder.GetType().Name}.");
        // Output vectors start at zero as in word2vec.c.
        output = new Parameter(zeros(this.encoder.VocabSize, this.encoder.TokenDim));
        counts = zeros(this.encoder.VocabSize, dtype: ScalarType.Int64);
        specials = specialIds.Select(i => (long)i).Distinct().ToArray();
        Options = options;
        RegisterComponents();
    }

    public Word2VecOptions Options { get; }
    public string Name => "word2vec";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;
    /// <summary>Occurrences of every token id in the training data (specials zeroed).</summary>
    public Tensor Counts => counts;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    public void Prepare(IDataset data)
    {
        using var noGrad = no_grad();
        counts.zero_();
        for (long start = 0; start < data.Count; start += 1024)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(1024, data.Count - start);
            var idx = new long[n];
            for (long i = 0; i < n; i++) idx[i] = start + i;
            counts.add_(data.Gather(idx).flatten().bincount(null, encoder.VocabSize));
        }
        counts.index_fill_(0, tensor(specials), 0);
    }

    /// <summary>Keep probability of each id, min(1, sqrt(t / f)) with f = count / total (section 2.3); 1 for unseen ids.</summary>
    public static Tensor KeepProbabilities(Tensor counts, double threshold)
    {
        using var scope = NewDisposeScope();
        var c = counts.to(ScalarType.Float64);
        var f = c.div(c.sum());
        return f.reciprocal().mul(threshold).sqrt().clamp_max(1).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"word2vec takes one view (the token ids), got {batch.Views.Count}.");
        var x = batch.Views[0];
        if (counts.sum().item<long>() == 0)
            throw new InvalidOperationException("word2vec has no word counts: call Prepare(data) with the training data first (the training loop does).");
        var words = isin(x, tensor(specials)).logical_not();
        var keep = words.logical_and(rand(x.shape, generator: batch.Random).lt(KeepProbabilities(counts, Options.SubsampleThreshold).index_select(0, x.flatten()).view(x.shape)));
        var windows = randint(1, Options.Window + 1, x.shape, dtype: ScalarType.Int64, generator: batch.Random);
        var (centre, context) = SkipGramPairs.Make(x, keep, windows, Options.Window);
        var embedding = encoder.forward(x);
        if (centre.shape[0] == 0) return new StepOutput(embedding.sum().mul(0), embedding);
        var noise = counts.to(ScalarType.Float64).pow(Options.NoisePower);
        var negatives = noise.multinomial(centre.shape[0] * Options.Negatives, replacement: true, generator: batch.Random).view(centre.shape[0], Options.Negatives);
        var table = encoder.TokenEmbedding;
        var loss = SkipGramLoss.Compute(table.index_select(0, centre), output.index_select(0, context),
            output.index_select(0, negatives.flatten()).view(centre.shape[0], Options.Negatives, -1));
        return new StepOutput(loss, embedding);
    }
}

/// <summary>Skip-gram (centre, context) pairs of a batch of token sequences.</summary>
public static class SkipGramPairs
{
    /// <summary>
    /// Drops the tokens not kept (subsampling happens before windowing, as in word2vec.c, so windows reach
    /// over dropped words), then pairs every kept token with the kept tokens at distance 1..b of it in its
    /// own sequence, b being its own window from <paramref name="windows"/>.
    /// </summary>
    /// <param name="ids">(B, L) int64 token ids.</param>
    /// <param name="keep">(B, L) bool: tokens that take part.</param>
    /// <param name="windows">(B, L) int64 in [1, maxWindow]: the window of the token at that position (after dropping, position i of a row
    /// is its i-th kept token).</param>
    /// <returns>Centre and context ids, (P) int64 each.</returns>
    public static (Tensor Centres, Tensor Contexts) Make(Tensor ids, Tensor keep, Tensor windows, int maxWindow)
    {
        if (ids.dim() != 2 || !ids.shape.SequenceEqual(keep.shape) || !ids.shape.SequenceEqual(windows.shape))
            throw new ArgumentException($"Skip-gram pairs need ids, keep and windows of one (B, L) shape; got [{string.Join(",", ids.shape)}], [{string.Join(",", keep.shape)}], [{string.Join(",", windows.shape)}].");
        using var scope = NewDisposeScope();
        long b = ids.shape[0], l = ids.shape[1];
        // Compact each row's kept tokens to its front; dropped tokens go to a spare last column.
        var slot = where(keep, keep.to(ScalarType.Int64).cumsum(1).sub(1), full(ids.shape, l, ScalarType.Int64));
        var compact = zeros(b, l + 1, dtype: ScalarType.Int64).scatter_(1, slot, ids).narrow(1, 0, l);
        var present = arange(l, dtype: ScalarType.Int64).unsqueeze(0).lt(keep.sum(1, keepdim: true));
        var centres = new List<Tensor>();
        var contexts = new List<Tensor>();
        for (int d = 1; d < Math.Min(maxWindow + 1, l); d++)
        {
            var left = compact.narrow(1, 0, l - d);
            var right = compact.narrow(1, d, l - d);
            var both = present.narrow(1, 0, l - d).logical_and(present.narrow(1, d, l - d));
            // Left token as centre (its window must reach d), then right token as centre.
            var lc = both.logical_and(windows.narrow(1, 0, l - d).ge(d));
            var rc = both.logical_and(windows.narrow(1, d, l - d).ge(d));
            centres.Add(left.masked_select(lc)); contexts.Add(right.masked_select(lc));
            centres.Add(right.masked_select(rc)); contexts.Add(left.masked_select(rc));
        }
        if (centres.Count == 0) return (empty(0, dtype: ScalarType.Int64).MoveToOuterDisposeScope(), empty(0, dtype: ScalarType.Int64).MoveToOuterDisposeScope());
        return (cat(centres, 0).MoveToOuterDisposeScope(), cat(contexts, 0).MoveToOuterDisposeScope());
    }
}
