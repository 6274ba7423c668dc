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
    /// <summary>Time-contrastive learning's options.</summary>
    public TimeContrastiveOptions TimeContrastive { get; init; } = new();
}

/// <summary>Options of <see cref="TimeContrastive"/>.</summary>
public sealed record TimeContrastiveOptions
{
    /// <summary>A positive is at most this many frames from its anchor (and at least one).</summary>
    public int Window { get; init; } = 2;
    /// <summary>Temperature of the NT-Xent loss (SimCLR's 0.1 for small batches).</summary>
    public double Temperature { get; init; } = 0.1;
}

/// <summary>
/// Time-contrastive learning (in the spirit of Sermanet et al. 2018's time-contrastive networks, with in-batch
/// negatives as SimCLR): in each clip an anchor frame and a positive frame at most <see cref="TimeContrastiveOptions.Window"/>
/// frames away are encoded by the frame encoder alone, projected by an MLP, and pulled together with NT-Xent against the
/// frames drawn from the batch's other clips. Frame positions come from the step's generator. One view: the clip.
/// </summary>
public sealed class TimeContrastive : nn.Module, ISslMethod
{
    private readonly FrameSequenceEncoder encoder;
    private readonly Sequential projector;
    private readonly NtXentLoss loss;
    private readonly int window;

    public TimeContrastive(Encoder encoder, TimeContrastiveOptions? options = null) : base(nameof(TimeContrastive))
    {
        options ??= new TimeContrastiveOptions();
        this.encoder = encoder as FrameSequenceEncoder ?? throw new ArgumentException($"Time-contrastive learning needs the video encoder (FrameSequence), got {encoder.GetType().Name}. Pretrain it on clips.");
        if (options.Window < 1 || options.Window >= this.encoder.Config.Frames)
            throw new ArgumentException($"The positive window must lie in [1, {this.encoder.Config.Frames - 1}], got {options.Window}.");
        window = options.Window;
        int d = this.encoder.FeatureDim;
        projector = Sequential(("fc1", Linear(d, d)), ("relu", ReLU()), ("fc2", Linear(d, d)));
        loss = new NtXentLoss(options.Temperature);
        Options = options;
        RegisterComponents();
    }

    public TimeContrastiveOptions Options { get; }
    public string Name => "timecontrastive";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>(anchor, positive) frame indices (B) each, |anchor - positive| in [1, Window], both inside [0, T).</summary>
    public (Tensor Anchor, Tensor Positive) Pairs(long clips, long frames, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var anchor = randint(0, frames, [clips], dtype: ScalarType.Int64, generator: generator);
        var offset = randint(1, window + 1, [clips], dtype: ScalarType.Int64, generator: generator);
        var sign = randint(0, 2, [clips], dtype: ScalarType.Int64, generator: generator).mul(2).sub(1);
        var positive = anchor.add(offset.mul(sign));
        // Off the end of the clip: go the other way (Window < T keeps that inside).
        positive = where(positive.lt(0).logical_or(positive.ge(frames)), anchor.sub(offset.mul(sign)), positive);
        return (anchor.MoveToOuterDisposeScope(), positive.MoveToOuterDisposeScope());
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"Time-contrastive learning takes the clips as its one view, got {batch.Views.Count} views.");
        var x = batch.Views[0];
        long b = x.shape[0], t = x.shape[1];
        var (a, p) = Pairs(b, t, batch.Random);
        var rows = arange(b, dtype: ScalarType.Int64);
        var za = encoder.EncodeFrames(x.index(rows, a).unsqueeze(1)).squeeze(1);
        var zp = encoder.EncodeFrames(x.index(rows, p).unsqueeze(1)).squeeze(1);
        return new StepOutput(loss.Compute(projector.forward(za), projector.forward(zp)), za, zp);
    }
}
