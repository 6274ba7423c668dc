using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Methods.Shared;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>Denoising autoencoder options.</summary>
    public DenoisingOptions Denoising { get; init; } = new();
}

/// <summary>Options of <see cref="Denoising"/>.</summary>
public sealed record DenoisingOptions
{
    /// <summary>Std of the additive Gaussian noise, in normalised pixel units (1 = one data-set std); 0 turns it off (Vincent et al. 2010, section 4.2).</summary>
    public double NoiseStd { get; init; } = 0.5;
    /// <summary>Fraction of each image's values forced to 0 ("masking noise", Vincent et al. 2008, section 2.3; they test 10-50 %); 0 turns it off.</summary>
    public double MaskFraction { get; init; } = 0.25;
    /// <summary>Channels of the decoder's first 7x7 map.</summary>
    public int DecoderWidth { get; init; } = 64;
}

/// <summary>
/// Denoising autoencoder (Vincent, Larochelle, Bengio, Manzagol 2008): the encoder sees a corrupted
/// image, the shared convolutional decoder must reconstruct the clean one, and the loss is the squared
/// error over all pixels. Corruption: additive Gaussian noise, then masking noise that sets exactly
/// round(fraction * values) of each image's values to 0 (the data set's mean after normalisation),
/// chosen at random per image as in the paper ("a fixed number of components are chosen at random").
/// </summary>
public sealed class Denoising : CorruptionAutoencoder
{
    /// <exception cref="ArgumentException">Noise settings out of range, or the encoder does not take square images.</exception>
    public Denoising(Encoder encoder, DenoisingOptions? options = null, ComputeOptions? compute = null, long seed = 0)
        : base(nameof(Denoising), encoder, (options ?? new()).DecoderWidth, compute ?? ComputeOptions.Default, seed)
    {
        options ??= new DenoisingOptions();
        if (!(options.NoiseStd >= 0)) throw new ArgumentException($"methods.denoising.noise_std must be >= 0, got {options.NoiseStd}.");
        if (!(options.MaskFraction >= 0 && options.MaskFraction < 1)) throw new ArgumentException($"methods.denoising.mask_fraction must lie in [0, 1), got {options.MaskFraction}.");
        if (options.NoiseStd == 0 && options.MaskFraction == 0) throw new ArgumentException("A denoising autoencoder needs some corruption: set methods.denoising.noise_std or methods.denoising.mask_fraction above 0.");
        Options = options;
        RegisterComponents();
    }

    /// <summary>
    /// Denoising-autoencoder defaults on top of a data set's base preset (a small-image choice: the paper
    /// trained shallow sigmoid networks with plain SGD): Adam with lr 1e-3 and betas (0.9, 0.999) (Kingma
    /// and Ba's defaults), no weight decay (the corruption is the regulariser), batch 128, a short warmup
    /// (0.1 epoch), light augmentation: random resized crop (scale 0.6-1) and flips.
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => ReconstructionPreset(cfg, learningRate: 1e-3, beta1: 0.9);

    public DenoisingOptions Options { get; }
    public override string Name => "denoising";

    public override Corruption Corrupt(Tensor x, Generator generator)
    {
        CheckImages(x);
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var input = x;
        if (Options.NoiseStd > 0)
            input = input.add(randn(x.shape, generator: generator).mul_(Options.NoiseStd).to(x.device));
        if (Options.MaskFraction > 0)
        {
            int values = (int)(x.numel() / b);
            var dropped = PatchMasking.Draw(b, values, Options.MaskFraction, generator, x.device).Mask.view(x.shape);
            input = input.masked_fill(dropped.to(ScalarType.Bool), 0);
        }
        var everywhere = ones(b, 1, 1, 1, device: x.device);
        return new Corruption((ReferenceEquals(input, x) ? x.clone() : input).MoveToOuterDisposeScope(), everywhere.MoveToOuterDisposeScope());
    }
}
