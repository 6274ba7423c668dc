using System.Text.Json;

namespace Pretext.Tests.Serving;

/// <summary>`pretext serve` on an audio checkpoint: WAV files give the library's vectors, as JSON and as raw bodies; bytes that are no audio are refused.</summary>
[Collection("console")]
public class AudioServiceTests(ServedAudio served) : IClassFixture<ServedAudio>
{
    [Fact]
    public async Task ClipsGiveTheLibrarysVectorsAndNonAudioIsRefused()
    {
        using var client = served.Client();
        int[] picks = [0, 2, 9];   // clip 2 of each class is stereo
        var files = picks.Select(i => File.ReadAllBytes(Path.Combine(served.Data, served.Ids[i]))).ToArray();
        var (status, body) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs(files.Select(f => JsonSerializer.Serialize(Convert.ToBase64String(f)))));
        Assert.True(status == 200, body.ToString());
        var vectors = ServedCheckpoint.Vectors(body);
        for (int j = 0; j < picks.Length; j++) ImageServiceTests.AssertClose(served.Library[picks[j]], vectors[j]);

        var (s2, b2) = await ServedCheckpoint.PostBytes(client, "/embed", files[1], "audio/wav");
        Assert.True(s2 == 200, b2.ToString());
        ImageServiceTests.AssertClose(served.Library[picks[1]], ServedCheckpoint.Vectors(b2)[0]);

        var (s3, b3) = await ServedCheckpoint.PostBytes(client, "/neighbors", files[2], "audio/wav");
        Assert.True(s3 == 200, b3.ToString());
        Assert.Equal(served.Ids[picks[2]], b3.GetProperty("neighbors")[0][0].GetProperty("id").GetString());

        var (s4, b4) = await ServedCheckpoint.PostBytes(client, "/embed", "RIFF-not-really-a-wave"u8.ToArray(), "audio/wav");
        Assert.Equal(400, s4);
        Assert.Equal("bad_value", b4.GetProperty("error").GetString());
        Assert.Contains("no audio the decoder reads", b4.GetProperty("message").GetString());
        var (s5, b5) = await ServedCheckpoint.Post(client, "/embed", "{\"inputs\": [[1, 2]]}");
        Assert.Equal(400, s5);
        Assert.Equal("wrong_type", b5.GetProperty("error").GetString());
    }
}
