using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Pretext.Augmentations;

/// <summary>
/// Multi-crop (Caron et al. 2020, SwAV section 3.3): besides the usual full-resolution "global" views,
/// each sample gets several small low-resolution "local" crops of a small part of the image. The local
/// crops add views at a fraction of the compute of full views (a 12x12 crop costs about 18 % of a
/// 28x28 one) and ask the encoder to match a part of the object to the whole.
/// Global crops are the method's ordinary view (<see cref="ImageAugmentationConfig"/>: its size and crop
/// scale); these options describe the local ones. Views are ordered: the <see cref="GlobalCount"/>
/// global crops first, then the local crops.
/// </summary>
/// <remarks>
/// Defaults for 28x28 images: SwAV and DINO pair 224-pixel global crops with 96-pixel local crops
/// (a side ratio of 96/224 = 0.43, so 12 pixels here) and take local crops from a small area range
/// (SwAV 0.05-0.14, DINO 0.05-0.4) below the global one (SwAV 0.14-1, DINO 0.4-1). On 28-pixel images a
/// 0.14 area is a 10-pixel patch, too little of the object to serve as a global view, so the split is
/// put at 0.35 (the presets give global crops 0.35-1): local 0.05-0.35 (a 6- to 17-pixel patch
/// resampled to 12 pixels). Four local crops (SwAV's multi-crop ablation uses 2x160 + 4x96; its main
/// runs use 6 local crops and DINO 8) keep a step at about 1.4x the cost of two global views
/// (4 x (12/28)^2 = 0.73 of a global view), which matters on 2 CPU cores.
/// </remarks>
public sealed record MultiCropOptions
{
    /// <summary>Full-resolution views (2 in SwAV and DINO; the teacher in DINO sees only these).</summary>
    public int GlobalCount { get; init; } = 2;
    /// <summary>Small crops per sample; 0 turns multi-crop off (only the global views).</summary>
    public int LocalCount { get; init; } = 4;
    /// <summary>Side of a local crop in pixels; 0 means 96/224 of the global side (SwAV, DINO), rounded: 12 at 28.</summary>
    public int LocalSize { get; init; }
    /// <summary>Smallest area fraction of a local crop (SwAV and DINO: 0.05).</summary>
    public double LocalScaleMin { get; init; } = 0.05;
    /// <summary>Largest area fraction of a local crop; the presets start global crops here (see remarks).</summary>
    public double LocalScaleMax { get; init; } = 0.35;

    /// <summary>Views per sample: global plus local.</summary>
    [JsonIgnore] public int ViewCount => GlobalCount + LocalCount;

    /// <summary>The local crop side for global views of side <paramref name="globalSize"/>.</summary>
    public int LocalSizeFor(int globalSize) => LocalSize > 0 ? LocalSize : Math.Max(1, (int)Math.Round(globalSize * 96.0 / 224));

    /// <summary>Checks the options; <paramref name="where"/> names them in messages (e.g. "methods.swav.multiCrop").</summary>
    /// <exception cref="ArgumentException">A count, size or scale is out of range; the message names the key and the fix.</exception>
    public void Validate(string where)
    {
        if (GlobalCount < 1) throw new ArgumentException($"{where}.globalCount is {GlobalCount}; at least one global view is needed.");
        if (LocalCount < 0) throw new ArgumentException($"{where}.localCount is {LocalCount}; use 0 to turn local crops off.");
        if (LocalSize < 0) throw new ArgumentException($"{where}.localSize is {LocalSize}; use a positive side in pixels, or 0 for 96/224 of the image side.");
        if (!(LocalScaleMin > 0 && LocalScaleMin <= LocalScaleMax && LocalScaleMax <= 1))
            throw new ArgumentException($"{where}: local crop scale ({LocalScaleMin}, {LocalScaleMax}) must satisfy 0 < localScaleMin <= localScaleMax <= 1.");
    }
}

/// <summary>Builds multi-crop views from an image augmentation config and checks that an encoder takes them.</summary>
public static class MultiCrop
{
    /// <summary>
    /// <see cref="MultiCropOptions.GlobalCount"/> copies of <paramref name="augment"/>'s view (its size and crop
    /// scale), then <see cref="MultiCropOptions.LocalCount"/> local crops: the same pipeline (flip, jitter,
    /// blur, erasing, normalisation) at the local size and scale.
    /// </summary>
    public static MultiViewAugmentation Views(ImageAugmentationConfig augment, MultiCropOptions crops, string where = "multiCrop")
    {
        crops.Validate(where);
        var global = augment.BuildView();
        var local = (augment with { Size = crops.LocalSizeFor(augment.Size), CropScaleMin = crops.LocalScaleMin, CropScaleMax = crops.LocalScaleMax }).BuildView();
        return new MultiViewAugmentation([.. Enumerable.Repeat(global, crops.GlobalCount), .. Enumerable.Repeat(local, crops.LocalCount)]);
    }
}
