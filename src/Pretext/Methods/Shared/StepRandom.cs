using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods.Shared;

/// <summary>
/// Randomness a method draws itself inside a step (MAE masks, jigsaw orders, inpainting holes, noise):
/// a generator seeded from (run seed, step) on a stream of its own, so each step's draws are
/// reproducible and a resumed run draws exactly what an uninterrupted one would. The training loop
/// uses streams 1 (sample order) and 2 (augmentations).
/// </summary>
public static class StepRandom
{
    /// <summary>Stream id mixed into the seed; distinct from the training loop's streams.</summary>
    public const long Stream = 3;

    /// <summary>A fresh CPU generator for the step at <paramref name="progress"/>; the caller disposes it.</summary>
    public static Generator For(long runSeed, TrainingProgress progress) =>
        new((ulong)Trainer.DeriveSeed(runSeed, Stream, progress.Step));
}
