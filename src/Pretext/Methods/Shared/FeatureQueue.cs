using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods.Shared;

/// <summary>What a <see cref="FeatureQueue"/> holds before the first enqueue.</summary>
public enum QueueStart
{
    /// <summary>Nothing: <see cref="FeatureQueue.Contents"/> is empty until keys arrive (NNCLR's support set here).</summary>
    Empty,
    /// <summary>
    /// Full of random unit vectors, as the MoCo reference code starts its queue of negatives
    /// (facebookresearch/moco, builder.py: randn then normalise); real keys replace them oldest first.
    /// </summary>
    RandomUnitVectors,
}

/// <summary>
/// A first-in-first-out ring buffer of feature vectors shared by MoCo v2 (its queue of negative keys,
/// He et al. 2020, section 3.2) and NNCLR (its support set, Dwibedi et al. 2021).
/// The rows, the write pointer and the number of filled rows are module buffers, so a method's
/// checkpoint carries the queue exactly and a resumed run continues with the same negatives.
/// Methods enqueue from <see cref="ITrainingTask.AfterOptimizerStep"/>, after the step that used the
/// queue, so a batch is never its own negative or neighbour.
/// </summary>
public sealed class FeatureQueue : nn.Module
{
    private readonly Tensor features;
    private readonly Tensor pointer;
    private readonly Tensor filled;

    /// <param name="capacity">Rows K (MoCo's queue size, NNCLR's support-set size); must be positive.</param>
    /// <param name="dim">Width D of each row.</param>
    /// <param name="start">Empty, or full of random unit vectors.</param>
    /// <param name="optionName">The config option that sets the capacity, named in errors (e.g. methods.mocov2.queueSize).</param>
    /// <param name="name">Module name.</param>
    /// <exception cref="ArgumentOutOfRangeException">capacity or dim is not positive.</exception>
    public FeatureQueue(int capacity, int dim, QueueStart start, string optionName = "queue size", string name = nameof(FeatureQueue)) : base(name)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"{optionName} must be positive.");
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "Feature width must be positive.");
        Capacity = capacity; Dim = dim; OptionName = optionName;
        // Long-lived state: made in its own scope and detached from it, so that building a method
        // inside a caller's dispose scope does not free the queue with that scope.
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            features = (start == QueueStart.RandomUnitVectors
                ? nn.functional.normalize(randn(capacity, dim), dim: 1)
                : zeros(capacity, dim)).DetachFromDisposeScope();
            pointer = tensor(0L).DetachFromDisposeScope();
            filled = tensor(start == QueueStart.RandomUnitVectors ? (long)capacity : 0L).DetachFromDisposeScope();
        }
        register_buffer("features", features);
        register_buffer("pointer", pointer);
        register_buffer("filled", filled);
    }

    public int Capacity { get; }
    public int Dim { get; }
    public string OptionName { get; }

    /// <summary>Row the next enqueue writes first.</summary>
    public long Pointer => pointer.item<long>();

    /// <summary>Rows holding a vector (Capacity once the queue has wrapped or started full).</summary>
    public long Count => filled.item<long>();

    /// <summary>
    /// The filled rows, (Count, D) fp32, as a view of the buffer: do not keep it past the step.
    /// Rows fill from 0 upwards and then wrap, so the filled rows are always the first Count; their
    /// order is not their age, which no user of the queue needs.
    /// </summary>
    public Tensor Contents()
    {
        return features.narrow(0, 0, Count);
    }

    /// <summary>
    /// Writes the B rows of <paramref name="batch"/> (B, D) at the pointer, wrapping past the end, and
    /// advances the pointer by B (mod K). Stores a detached fp32 copy. Call under no_grad.
    /// </summary>
    /// <exception cref="ArgumentException">Not (B, D) with this width, or B larger than the capacity (the message names the option to raise).</exception>
    public void Enqueue(Tensor batch)
    {
        if (batch.dim() != 2 || batch.shape[1] != Dim)
            throw new ArgumentException($"Queue rows are {Dim} wide; got a tensor of shape [{string.Join(",", batch.shape)}].");
        long b = batch.shape[0];
        if (b > Capacity)
            throw new ArgumentException($"{b} vectors arrive per step but {OptionName} is {Capacity}: raise {OptionName} to at least {b} (or lower the batch size).");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rows = batch.detach().to(ScalarType.Float32);
        long p = Pointer;
        long first = Math.Min(b, Capacity - p);
        features.narrow(0, p, first).copy_(rows.narrow(0, 0, first));
        if (first < b) features.narrow(0, 0, b - first).copy_(rows.narrow(0, first, b - first));
        pointer.fill_((p + b) % Capacity);
        filled.fill_(Math.Min(Count + b, Capacity));
    }
}
