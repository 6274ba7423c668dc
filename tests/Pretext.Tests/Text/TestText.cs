using Pretext.Data;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Text;

namespace Pretext.Tests.Text;

/// <summary>
/// Test-only tokenizer: lower-cased whitespace words, a vocabulary of the words seen when built, and the
/// special ids pad 0, unknown 1, [CLS] 2, [SEP] 3, [MASK] 4.
/// </summary>
internal sealed class WordTokenizer : ITextTokenizer
{
    private static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    private readonly List<string> words;
    private readonly Dictionary<string, int> index;

    public WordTokenizer(IEnumerable<string> texts)
    {
        words = [.. Specials];
        words.AddRange(texts.SelectMany(Split).Distinct().Order(StringComparer.Ordinal));
        index = words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i);
    }

    private static IEnumerable<string> Split(string text) => text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    public int VocabSize => words.Count;
    public int PadId => 0;
    public int UnknownId => 1;
    public int ClsId => 2;
    public int SepId => 3;
    public int MaskId => 4;
    public IReadOnlyList<int> Encode(string text) => Split(text).Select(w => index.GetValueOrDefault(w, UnknownId)).ToArray();
    public string Decode(IEnumerable<int> ids) => string.Join(' ', ids.Where(i => i >= Specials.Length || i == UnknownId).Select(i => words[i]));
    public int[] EncodeForModel(string text, int maxLength)
    {
        var ids = Encode(text).Take(maxLength - 2);
        return [ClsId, .. ids, SepId];
    }
    public void Save(string path) => File.WriteAllLines(path, words);
    public int IdOf(string word) => index[word];
}

/// <summary>Small deterministic text data: two topics whose documents draw most words from their own word list.</summary>
internal static class TestText
{
    public static readonly string[] TopicA = ["cheap", "offer", "money", "click", "win", "free", "prize", "cash"];
    public static readonly string[] TopicB = ["meeting", "report", "project", "lunch", "team", "notes", "agenda", "review"];
    public static readonly string[] Common = ["the", "a", "to", "and", "of"];

    /// <summary><paramref name="n"/> documents alternating topic A (label 1, "spam") and B (label 0, "ham").</summary>
    public static TextDataset Corpus(int n, int seed = 0, int minWords = 4, int maxWords = 12)
    {
        var rng = new Random(seed);
        var texts = new string[n];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 2 == 0 ? 1 : 0;
            var own = labels[i] == 1 ? TopicA : TopicB;
            int len = rng.Next(minWords, maxWords + 1);
            texts[i] = string.Join(' ', Enumerable.Range(0, len).Select(_ => rng.NextDouble() < 0.7 ? own[rng.Next(own.Length)] : Common[rng.Next(Common.Length)]));
        }
        return new TextDataset("topics", texts, labels, ["ham", "spam"], Enumerable.Range(0, n).Select(i => $"doc{i}").ToArray());
    }

    public static WordTokenizer Tokenizer() => new(TopicA.Concat(TopicB).Concat(Common));

    public static TokenizedDataset Tokenized(int n, int maxLength = 16, int seed = 0) => TokenizedDataset.From(Corpus(n, seed), Tokenizer(), maxLength);

    /// <summary>A method's preset shrunk to a tiny Transformer / word-vector table over <see cref="Tokenizer"/>.</summary>
    public static RunConfig Tiny(string method, int maxLength = 16)
    {
        var cfg = Presets.For(method, "topics", threads: 1);
        var text = cfg.Encoder.Text.WithTokenizer(Tokenizer(), null) with { MaxLength = maxLength, Dim = 16, Depth = 1, Heads = 2 };
        return cfg with
        {
            Encoder = cfg.Encoder with { Text = text },
            Train = cfg.Train with { BatchSize = 16, Threads = 1, MaxSteps = 6, CheckpointEvery = 3, KeepCheckpoints = 2 },
        };
    }
}
