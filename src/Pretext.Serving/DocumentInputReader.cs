using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Runs.Modalities;

namespace Pretext.Serving;

/// <summary>
/// Text: each item a document as a JSON string, or a text/plain body of one document; read through the checkpoint's tokenizer as
/// `pretext embed` reads a document (its first <paramref name="maxTokens"/> tokens).
/// </summary>
public sealed class DocumentInputReader(int maxTokens) : IInputReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public Modality Kind => Modality.Text;
    public IReadOnlyList<string> RawMediaTypes { get; } = ["text/plain"];

    public JsonObject Describe() => new()
    {
        ["item"] = "a document: a JSON string, or a text/plain body",
        ["max_tokens"] = maxTokens,
        ["truncation"] = "the first max_tokens tokens of the checkpoint's tokenizer are read, as `pretext embed` reads a document",
    };

    public JsonObject ItemSchema() => new()
    {
        ["type"] = "string",
        ["minLength"] = 1,
        ["description"] = $"A document; its first {maxTokens} tokens are read.",
    };

    public RequestItems Read(JsonElement inputs)
    {
        var texts = new List<string>(inputs.GetArrayLength());
        foreach (var item in inputs.EnumerateArray())
        {
            int i = texts.Count;
            if (item.ValueKind != JsonValueKind.String)
                throw new RequestException(RequestProblem.WrongType, $"{RequestException.Item(i)} is {InputReaders.KindOf(item)}; a text model takes each document as a JSON string.");
            texts.Add(Checked(item.GetString()!, RequestException.Item(i)));
        }
        return new Documents(texts);
    }

    public RequestItems ReadRaw(string mediaType, byte[] body)
    {
        string text;
        try { text = StrictUtf8.GetString(body); }
        catch (DecoderFallbackException) { throw new RequestException(RequestProblem.BadValue, "The body is not UTF-8 text; send the document in UTF-8."); }
        return new Documents([Checked(text, "The body")]);
    }

    public ISampleSet Samples(IReadOnlyList<RequestItems> parts) =>
        new TextSamples(new TextDataset("request", [.. InputReaders.Of<Documents>(parts).SelectMany(p => p.Texts)]));

    private static string Checked(string text, string what) => string.IsNullOrWhiteSpace(text)
        ? throw new RequestException(RequestProblem.BadValue, $"{what} is empty; send a document with some text.")
        : text;

    private sealed class Documents(List<string> texts) : RequestItems
    {
        public List<string> Texts { get; } = texts;
        public override int Count => Texts.Count;
    }
}
