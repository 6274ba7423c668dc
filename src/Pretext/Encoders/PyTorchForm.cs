using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Pretext.Encoders;

/// <summary>
/// An encoder as a plain PyTorch module (the classes of Runs/pretext_model.py): the class that builds it there, the
/// constructor arguments, and the PyTorch state_dict name of each of the encoder's own state_dict tensors. The names
/// are what a plain <c>torch.nn.Module</c> definition has (torchvision's for the ResNet: conv1, bn1, layerN.M,
/// downsample.0/1), so a PyTorch user reads them without knowing Pretext.
/// </summary>
/// <param name="Module">Class name in pretext_model.py.</param>
/// <param name="Arguments">Keyword arguments of that class's constructor (snake_case, as Python spells them).</param>
/// <param name="Name">Pretext state_dict key to PyTorch state_dict key; one to one.</param>
/// <param name="NotWeights">Buffers of the PyTorch module that are not weights (the image modules' mean and std, filled from
/// config.json): outside its state_dict, but a TorchScript module's state_dict lists them, so an import passes over them.</param>
public sealed record PyTorchForm(string Module, JsonObject Arguments, Func<string, string> Name, IReadOnlyList<string> NotWeights)
{
    private static readonly string[] Normalisation = ["mean", "std"];

    /// <summary>Encoder families that have a PyTorch form.</summary>
    public static IReadOnlyList<EncoderKind> Supported { get; } = [EncoderKind.ResNet, EncoderKind.Mlp, EncoderKind.TableMlp, EncoderKind.Transformer];

    /// <summary>The PyTorch form of the encoder <paramref name="config"/> builds.</summary>
    /// <exception cref="NotSupportedException">The family has no PyTorch form yet; the message lists those that have.</exception>
    public static PyTorchForm For(EncoderConfig config) => config.Kind switch
    {
        EncoderKind.Transformer when config.Text.PostNorm || config.Text.LayerNormEps != 1e-5 => throw new NotSupportedException(
            "This text Transformer is in BERT's post-LN layout (an imported encoder, pretext import --onnx); pretext_model.py's TextTransformer is pre-LN, so it has no PyTorch form yet."),
        EncoderKind.ResNet => new("ResNet", new JsonObject
        {
            ["in_channels"] = config.InChannels, ["widths"] = Ints(config.Widths), ["blocks"] = Ints(config.Blocks),
        }, ResNetName, Normalisation),
        EncoderKind.Mlp => new("ImageMlp", new JsonObject
        {
            ["in_channels"] = config.InChannels, ["image_size"] = config.ImageSize, ["hidden"] = Ints(config.Hidden),
        }, SameName, Normalisation),
        EncoderKind.TableMlp => new("TableMlp", new JsonObject
        {
            ["numeric"] = config.Table.Numeric, ["cardinalities"] = Ints(config.Table.Cardinalities),
            ["embedding_widths"] = Ints(config.Table.Cardinalities.Select(config.Table.EmbeddingWidth)),
            ["hidden"] = Ints(config.Table.Hidden), ["dropout"] = config.Table.Dropout,
        }, SameName, []),
        EncoderKind.Transformer => new("TextTransformer", new JsonObject
        {
            ["vocab_size"] = config.Text.VocabSize, ["max_length"] = config.Text.MaxLength, ["pad_id"] = config.Text.PadId,
            ["dim"] = config.Text.Dim, ["depth"] = config.Text.Depth, ["heads"] = config.Text.Heads, ["mlp_ratio"] = config.Text.MlpRatio,
            ["dropout"] = config.Text.Dropout, ["pooling"] = config.Text.Pooling.ToString().ToLowerInvariant(), ["causal"] = config.Text.Causal,
            // The text encoder's blocks use torch's default (TextEncoderConfig.BuildTransformer); ViT's use 1e-6.
            ["layer_norm_eps"] = 1e-5,
        }, SameName, []),
        _ => throw new NotSupportedException(
            $"The {config.Kind} encoder has no PyTorch form yet; these have: {string.Join(", ", Supported)}."),
    };

    private static JsonArray Ints(IEnumerable<int> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    /// <summary>The MLPs and the text Transformer already carry names a PyTorch module would have (embeddings.0, body.fc0, blocks.0.attn.qkv).</summary>
    private static string SameName(string key) => key;

    private static readonly Regex BlockKey = new(@"^stages\.s(\d+)b(\d+)\.(.+)$", RegexOptions.Compiled);

    /// <summary>
    /// Pretext's ResNet names (stem, stemBn, stages.s{S}b{B}.shortcutConv) in torchvision's spelling (conv1, bn1,
    /// layer{S+1}.{B}.downsample.0); the stage number is 1-based there.
    /// </summary>
    private static string ResNetName(string key)
    {
        if (key.StartsWith("stem.", StringComparison.Ordinal)) return "conv1." + key["stem.".Length..];
        if (key.StartsWith("stemBn.", StringComparison.Ordinal)) return "bn1." + key["stemBn.".Length..];
        var m = BlockKey.Match(key);
        if (!m.Success) throw new InvalidOperationException($"The ResNet tensor '{key}' has no PyTorch name; PyTorchForm.ResNetName needs a rule for it.");
        string rest = m.Groups[3].Value;
        if (rest.StartsWith("shortcutConv.", StringComparison.Ordinal)) rest = "downsample.0." + rest["shortcutConv.".Length..];
        else if (rest.StartsWith("shortcutBn.", StringComparison.Ordinal)) rest = "downsample.1." + rest["shortcutBn.".Length..];
        int stage = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1;
        return $"layer{stage}.{m.Groups[2].Value}.{rest}";
    }
}
