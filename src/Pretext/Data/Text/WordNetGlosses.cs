using System.Text;

namespace Pretext.Data;

/// <summary>WordNet 3.0's synset glosses as documents, read from the database files that Debian's wordnet-base installs.</summary>
public static class WordNetGlosses
{
    /// <summary>The data files, in load order: nouns, verbs, adjectives, adverbs.</summary>
    public static IReadOnlyList<string> Files { get; } = ["data.noun", "data.verb", "data.adj", "data.adv"];

    /// <summary>
    /// The glosses: one document per synset, "word, other word: gloss" (underscores become spaces, the gloss keeps its
    /// quoted examples), in <see cref="Files"/> order then file order; sources are "data.POS:OFFSET". Unlabelled.
    /// </summary>
    /// <param name="paths">Path of each of <see cref="Files"/>, in that order.</param>
    /// <exception cref="InvalidDataException">A file is not a WordNet data file (see <see cref="Read"/>).</exception>
    internal static TextDataset Load(IReadOnlyList<string> paths)
    {
        var texts = new List<string>();
        var sources = new List<string>();
        for (int i = 0; i < Files.Count; i++)
            foreach (var (offset, text) in Read(paths[i]))
            {
                texts.Add(text);
                sources.Add($"{Files[i]}:{offset}");
            }
        return new TextDataset("wordnet", texts, sources: sources);
    }

    /// <summary>
    /// The synsets of a WordNet data file (wndb(5WN) format) as (offset, "words: gloss"). Checks the format as it
    /// goes: every synset line starts with its own byte offset in the file, which catches truncated or altered copies.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a WordNet data file; the message names it and the line.</exception>
    internal static IEnumerable<(string Offset, string Text)> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0 || bytes[^1] != '\n') throw new InvalidDataException($"WordNet file '{path}' is empty or cut short (no final line break).");
        int pos = 0, lineNumber = 0, synsets = 0;
        while (pos < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', pos);
            var line = Encoding.UTF8.GetString(bytes, pos, end - pos);
            int lineStart = pos;
            pos = end + 1;
            lineNumber++;
            if (line.StartsWith("  ", StringComparison.Ordinal)) continue; // the licence header
            var fields = line.Split(' ');
            if (fields.Length < 6 || fields[0].Length != 8 || !long.TryParse(fields[0], out var offset) || offset != lineStart)
                throw new InvalidDataException($"WordNet file '{path}' line {lineNumber} does not start with its byte offset {lineStart:D8}; the file is damaged.");
            int bar = line.IndexOf(" | ", StringComparison.Ordinal);
            if (!int.TryParse(fields[3], System.Globalization.NumberStyles.HexNumber, null, out var wordCount) || fields.Length < 4 + 2 * wordCount)
                throw new InvalidDataException($"WordNet file '{path}' line {lineNumber} has a malformed word list.");
            var words = Enumerable.Range(0, wordCount).Select(i => CleanWord(fields[4 + 2 * i])).Distinct(StringComparer.OrdinalIgnoreCase);
            var gloss = bar < 0 ? "" : line[(bar + 3)..].Trim();
            synsets++;
            yield return (fields[0], gloss.Length == 0 ? string.Join(", ", words) : $"{string.Join(", ", words)}: {gloss}");
        }
        if (synsets == 0) throw new InvalidDataException($"WordNet file '{path}' holds no synset.");
    }

    // Adjective markers such as "(a)", "(p)", "(ip)" follow the word; underscores join the words of a collocation.
    private static string CleanWord(string word)
    {
        int paren = word.IndexOf('(');
        if (paren > 0 && word.EndsWith(')')) word = word[..paren];
        return word.Replace('_', ' ');
    }
}
