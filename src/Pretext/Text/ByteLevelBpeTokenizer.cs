using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Pretext.Export;

namespace Pretext.Text;

/// <summary>Settings of <see cref="ByteLevelBpeTokenizer.Train"/>.</summary>
public sealed class BpeTokenizerOptions
{
    /// <summary>
    /// Largest vocabulary, special tokens and the 256 byte tokens included (so at least 261). Training stops earlier
    /// when no pair of symbols occurs <see cref="MinFrequency"/> times. Default: 8,000, in the range BERT-style models
    /// use for small corpora (BERT's own is 30,522 for 3.3 billion words; the SpamAssassin corpus has about 2 million).
    /// </summary>
    public int VocabSize { get; init; } = 8000;
    /// <summary>Lower-case the text before encoding (Unicode, culture-invariant). Default: false (case is kept and
    /// round trips exactly; upper case carries signal in spam).</summary>
    public bool Lowercase { get; init; }
    /// <summary>Fewest occurrences (weighted by word frequency) for a pair to be merged. Default: 2.</summary>
    public int MinFrequency { get; init; } = 2;
    /// <summary>Receives one line when training ends; nothing is printed when null.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// A byte-level BPE tokenizer (the GPT-2 scheme: Radford et al. 2019, section 2.2) trained on the user's corpus.
/// Every text is lossless: words are cut by a regular expression, each word becomes its UTF-8 bytes, and learned
/// merges join frequent byte pairs into subwords, so no character is ever unknown.
/// <para>Ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4 (fixed; [UNK] is never produced, since every byte has a token),
/// then the 256 bytes at 5..260 in byte order, then the learned subwords in the order of their merges.</para>
/// <para>Normalisation, applied by <see cref="Encode"/> and by training: lower-casing (culture-invariant, every
/// script) when <see cref="Lowercase"/> is set, and nothing else. Whitespace, line breaks, punctuation and the Unicode
/// form are kept (no NFC: the project runs with invariant globalization, where .NET does not normalise, and the
/// readers' text rarely holds decomposed characters), so Decode(Encode(t)) == Normalize(t) for every t, and
/// Decode(Encode(t)) == t without lower-casing. Special tokens are never read from the text: "[MASK]" typed in a
/// document is encoded as the characters it is.</para>
/// <para>Encoding and decoding run on Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> (byte-level mode) loaded
/// with the trained vocabulary and merges; the training is <see cref="BpeTrainer"/>'s, since that library has none.
/// <see cref="Save"/> writes one JSON file with the settings, tokens and merges.</para>
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITextTokenizer
{
    /// <summary>The special tokens in id order.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>The words BPE works within: contractions, letters with an optional leading space, digits in groups of
    /// up to three, other symbols, and whitespace (GPT-2's pattern with cl100k's case-insensitive contractions and digit
    /// groups, which keep long numbers from becoming single tokens).</summary>
    public const string DefaultPreTokenizer = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)| ?\p{L}+| ?\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private const string Format = "pretext-byte-level-bpe";
    private const int FormatVersion = 1;
    private const int FirstByteId = 5;
    private static readonly char[] ByteToChar = BuildByteAlphabet();

    private readonly string[] tokens;     // id - FirstByteId -> token in the byte alphabet
    private readonly string[] merges;     // "left right" in the byte alphabet
    private readonly string preTokenizerPattern;
    private readonly BpeTokenizer bpe;

    private ByteLevelBpeTokenizer(string[] tokens, string[] merges, bool lowercase, string preTokenizerPattern)
    {
        this.tokens = tokens;
        this.merges = merges;
        this.preTokenizerPattern = preTokenizerPattern;
        Lowercase = lowercase;
        var vocabulary = tokens.Select((t, i) => new KeyValuePair<string, int>(t, FirstByteId + i));
        var regex = new Regex(preTokenizerPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(regex, specialTokens: null),
        });
    }

    public int VocabSize => FirstByteId + tokens.Length;
    public int PadId => 0;
    public int UnknownId => 1;
    public int ClsId => 2;
    public int SepId => 3;
    public int MaskId => 4;
    /// <summary>Whether text is lower-cased before encoding.</summary>
    public bool Lowercase { get; }
    /// <summary>Number of learned merges.</summary>
    public int MergeCount => merges.Length;

    /// <summary>The text as the tokenizer sees it: lower-cased when <see cref="Lowercase"/> is set, else unchanged.</summary>
    public string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Lowercase ? text.ToLowerInvariant() : text;
    }

    /// <summary>The token of an id: a special token's name, or the bytes it stands for (decoded as UTF-8 where valid).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside [0, VocabSize).</exception>
    public string TokenText(int id)
    {
        if ((uint)id >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(id), id, $"Token ids are in [0, {VocabSize}).");
        return id < FirstByteId ? SpecialTokens[id] : Encoding.UTF8.GetString(TokenBytes(tokens[id - FirstByteId]));
    }

    public IReadOnlyList<int> Encode(string text) => bpe.EncodeToIds(Normalize(text));

    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabSize).</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var content = new List<int>();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token ids are in [0, {VocabSize}).");
            if (id >= FirstByteId) content.Add(id);
        }
        return bpe.Decode(content);
    }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 2.</exception>
    public int[] EncodeForModel(string text, int maxLength)
    {
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "A model input needs room for [CLS] and [SEP].");
        var ids = bpe.EncodeToIds(Normalize(text), maxLength - 2, out _, out _);
        var result = new int[ids.Count + 2];
        result[0] = ClsId;
        for (int i = 0; i < ids.Count; i++) result[i + 1] = ids[i];
        result[^1] = SepId;
        return result;
    }

    /// <summary>Trains a tokenizer on <paramref name="texts"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">VocabSize below 261 or MinFrequency below 1.</exception>
    public static ByteLevelBpeTokenizer Train(IEnumerable<string> texts, BpeTokenizerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new BpeTokenizerOptions();
        if (options.VocabSize < FirstByteId + 256)
            throw new ArgumentOutOfRangeException(nameof(options), options.VocabSize, $"VocabSize must be at least {FirstByteId + 256} (5 special tokens and 256 bytes).");
        if (options.MinFrequency < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MinFrequency, "MinFrequency must be at least 1.");
        var watch = Stopwatch.StartNew();
        var regex = new Regex(DefaultPreTokenizer, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        var lowercase = options.Lowercase;
        var words = BpeTrainer.CountWords(texts, t => lowercase ? t.ToLowerInvariant() : t, regex, cancellationToken);
        var learned = BpeTrainer.Train(words, options.VocabSize - FirstByteId - 256, options.MinFrequency, cancellationToken);

        var tokenList = Enumerable.Range(0, 256).Select(b => ByteToChar[b].ToString()).ToList();
        var known = tokenList.ToHashSet(StringComparer.Ordinal);
        var mergeList = new List<string>(learned.Count);
        foreach (var (left, right) in learned)
        {
            string l = TokenString(left), r = TokenString(right);
            mergeList.Add($"{l} {r}");
            if (known.Add(l + r)) tokenList.Add(l + r);
        }
        var tokenizer = new ByteLevelBpeTokenizer([.. tokenList], [.. mergeList], lowercase, DefaultPreTokenizer);
        options.Log?.Invoke($"Trained a byte-level BPE tokenizer: {tokenizer.VocabSize} tokens from {words.Count:N0} distinct words in {watch.Elapsed.TotalSeconds:0.0} s.");
        return tokenizer;
    }

    /// <summary>Writes the tokenizer to one JSON file (atomically), which <see cref="Load"/> reads back.</summary>
    public void Save(string path) => AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(ToJson())));

    /// <summary>The tokenizer as JSON: format and version, settings, special tokens, tokens (from id 5 on, in GPT-2's
    /// printable byte alphabet) and merges.</summary>
    public string ToJson()
    {
        var json = new JsonObject
        {
            ["format"] = Format,
            ["version"] = FormatVersion,
            ["normalization"] = Lowercase ? "lowercase" : "none",
            ["pre_tokenizer"] = preTokenizerPattern,
            ["special_tokens"] = new JsonArray([.. SpecialTokens.Select(t => (JsonNode)t)]),
            ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)t)]),
            ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)m)]),
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    /// <summary>Reads a tokenizer written by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a tokenizer file or damaged; the message names the file and the problem.</exception>
    public static ByteLevelBpeTokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Tokenizer file '{path}' does not exist.", path);
        return FromJson(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Reads a tokenizer from the JSON <see cref="ToJson"/> wrote.</summary>
    /// <param name="source">Names the JSON's origin in errors.</param>
    /// <exception cref="InvalidDataException">Not a tokenizer or damaged.</exception>
    public static ByteLevelBpeTokenizer FromJson(string json, string source = "tokenizer JSON")
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{source}' is not valid JSON ({e.Message}); it is not a tokenizer file or it is damaged.", e);
        }
        InvalidDataException Bad(string what) => new($"'{source}' is not a usable tokenizer: {what}. Train the tokenizer again or restore the file.");
        if (root is not JsonObject o || (string?)o["format"] != Format) throw Bad($"its \"format\" is not \"{Format}\"");
        if ((int?)o["version"] != FormatVersion) throw Bad($"version {(int?)o["version"]} is not {FormatVersion}");
        var lowercase = (string?)o["normalization"] switch
        {
            "none" => false,
            "lowercase" => true,
            var other => throw Bad($"unknown normalization '{other}'"),
        };
        var specials = Strings(o["special_tokens"], "special_tokens");
        if (!specials.SequenceEqual(SpecialTokens)) throw Bad($"special tokens [{string.Join(", ", specials)}] differ from [{string.Join(", ", SpecialTokens)}]");
        var pattern = (string?)o["pre_tokenizer"] ?? throw Bad("no pre_tokenizer");
        try
        {
            _ = new Regex(pattern);
        }
        catch (ArgumentException e)
        {
            throw Bad($"the pre_tokenizer is not a regular expression ({e.Message})");
        }
        var tokenArray = Strings(o["tokens"], "tokens");
        var mergeArray = Strings(o["merges"], "merges");
        if (tokenArray.Length < 256) throw Bad($"{tokenArray.Length} tokens, fewer than the 256 bytes");
        for (int b = 0; b < 256; b++)
            if (tokenArray[b] != ByteToChar[b].ToString()) throw Bad($"token {FirstByteId + b} is not byte {b}");
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tokenArray)
            if (!known.Add(t)) throw Bad($"token '{t}' occurs twice");
        foreach (var m in mergeArray)
        {
            var parts = m.Split(' ');
            if (parts.Length != 2 || !known.Contains(parts[0]) || !known.Contains(parts[1]) || !known.Contains(parts[0] + parts[1]))
                throw Bad($"merge '{m}' does not join two known tokens into a known token");
        }
        return new ByteLevelBpeTokenizer(tokenArray, mergeArray, lowercase, pattern);

        string[] Strings(JsonNode? node, string name)
        {
            if (node is not JsonArray array) throw Bad($"no \"{name}\" array");
            return array.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Bad($"a non-string in \"{name}\"")).ToArray();
        }
    }

    /// <summary>GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes map to themselves,
    /// the others (control characters, space, ...) to U+0100 and up, so every token is a printable string without spaces.</summary>
    private static char[] BuildByteAlphabet()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static string TokenString(byte[] bytes) => new(bytes.Select(b => ByteToChar[b]).ToArray());

    private static byte[] TokenBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++) bytes[i] = (byte)Array.IndexOf(ByteToChar, token[i]);
        return bytes;
    }
}

/// <summary>Loads the tokenizer a model was saved with.</summary>
public static class TextTokenizers
{
    /// <summary>Reads a tokenizer file written by <see cref="ITextTokenizer.Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a tokenizer file this version reads.</exception>
    public static ITextTokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Tokenizer file '{path}' does not exist.", path);
        string json = File.ReadAllText(path, Encoding.UTF8);
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException) { return ByteLevelBpeTokenizer.FromJson(json, path); }   // its message says what is wrong
        // A WordPiece vocabulary comes with an imported encoder (pretext import --onnx); a trained tokenizer is byte-level BPE.
        return WordPieceTokenizer.IsFormat(root) ? WordPieceTokenizer.FromJson(root, path) : ByteLevelBpeTokenizer.FromJson(json, path);
    }
}
