using Pretext.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Training;

/// <summary>One mini-batch as the training loop hands it to a task: views of the same samples.</summary>
/// <param name="Views">ViewCount tensors (B, ...), one per view; owned by the step's dispose scope.</param>
/// <param name="Indices">Indices of the B samples in the data set the loop trains on.</param>
/// <param name="Partners">Views of a partner of each sample, row by row, when the data has entity groups
/// (<see cref="IDataset.Entities"/>): another sample of the same entity (the sample itself when its entity has no other), with
/// views made like <paramref name="Views"/>. Contrastive methods that support same-entity positives take their positive from
/// here; null when the data has no entity groups.</param>
/// <param name="Random">Generator for randomness inside the step (dropout, negative sampling, masks); the loop
/// seeds it from (seed, <see cref="RandomStreams.Step"/>, step), so resumed runs repeat it exactly. Null: torch's
/// global generator.</param>
public sealed record Batch(IReadOnlyList<Tensor> Views, long[] Indices, Generator? Random = null, IReadOnlyList<Tensor>? Partners = null);

/// <summary>What a task returns from a step.</summary>
/// <param name="Loss">Scalar fp32 loss to minimise.</param>
/// <param name="Embedding">(B, D) embedding of the first view that the collapse monitor watches.</param>
/// <param name="PairedEmbedding">(B, D) embedding of a second view of the same samples, row by row, when the
/// task has one; the alignment diagnostic compares it with <paramref name="Embedding"/>.</param>
public sealed record StepOutput(Tensor Loss, Tensor Embedding, Tensor? PairedEmbedding = null);

/// <summary>Where training is, for schedules inside a task (temperatures, momentum).</summary>
public sealed record TrainingProgress(long Step, long TotalSteps)
{
    public double Fraction => TotalSteps <= 0 ? 1 : Math.Clamp((double)Step / TotalSteps, 0, 1);
}

/// <summary>
/// What <see cref="Trainer"/> trains: a module and the loss of one batch of views. Self-supervised methods
/// (pretraining) and supervised classification (fine-tuning, training from scratch) are both tasks, so one
/// loop owns ordering, seeding, the optimiser step and the schedule for all of them.
/// </summary>
public interface ITrainingTask : IDisposable
{
    /// <summary>Stable lower-case name (a method's registry key); recorded in checkpoints.</summary>
    string Name { get; }
    /// <summary>Number of views per sample the task consumes.</summary>
    int ViewCount { get; }
    /// <summary>Smallest batch the loss is defined on (2 by default: contrastive losses compare samples within a batch).</summary>
    int MinBatchSize => 2;
    /// <summary>The root module (everything trained, plus buffers), whose state_dict is checkpointed and whose mode the loop sets.</summary>
    nn.Module Module { get; }
    /// <summary>Parameters grouped by how they are optimised.</summary>
    IReadOnlyList<ParameterGroup> ParameterGroups();
    /// <summary>Loss of one batch. Runs inside the step's dispose scope, in training mode.</summary>
    StepOutput ComputeLoss(Batch batch, TrainingProgress progress);
    /// <summary>
    /// Called once with the training data before the first step of a fresh run, for tasks that need statistics
    /// of it (word2vec's word counts, feature standardisation); what a resumable task computes here must live
    /// in buffers so checkpoints carry it to resumed runs, which do not call it again.
    /// </summary>
    void Prepare(IDataset data) { }
    /// <summary>Hook after each optimiser step (EMA teachers, queues); runs under no_grad.</summary>
    void AfterOptimizerStep(TrainingProgress progress) { }
}
