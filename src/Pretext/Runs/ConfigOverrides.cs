using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pretext.Runs;

/// <summary>
/// <c>path=value</c> overrides of any field of a <see cref="RunConfig"/>, as the CLI's <c>--set</c> takes
/// them: <c>methods.simclr.temperature=0.1</c>, <c>train.optimizer.kind=AdamW</c>, <c>encoder.widths=[64,128,256,512]</c>.
/// Path segments match the config.json names ignoring case, '_' and '-'; values are JSON (numbers,
/// true/false, [arrays], "strings") or, when they do not parse as JSON, plain strings.
/// </summary>
public static class ConfigOverrides
{
    /// <exception cref="ArgumentException">A malformed assignment, an unknown key (the message lists the known ones) or a value of the wrong type.</exception>
    public static RunConfig Apply(RunConfig config, IEnumerable<string> assignments)
    {
        var list = assignments.ToList();
        if (list.Count == 0) return config;
        var root = JsonNode.Parse(config.ToJson())!.AsObject();
        foreach (var assignment in list)
        {
            int eq = assignment.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--set '{assignment}': expected path=value, e.g. methods.simclr.temperature=0.1.");
            var path = assignment[..eq].Trim().Split('.');
            JsonObject node = root;
            string walked = "";
            for (int i = 0; i < path.Length - 1; i++)
            {
                var key = FindKey(node, path[i], walked, assignment);
                walked += (walked.Length > 0 ? "." : "") + key;
                node = node[key] as JsonObject ?? throw new ArgumentException($"--set '{assignment}': '{walked}' is a value, not a section.");
            }
            var leaf = FindKey(node, path[^1], walked, assignment);
            if (node[leaf] is JsonObject section)
                throw new ArgumentException($"--set '{assignment}': '{leaf}' is a section; set one of its keys: {string.Join(", ", section.Select(p => p.Key))}.");
            string text = assignment[(eq + 1)..].Trim();
            // JSON reads numbers in the invariant culture already; a decimal comma ("0,5") would otherwise end as a string and a
            // vague "wrong type" error, so it gets its own message with the fix.
            if (node[leaf] is JsonValue current && current.GetValueKind() == JsonValueKind.Number && System.Text.RegularExpressions.Regex.IsMatch(text, @"^[+-]?\d*,\d+$"))
                throw new ArgumentException($"--set '{assignment}': numbers take a dot before the decimals, whatever the system language: write {assignment[..eq].Trim()}={text.Replace(',', '.')}.");
            node[leaf] = ParseValue(text);
        }
        try
        {
            return JsonSerializer.Deserialize<RunConfig>(root.ToJsonString(), RunConfig.JsonOptions)
                ?? throw new ArgumentException("--set produced an empty config.");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"--set {string.Join(" ", list)}: a value has the wrong type at {e.Path} ({e.Message.Split('.')[0]}).");
        }
    }

    private static string Normalise(string key) => key.Replace("_", "").Replace("-", "").ToLowerInvariant();

    private static string FindKey(JsonObject node, string wanted, string walked, string assignment)
    {
        var match = node.Select(p => p.Key).FirstOrDefault(k => Normalise(k) == Normalise(wanted.Trim()));
        return match ?? throw new ArgumentException(
            $"--set '{assignment}': no key '{wanted}' in {(walked.Length > 0 ? $"'{walked}'" : "the run config")}; known keys: {string.Join(", ", node.Select(p => p.Key))}.");
    }

    private static JsonNode? ParseValue(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return JsonValue.Create(text); }
    }
}
