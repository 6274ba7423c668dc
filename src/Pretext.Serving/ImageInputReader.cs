using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Serving;

/// <summary>
/// Images: each item a base64 string of an encoded image (PNG, JPEG, BMP, GIF; a "data:image/...;base64," prefix is allowed), or a
/// raw body of one image. Decoded on the request's thread exactly as an image folder is (<see cref="ImageFolderDataset.Decode"/>), to
/// (C, size, size) uint8 at the checkpoint's channels and size.
/// </summary>
public sealed class ImageInputReader(int channels, int size, long maxPixels) : IInputReader
{
    public Modality Kind => Modality.Image;
    public IReadOnlyList<string> RawMediaTypes { get; } = ["image/png", "image/jpeg", "image/bmp", "image/gif", "application/octet-stream"];
    private int SampleBytes => channels * size * size;

    public JsonObject Describe() => new()
    {
        ["item"] = "an image: base64 of its PNG/JPEG/BMP/GIF bytes in JSON, or the bytes as the body (image/png, image/jpeg, ...)",
        ["shape"] = new JsonArray(channels, size, size),
        ["channels"] = channels,
        ["size"] = size,
        ["resize"] = "stretched to size x size (aspect not kept), alpha on white, grey as BT.601 luminance; as image folders are read",
        ["max_megapixels"] = maxPixels / 1e6,
    };

    public JsonObject ItemSchema() => new()
    {
        ["type"] = "string",
        ["format"] = "byte",
        ["description"] = string.Create(CultureInfo.InvariantCulture, $"Base64 of an encoded image (PNG, JPEG, BMP, GIF); read as {channels} x {size} x {size}."),
    };

    public RequestItems Read(JsonElement inputs)
    {
        int n = inputs.GetArrayLength();
        var pixels = new byte[n * SampleBytes];
        int i = 0;
        foreach (var item in inputs.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw new RequestException(RequestProblem.WrongType, $"{RequestException.Item(i)} is {InputReaders.KindOf(item)}; an image model takes each image as a base64 string of its PNG or JPEG bytes.");
            Decode(Base64(item.GetString()!, i), i, pixels.AsSpan(i * SampleBytes, SampleBytes));
            i++;
        }
        return new ImageItems(pixels, n);
    }

    public RequestItems ReadRaw(string mediaType, byte[] body)
    {
        var pixels = new byte[SampleBytes];
        Decode(body, null, pixels);
        return new ImageItems(pixels, 1);
    }

    public ISampleSet Samples(IReadOnlyList<RequestItems> parts)
    {
        var items = InputReaders.Of<ImageItems>(parts).ToList();
        int n = items.Sum(p => p.Count);
        var all = items.Count == 1 ? items[0].Pixels : new byte[n * SampleBytes];
        if (items.Count > 1)
        {
            int offset = 0;
            foreach (var p in items)
            {
                p.Pixels.CopyTo(all, offset);
                offset += p.Pixels.Length;
            }
        }
        return new ImageSamples(new TensorDataset("request", tensor(all, [n, channels, size, size], ScalarType.Byte)));
    }

    private void Decode(byte[] bytes, int? index, Span<byte> output)
    {
        try
        {
            ImageFolderDataset.Decode(bytes, channels, size, output, maxPixels);
        }
        catch (InvalidDataException e)
        {
            string which = index is int i ? RequestException.Item(i) : "The body";
            throw new RequestException(RequestProblem.BadImage, $"{which}: {e.Message}.");
        }
    }

    private static byte[] Base64(string text, int index)
    {
        var s = text.AsSpan();
        if (s.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = s.IndexOf(',');
            if (comma < 0 || !s[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw new RequestException(RequestProblem.BadImage, $"{RequestException.Item(index)} is a data URL without ';base64,'; send the image's bytes in base64.");
            s = s[(comma + 1)..];
        }
        var buffer = new byte[s.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64Chars(s, buffer, out int written))
            throw new RequestException(RequestProblem.BadImage, $"{RequestException.Item(index)} is not base64; send each image's PNG or JPEG bytes base64-encoded.");
        return buffer.AsSpan(0, written).ToArray();
    }

    private sealed class ImageItems(byte[] pixels, int count) : RequestItems
    {
        public byte[] Pixels { get; } = pixels;
        public override int Count => count;
    }
}
