using Pretext.Augmentations;
using Pretext.Encoders;
using Pretext.Training;

namespace Pretext.Methods;

/// <summary>
/// What a method is built from and what its preset may change: the encoder, every method's options, the image
/// and series views and the training schedule. The run layer's config composes these (and adds the data set and evaluation),
/// so methods and their presets never see the layers above them.
/// </summary>
public sealed record MethodSetup
{
    public EncoderConfig Encoder { get; init; } = new();
    /// <summary>Per-method options, one property per method (each method's file adds its own).</summary>
    public MethodSettings Methods { get; init; } = new();
    public ImageAugmentationConfig Augment { get; init; } = new();
    /// <summary>The views of series methods (jitter, scaling, cropping, masking, permutation of segments).</summary>
    public SeriesAugmentationConfig SeriesAugment { get; init; } = new();
    public TrainerOptions Train { get; init; } = new();
}
