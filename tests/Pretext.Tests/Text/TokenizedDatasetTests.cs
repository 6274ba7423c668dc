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
