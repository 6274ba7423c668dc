using Pretext.Encoders;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>TS2Vec's options.</summary>
    public Ts2VecOptions Ts2Vec { get; init; } = new();
}

/// <summary>Options of <see cref="Ts2Vec"/>; defaults are the paper's (Yue et al. 2022, section 4 and appendix).</summary>
public sealed record Ts2VecOptions
{
    /// <summary>Weight of the instance-wise term against the temporal one.</summary>
    public double Alpha { get; init; } = 0.5;
    /// <summary>Pooling depth from which the temporal term counts.</summary>
    public int TemporalUnit { get; init; }
    /// <summary>Probability that a time step of a view is masked (the paper's timestamp masking, p = 0.5).</summary>
    public double MaskProbability { get; init; } = 0.5;
}

/// <summary>
/// TS2Vec (Yue et al. 2022): two overlapping crops of each window, each with its own random timestamp masking, go through the
/// encoder; the per-step representations of the overlap are positives in the hierarchical contrastive loss
/// (<see cref="Ts2VecLoss"/>), which contrasts them against other windows at the same step and against other steps of the same
/// window, at every scale of max-pooling. The crops (section 3.2): an overlap [a2, b1) of random length, then each view
/// extends it by a random context on one side ([a1, b1) and [a2, b2)), at a random offset per window. Lengths are shared by
/// the batch, offsets are per window, all drawn from the step's generator. Crops are in encoder steps (a patch for the patch
/// Transformer). Masking sets every channel of a step to 0 (the channel mean after normalisation) on the input; the paper
/// masks the latent after its input projection, the same in effect for an affine projection up to its bias.
/// </summary>
public sealed class Ts2Vec : nn.Module, ISslMethod
{
    /// <summary>TS2Vec's defaults: no other augmentation than its own cropping and masking, and max-pooled instance representations (section 3.3).</summary>
    public static MethodSetup Preset(MethodSetup s) => s with
    {
        SeriesAugment = s.SeriesAugment with { JitterStd = 0, ScaleStd = 0, CropMin = 1, MaskProbability = 0, PermutationSegments = 0 },
        Encoder = s.Encoder with { Series = s.Encoder.Series with { Pooling = SeriesPooling.Max } },
    };

    private readonly Encoder encoder;
    private readonly ISequenceEncoder steps;

    /// <exception cref="ArgumentException">The encoder has no per-step features, or an option is out of range.</exception>
    public Ts2Vec(Encoder encoder, Ts2VecOptions? options = null) : base(nameof(Ts2Vec))
    {
        options ??= new Ts2VecOptions();
        if (encoder is not ISequenceEncoder seq)
            throw new ArgumentException($"TS2Vec contrasts per-step representations; the {encoder.GetType().Name} encoder has none. Use a series encoder (--encoder Tcn or PatchTransformer).");
        if (!(options.MaskProbability >= 0 && options.MaskProbability < 1))
            throw new ArgumentException($"methods.ts2vec.maskProbability must lie in [0, 1), got {options.MaskProbability}.");
        if (seq.MaxLength / seq.StepSize < 2) throw new ArgumentException($"TS2Vec needs windows of at least 2 encoder steps; these have {seq.MaxLength / seq.StepSize}.");
        if (!(options.Alpha >= 0 && options.Alpha <= 1)) throw new ArgumentException($"methods.ts2vec.alpha must lie in [0, 1], got {options.Alpha}.");
        if (options.TemporalUnit < 0) throw new ArgumentException($"methods.ts2vec.temporalUnit must be at least 0, got {options.TemporalUnit}.");
        this.encoder = encoder;
        steps = seq;
        Options = options;
        RegisterComponents();
    }

    public Ts2VecOptions Options { get; }
    public string Name => "ts2vec";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"TS2Vec takes 1 view per sample, got {batch.Views.Count}.");
        var x = batch.Views[0];
        var g = batch.Random;
        long b = x.shape[0], size = steps.StepSize, t = x.shape[2] / size;
        long Draw(long lo, long hi) => randint(lo, hi, [1], generator: g).item<long>();     // uniform in [lo, hi)
        long overlap = Draw(2, t + 1);
        long a2 = Draw(0, t - overlap + 1), b1 = a2 + overlap;
        long a1 = Draw(0, a2 + 1), b2 = Draw(b1, t + 1);
        var offset = randint(-a1, t - b2 + 1, [b], generator: g);                          // per window; keeps both views inside it
        var first = Masked(Crop(x, offset, a1, b1, size), g);
        var second = Masked(Crop(x, offset, a2, b2, size), g);
        var z1 = steps.EncodeSteps(first).narrow(1, a2 - a1, overlap);                     // the overlap ends view 1
        var z2 = steps.EncodeSteps(second).narrow(1, 0, overlap);                          // and starts view 2
        var loss = Ts2VecLoss.Hierarchical(z1, z2, Options.Alpha, Options.TemporalUnit);
        return new StepOutput(loss, steps.Pool(z1), steps.Pool(z2));
    }

    /// <summary>Steps [offset + from, offset + to) of each window (B, C, L), offsets (B) in steps of <paramref name="size"/> readings.</summary>
    private static Tensor Crop(Tensor x, Tensor offset, long from, long to, long size)
    {
        long len = (to - from) * size;
        var start = offset.add(from).mul(size).view(-1, 1, 1);
        var index = arange(len, dtype: ScalarType.Int64).view(1, 1, len).add(start).expand(x.shape[0], x.shape[1], len);
        return x.gather(2, index);
    }

    private Tensor Masked(Tensor view, Generator? g)
    {
        if (!training || Options.MaskProbability == 0) return view;
        var keep = rand([view.shape[0], 1, view.shape[2]], generator: g).ge_(Options.MaskProbability).to(view.dtype);
        return view.mul(keep);
    }
}
