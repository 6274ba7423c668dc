using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Training;

namespace Pretext.Tests.Runs;

/// <summary>Presets sized to the data: a small folder trains for the steps the recipe was sized for, not for its epochs.</summary>
public class DataSizedPresetTests
{
    private static TrainerOptions Image() => Presets.For("simclr", "fashion-mnist").Train;

    [Fact]
    public void A_small_folder_trains_for_the_recipes_steps_with_the_warm_up_stretched_alike()
    {
        // 3,000 images at batch 256: 11 steps per epoch, so 5 epochs would be 55 steps.
        var sized = Image().ForData(stepsPerEpoch: 11);
        Assert.Equal(107, sized.Epochs); // ceil(1170 / 11)
        Assert.Equal(0.5 * 107 / 5, sized.WarmupEpochs, 12); // a tenth of the run, as on Fashion-MNIST
        Assert.Equal(1177, sized.TotalSteps(11));
        Assert.Equal(0, sized.MinSteps);
        Assert.Equal(sized, sized.ForData(11)); // spent: applying it again changes nothing
        Assert.Equal(Image() with { Epochs = 107, WarmupEpochs = sized.WarmupEpochs, MinSteps = 0 }, sized);
    }

    [Fact]
    public void Data_the_recipe_was_sized_on_an_explicit_step_limit_and_tiny_data_are_handled()
    {
        Assert.Equal(Image() with { MinSteps = 0 }, Image().ForData(234)); // Fashion-MNIST: 5 epochs give 1,170 steps
        var capped = Image() with { MaxSteps = 40 };
        Assert.Same(capped, capped.ForData(11));
        Assert.Equal(TrainerOptions.MaxScaledEpochs, Image().ForData(1).Epochs);
        Assert.Throws<ArgumentException>(() => (Image() with { MinSteps = -1 }).Validate());
    }

    [Fact]
    public void A_length_given_on_the_command_line_is_the_length_and_the_smoke_run_is_not_stretched()
    {
        Assert.Equal(Presets.ImageMinSteps, new PretrainRequest { Dataset = "fashion-mnist" }.Resolve().Train.MinSteps);
        Assert.Equal(0, new PretrainRequest { Dataset = "fashion-mnist", Epochs = 2 }.Resolve().Train.MinSteps);
        Assert.Equal(0, new PretrainRequest { Dataset = "fashion-mnist", MaxSteps = 100 }.Resolve().Train.MinSteps);
        Assert.Equal(0, Presets.Fast(Presets.For("simclr", "fashion-mnist")).Train.MinSteps);
    }

    [Fact]
    public void The_run_says_it_trains_longer_and_records_the_length_it_chose()
    {
        using var data = TestData.Blobs(64);
        var cfg = Training.TrainingLoopTests.Tiny(steps: 6) with { Train = Training.TrainingLoopTests.Tiny().Train with { MaxSteps = 0, Epochs = 1, MinSteps = 10 } };
        var observer = new RecordingObserver();
        var sized = Pretraining.ForData(cfg, data, observer);
        Assert.Equal(3, sized.Train.Epochs); // 4 steps per epoch
        Assert.Contains(observer.Messages, m => m.Contains("trains for 3 epochs (12 steps) instead of the preset's 1", StringComparison.Ordinal));
        Assert.Same(sized, Pretraining.ForData(sized, data, observer));
    }
    [Fact]
    public void Image_presets_fine_tune_on_whole_images_and_the_smoke_run_does_not_fine_tune()
    {
        foreach (var method in new[] { "simclr", "byol", "mae" })
        {
            var ev = Presets.For(method, "fashion-mnist").Evaluation;
            Assert.True(ev.FineTune, method);
            var plan = EvaluationPlan.Standard(ev);
            Assert.Equal(1.0, plan.FineTuning.CropScaleMin); // fine-tuning on whole images
            Assert.Null(plan.Scratch.CropScaleMin);          // from scratch on crops of at least half (the augmentation's default)
            Assert.Equal(new Pretext.Evaluation.EvaluationConfig().TrainedPerClass, ev.TrainedPerClass);
        }
        var fast = Presets.Fast(Presets.For("simclr", "fashion-mnist")).Evaluation;
        Assert.False(fast.FineTune);
        Assert.Null(fast.Supervised.CropScaleMin); // from scratch keeps the preset's crop
        Assert.False(Presets.For("mlm", "spamassassin").Evaluation.FineTune); // text has its own fine-tuning settings
    }
}
