using Pretext.Data;
using Pretext.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Text;

public class TokenizedDatasetTests
{
    public TokenizedDatasetTests() => set_num_threads(1);

    [Fact]
    public void PadsTruncatesAndGathersInt64Ids()
    {
        var tok = TestText.Tokenizer();
        var texts = new[] { "cheap offer", "the team meeting notes agenda review report project lunch" };
        using var data = new TokenizedDataset("t", texts, tok, maxLength: 6, labels: [1, 0], classNames: ["ham", "spam"], sources: ["a.txt", "b.txt"]);
        Assert.Equal(2, data.Count);
        Assert.Equal(new long[] { 6 }, data.SampleShape);
        Assert.Equal(new[] { 4, 6 }, data.Lengths);
        using var batch = data.Gather([1, 0]);
        Assert.Equal(ScalarType.Int64, batch.dtype);
        long[] second = [tok.ClsId, tok.IdOf("cheap"), tok.IdOf("offer"), tok.SepId, tok.PadId, tok.PadId];
        long[] first = [tok.ClsId, tok.IdOf("the"), tok.IdOf("team"), tok.IdOf("meeting"), tok.IdOf("notes"), tok.SepId];
        Assert.Equal(first.Concat(second).ToArray(), batch.data<long>().ToArray());
        Assert.Equal("b.txt", data.SampleId(1));
        Assert.Equal(new[] { 1, 0 }, data.Labels);
    }

    [Fact]
    public void FromTextDatasetCarriesLabelsAndSources()
    {
        var corpus = TestText.Corpus(6);
        using var data = TokenizedDataset.From(corpus, TestText.Tokenizer(), 8);
        Assert.Equal(corpus.Labels, data.Labels);
        Assert.Equal(corpus.ClassNames, data.ClassNames);
        Assert.Equal("doc3", data.SampleId(3));
    }

    [Fact]
    public void WindowsCoverDocumentsInOrderUpToTheCap()
    {
        var tok = TestText.Tokenizer();
        // 11 words: windows of 3 words (max length 5) give 3, 3, 3 and 2 words; a cap of 3 drops the last.
        string[] words = ["cheap", "offer", "money", "click", "win", "free", "prize", "cash", "the", "a", "to"];
        var docs = new TextDataset("w", [string.Join(' ', words), "team", ""], [1, 0, 0], ["ham", "spam"], ["long", "short", "empty"]);
        using var all = TokenizedDataset.Windows(docs, tok, maxLength: 5, maxWindowsPerDocument: 10);
        Assert.Equal(4 + 1 + 1, all.Count);
        using var ids = all.Gather(Enumerable.Range(0, 6).Select(i => (long)i).ToArray());
        var rows = ids.data<long>().ToArray().Chunk(5).ToArray();
        long W(string w) => tok.IdOf(w);
        Assert.Equal(new long[] { 2, W("cheap"), W("offer"), W("money"), 3 }, rows[0]);
        Assert.Equal(new long[] { 2, W("click"), W("win"), W("free"), 3 }, rows[1]);
        Assert.Equal(new long[] { 2, W("a"), W("to"), 3, 0 }, rows[3]);
        Assert.Equal(new long[] { 2, W("team"), 3, 0, 0 }, rows[4]);
        Assert.Equal(new long[] { 2, 3, 0, 0, 0 }, rows[5]); // an empty document is one empty window
        Assert.Equal(new[] { 1, 1, 1, 1, 0, 0 }, all.Labels);
        Assert.Equal("long#3", all.SampleId(3));
        Assert.Equal("short#0", all.SampleId(4));
        // Window 0 is what the first-window view gives.
        using var first = TokenizedDataset.From(docs, tok, 5);
        using var f0 = first.Gather([0]);
        Assert.Equal(rows[0], f0.data<long>().ToArray());
        using var capped = TokenizedDataset.Windows(docs, tok, maxLength: 5, maxWindowsPerDocument: 3);
        Assert.Equal(3 + 1 + 1, capped.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenizedDataset.Windows(docs, tok, 5, 0));
    }

    [Fact]
    public void RejectsEmptyDataAndTokenizerMisbehaviour()
    {
        var tok = TestText.Tokenizer();
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new TokenizedDataset("e", [], tok, 8)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenizedDataset("e", ["x"], tok, 1));
        var e = Assert.Throws<ArgumentException>(() => new TokenizedDataset("bad", ["fine", "broken"], new BrokenTokenizer(tok), 8, sources: ["ok.eml", "broken.eml"]));
        Assert.Contains("broken.eml", e.Message);
        Assert.Contains("outside the vocabulary", e.Message);
        using var data = new TokenizedDataset("t", ["a b"], tok, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Gather([1]));
    }

    /// <summary>Returns an id outside the vocabulary for texts containing "broken".</summary>
    private sealed class BrokenTokenizer(WordTokenizer inner) : ITextTokenizer
    {
        public int VocabSize => inner.VocabSize;
        public int PadId => inner.PadId;
        public int UnknownId => inner.UnknownId;
        public int ClsId => inner.ClsId;
        public int SepId => inner.SepId;
        public int MaskId => inner.MaskId;
        public IReadOnlyList<int> Encode(string text) => inner.Encode(text);
        public string Decode(IEnumerable<int> ids) => inner.Decode(ids);
        public int[] EncodeForModel(string text, int maxLength) => text.Contains("broken") ? [inner.ClsId, inner.VocabSize + 3, inner.SepId] : inner.EncodeForModel(text, maxLength);
        public void Save(string path) => inner.Save(path);
    }
}
