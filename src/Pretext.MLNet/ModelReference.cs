using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pretext.MLNet;

/// <summary>
/// Which checkpoint a featurizer embeds with, as the saved ML.NET model records it: the checkpoint's absolute path and the SHA-256 of
/// its bytes (so a different file at that path is refused instead of giving other embeddings), what the input column holds and its name
/// (for messages), and the libtorch thread count. CustomMapping saves only its contract name, so this travels as the constant value of a column that a saved
/// <c>Expression</c> transform writes (<see cref="Encode"/>: base64url of JSON, which needs no escaping in the expression).
/// </summary>
public sealed record ModelReference(string Checkpoint, string Sha256, PretextInput Input, string Column, int Threads)
{
    /// <summary>The reference to <paramref name="checkpoint"/> as it is now (its absolute path and the hash of its bytes).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static ModelReference For(string checkpoint, PretextInput input, string column, int threads)
    {
        if (!File.Exists(checkpoint))
            throw new FileNotFoundException($"Checkpoint '{checkpoint}' does not exist; give the path of a Pretext checkpoint (a run's checkpoints/step-*.safetensors).", checkpoint);
        var path = Path.GetFullPath(checkpoint);
        return new ModelReference(path, HashOf(path), input, column, threads);
    }

    /// <summary>Lower-case hex SHA-256 of the file's bytes.</summary>
    public static string HashOf(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public string Encode() => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(this)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <exception cref="InvalidDataException">Not a reference written by <see cref="Encode"/>.</exception>
    public static ModelReference Decode(string text)
    {
        try
        {
            var b64 = text.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            return JsonSerializer.Deserialize<ModelReference>(Encoding.UTF8.GetString(Convert.FromBase64String(b64)))
                ?? throw new InvalidDataException("empty");
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"The column '{EmbeddingColumns.Model}' does not hold a Pretext model reference ({e.Message}); it is written by the featurizer's own Expression step.", e);
        }
    }
}
