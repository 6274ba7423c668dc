using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Data;

/// <summary>
/// A finite, indexable collection of samples, optionally labelled. Modality-agnostic: images, token
/// sequences, windows of a series and table rows all come through here as tensors.
/// </summary>
public interface IDataset
{
    /// <summary>Human-readable name, e.g. "fashion-mnist/train" or a folder path; used in messages and reports.</summary>
    string Name { get; }
    /// <summary>Number of samples.</summary>
    long Count { get; }
    /// <summary>Shape of one sample as <see cref="Gather"/> returns it, without the batch dimension.</summary>
    long[] SampleShape { get; }
    /// <summary>Class index per sample, or null when unlabelled.</summary>
    int[]? Labels { get; }
    /// <summary>Class names indexed by label; empty when unlabelled.</summary>
    IReadOnlyList<string> ClassNames { get; }
    /// <summary>A batch (B, ...SampleShape) for the given indices: fp32 samples, or int64 token ids for text (the text layer's TokenizedDataset).</summary>
    Tensor Gather(ReadOnlySpan<long> indices);
    /// <summary>An identifier per sample for exports (file name, or the index as text).</summary>
    string SampleId(long index);
    /// <summary>Which samples share an entity, when same-entity positives are on (<see cref="EntityGroups"/>); null by default.</summary>
    EntityGroups? Entities => null;
}

/// <summary>
/// Samples held in one in-memory tensor. Image data is stored as uint8 (N, C, H, W) and gathered as fp32
/// in [0, 1]; other data is stored and gathered as fp32.
/// </summary>
public sealed class TensorDataset : IDataset, IDisposable
{
    private readonly Tensor data;
    private readonly string[]? ids;

    /// <param name="name">Name for messages.</param>
    /// <param name="data">(N, ...) uint8 (scaled by 1/255 on gather) or fp32 samples. The dataset takes ownership.</param>
    /// <param name="labels">N labels or null.</param>
    /// <param name="classNames">Names for labels (may be empty).</param>
    /// <param name="sampleIds">Optional N identifiers (e.g. file names).</param>
    public TensorDataset(string name, Tensor data, int[]? labels = null, IReadOnlyList<string>? classNames = null, string[]? sampleIds = null)
    {
        if (data.dim() < 1 || data.shape[0] == 0) throw new ArgumentException($"Dataset '{name}' is empty: it holds no samples.");
        if (data.dtype != ScalarType.Byte && data.dtype != ScalarType.Float32)
            throw new ArgumentException($"Dataset '{name}': samples must be uint8 or fp32, got {data.dtype}.");
        if (labels is not null && labels.Length != data.shape[0])
            throw new ArgumentException($"Dataset '{name}': {labels.Length} labels for {data.shape[0]} samples.");
        if (sampleIds is not null && sampleIds.Length != data.shape[0])
            throw new ArgumentException($"Dataset '{name}': {sampleIds.Length} sample ids for {data.shape[0]} samples.");
        Name = name;
        this.data = data.contiguous().DetachFromDisposeScope();
        Labels = labels;
        ClassNames = classNames ?? [];
        ids = sampleIds;
    }

    public string Name { get; }
    public long Count => data.shape[0];
    public long[] SampleShape => data.shape[1..];
    public int[]? Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Same-entity groups of the samples (pretraining pairs each sample with a partner of its entity); null: none.</summary>
    /// <exception cref="ArgumentException">The groups cover another number of samples.</exception>
    public EntityGroups? Entities
    {
        get;
        init => field = value is null || value.Count == data.shape[0] ? value
            : throw new ArgumentException($"Dataset '{Name}': entity groups for {value.Count} samples, but it holds {data.shape[0]}.");
    }
    /// <summary>The underlying storage (N, ...).</summary>
    public Tensor Data => data;

    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        foreach (var i in indices)
            if (i < 0 || i >= Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Index {i} is outside dataset '{Name}' of {Count} samples.");
        using var scope = NewDisposeScope();
        using var idx = tensor(indices.ToArray(), ScalarType.Int64);
        var x = data.index_select(0, idx);
        x = data.dtype == ScalarType.Byte ? x.to(ScalarType.Float32).div_(255f) : x;
        return x.MoveToOuterDisposeScope();
    }

    public string SampleId(long index) => ids is null ? index.ToString(System.Globalization.CultureInfo.InvariantCulture) : ids[index];

    /// <summary>A dataset over a subset of this one's samples (copies them).</summary>
    public TensorDataset Subset(long[] indices, string? name = null)
    {
        using var idx = tensor(indices, ScalarType.Int64);
        return new TensorDataset(name ?? $"{Name}[subset {indices.Length}]", data.index_select(0, idx),
            Labels is null ? null : indices.Select(i => Labels[i]).ToArray(), ClassNames,
            ids is null ? null : indices.Select(i => ids[i]).ToArray());
    }

    public void Dispose() => data.Dispose();
}
