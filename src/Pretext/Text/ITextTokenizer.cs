namespace Pretext.Text;

/// <summary>
/// A subword tokenizer trained on the user's corpus and saved with the model. Ids are dense in
/// [0, <see cref="VocabSize"/>); the special tokens have fixed ids so encoders and methods can rely on them.
/// </summary>
public interface ITextTokenizer
{
    int VocabSize { get; }
    int PadId { get; }
    int UnknownId { get; }
    /// <summary>Classification token prepended by <see cref="EncodeForModel"/>.</summary>
    int ClsId { get; }
    /// <summary>Separator appended by <see cref="EncodeForModel"/>.</summary>
    int SepId { get; }
    /// <summary>The [MASK] token of masked language modelling.</summary>
    int MaskId { get; }

    /// <summary>Subword ids of <paramref name="text"/>, no special tokens.</summary>
    IReadOnlyList<int> Encode(string text);
    /// <summary>Text back from ids; special tokens are dropped. Decode(Encode(t)) equals t up to the normalisation the tokenizer documents.</summary>
    string Decode(IEnumerable<int> ids);
    /// <summary>[CLS] + ids + [SEP], truncated to <paramref name="maxLength"/> tokens (the [SEP] is kept).</summary>
    int[] EncodeForModel(string text, int maxLength);
    /// <summary>Writes the tokenizer (vocabulary, merges or pieces, settings) to one file that Load reads back.</summary>
    void Save(string path);
}
