using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Runs;
using Pretext.Runs.Modalities;

namespace Pretext.Serving;

/// <summary>
/// How one modality's items arrive over HTTP: read from the "inputs" array of a JSON body (or from a raw body, one item), checked
/// there, item by item, so a bad item is a 4xx naming it and never reaches the encoder; then turned into the modality's own
/// <see cref="ISampleSet"/>, so the service embeds through the same <see cref="ModelInputs"/> as `pretext embed`.
/// Reading runs on the request's thread (images decode in parallel); <see cref="Samples"/> runs on the batcher's.
/// </summary>
public interface IInputReader
{
    Modality Kind { get; }
    /// <summary>What the model reads, for /info: the item's form and shape.</summary>
    JsonObject Describe();
    /// <summary>The JSON schema (OpenAPI 3.0) of one element of "inputs".</summary>
    JsonObject ItemSchema();
    /// <summary>Content types other than JSON whose whole body is one item (images: image/png ...); empty when none.</summary>
    IReadOnlyList<string> RawMediaTypes { get; }
    /// <summary>The items of <paramref name="inputs"/>, a JSON array of at least one element.</summary>
    /// <exception cref="RequestException">An item is not what the model reads; the message names it (inputs[i]) and the fix.</exception>
    RequestItems Read(JsonElement inputs);
    /// <summary>One item from a body of <paramref name="mediaType"/>, one of <see cref="RawMediaTypes"/>.</summary>
    /// <exception cref="RequestException">The body is not such an item.</exception>
    RequestItems ReadRaw(string mediaType, byte[] body);
    /// <summary>The items of several requests, in order, as one sample set (the caller disposes it).</summary>
    ISampleSet Samples(IReadOnlyList<RequestItems> parts);
}

/// <summary>Items of one request, checked and in the modality's own form (decoded pixels, strings, rows, windows).</summary>
public abstract class RequestItems
{
    public abstract int Count { get; }
}

/// <summary>The reader of each modality the service takes.</summary>
public static class InputReaders
{
    /// <summary>The reader for a model of <paramref name="config"/>.</summary>
    /// <exception cref="NotSupportedException">Video checkpoints: the service does not take them yet.</exception>
    /// <exception cref="InvalidDataException">The checkpoint lacks what its modality needs (a table encoding, a series normalisation).</exception>
    public static IInputReader For(RunConfig config, string checkpoint, ServeOptions options) => config.Encoder.Modality switch
    {
        Modality.Image => new ImageInputReader(config.Encoder.InChannels, config.Encoder.ImageSize, options.MaxImagePixels),
        Modality.Text => new DocumentInputReader(config.Encoder.Text.MaxLength),
        Modality.Table => TableRowInputReader.For(config, checkpoint),
        Modality.Series => SeriesWindowInputReader.For(config, checkpoint),
        Modality.Audio => new AudioClipInputReader(config.Encoder.Audio),
        var other => throw new NotSupportedException(
            $"'{checkpoint}' holds a model of {other.ToString().ToLowerInvariant()}; `pretext serve` takes image, text, table, series and audio checkpoints (video: use `pretext embed`)."),
    };

    /// <summary>"a string", "a number", ... for messages.</summary>
    internal static string KindOf(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "nothing",
    };

    /// <summary>Each part cast to <typeparamref name="T"/>; a reader only ever receives its own items.</summary>
    internal static IEnumerable<T> Of<T>(IReadOnlyList<RequestItems> parts) where T : RequestItems =>
        parts.Select(p => p as T ?? throw new ArgumentException($"Items of type {p.GetType().Name} reached the reader of {typeof(T).Name}."));
}
