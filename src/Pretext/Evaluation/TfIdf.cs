using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Options of <see cref="TfIdfVectorizer"/>; defaults follow scikit-learn's TfidfVectorizer where it has one.</summary>
public sealed record TfIdfOptions
{
    /// <summary>Words in fewer documents are dropped (typos, ids, one-off tokens).</summary>
    public int MinDocumentFrequency { get; init; } = 2;
    /// <summary>Keep the words in the most documents, at most this many.</summary>
    public int MaxFeatures { get; init; } = 50_000;
    /// <summary>Use 1 + ln(tf) instead of the raw count (sublinear tf, Manning et al. 2008, section 6.4.1): one word repeated
    /// throughout a long e-mail should not dominate it.</summary>
    public bool SublinearTf { get; init; } = true;
}

/// <summary>
/// TF-IDF features of whole documents, the classic text-classification baseline: words are runs of two or more
/// word characters, lower-cased (scikit-learn's default token pattern); idf(w) = ln((1 + N) / (1 + df(w))) + 1
/// (smoothed, scikit-learn's default); each document's vector is L2-normalised. The vocabulary and idf come
/// from the texts passed to <see cref="Fit"/> (labels are never used).
/// </summary>
public sealed class TfIdfVectorizer
{
    private static readonly Regex WordPattern = new(@"\b\w\w+\b", RegexOptions.Compiled | RegexOptions.CultureInvariant);
    private readonly Dictionary<string, int> index;
    private readonly double[] idf;
    private readonly TfIdfOptions options;

    private TfIdfVectorizer(IReadOnlyList<string> vocabulary, double[] idf, TfIdfOptions options)
    {
        Vocabulary = vocabulary;
        index = vocabulary.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i);
        this.idf = idf;
        this.options = options;
    }

    /// <summary>Feature words, in column order (most documents first, ties by ordinal order).</summary>
    public IReadOnlyList<string> Vocabulary { get; }
    /// <summary>Inverse document frequency per column.</summary>
    public IReadOnlyList<double> Idf => idf;

    /// <summary>The words of <paramref name="text"/> as the vectorizer counts them.</summary>
    public static IEnumerable<string> Words(string text) => WordPattern.Matches(text.ToLowerInvariant()).Select(m => m.Value);

    /// <exception cref="ArgumentException">No texts, bad options, or no word reaches the minimum document frequency.</exception>
    public static TfIdfVectorizer Fit(IReadOnlyList<string> texts, TfIdfOptions? options = null)
    {
        options ??= new TfIdfOptions();
        if (texts.Count == 0) throw new ArgumentException("TF-IDF needs at least one document to fit.");
        if (options.MinDocumentFrequency < 1 || options.MaxFeatures < 1) throw new ArgumentException("TF-IDF minimum document frequency and maximum features must be positive.");
        var df = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (var w in Words(text).Distinct())
                df[w] = df.GetValueOrDefault(w) + 1;
        var vocabulary = df.Where(p => p.Value >= options.MinDocumentFrequency)
            .OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Take(options.MaxFeatures).Select(p => p.Key).ToArray();
        if (vocabulary.Length == 0)
            throw new ArgumentException($"No word occurs in {options.MinDocumentFrequency} or more of the {texts.Count} documents; lower the minimum document frequency.");
        var idf = vocabulary.Select(w => Math.Log((1.0 + texts.Count) / (1.0 + df[w])) + 1).ToArray();
        return new TfIdfVectorizer(vocabulary, idf, options);
    }

    /// <summary>
    /// (N, Vocabulary.Count) fp32 features as a sparse COO tensor (a document holds a few hundred of the
    /// vocabulary's words), each row L2-normalised (empty for a document without known words). Matrix products
    /// and row selection work on it as on a dense tensor; <c>to_dense()</c> gives the dense matrix.
    /// </summary>
    public Tensor Transform(IReadOnlyList<string> texts)
    {
        var rows = new List<long>();
        var cols = new List<long>();
        var values = new List<float>();
        var counts = new SortedDictionary<int, int>();
        for (int i = 0; i < texts.Count; i++)
        {
            counts.Clear();
            foreach (var w in Words(texts[i]))
                if (index.TryGetValue(w, out int j)) counts[j] = counts.GetValueOrDefault(j) + 1;
            var weights = counts.Select(p => (p.Key, V: (options.SublinearTf ? 1 + Math.Log(p.Value) : p.Value) * idf[p.Key])).ToList();
            double norm = Math.Sqrt(weights.Sum(p => p.V * p.V));
            foreach (var (j, v) in weights)
            {
                rows.Add(i); cols.Add(j); values.Add((float)(v / norm));
            }
        }
        using var scope = NewDisposeScope();
        var indices = stack([tensor(rows.ToArray()), tensor(cols.ToArray())]);
        return sparse_coo_tensor(indices, tensor(values.ToArray()), [texts.Count, idf.Length]).MoveToOuterDisposeScope();
    }
}
