using System.Globalization;
using System.Text;
using Pretext.Methods;
using Pretext.Text;
using TorchSharp;

namespace Pretext.Runs;

/// <summary>
/// A causal language model's continuations of a few fixed prompts: greedy and temperature-sampled (seeded), as a
/// sanity check a person can read (issue #26). Deliberately small: a handful of prompts, a few dozen tokens each.
/// </summary>
public static class Continuations
{
    /// <summary>File of the continuations in a run folder (copied beside an evaluation's report).</summary>
    public const string FileName = "continuations.md";

    /// <summary>Openings that fit e-mail and plain prose alike.</summary>
    public static readonly string[] Prompts = ["Subject:", "Dear friend,", "Click here to", "The meeting"];

    /// <summary>Tokens added per continuation.</summary>
    public const int NewTokens = 24;

    /// <summary>Temperature of the sampled continuation (the greedy one uses 0).</summary>
    public const double Temperature = 0.8;

    /// <summary>Markdown of each prompt's greedy and sampled continuation; sampling draws from one generator seeded with <paramref name="seed"/>.</summary>
    public static string Render(CausalLanguageModel model, ITextTokenizer tokenizer, int seed, IReadOnlyList<string>? prompts = null)
    {
        using var generator = new torch.Generator((ulong)seed);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Sampled continuations ({NewTokens} tokens; greedy, then temperature {Temperature} with seed {seed})");
        sb.AppendLine();
        foreach (var prompt in prompts ?? Prompts)
        {
            var ids = tokenizer.EncodeForModel(prompt, model.MaxLength).ToList();
            if (ids.Count > 0 && ids[^1] == tokenizer.SepId) ids.RemoveAt(ids.Count - 1);   // the prompt is unfinished
            string greedy = tokenizer.Decode(model.Continue(ids, NewTokens, 0, null, tokenizer.SepId).Skip(ids.Count));
            string sampled = tokenizer.Decode(model.Continue(ids, NewTokens, Temperature, generator, tokenizer.SepId).Skip(ids.Count));
            sb.AppendLine(CultureInfo.InvariantCulture, $"- prompt `{prompt}`");
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - greedy: {OneLine(greedy)}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - sampled: {OneLine(sampled)}");
        }
        return sb.ToString();
    }

    /// <summary>Renders (<see cref="Render"/>) and writes the continuations to <paramref name="path"/>; returns the text.</summary>
    public static string Write(CausalLanguageModel model, ITextTokenizer tokenizer, int seed, string path)
    {
        string text = Render(model, tokenizer, seed);
        Export.AtomicFile.WriteText(path, w => w.Write(text));
        return text;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" \u21b5 ").Replace("`", "'", StringComparison.Ordinal);
}
