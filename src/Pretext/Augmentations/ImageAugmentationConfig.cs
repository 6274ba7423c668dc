namespace Pretext.Augmentations;

/// <summary>Image view augmentation settings (SimCLR appendix A, adapted per data set by presets).</summary>
public sealed record ImageAugmentationConfig
{
    public int Size { get; init; } = 28;
    public double CropScaleMin { get; init; } = 0.2;
    public double CropScaleMax { get; init; } = 1.0;
    public double FlipProbability { get; init; } = 0.5;
    public double Brightness { get; init; } = 0.4;
    public double Contrast { get; init; } = 0.4;
    public double JitterProbability { get; init; } = 0.8;
    public double BlurProbability { get; init; }
    public double ErasingProbability { get; init; }
    /// <summary>Per-channel mean and std used to standardise inputs (training and evaluation).</summary>
    public float[] Mean { get; init; } = [0.2860f];
    public float[] Std { get; init; } = [0.3530f];

    /// <summary>One view's random pipeline, ending in normalisation.</summary>
    public IAugmentation BuildView()
    {
        var steps = new List<IAugmentation> { new RandomResizedCrop(Size, CropScaleMin, CropScaleMax, flipProbability: FlipProbability) };
        if (JitterProbability > 0) steps.Add(new BrightnessContrastJitter(Brightness, Contrast, JitterProbability));
        if (BlurProbability > 0) steps.Add(new RandomGaussianBlur(Math.Max(3, (Size / 10) | 1), probability: BlurProbability));
        if (ErasingProbability > 0) steps.Add(new RandomErasing(ErasingProbability));
        steps.Add(BuildNormalize());
        return new AugmentationPipeline(steps);
    }

    /// <summary>
    /// Light augmentation for supervised training (crop + flip only), without normalisation: crops of at least
    /// <paramref name="cropScaleMin"/> of the area (null: the pretraining's smallest crop, at least 0.5).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cropScaleMin"/> is not in (0, 1].</exception>
    public IAugmentation BuildSupervised(double? cropScaleMin = null)
    {
        if (cropScaleMin is double c && !(c > 0 && c <= 1))
            throw new ArgumentOutOfRangeException(nameof(cropScaleMin), c, "evaluation.supervised.cropScaleMin and evaluation.fineTuneCropScaleMin must be in (0, 1]: the smallest crop's share of the image (1 keeps whole images).");
        return new RandomResizedCrop(Size, cropScaleMin ?? Math.Max(CropScaleMin, 0.5), 1.0, flipProbability: FlipProbability);
    }

    public Normalize BuildNormalize() => new(Mean, Std);
}
