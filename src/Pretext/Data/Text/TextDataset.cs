namespace Pretext.Data;

/// <summary>
/// A finite collection of documents, optionally labelled: what the text readers produce and what text methods
/// and tokenizer training consume. Documents stay strings here; a tokenizer turns them into ids.
/// </summary>
public sealed class TextDataset
{
    private readonly string[] texts;
    private readonly string[]? sources;

    /// <param name="name">Human-readable name for messages and reports, e.g. "spamassassin/train" or a folder path.</param>
    /// <param name="texts">One string per document. The dataset keeps its own copy.</param>
    /// <param name="labels">A class index per document into <paramref name="classNames"/>, or null when unlabelled.</param>
    /// <param name="classNames">Names indexed by label; must be given (non-empty) exactly when labels are.</param>
    /// <param name="sources">Where each document came from (file name, "file:line"), or null.</param>
    /// <exception cref="ArgumentException">Counts do not match, a label is out of range, or a text is null.</exception>
    public TextDataset(string name, IReadOnlyList<string> texts, int[]? labels = null, IReadOnlyList<string>? classNames = null,
        IReadOnlyList<string>? sources = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(texts);
        classNames ??= [];
        if (labels is not null && labels.Length != texts.Count)
            throw new ArgumentException($"Text data set '{name}': {labels.Length} labels for {texts.Count} documents.", nameof(labels));
        if (sources is not null && sources.Count != texts.Count)
            throw new ArgumentException($"Text data set '{name}': {sources.Count} sources for {texts.Count} documents.", nameof(sources));
        if (labels is not null && classNames.Count == 0)
            throw new ArgumentException($"Text data set '{name}': labels were given without class names.", nameof(classNames));
        if (labels is null && classNames.Count > 0)
            throw new ArgumentException($"Text data set '{name}': class names were given without labels.", nameof(classNames));
        for (int i = 0; i < texts.Count; i++)
            if (texts[i] is null) throw new ArgumentException($"Text data set '{name}': document {i} is null.", nameof(texts));
        if (labels is not null)
            for (int i = 0; i < labels.Length; i++)
                if ((uint)labels[i] >= (uint)classNames.Count)
                    throw new ArgumentException(
                        $"Text data set '{name}': document {i} has label {labels[i]}, outside the {classNames.Count} classes.", nameof(labels));
        Name = name;
        this.texts = [.. texts];
        Labels = labels is null ? null : [.. labels];
        ClassNames = [.. classNames];
        this.sources = sources is null ? null : [.. sources];
    }

    /// <summary>Human-readable name, used in messages and reports.</summary>
    public string Name { get; }
    /// <summary>The documents.</summary>
    public IReadOnlyList<string> Texts => texts;
    /// <summary>Class index per document, or null when unlabelled. Do not modify.</summary>
    public int[]? Labels { get; }
    /// <summary>Class names indexed by label; empty when unlabelled.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Where each document came from (file name, or "file:line"), or null when unknown.</summary>
    public IReadOnlyList<string>? Sources => sources;
    /// <summary>Number of documents.</summary>
    public int Count => texts.Length;

    /// <summary>An identifier for document <paramref name="index"/>: its source, else the index as text.</summary>
    public string SampleId(int index) =>
        sources is null ? index.ToString(System.Globalization.CultureInfo.InvariantCulture) : sources[index];

    /// <summary>The documents at <paramref name="indices"/>, in that order, with their labels and sources.</summary>
    /// <param name="indices">Indices into this data set; repeats are allowed.</param>
    /// <param name="name">Name of the subset; "NAME[subset N]" when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the data set.</exception>
    public TextDataset Subset(IReadOnlyList<int> indices, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        foreach (var i in indices)
            if ((uint)i >= (uint)texts.Length)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {i} is outside text data set '{Name}' of {texts.Length} documents.");
        return new TextDataset(name ?? $"{Name}[subset {indices.Count}]",
            indices.Select(i => texts[i]).ToArray(),
            Labels is null ? null : indices.Select(i => Labels[i]).ToArray(),
            Labels is null ? null : ClassNames,
            sources is null ? null : indices.Select(i => sources[i]).ToArray());
    }
}
