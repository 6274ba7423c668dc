namespace Pretext.Training;

/// <summary>
/// Ids of the random streams of a run. Every random draw is made from a generator seeded with
/// <see cref="Trainer.DeriveSeed"/>(run seed, stream, counter), so each use of randomness is a pure function of
/// the run seed and its own counter: resuming, prefetching or adding a draw elsewhere cannot shift it. The values
/// are part of every recorded result (changing one changes the numbers), so they never change; a new use of
/// randomness takes a new id.
/// </summary>
public static class RandomStreams
{
    /// <summary>Pretraining: sample order of each epoch (counter: epoch).</summary>
    public const long SampleOrder = 1;
    /// <summary>Pretraining: the views' augmentations (counter: step).</summary>
    public const long Views = 2;
    /// <summary>
    /// Pretraining: the step's own generator, <see cref="Batch.Random"/> (counter: step); masks, dropout and
    /// negative sampling inside a method draw from it.
    /// </summary>
    public const long Step = 3;
    /// <summary>
    /// Supervised training: sample order of each epoch (counter: epoch). The same number as <see cref="Step"/>, as it
    /// has been since supervised training had a loop of its own; the two never meet in one run.
    /// </summary>
    public const long SupervisedSampleOrder = 3;
    /// <summary>Supervised training: the light augmentation (counter: step).</summary>
    public const long SupervisedViews = 4;
    /// <summary>Supervised training: the step's <see cref="Batch.Random"/> (counter: step); the classifier draws nothing
    /// from it (dropout uses torch's global generator, seeded before the head is built).</summary>
    public const long SupervisedStep = 5;
    /// <summary>k-means: the initial centres of each restart (counter: restart).</summary>
    public const long KMeansRestarts = 7;
    /// <summary>Anomaly scores of reconstruction methods: the corruption of each scored batch (counter: batch).</summary>
    public const long ReconstructionScoring = 8;
    /// <summary>Pretraining on data with entity groups: each step's same-entity partners and their views (counter: step).</summary>
    public const long EntityPartners = 9;
    /// <summary>A table file scored or segmented in chunks: which rows form its test part, a hash of the id under this fixed stream (seed 0, as the held-out fifth of a whole-file read is drawn with seed 0).</summary>
    public const long StreamedTestPart = 10;
    /// <summary>A table file scored or segmented in chunks: which rows of each part are sampled (kNN bank, k-means fit, silhouette, threshold), a hash of the id under (run seed, this stream).</summary>
    public const long StreamedSamples = 11;
}

/// <summary>The three streams <see cref="Trainer"/> draws from; see <see cref="RandomStreams"/>.</summary>
/// <param name="SampleOrder">Stream of each epoch's sample order.</param>
/// <param name="Views">Stream of each step's views.</param>
/// <param name="Step">Stream of each step's <see cref="Batch.Random"/>.</param>
public sealed record TrainingStreams(long SampleOrder, long Views, long Step)
{
    /// <summary>Self-supervised pretraining.</summary>
    public static TrainingStreams Pretraining { get; } = new(RandomStreams.SampleOrder, RandomStreams.Views, RandomStreams.Step);
    /// <summary>Supervised training (fine-tuning and training from scratch).</summary>
    public static TrainingStreams Supervised { get; } = new(RandomStreams.SupervisedSampleOrder, RandomStreams.SupervisedViews, RandomStreams.SupervisedStep);
}
