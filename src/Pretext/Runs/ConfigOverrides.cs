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
            var value = ParseValue(text);
            if (node[leaf] is JsonValue now && value is not null && KindOf(now) is { } want && KindOf(value) != want)
                throw new ArgumentException($"--set '{assignment}': {walked}{(walked.Length > 0 ? "." : "")}{leaf} takes {want} (now {now.ToJsonString()}), not '{text}'.");
            node[leaf] = value;
        }
        try
        {
            return JsonSerializer.Deserialize<RunConfig>(root.ToJsonString(), RunConfig.JsonOptions)
                ?? throw new ArgumentException("--set produced an empty config.");
        }
        catch (JsonException e)
        {
            // System.Text.Json's message names .NET types ("could not be converted to System.Int32"): say where, not what type.
            throw new ArgumentException($"--set {string.Join(" ", list)}: the value at {e.Path?.TrimStart('$', '.')} is not of the kind that key takes; see the run's config.json for an example of each key.");
        }
    }

    /// <summary>
    /// <paramref name="config"/> with the values of a config file (<see cref="ConfigFile"/>) laid over it: a key given there
    /// replaces the config's, a section given there is merged key by key, anything not given stays.
    /// </summary>
    /// <param name="values">The file's keys and values (perhaps less some the caller sets itself).</param>
    /// <param name="source">The file, named in every error.</param>
    /// <exception cref="InvalidDataException">An unknown key (the message names it, its section's keys and the nearest one), a
    /// value where a section belongs or the reverse, or a value of the wrong type.</exception>
    public static RunConfig Merge(RunConfig config, JsonObject values, string source)
    {
        var root = JsonNode.Parse(config.ToJson())!.AsObject();
        MergeInto(root, values, "", source);
        try
        {
            return JsonSerializer.Deserialize<RunConfig>(root.ToJsonString(), RunConfig.JsonOptions)
                ?? throw new InvalidDataException($"{source}: produced an empty config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: the value at '{JsonPathToKeys(e.Path)}' is not one this key takes ({e.Message.Split(" Path:")[0].TrimEnd('.', ' ')}). " +
                "Write it as a run's config.json does.");
        }
    }

    private static void MergeInto(JsonObject target, JsonObject values, string walked, string source)
    {
        foreach (var (key, value) in values)
        {
            string where = walked.Length > 0 ? $"section '{walked}'" : "the run config";
            var match = Match(target, key);
            if (match is null)
            {
                var known = target.Select(p => p.Key).ToList();
                string nearest = Nearest(key, known) is string n ? $" Did you mean '{n}'?" : "";
                throw new InvalidDataException($"{source}: unknown key '{Join(walked, key)}'.{nearest} {char.ToUpperInvariant(where[0])}{where[1..]} has: {string.Join(", ", known)}. Fix the name or remove the key.");
            }
            string at = Join(walked, match);
            var current = target[match];
            if (current is JsonObject section)
            {
                if (value is JsonObject inner) { MergeInto(section, inner, at, source); continue; }
                throw new InvalidDataException($"{source}: '{at}' is a section (keys: {string.Join(", ", section.Select(p => p.Key))}), but the file gives it {ConfigFile.Describe(value)}. Give the keys inside it instead.");
            }
            if (value is JsonObject)
                throw new InvalidDataException($"{source}: '{at}' is a single value ({ConfigFile.Describe(current)} now), not a section. Give it a value.");
            if (current is not null && value is not null && Kind(current) != Kind(value) && !(Kind(current) == "a number" && IsNamedFloat(value)))
                throw new InvalidDataException($"{source}: '{at}' takes {Kind(current)} (now {current.ToJsonString()}), but the file gives it {ConfigFile.Describe(value)}. Fix the value.");
            target[match] = value?.DeepClone();
        }
    }

    private static string Kind(JsonNode node) => node switch
    {
        JsonArray => "a list",
        JsonObject => "a section",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "true or false",
            _ => "text",
        },
        _ => "a value",
    };

    private static bool IsNamedFloat(JsonNode node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is "NaN" or "Infinity" or "-Infinity";

    private static string Join(string walked, string key) => walked.Length > 0 ? walked + "." + key : key;

    private static string JsonPathToKeys(string? path) => string.IsNullOrEmpty(path) ? "(top)" : path.TrimStart('$', '.');

    /// <summary>The known key closest to <paramref name="wanted"/> by edit distance, when it is a likely slip (at most 2 edits).</summary>
    private static string? Nearest(string wanted, IEnumerable<string> known)
    {
        string w = Normalise(wanted);
        var best = known.Select(k => (Key: k, Distance: EditDistance(w, Normalise(k)))).OrderBy(p => p.Distance).FirstOrDefault();
        return best.Key is not null && best.Distance <= Math.Min(2, Math.Max(1, w.Length / 3)) ? best.Key : null;
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions) between <paramref name="a"/> and <paramref name="b"/>.</summary>
    internal static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    private static string Normalise(string key) => key.Replace("_", "").Replace("-", "").ToLowerInvariant();

    /// <summary>The key of <paramref name="node"/> that <paramref name="wanted"/> names (ignoring case, '_' and '-'), or null.</summary>
    internal static string? Match(JsonObject node, string wanted) =>
        node.Select(p => p.Key).FirstOrDefault(k => Normalise(k) == Normalise(wanted.Trim()));

    private static string FindKey(JsonObject node, string wanted, string walked, string assignment)
    {
        var match = Match(node, wanted);
        return match ?? throw new ArgumentException(
            $"--set '{assignment}': no key '{wanted}' in {(walked.Length > 0 ? $"'{walked}'" : "the run config")}; known keys: {string.Join(", ", node.Select(p => p.Key))}.");
    }

    /// <summary>"a number", "true or false" or null (text, lists, null: anything may be meant, e.g. a column named 2020) for what --set is about to replace.</summary>
    private static string? KindOf(JsonNode? node) => node is JsonValue v
        ? v.GetValueKind() switch
        {
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "true or false",
            _ => null,
        }
        : null;

    private static JsonNode? ParseValue(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return JsonValue.Create(text); }
    }
}
