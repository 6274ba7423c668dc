using System.Text;
using System.Text.RegularExpressions;

namespace Pretext.Text;

/// <summary>
/// Learns byte-level BPE merges from a corpus (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
/// Subword Units", Algorithm 1, on UTF-8 bytes as in GPT-2): the text is cut into words by the pre-tokenizer, every
/// word starts as its bytes, and the most frequent adjacent pair of symbols is merged into a new symbol until the
/// vocabulary is full or no pair occurs <c>minFrequency</c> times.
/// <para>Pair counts are kept up to date incrementally (only the words that hold the merged pair are revisited), with a
/// lazily updated priority queue, so training is linear in the corpus plus the work each merge does. Ties between
/// equally frequent pairs go to the pair with the smaller (left, right) ids: training is deterministic.</para>
/// </summary>
public static class BpeTrainer
{
    /// <summary>The learned merges, in order, as pairs of byte strings.</summary>
    /// <param name="words">Unique pre-tokenized words (normalised) with their counts.</param>
    /// <param name="maxMerges">Most merges to learn.</param>
    /// <param name="minFrequency">A pair must occur at least this often (counting word frequencies) to be merged.</param>
    public static List<(byte[] Left, byte[] Right)> Train(IReadOnlyDictionary<string, long> words, int maxMerges, int minFrequency, CancellationToken ct)
    {
        // Symbols are ids into `symbols`: 0..255 are the bytes; every merge that makes a new byte string adds one.
        var symbols = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToList();
        var symbolOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++) symbolOf[Key(symbols[b])] = b;

        var ordered = words.Keys.Order(StringComparer.Ordinal).ToArray();
        var wordSymbols = new List<int>[ordered.Length];
        var wordCounts = new long[ordered.Length];
        var pairCounts = new Dictionary<long, long>();
        var where = new Dictionary<long, HashSet<int>>();
        for (int w = 0; w < ordered.Length; w++)
        {
            var bytes = Encoding.UTF8.GetBytes(ordered[w]);
            wordSymbols[w] = [.. bytes.Select(b => (int)b)];
            wordCounts[w] = words[ordered[w]];
            for (int i = 0; i + 1 < bytes.Length; i++)
            {
                long pair = Pair(bytes[i], bytes[i + 1]);
                pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + wordCounts[w];
                if (!where.TryGetValue(pair, out var set)) where[pair] = set = [];
                set.Add(w);
            }
        }

        var queue = new PriorityQueue<long, (long NegCount, int Left, int Right)>();
        foreach (var (pair, count) in pairCounts) queue.Enqueue(pair, (-count, Left(pair), Right(pair)));

        var merges = new List<(byte[], byte[])>();
        var delta = new Dictionary<long, long>();
        while (merges.Count < maxMerges && queue.TryDequeue(out var best, out var priority))
        {
            ct.ThrowIfCancellationRequested();
            long current = pairCounts.GetValueOrDefault(best);
            if (current != -priority.NegCount)
            {
                // A stale entry: the pair's count dropped since it was queued. Queue it again with its real count.
                if (current > 0) queue.Enqueue(best, (-current, Left(best), Right(best)));
                continue;
            }
            if (current < minFrequency) break;

            int a = Left(best), b = Right(best);
            var merged = symbols[a].Concat(symbols[b]).ToArray();
            var mergedKey = Key(merged);
            if (!symbolOf.TryGetValue(mergedKey, out int c))
            {
                c = symbols.Count;
                symbols.Add(merged);
                symbolOf[mergedKey] = c;
            }
            merges.Add((symbols[a], symbols[b]));

            delta.Clear();
            foreach (var w in where[best])
            {
                var syms = wordSymbols[w];
                long n = wordCounts[w];
                bool any = false;
                for (int i = 0; i + 1 < syms.Count; i++)
                    if (syms[i] == a && syms[i + 1] == b) { any = true; break; }
                if (!any) continue; // the word lost this pair to an earlier merge
                for (int i = 0; i + 1 < syms.Count; i++) Add(delta, Pair(syms[i], syms[i + 1]), -n);
                var result = new List<int>(syms.Count);
                for (int i = 0; i < syms.Count; i++)
                {
                    if (i + 1 < syms.Count && syms[i] == a && syms[i + 1] == b)
                    {
                        result.Add(c);
                        i++;
                    }
                    else result.Add(syms[i]);
                }
                wordSymbols[w] = result;
                for (int i = 0; i + 1 < result.Count; i++)
                {
                    long pair = Pair(result[i], result[i + 1]);
                    Add(delta, pair, n);
                    if (Left(pair) == c || Right(pair) == c)
                    {
                        if (!where.TryGetValue(pair, out var set)) where[pair] = set = [];
                        set.Add(w);
                    }
                }
            }
            where.Remove(best);
            foreach (var (pair, change) in delta)
            {
                if (change == 0) continue;
                long count = pairCounts.GetValueOrDefault(pair) + change;
                if (count <= 0) pairCounts.Remove(pair);
                else pairCounts[pair] = count;
                if (change > 0) queue.Enqueue(pair, (-count, Left(pair), Right(pair)));
            }
        }
        return merges;
    }

    /// <summary>Unique words and their counts: each text normalised, then cut by the pre-tokenizer.</summary>
    public static Dictionary<string, long> CountWords(IEnumerable<string> texts, Func<string, string> normalize, Regex preTokenizer, CancellationToken ct)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var text in texts)
        {
            ct.ThrowIfCancellationRequested();
            var normalized = normalize(text);
            foreach (var m in preTokenizer.EnumerateMatches(normalized))
            {
                var word = normalized.AsSpan(m.Index, m.Length);
                if (lookup.TryGetValue(word, out var n)) lookup[word] = n + 1;
                else counts[word.ToString()] = 1;
            }
        }
        return counts;
    }

    private static void Add(Dictionary<long, long> d, long key, long value) => d[key] = d.GetValueOrDefault(key) + value;
    private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;
    private static int Left(long pair) => (int)(pair >> 32);
    private static int Right(long pair) => (int)(pair & 0xFFFFFFFF);
    private static string Key(byte[] bytes) => Convert.ToBase64String(bytes);
}
