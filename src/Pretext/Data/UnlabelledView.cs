namespace Pretext.Data;

/// <summary>A dataset with its labels hidden, so pretraining provably never sees them.</summary>
public sealed class UnlabelledView(IDataset inner) : IDataset
{
    public string Name => inner.Name;
    public long Count => inner.Count;
    public long[] SampleShape => inner.SampleShape;
    public int[]? Labels => null;
    public IReadOnlyList<string> ClassNames => [];
    public TorchSharp.torch.Tensor Gather(ReadOnlySpan<long> indices) => inner.Gather(indices);
    public string SampleId(long index) => inner.SampleId(index);
    public EntityGroups? Entities => inner.Entities;
}
