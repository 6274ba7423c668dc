using System.Text;

namespace Pretext.Evaluation;

/// <summary>
/// The validation split every choice is made on (probe penalties, which pipeline, fine-tuning settings, checkpoints,
/// presets): a fixed, seeded, class-stratified part of the training split, carved before any label subset is drawn, so
/// it is disjoint from the test split and from every labelled subset. Which samples it holds depends on their ids and
/// the seed only, not on the order files were read in.
/// </summary>
public static class ValidationSplit
{
    /// <summary>
    /// The default size as a fraction of the training split: 1/6, i.e. 10,000 of Fashion-MNIST's and MNIST's 60,000
    /// training images (1,000 per class), and 773 of SpamAssassin's 4,637 training mails.
    /// </summary>
    public const double DefaultFraction = 1.0 / 6;

    /// <summary>
    /// (train part, validation) indices, each sorted: from every class, the round(<paramref name="fraction"/> x n_c) samples
    /// whose ids hash lowest under <paramref name="seed"/> (at least one per class with two or more samples, never all of a
    /// class) go to validation.
    /// <para>With <paramref name="group"/>, samples that share a group (the same sentence recorded in two languages) go to the
    /// same side: groups are taken whole, lowest hash of the group key first, while every class they hold is still below its
    /// share and none would be emptied, so a class can end up to a group's size over its share. When every sample is its own
    /// group this is exactly the split by id.</para>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fraction outside [0, 1).</exception>
    /// <exception cref="ArgumentException">Ids that repeat (the split would depend on order).</exception>
    public static (long[] Train, long[] Validation) Carve(int[] labels, Func<int, string> sampleId, double fraction, int seed = 0, Func<int, string>? group = null)
    {
        if (!(fraction >= 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The validation fraction must be in [0, 1).");
        var all = Enumerable.Range(0, labels.Length).Select(i => (long)i).ToArray();
        if (fraction == 0) return (all, []);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < labels.Length; i++)
        {
            var id = sampleId(i);
            if (!seen.Add(id)) throw new ArgumentException($"Sample id '{id}' occurs twice; a validation split by id needs unique ids.");
        }
        group ??= sampleId;
        var classSize = new Dictionary<int, int>();
        foreach (var y in labels) classSize[y] = classSize.GetValueOrDefault(y) + 1;
        // A class of one sample keeps it; otherwise at least one and never all go to validation.
        var share = classSize.ToDictionary(c => c.Key, c => c.Value < 2 ? 0 : Math.Clamp((int)Math.Round(fraction * c.Value), 1, c.Value - 1));
        var taken = classSize.ToDictionary(c => c.Key, _ => 0);
        var groups = Enumerable.Range(0, labels.Length).GroupBy(group, StringComparer.Ordinal)
            .Select(g => (Key: g.Key, Hash: Hash(seed, g.Key), Members: g.ToArray()))
            .OrderBy(g => g.Hash).ThenBy(g => g.Key, StringComparer.Ordinal);
        var validation = new List<long>();
        foreach (var g in groups)
        {
            var counts = g.Members.GroupBy(i => labels[i]).ToDictionary(c => c.Key, c => c.Count());
            if (counts.Any(c => taken[c.Key] >= share[c.Key] || taken[c.Key] + c.Value >= classSize[c.Key])) continue;
            foreach (var (y, n) in counts) taken[y] += n;
            validation.AddRange(g.Members.Select(i => (long)i));
        }
        validation.Sort();
        var inValidation = validation.ToHashSet();
        return (all.Where(i => !inValidation.Contains(i)).ToArray(), validation.ToArray());
    }

    /// <summary>
    /// <see cref="Hash"/> as a number in [0, 1): the rank <see cref="Carve"/> orders ids by, usable one id at a time (a file read in chunks
    /// puts a row in validation when it falls below the fraction, without the other ids).
    /// </summary>
    public static double Unit(int seed, string id) => (Hash(seed, id) >> 11) * (1.0 / (1UL << 53));

    /// <summary>FNV-1a over the seed and the id's UTF-8 bytes, then a SplitMix64 finaliser: stable across runs and platforms.</summary>
    public static ulong Hash(int seed, string id)
    {
        unchecked
        {
            ulong h = 0xcbf29ce484222325UL ^ (ulong)(uint)seed;
            foreach (var b in Encoding.UTF8.GetBytes(id)) { h ^= b; h *= 0x100000001b3UL; }
            h ^= h >> 30; h *= 0xbf58476d1ce4e5b9UL;
            h ^= h >> 27; h *= 0x94d049bb133111ebUL;
            return h ^ (h >> 31);
        }
    }
}
