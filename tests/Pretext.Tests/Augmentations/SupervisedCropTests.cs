using Pretext.Augmentations;
using Pretext.Runs;
using Pretext.Runs.Modalities;

namespace Pretext.Tests.Augmentations;

/// <summary>The crop of supervised training (fine-tuning and from scratch alike) is a setting, chosen on validation.</summary>
public class SupervisedCropTests
{
    [Fact]
    public void The_default_crop_keeps_half_the_image_and_the_setting_moves_it()
    {
        var augment = Presets.For("simclr", "fashion-mnist").Augment;
        Assert.Equal(0.5, ((RandomResizedCrop)augment.BuildSupervised()).ScaleMin);
        Assert.Equal(0.2, ((RandomResizedCrop)augment.BuildSupervised(0.2)).ScaleMin);
        Assert.Equal(1.0, ((RandomResizedCrop)augment.BuildSupervised(1.0)).ScaleMax);
        Assert.Throws<ArgumentOutOfRangeException>(() => augment.BuildSupervised(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => augment.BuildSupervised(1.5));
    }

    [Fact]
    public void Evaluate_passes_the_setting_to_the_image_inputs()
    {
        var cfg = ConfigOverrides.Apply(Presets.For("simclr", "fashion-mnist"), ["evaluation.supervised.cropScaleMin=0.8"]);
        Assert.Equal(0.8, cfg.Evaluation.Supervised.CropScaleMin);
        using var inputs = new ImageModality.ImageInputs(cfg);
        Assert.Equal(0.8, ((RandomResizedCrop)inputs.LabelledAugmentation!).ScaleMin);
    }

    [Fact]
    public void Fine_tuning_has_its_own_crop_and_from_scratch_keeps_the_shared_one()
    {
        var cfg = Presets.For("simclr", "fashion-mnist");
        var plan = EvaluationPlan.Standard(cfg.Evaluation);
        using var inputs = new ImageModality.ImageInputs(cfg);
        Assert.Equal(1.0, ((RandomResizedCrop)inputs.LabelledAugmentationFor(plan.FineTuning)!).ScaleMin);
        Assert.Equal(0.5, ((RandomResizedCrop)inputs.LabelledAugmentationFor(plan.Scratch)!).ScaleMin);
        Assert.Same(inputs.LabelledAugmentation, inputs.LabelledAugmentationFor(plan.Scratch));
        // --set moves either one.
        var set = ConfigOverrides.Apply(cfg, ["evaluation.fineTuneCropScaleMin=0.6", "evaluation.supervised.cropScaleMin=0.9"]);
        var setPlan = EvaluationPlan.Standard(set.Evaluation);
        using var setInputs = new ImageModality.ImageInputs(set);
        Assert.Equal(0.6, ((RandomResizedCrop)setInputs.LabelledAugmentationFor(setPlan.FineTuning)!).ScaleMin);
        Assert.Equal(0.9, ((RandomResizedCrop)setInputs.LabelledAugmentationFor(setPlan.Scratch)!).ScaleMin);
    }
}
