using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Runs.Modalities;
using static TorchSharp.torch;

namespace Pretext.Serving;

/// <summary>
/// Audio: each item a base64 string of a WAV or Ogg Vorbis file, or a raw body of one file. Decoded, mixed down, resampled and cut or
/// filled up on the request's thread exactly as an audio folder's files are (<see cref="AudioClips.Read(byte[], AudioClipOptions, Dictionary{int, Resampler}?)"/>);
/// the checkpoint's log-mel front end runs on the batcher's thread, then the modality's standardisation as in `pretext embed`.
/// </summary>
public sealed class AudioClipInputReader(AudioEncoderConfig audio) : IInputReader, IDisposable
{
    private readonly LogMelSpectrogram frontEnd = audio.FrontEnd();
    private readonly Dictionary<int, Resampler> resamplers = [];

    public Modality Kind => Modality.Audio;
    public IReadOnlyList<string> RawMediaTypes { get; } = ["audio/wav", "audio/x-wav", "audio/wave", "audio/ogg", "application/octet-stream"];

    public JsonObject Describe() => new()
    {
        ["item"] = "a clip: base64 of a WAV or Ogg Vorbis file in JSON, or the file as the body (audio/wav, audio/ogg)",
        ["sample_rate"] = audio.Clip.SampleRate,
        ["seconds"] = audio.Clip.Seconds,
        ["shape"] = new JsonArray(audio.LogMel.Mels, audio.Frames),
        ["fit"] = $"mixed to mono, resampled, cut to its first {audio.Clip.Seconds.ToString(CultureInfo.InvariantCulture)} s or filled up ({audio.Clip.Padding}); as audio folders are read",
    };

    public JsonObject ItemSchema() => new()
    {
        ["type"] = "string",
        ["format"] = "byte",
        ["description"] = string.Create(CultureInfo.InvariantCulture, $"Base64 of a WAV or Ogg Vorbis file; read as {audio.Clip.Seconds} s at {audio.Clip.SampleRate} Hz."),
    };

    public RequestItems Read(JsonElement inputs)
    {
        var clips = new List<float[]>(inputs.GetArrayLength());
        foreach (var item in inputs.EnumerateArray())
        {
            int i = clips.Count;
            if (item.ValueKind != JsonValueKind.String)
                throw new RequestException(RequestProblem.WrongType, $"{RequestException.Item(i)} is {InputReaders.KindOf(item)}; an audio model takes each clip as a base64 string of a WAV or Ogg file.");
            var text = item.GetString()!;
            var buffer = new byte[text.Length * 3 / 4 + 3];
            if (!Convert.TryFromBase64String(text, buffer, out int written))
                throw new RequestException(RequestProblem.BadValue, $"{RequestException.Item(i)} is not base64; send each clip's WAV or Ogg bytes base64-encoded.");
            clips.Add(Decode(buffer.AsSpan(0, written).ToArray(), RequestException.Item(i)));
        }
        return new Clips(clips);
    }

    public RequestItems ReadRaw(string mediaType, byte[] body) => new Clips([Decode(body, "The body")]);

    public ISampleSet Samples(IReadOnlyList<RequestItems> parts)
    {
        var clips = InputReaders.Of<Clips>(parts).SelectMany(p => p.Waves).ToList();
        int length = audio.Clip.Samples;
        var flat = new float[(long)clips.Count * length];
        for (int i = 0; i < clips.Count; i++) clips[i].CopyTo(flat, (long)i * length);
        using var scope = NewDisposeScope();
        using var waves = tensor(flat, [clips.Count, length]);
        var logMels = frontEnd.Compute(waves).DetachFromDisposeScope();
        return new AudioSamples(new TensorDataset("request", logMels));
    }

    private float[] Decode(byte[] bytes, string what)
    {
        try
        {
            return AudioClips.Read(bytes, audio.Clip, resamplers);
        }
        catch (InvalidDataException e)
        {
            throw new RequestException(RequestProblem.BadValue, $"{what} is no audio the decoder reads (WAV, Ogg Vorbis): {e.Message}.");
        }
    }

    public void Dispose() => frontEnd.Dispose();

    private sealed class Clips(List<float[]> waves) : RequestItems
    {
        public List<float[]> Waves { get; } = waves;
        public override int Count => Waves.Count;
    }
}
