using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pretext.Runs;

/// <summary>
/// A run config file (`pretext pretrain --config FILE`): JSON (.json, comments and trailing commas allowed) or YAML (.yaml,
/// .yml) holding any part of config.json's keys, e.g. a run folder's own config.json, or just
/// <c>{"train": {"epochs": 2}, "methods": {"simclr": {"temperature": 0.1}}}</c>. Keys match config.json's names ignoring
/// case, '_' and '-', as <c>--set</c> does.
/// </summary>
/// <param name="Path">The file, as given; every error names it.</param>
/// <param name="Values">Its content as a JSON object.</param>
public sealed record ConfigFile(string Path, JsonObject Values)
{
    /// <summary>Reads <paramref name="path"/> as JSON or YAML by its extension.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">Another extension, a syntax error (with its line), or content that is not a
    /// mapping of keys to values; the message names the file and the fix.</exception>
    public static ConfigFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--config '{path}': no such file.", path);
        string text = File.ReadAllText(path);
        string ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        JsonNode? root = ext switch
        {
            ".json" => ParseJson(text, path),
            ".yaml" or ".yml" => ParseYaml(text, path),
            _ => throw new InvalidDataException($"--config '{path}': name the file .json, .yaml or .yml, so Pretext knows how to read it."),
        };
        if (root is not JsonObject values)
            throw new InvalidDataException($"{path}: a config file holds keys and values at the top (like config.json), not {Describe(root)}.");
        return new ConfigFile(path, values);
    }

    /// <summary>A text value at a path of keys (matched as <see cref="ConfigOverrides"/> matches them), or null when absent or null.</summary>
    /// <exception cref="InvalidDataException">The value is there but not text.</exception>
    public string? Text(params string[] keys) => Find(keys) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw new InvalidDataException($"{Path}: '{string.Join('.', keys)}' takes text, e.g. \"simclr\"; got {Describe(other)}."),
    };

    /// <summary>Whether the file gives a value (not null) at a path of keys.</summary>
    public bool Has(params string[] keys) => Find(keys) is not null;

    /// <summary>A whole number at a path of keys, or null when absent or null.</summary>
    /// <exception cref="InvalidDataException">The value is there but not a whole number.</exception>
    public int? Int(params string[] keys)
    {
        var node = Find(keys);
        if (node is null) return null;
        // Parsed JSON and YAML's numbers are held differently (a JSON element, a long, a double): read the number's text.
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x == Math.Floor(x) && Math.Abs(x) <= int.MaxValue)
            return (int)x;
        throw new InvalidDataException($"{Path}: '{string.Join('.', keys)}' takes a whole number; got {Describe(node)}.");
    }

    /// <summary>The file's values without the keys at <paramref name="paths"/> (each a dotted path; absent ones are ignored).</summary>
    public JsonObject Without(params string[][] paths)
    {
        var copy = Values.DeepClone().AsObject();
        foreach (var keys in paths)
        {
            JsonObject? node = copy;
            for (int i = 0; i < keys.Length - 1 && node is not null; i++)
                node = ConfigOverrides.Match(node, keys[i]) is string k ? node[k] as JsonObject : null;
            if (node is not null && ConfigOverrides.Match(node, keys[^1]) is string leaf) node.Remove(leaf);
        }
        return copy;
    }

    private JsonNode? Find(string[] keys)
    {
        JsonNode? node = Values;
        foreach (var key in keys)
        {
            if (node is not JsonObject o || ConfigOverrides.Match(o, key) is not string k) return null;
            node = o[k];
        }
        return node;
    }

    internal static string Describe(JsonNode? node) => node switch
    {
        null => "nothing (null)",
        JsonObject => "a section",
        JsonArray => "a list",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the text \"{v.GetValue<string>()}\"",
            JsonValueKind.True or JsonValueKind.False => $"the value {v.ToJsonString()}",
            _ => $"the number {v.ToJsonString()}",
        },
        _ => node.ToJsonString(),
    };

    private static JsonNode? ParseJson(string text, string path)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} line {(e.LineNumber ?? 0) + 1}: not valid JSON ({e.Message.Split(" LineNumber:")[0].Split(" Path:")[0].TrimEnd('.', ' ')}). Fix the syntax there.");
        }
    }

    private static JsonNode? ParseYaml(string text, string path)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) when (e.Message.Contains("duplicate key", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{path} line {e.Start.Line}: a key is given twice in one section ({e.Message.Trim().TrimEnd('.')}); keep one.");
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{path} line {e.Start.Line}: not valid YAML ({e.InnerException?.Message ?? e.Message}). Fix the syntax there.");
        }
        if (stream.Documents.Count == 0) return new JsonObject();
        if (stream.Documents.Count > 1) throw new InvalidDataException($"{path}: holds {stream.Documents.Count} YAML documents; a config file is one (remove the '---' lines between them).");
        return FromYaml(stream.Documents[0].RootNode, path);
    }

    // YAML 1.2's core schema for plain (unquoted) scalars; a quoted scalar is always text.
    private static readonly Regex YamlInt = new(@"^[-+]?[0-9]+$", RegexOptions.CultureInvariant);
    private static readonly Regex YamlFloat = new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant);

    private static JsonNode? FromYaml(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var o = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode { Value: { } key })
                        throw new InvalidDataException($"{path} line {k.Start.Line}: a key must be a plain name such as 'epochs'.");
                    if (o.ContainsKey(key)) throw new InvalidDataException($"{path} line {k.Start.Line}: '{key}' is given twice here; keep one.");
                    o[key] = FromYaml(v, path);
                }
                return o;
            case YamlSequenceNode seq:
                var a = new JsonArray();
                foreach (var item in seq.Children) a.Add(FromYaml(item, path));
                return a;
            case YamlScalarNode scalar:
                string s = scalar.Value ?? "";
                if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any)) return JsonValue.Create(s);
                if (s is "" or "~" || s.Equals("null", StringComparison.OrdinalIgnoreCase)) return null;
                if (s.Equals("true", StringComparison.OrdinalIgnoreCase)) return JsonValue.Create(true);
                if (s.Equals("false", StringComparison.OrdinalIgnoreCase)) return JsonValue.Create(false);
                if (YamlInt.IsMatch(s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l)) return JsonValue.Create(l);
                if (YamlFloat.IsMatch(s)) return JsonValue.Create(double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture));
                return s.ToLowerInvariant() switch
                {
                    ".inf" or "+.inf" => JsonValue.Create("Infinity"),
                    "-.inf" => JsonValue.Create("-Infinity"),
                    ".nan" => JsonValue.Create("NaN"),
                    _ => JsonValue.Create(s),
                };
            default:
                throw new InvalidDataException($"{path} line {node.Start.Line}: YAML aliases and tags are not read here; write the value out.");
        }
    }
}
