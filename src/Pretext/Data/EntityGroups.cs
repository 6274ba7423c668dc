using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Data;

/// <summary>
/// Which samples share an entity (a customer, patient or machine), for same-entity positives: a contrastive method pairs a sample
/// with another sample of its entity instead of with itself, as multi-instance contrastive learning pairs two scans of one patient
/// (Azizi et al. 2021, MICLe). A sample whose entity has no other sample is its own partner.
/// </summary>
public sealed class EntityGroups
{
    private readonly int[] group;
    private readonly long[][] members;

    /// <param name="entities">The entity of every sample, by index (null or empty: a sample of its own).</param>
    public EntityGroups(IReadOnlyList<string?> entities)
    {
        group = new int[entities.Count];
        var byName = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        var lists = new List<List<long>>();
        for (int i = 0; i < entities.Count; i++)
        {
            var e = entities[i];
            List<long> list;
            if (string.IsNullOrEmpty(e)) { list = []; lists.Add(list); }
            else if (!byName.TryGetValue(e, out list!)) { list = []; byName[e] = list; lists.Add(list); }
            list.Add(i);
        }
        members = [.. lists.Select(l => l.ToArray())];
        for (int g = 0; g < members.Length; g++)
            foreach (var i in members[g]) group[i] = g;
    }

    /// <summary>Number of samples.</summary>
    public int Count => group.Length;
    /// <summary>Number of distinct entities (a sample without one counts as its own).</summary>
    public int EntityCount => members.Length;
    /// <summary>Samples whose entity has at least one other sample.</summary>
    public int PairedCount => members.Where(m => m.Length > 1).Sum(m => m.Length);

    /// <summary>Whether samples <paramref name="a"/> and <paramref name="b"/> belong to one entity.</summary>
    public bool SameEntity(long a, long b) => group[a] == group[b];

    /// <summary>
    /// A partner for each of <paramref name="indices"/>: another sample of its entity, uniform among them, drawn from
    /// <paramref name="generator"/>; the sample itself when its entity has one sample.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the samples.</exception>
    public long[] Partners(ReadOnlySpan<long> indices, Generator? generator)
    {
        var partners = new long[indices.Length];
        if (indices.Length == 0) return partners;
        using var scope = NewDisposeScope();
        // One uniform draw per sample, taken whether or not it is used, so a sample's partner does not depend on its neighbours in the batch.
        var u = rand(indices.Length, dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
        for (int k = 0; k < indices.Length; k++)
        {
            long i = indices[k];
            if (i < 0 || i >= group.Length) throw new ArgumentOutOfRangeException(nameof(indices), $"Sample {i} is outside the {group.Length} samples with entities.");
            var m = members[group[i]];
            if (m.Length == 1) { partners[k] = i; continue; }
            // Another member: draw among the m - 1 others and skip over the sample itself.
            int pick = Math.Min((int)(u[k] * (m.Length - 1)), m.Length - 2);
            int self = Array.BinarySearch(m, i);
            partners[k] = m[pick >= self ? pick + 1 : pick];
        }
        return partners;
    }
}
