using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pretext.Export;

/// <summary>
/// JSON files written by a run (config.json, summary.json): indented, UTF-8 without BOM, property
/// names in snake_case (matching the metrics CSV columns), enums as their names, and written
/// atomically so a crash never leaves half a config behind.
/// </summary>
/// <remarks>
/// System.Text.Json formats numbers culture-independently, so output is the same on every machine.
/// NaN and infinities are written as the strings "NaN", "Infinity" and "-Infinity" rather than
/// throwing, because a diverged run must still be able to record its summary.
/// </remarks>
public static class JsonFile
{
    /// <summary>The serializer options used for writing and reading.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Serializes <paramref name="value"/> (by its runtime type) to <paramref name="path"/> atomically.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="NotSupportedException">The value's type cannot be serialized by System.Text.Json.</exception>
    public static void WriteAtomic(string path, object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, value, value.GetType(), Options));
    }

    /// <summary>Reads a file written by <see cref="WriteAtomic"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON for <typeparamref name="T"/>; the message names the file.</exception>
    public static T Read<T>(string path)
    {
        using var stream = File.OpenRead(path);
        try
        {
            return JsonSerializer.Deserialize<T>(stream, Options)
                ?? throw new InvalidDataException($"'{path}' contains JSON null; expected a {typeof(T).Name}. Delete or regenerate the file.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON for {typeof(T).Name} ({e.Message}). Fix or delete the file.", e);
        }
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
