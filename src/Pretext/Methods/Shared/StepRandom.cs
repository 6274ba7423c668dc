using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods.Shared;

/// <summary>
/// Randomness a method draws itself inside a step (MAE masks, jigsaw orders, inpainting holes, noise), made
/// reproducible from the method's own seed even when <see cref="Batch.Random"/> is null (a method's loss called
/// outside the loop, as its tests do). It is the same stream as <see cref="Batch.Random"/>
/// (<see cref="RandomStreams.Step"/>, counter: step): built with the run's seed, as the registry builds methods,
/// the generator it returns starts exactly where the loop's <see cref="Batch.Random"/> of that step does. So a
/// method draws from one or the other, never both (the draws would repeat each other).
/// </summary>
public static class StepRandom
{
    /// <summary>Stream id mixed into the seed: <see cref="RandomStreams.Step"/>, the stream of <see cref="Batch.Random"/>.</summary>
    public const long Stream = RandomStreams.Step;

    /// <summary>A fresh CPU generator for the step at <paramref name="progress"/>; the caller disposes it.</summary>
    public static Generator For(long runSeed, TrainingProgress progress) =>
        new((ulong)Trainer.DeriveSeed(runSeed, Stream, progress.Step));
}
