using Pretext.Encoders;
using Pretext.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Next-frame prediction's options.</summary>
    public NextFrameOptions NextFrame { get; init; } = new();
}

/// <summary>How predicted pixels are scored against the true ones.</summary>
public enum PixelLoss
{
    /// <summary>Mean squared error.</summary>
    Mse,
    /// <summary>
    /// Binary cross-entropy of each pixel in [0, 1] (Srivastava et al. 2015, section 2.5: the loss they train Moving MNIST with). On
    /// mostly black frames squared error is smallest, early on, for an all-black prediction; cross-entropy charges a missed bright pixel
    /// far more, so the model has to place the digits.
    /// </summary>
    CrossEntropy,
}

/// <summary>Options of <see cref="NextFramePrediction"/>.</summary>
public sealed record NextFrameOptions
{
    /// <summary>Frames every clip shows before its frames are scored: predictions of frames 1..Warmup are left out of the loss (0: every next frame counts).</summary>
    public int Warmup { get; init; }
    /// <summary>
    /// The training loss on pixels; evaluation measures squared error whatever this is. Default cross-entropy, the paper's choice for
    /// Moving MNIST, set before any video number was measured here (a short run with squared error predicted all-black frames).
    /// </summary>
    public PixelLoss Loss { get; init; } = PixelLoss.CrossEntropy;
    /// <summary>
    /// Predict the next frame as a change of the last one: the decoder's output is added to the logit of frame t (clamped to
    /// [<see cref="NextFramePrediction.ResidualFloor"/>, 1 - floor]) before the sigmoid, so an untrained model starts near copying
    /// the last frame instead of near a constant frame. Set before any run with it was measured: short runs without it learnt
    /// a constant frame (docs/video.md).
    /// </summary>
    public bool Residual { get; init; } = true;
    /// <summary>
    /// Frames whose feature maps the decoder reads beside the temporal model's state (U-Net style skips): 0, none (the decoder draws
    /// from the state alone); 1, frame t's; 2, frames t and t - 1's (frame 0's twice for the first prediction), so the decoder can
    /// see locally where a stroke was and where it is. Every map comes from frames 0..t, so no prediction reads a later frame.
    /// </summary>
    public int Skips { get; init; }
}

/// <summary>
/// Next-frame prediction (as in Srivastava et al. 2015's future predictor, with a convolutional frame encoder): the
/// <see cref="FrameSequenceEncoder"/> encodes each frame, its causal GRU reads the frame vectors, and a decoder turns the
/// state after frame t into frame t + 1 (a linear layer to the last feature map, stride-2 transposed convolutions
/// mirroring the encoder, then a sigmoid for pixels in [0, 1]; by default the decoder's output is added to the logit of frame t
/// before the sigmoid, so it predicts a change of the last frame). The loss is the binary cross-entropy (or, as an option, the squared
/// error) on the pixels of frames Warmup + 1 .. T - 1. One view: the clip.
/// </summary>
public sealed class NextFramePrediction : nn.Module, ISslMethod, IFramePredictor
{
    private readonly FrameSequenceEncoder encoder;
    private readonly Linear seed;
    private readonly Sequential decoder;
    private readonly int start;
    private readonly int skips;

    public NextFramePrediction(Encoder encoder, NextFrameOptions? options = null) : base(nameof(NextFramePrediction))
    {
        options ??= new NextFrameOptions();
        this.encoder = encoder as FrameSequenceEncoder ?? throw new ArgumentException($"Next-frame prediction needs the video encoder (FrameSequence), got {encoder.GetType().Name}. Pretrain it on clips.");
        var c = this.encoder.Config;
        if (options.Warmup < 0 || options.Warmup > c.Frames - 2) throw new ArgumentException($"Warmup must lie in [0, {c.Frames - 2}] for {c.Frames}-frame clips, got {options.Warmup}.");
        if (options.Skips is < 0 or > 2) throw new ArgumentException($"methods.nextframe.skips must be 0, 1 or 2 (frames whose feature maps the decoder reads), got {options.Skips}.");
        skips = options.Skips;
        start = options.Warmup;
        int side = c.Size >> c.Widths.Length;
        seed = Linear(c.Dim, c.Widths[^1] * side * side);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        for (int i = c.Widths.Length - 1; i >= 0; i--)
        {
            int outC = i > 0 ? c.Widths[i - 1] : c.Channels;
            layers.Add(($"up{i}", ConvTranspose2d(c.Widths[i] * (1 + options.Skips), outC, 4, stride: 2, padding: 1)));
            // The sigmoid is applied in Predict, after the residual (it has no weights, so checkpoints keep their keys).
            if (i > 0) layers.Add(($"relu{i}", ReLU()));
        }
        decoder = Sequential(layers);
        Options = options;
        RegisterComponents();
    }

    public NextFrameOptions Options { get; }
    public string Name => "nextframe";
    public int ViewCount => 1;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    /// <summary>Predictions (B, T - 1, C, S, S) of frames 1..T-1 of clips <paramref name="x"/> (B, T, C, S, S): entry t is made from frames 0..t.</summary>
    public Tensor Predict(Tensor x)
    {
        var predicted = Predict(x, out var embedding);
        embedding.Dispose();
        return predicted;
    }

    /// <summary>As <see cref="Predict(Tensor)"/>, with the clip embedding (B, D) from the same pass.</summary>
    public Tensor Predict(Tensor x, out Tensor embedding)
    {
        using var scope = NewDisposeScope();
        var c = encoder.Config;
        var maps = skips > 0 || encoder.EmbeddingReadsMaps ? new List<Tensor>() : null;
        var vectors = encoder.EncodeFrames(x, maps);
        var context = encoder.Context(vectors);
        embedding = encoder.Embed(vectors, context, maps?[^1]).MoveToOuterDisposeScope();
        long b = x.shape[0], t = x.shape[1] - 1;
        int side = c.Size >> c.Widths.Length;
        var h = seed.forward(context.narrow(1, 0, t).reshape(b * t, c.Dim)).relu().view(b * t, c.Widths[^1], side, side);
        int level = c.Widths.Length - 1;
        foreach (var layer in decoder.children().Cast<Module<Tensor, Tensor>>())
        {
            if (skips > 0 && maps is not null && layer is ConvTranspose2d)
            {
                // Frame t's map (and frame t - 1's) at this scale for the prediction of frame t + 1, t = 0..T-2.
                var m = maps[level];
                var perClip = m.view(b, t + 1, m.shape[1], m.shape[2], m.shape[3]);
                var parts = new List<Tensor> { h, perClip.narrow(1, 0, t).reshape(b * t, m.shape[1], m.shape[2], m.shape[3]) };
                if (skips == 2)
                {
                    var before = cat([perClip.narrow(1, 0, 1), perClip.narrow(1, 0, t - 1)], 1);
                    parts.Add(before.reshape(b * t, m.shape[1], m.shape[2], m.shape[3]));
                }
                h = cat(parts, 1);
                level--;
            }
            h = layer.forward(h);
        }
        var logits = h.view(b, t, c.Channels, c.Size, c.Size);
        if (Options.Residual) logits = logits.add(x.narrow(1, 0, t).clamp(ResidualFloor, 1 - ResidualFloor).logit());
        return logits.sigmoid().MoveToOuterDisposeScope();
    }

    /// <summary>Smallest pixel value the residual's logit of the last frame reads (0 would be an infinite logit): 0.01, about -4.6.</summary>
    public const double ResidualFloor = 0.01;

    /// <summary>
    /// The mean pixel loss (<see cref="NextFrameOptions.Loss"/>: squared error or binary cross-entropy) of <paramref name="predicted"/>
    /// (B, T - 1, ...) against frames 1..T-1 of <paramref name="x"/>, from frame Warmup + 1 on. Cross-entropy clamps predictions to
    /// [1e-6, 1 - 1e-6] so a saturated sigmoid gives a finite loss.
    /// </summary>
    public Tensor Loss(Tensor predicted, Tensor x)
    {
        using var scope = NewDisposeScope();
        long t = x.shape[1] - 1;
        var p = predicted.narrow(1, start, t - start);
        var target = x.narrow(1, 1 + start, t - start);
        var loss = Options.Loss == PixelLoss.Mse
            ? functional.mse_loss(p, target)
            : functional.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), target);
        return loss.MoveToOuterDisposeScope();
    }

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 1) throw new ArgumentException($"Next-frame prediction takes the clips as its one view, got {batch.Views.Count} views.");
        var x = batch.Views[0];
        var predicted = Predict(x, out var embedding);
        return new StepOutput(Loss(predicted, x), embedding);
    }
}
