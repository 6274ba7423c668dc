using Pretext.Data;
using Pretext.Encoders;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

/// <summary>One mini-batch as the training loop hands it to a method: augmented views of the same samples.</summary>
/// <param name="Views">ViewCount tensors (B, ...), one per view; owned by the step's dispose scope.</param>
/// <param name="Indices">Dataset indices of the B samples.</param>
/// <param name="Random">Generator for randomness inside the method (dropout, negative sampling); the training loop
/// seeds it from (seed, step) so resumed runs repeat it exactly. Null: torch's global generator.</param>
public sealed record Batch(IReadOnlyList<Tensor> Views, long[] Indices, Generator? Random = null);

/// <summary>What a method returns from a step.</summary>
/// <param name="Loss">Scalar fp32 loss to minimise.</param>
/// <param name="Embedding">(B, D) embedding of the first view that the collapse monitor watches.</param>
/// <param name="PairedEmbedding">(B, D) embedding of a second view of the same samples, row by row, when the
/// method has one; the alignment diagnostic compares it with <paramref name="Embedding"/>.</param>
public sealed record StepOutput(Tensor Loss, Tensor Embedding, Tensor? PairedEmbedding = null);

/// <summary>Where training is, for schedules inside a method (temperatures, momentum).</summary>
public sealed record TrainingProgress(long Step, long TotalSteps)
{
    public double Fraction => TotalSteps <= 0 ? 1 : Math.Clamp((double)Step / TotalSteps, 0, 1);
}

/// <summary>
/// A self-supervised method: an encoder plus whatever heads, losses and state its pretext task needs.
/// The shared training loop owns optimisation; the method only computes the loss of one batch of
/// views. Implementations are <see cref="nn.Module"/>s so their state_dict is the checkpoint.
/// </summary>
public interface ISslMethod : IDisposable
{
    /// <summary>Registry key, lower-case and stable.</summary>
    string Name { get; }
    /// <summary>Number of augmented views per sample the method consumes.</summary>
    int ViewCount { get; }
    /// <summary>The encoder being learnt; evaluation and export use only this.</summary>
    Encoder Encoder { get; }
    /// <summary>The root module (encoder + heads + buffers), whose state_dict is checkpointed.</summary>
    nn.Module Module { get; }
    /// <summary>Parameters grouped by how they are optimised.</summary>
    IReadOnlyList<ParameterGroup> ParameterGroups();
    /// <summary>Loss of one batch. Runs inside the step's dispose scope, in training mode.</summary>
    StepOutput ComputeLoss(Batch batch, TrainingProgress progress);
    /// <summary>
    /// Called once with the (unlabelled) training data before the first step of a fresh run, for methods that
    /// need corpus statistics (word2vec's word counts); what it computes must live in buffers so checkpoints
    /// carry it to resumed runs, which do not call it again.
    /// </summary>
    void Prepare(IDataset data) { }
    /// <summary>Hook after each optimiser step (EMA teachers, queues); runs under no_grad.</summary>
    void AfterOptimizerStep(TrainingProgress progress) { }
}
