using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Export;

namespace Pretext.Text;

/// <summary>
/// BERT's uncased tokenizer (Devlin et al. 2019; the reference implementation's BasicTokenizer + WordpieceTokenizer) over a
/// fixed vocabulary, for encoders imported from elsewhere (all-MiniLM-L6-v2's vocab.txt, docs/text.md "Imported encoders").
/// <list type="number">
/// <item>Cleaning: U+0000, U+FFFD and control and format characters (categories C*, except tab, line feed and carriage return) are dropped; whitespace (those three, space and Zs) becomes a space.</item>
/// <item>CJK ideographs get a space on each side, so each is a word.</item>
/// <item>Words are cut at whitespace; each is lower-cased (<see cref="string.ToLowerInvariant()"/>), its accents stripped (canonical
/// decomposition, then non-spacing marks, Mn, dropped) and cut before and after every punctuation character (ASCII 33-47, 58-64,
/// 91-96, 123-126 and categories P*).</item>
/// <item>WordPiece: each word is split greedily into the longest pieces of the vocabulary from the left, continuation pieces
/// written with a leading "##"; a word with no such split, or longer than 100 characters, becomes [UNK] as a whole.</item>
/// </list>
/// The project runs with invariant globalization, where .NET does not decompose, so the decompositions come from a table
/// embedded in the assembly (Text/nfd.txt, Unicode 14) and Hangul syllables are decomposed arithmetically.
/// Decode joins pieces with spaces and glues "##" pieces to the one before; it gives the lower-cased, accent-free words with
/// spaces around punctuation, not the original text.
/// </summary>
public sealed class WordPieceTokenizer : ITextTokenizer
{
    private const string Format = "pretext-wordpiece";
    private const int FormatVersion = 1;
    /// <summary>Longest word WordPiece splits (in characters); longer words are [UNK] (BERT's max_input_chars_per_word).</summary>
    public const int MaxWordLength = 100;
    private const string Continuation = "##";

    private readonly string[] tokens;
    private readonly Dictionary<string, int> ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;
    private readonly HashSet<int> special;

    private WordPieceTokenizer(string[] tokens, string source)
    {
        this.tokens = tokens;
        ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i].Length == 0) throw new InvalidDataException($"'{source}': token {i} is empty; a WordPiece vocabulary has one non-empty token per line.");
            if (!ids.TryAdd(tokens[i], i)) throw new InvalidDataException($"'{source}': token '{tokens[i]}' appears twice (ids {ids[tokens[i]]} and {i}).");
        }
        lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        int Special(string name) => ids.TryGetValue(name, out int id) ? id
            : throw new InvalidDataException($"'{source}' has no {name} token; a BERT vocabulary has [PAD], [UNK], [CLS], [SEP] and [MASK].");
        PadId = Special("[PAD]"); UnknownId = Special("[UNK]"); ClsId = Special("[CLS]"); SepId = Special("[SEP]"); MaskId = Special("[MASK]");
        special = [PadId, UnknownId, ClsId, SepId, MaskId];
    }

    public int VocabSize => tokens.Length;
    public int PadId { get; }
    public int UnknownId { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int MaskId { get; }

    /// <summary>The token of <paramref name="id"/> ("##" marks a piece that continues a word).</summary>
    public string Token(int id) => tokens[id];

    /// <summary>The id of <paramref name="token"/>, or null when it is not in the vocabulary.</summary>
    public int? Id(string token) => ids.TryGetValue(token, out int id) ? id : null;

    /// <summary>Reads a BERT vocab.txt: one token per line, the line number (from 0) is its id; CR LF or LF line ends.</summary>
    /// <exception cref="InvalidDataException">Empty lines inside, duplicate tokens, or a special token missing.</exception>
    public static WordPieceTokenizer FromVocabulary(string vocabTxtPath)
    {
        if (!File.Exists(vocabTxtPath)) throw new FileNotFoundException($"Vocabulary file '{vocabTxtPath}' does not exist.", vocabTxtPath);
        return FromVocabulary(File.ReadAllText(vocabTxtPath, Encoding.UTF8), vocabTxtPath);
    }

    /// <summary>The vocabulary in vocab.txt's form (one token per line) as a string.</summary>
    public static WordPieceTokenizer FromVocabulary(string vocabText, string source)
    {
        var lines = vocabText.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);   // the final line break
        return new WordPieceTokenizer([.. lines], source);
    }

    /// <summary>The pieces of <paramref name="text"/> as strings, no special tokens (what <see cref="Encode"/> gives ids of).</summary>
    public IReadOnlyList<string> Tokenize(string text) => Encode(text).Select(i => tokens[i]).ToList();

    public IReadOnlyList<int> Encode(string text) => EncodeUpTo(text, int.MaxValue);

    /// <summary>The ids of the first <paramref name="limit"/> pieces (a document read only to its first window stops early).</summary>
    private List<int> EncodeUpTo(string text, int limit)
    {
        var result = new List<int>();
        if (limit <= 0) return result;
        foreach (var w in BasicWords(text))
        {
            WordPieces(w, result);
            if (result.Count >= limit) { result.RemoveRange(limit, result.Count - limit); break; }
        }
        return result;
    }

    public int[] EncodeForModel(string text, int maxLength)
    {
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "A model sequence holds at least [CLS] and [SEP].");
        var body = EncodeUpTo(text, maxLength - 2);
        var ids = new int[body.Count + 2];
        ids[0] = ClsId;
        body.CopyTo(ids, 1);
        ids[^1] = SepId;
        return ids;
    }

    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (id < 0 || id >= tokens.Length) throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id outside the vocabulary of {tokens.Length}.");
            if (special.Contains(id)) continue;
            string t = tokens[id];
            if (t.StartsWith(Continuation, StringComparison.Ordinal) && sb.Length > 0) sb.Append(t, Continuation.Length, t.Length - Continuation.Length);
            else { if (sb.Length > 0) sb.Append(' '); sb.Append(t); }
        }
        return sb.ToString();
    }

    /// <summary>BERT's basic tokenization: the cleaned, lower-cased, accent-free words, punctuation split off, in order.</summary>
    public static IEnumerable<string> BasicWords(string text)
    {
        var word = new StringBuilder();
        var folded = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD) continue;
            var cat = Rune.GetUnicodeCategory(rune);
            bool space = cp is ' ' or '\t' or '\n' or '\r' || cat == UnicodeCategory.SpaceSeparator;
            if (!space && IsControl(cat)) continue;
            if (space || IsCjk(cp))
            {
                foreach (var w in Finish(word, folded)) yield return w;
                if (!space) yield return rune.ToString();   // a CJK ideograph is a word of its own (and never punctuation)
                continue;
            }
            word.Append(rune.ToString());
        }
        foreach (var w in Finish(word, folded)) yield return w;
    }

    /// <summary>One whitespace-delimited word: lower-cased, accents stripped, cut around punctuation. Clears <paramref name="word"/>.</summary>
    private static IEnumerable<string> Finish(StringBuilder word, StringBuilder folded)
    {
        if (word.Length == 0) yield break;
        folded.Clear();
        foreach (var rune in word.ToString().ToLowerInvariant().EnumerateRunes()) Decompose(rune.Value, folded);
        word.Clear();
        var piece = new StringBuilder();
        foreach (var rune in folded.ToString().EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark) continue;
            if (IsPunctuation(rune))
            {
                if (piece.Length > 0) { yield return piece.ToString(); piece.Clear(); }
                yield return rune.ToString();
            }
            else piece.Append(rune.ToString());
        }
        if (piece.Length > 0) yield return piece.ToString();
    }

    /// <summary>Greedy longest-match-first WordPiece split of one basic word into <paramref name="into"/>.</summary>
    private void WordPieces(string word, List<int> into)
    {
        int runes = 0;
        foreach (var _ in word.EnumerateRunes()) runes++;
        if (runes > MaxWordLength) { into.Add(UnknownId); return; }
        int mark = into.Count;
        var buffer = new char[word.Length + Continuation.Length];
        Continuation.AsSpan().CopyTo(buffer);
        int start = 0;
        while (start < word.Length)
        {
            int found = -1, end = word.Length;
            for (; end > start; end--)
            {
                if (end < word.Length && char.IsLowSurrogate(word[end])) continue;   // never cut a surrogate pair
                ReadOnlySpan<char> piece;
                if (start == 0) piece = word.AsSpan(0, end);
                else
                {
                    word.AsSpan(start, end - start).CopyTo(buffer.AsSpan(Continuation.Length));
                    piece = buffer.AsSpan(0, Continuation.Length + end - start);
                }
                if (lookup.TryGetValue(piece, out found)) break;
                found = -1;
            }
            if (found < 0)
            {
                into.RemoveRange(mark, into.Count - mark);
                into.Add(UnknownId);
                return;
            }
            into.Add(found);
            start = end;
        }
    }

    private static bool IsControl(UnicodeCategory c) => c is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.OtherNotAssigned
        or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;

    private static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The CJK Unified Ideographs blocks BERT treats as one word each (not Hiragana, Katakana or Hangul).</summary>
    private static bool IsCjk(int cp) => cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
        or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    /// <summary>Appends the canonical decomposition (NFD) of <paramref name="cp"/>.</summary>
    private static void Decompose(int cp, StringBuilder into)
    {
        const int sBase = 0xAC00, lBase = 0x1100, vBase = 0x1161, tBase = 0x11A7, vCount = 21, tCount = 28, sCount = 11172;
        if (cp is >= sBase and < sBase + sCount)
        {
            int s = cp - sBase;
            into.Append((char)(lBase + s / (vCount * tCount))).Append((char)(vBase + s % (vCount * tCount) / tCount));
            if (s % tCount != 0) into.Append((char)(tBase + s % tCount));
            return;
        }
        if (Decompositions.Value.TryGetValue(cp, out var parts)) into.Append(parts);
        else into.Append(char.ConvertFromUtf32(cp));
    }

    private static readonly Lazy<Dictionary<int, string>> Decompositions = new(() =>
    {
        const string name = "pretext-nfd.txt";
        using var stream = typeof(WordPieceTokenizer).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{name} is not embedded in {typeof(WordPieceTokenizer).Assembly.GetName().Name}; the build lost it.");
        using var reader = new StreamReader(stream);
        var table = new Dictionary<int, string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split(' ');
            table[int.Parse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture)] =
                string.Concat(f.Skip(1).Select(h => char.ConvertFromUtf32(int.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture))));
        }
        return table;
    });

    public void Save(string path) => AtomicFile.WriteText(path, w => w.Write(ToJson()));

    /// <summary>The tokenizer as one JSON object: format, version, the normalisation it applies and the vocabulary in id order.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["format"] = Format, ["version"] = FormatVersion,
            ["normalization"] = "bert-uncased: clean, CJK split, lowercase, strip accents (NFD, drop Mn), split punctuation",
            ["max_word_length"] = MaxWordLength,
            ["special_tokens"] = new JsonObject
            {
                ["pad"] = tokens[PadId], ["unknown"] = tokens[UnknownId], ["cls"] = tokens[ClsId], ["sep"] = tokens[SepId], ["mask"] = tokens[MaskId],
            },
            ["tokens"] = new JsonArray(tokens.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>True when the parsed JSON says it is this format (its "format" field).</summary>
    internal static bool IsFormat(JsonNode? root) => root is JsonObject o && (string?)o["format"] == Format;

    /// <exception cref="InvalidDataException">Not a WordPiece tokenizer of this version, or a damaged vocabulary.</exception>
    public static WordPieceTokenizer FromJson(string json, string source = "tokenizer JSON")
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"'{source}' is not valid JSON ({e.Message}); it is not a tokenizer file or it is damaged.", e); }
        return FromJson(root, source);
    }

    internal static WordPieceTokenizer FromJson(JsonNode? root, string source)
    {
        InvalidDataException Bad(string what) => new($"'{source}' is not a usable WordPiece tokenizer: {what}. Import the encoder again (pretext import --onnx) or restore the file.");
        if (!IsFormat(root)) throw Bad($"its \"format\" is not \"{Format}\"");
        var o = (JsonObject)root!;
        if ((int?)o["version"] != FormatVersion) throw Bad($"version {o["version"]}, this Pretext reads {FormatVersion}");
        if ((int?)o["max_word_length"] is int m && m != MaxWordLength) throw Bad($"max_word_length {m}, this Pretext splits words of up to {MaxWordLength}");
        if (o["tokens"] is not JsonArray list || list.Count < 5) throw Bad("no \"tokens\" list");
        var tokens = list.Select(t => t?.GetValueKind() == JsonValueKind.String ? (string)t! : throw Bad("a token that is not a string")).ToArray();
        try { return new WordPieceTokenizer(tokens, source); }
        catch (InvalidDataException e) { throw Bad(e.Message); }
    }
}
