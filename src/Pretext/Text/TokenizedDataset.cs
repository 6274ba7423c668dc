using Pretext.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Text;

/// <summary>
/// Texts as an <see cref="IDataset"/> for the training loop, evaluation and export: every document is
/// tokenized once to [CLS] + subwords + [SEP] (<see cref="ITextTokenizer.EncodeForModel"/>), truncated
/// to <see cref="MaxLength"/> tokens and right-padded with the pad id. <see cref="Gather"/> returns
/// (B, MaxLength) int64 token ids; encoders mask the padding, so pad positions never change an output.
/// </summary>
public sealed class TokenizedDataset : IDataset, IDisposable
{
    private readonly Tensor ids;
    private readonly string[]? sampleIds;

    /// <param name="name">Name for messages and reports.</param>
    /// <param name="texts">The documents.</param>
    /// <param name="tokenizer">Tokenizer of the model that will read the data.</param>
    /// <param name="maxLength">Tokens per sequence (at least 2: [CLS] and [SEP]); the encoder's max length.</param>
    /// <param name="labels">A class per document, or null.</param>
    /// <param name="classNames">Names indexed by label.</param>
    /// <param name="sources">An id per document for exports (file names), or null for the index.</param>
    /// <exception cref="ArgumentException">No documents, counts disagree, or the tokenizer returns ids outside its vocabulary
    /// or longer than asked; the message names the document.</exception>
    public TokenizedDataset(string name, IReadOnlyList<string> texts, ITextTokenizer tokenizer, int maxLength,
        int[]? labels = null, IReadOnlyList<string>? classNames = null, IReadOnlyList<string>? sources = null)
        : this(name, Tokenize(name, texts, tokenizer, maxLength, sources), tokenizer.PadId, tokenizer.VocabSize, maxLength, labels, classNames, sources)
    {
    }

    /// <summary>Already tokenized documents: one id row per document, each at most <paramref name="maxLength"/> long.</summary>
    /// <param name="rows">Token ids per document, special tokens included.</param>
    /// <param name="padId">Id the rows are padded with.</param>
    /// <param name="vocabSize">Ids must lie in [0, vocabSize).</param>
    /// <exception cref="ArgumentException">No rows, a row longer than <paramref name="maxLength"/> or empty, an id outside the vocabulary, or counts disagree.</exception>
    public TokenizedDataset(string name, IReadOnlyList<int[]> rows, int padId, int vocabSize, int maxLength,
        int[]? labels = null, IReadOnlyList<string>? classNames = null, IReadOnlyList<string>? sources = null)
    {
        if (rows.Count == 0) throw new ArgumentException($"Text data set '{name}' is empty: it holds no documents.");
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "Max length must leave room for [CLS] and [SEP] (at least 2).");
        if (labels is not null && labels.Length != rows.Count) throw new ArgumentException($"Text data set '{name}': {labels.Length} labels for {rows.Count} documents.");
        if (sources is not null && sources.Count != rows.Count) throw new ArgumentException($"Text data set '{name}': {sources.Count} sources for {rows.Count} documents.");
        var flat = new long[(long)rows.Count * maxLength];
        Array.Fill(flat, padId);
        var lengths = new int[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            string where = sources is null ? $"document {i}" : $"document {i} ({sources[i]})";
            if (row.Length > maxLength || row.Length == 0)
                throw new ArgumentException($"Text data set '{name}', {where}: {row.Length} tokens for a maximum of {maxLength}.");
            for (int j = 0; j < row.Length; j++)
            {
                if ((uint)row[j] >= (uint)vocabSize)
                    throw new ArgumentException($"Text data set '{name}', {where}: token id {row[j]} is outside the vocabulary of {vocabSize}.");
                flat[(long)i * maxLength + j] = row[j];
            }
            lengths[i] = row.Length;
        }
        Name = name;
        MaxLength = maxLength;
        PadId = padId;
        Lengths = lengths;
        Labels = labels;
        ClassNames = classNames ?? [];
        sampleIds = sources?.ToArray();
        ids = tensor(flat, [rows.Count, maxLength]).DetachFromDisposeScope();
    }

    private static int[][] Tokenize(string name, IReadOnlyList<string> texts, ITextTokenizer tokenizer, int maxLength, IReadOnlyList<string>? sources)
    {
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "Max length must leave room for [CLS] and [SEP] (at least 2).");
        var rows = new int[texts.Count][];
        for (int i = 0; i < texts.Count; i++)
        {
            rows[i] = tokenizer.EncodeForModel(texts[i], maxLength);
            if (rows[i].Length > maxLength)
                throw new ArgumentException($"Text data set '{name}', document {i}{(sources is null ? "" : $" ({sources[i]})")}: the tokenizer returned {rows[i].Length} tokens for a maximum of {maxLength}.");
        }
        return rows;
    }

    /// <summary>
    /// Cuts every document into consecutive windows of up to <paramref name="maxLength"/> - 2 subwords, each
    /// wrapped as [CLS] + window + [SEP], keeping at most <paramref name="maxWindowsPerDocument"/> windows from the
    /// start of each document. Pretraining reads whole documents this way instead of only their first window (BERT
    /// packs whole documents into its training sequences, Devlin et al. 2019, appendix A.2); the cap keeps a few very
    /// long documents from outweighing the rest. Window 0 equals what <see cref="From"/> gives; each window keeps
    /// its document's label, and its source is "SOURCE#k".
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Max length below 3 or no window allowed.</exception>
    public static TokenizedDataset Windows(TextDataset data, ITextTokenizer tokenizer, int maxLength, int maxWindowsPerDocument)
    {
        if (maxLength < 3) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "Windows need room for [CLS], [SEP] and one token (max length 3 or more).");
        if (maxWindowsPerDocument < 1) throw new ArgumentOutOfRangeException(nameof(maxWindowsPerDocument), maxWindowsPerDocument, "Keep at least one window per document.");
        int body = maxLength - 2;
        var rows = new List<int[]>();
        var labels = data.Labels is null ? null : new List<int>();
        var sources = new List<string>();
        for (int i = 0; i < data.Count; i++)
        {
            var ids = tokenizer.Encode(data.Texts[i]);
            int windows = Math.Min(maxWindowsPerDocument, Math.Max(1, (ids.Count + body - 1) / body));
            for (int k = 0; k < windows; k++)
            {
                int start = k * body, count = Math.Min(body, ids.Count - start);
                var row = new int[count + 2];
                row[0] = tokenizer.ClsId;
                for (int j = 0; j < count; j++) row[j + 1] = ids[start + j];
                row[^1] = tokenizer.SepId;
                rows.Add(row);
                labels?.Add(data.Labels![i]);
                sources.Add($"{data.SampleId(i)}#{k}");
            }
        }
        return new TokenizedDataset($"{data.Name} (windows of {maxLength})", rows, tokenizer.PadId, tokenizer.VocabSize, maxLength,
            labels?.ToArray(), labels is null ? null : data.ClassNames, sources);
    }

    /// <summary>Tokenizes a <see cref="TextDataset"/> (labels, class names and sources carried over).</summary>
    public static TokenizedDataset From(TextDataset data, ITextTokenizer tokenizer, int maxLength) =>
        new(data.Name, data.Texts, tokenizer, maxLength, data.Labels, data.ClassNames, data.Sources);

    public string Name { get; }
    public long Count => ids.shape[0];
    public long[] SampleShape => [MaxLength];
    public int[]? Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int MaxLength { get; }
    public int PadId { get; }
    /// <summary>Tokens per document before padding ([CLS] and [SEP] included).</summary>
    public IReadOnlyList<int> Lengths { get; }
    /// <summary>All token ids (N, MaxLength) int64.</summary>
    public Tensor Ids => ids;

    /// <summary>(B, MaxLength) int64 token ids of the given documents.</summary>
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        foreach (var i in indices)
            if (i < 0 || i >= Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Index {i} is outside text data set '{Name}' of {Count} documents.");
        using var idx = tensor(indices.ToArray(), ScalarType.Int64);
        return ids.index_select(0, idx);
    }

    public string SampleId(long index) => sampleIds is null ? index.ToString(System.Globalization.CultureInfo.InvariantCulture) : sampleIds[index];

    public void Dispose() => ids.Dispose();
}
