namespace Pretext.Tests.Serving;

/// <summary>`pretext serve` on a series checkpoint: raw windows give the library's vectors; windows of the wrong shape are refused.</summary>
[Collection("console")]
public class SeriesServiceTests(ServedSeries served) : IClassFixture<ServedSeries>
{
    [Fact]
    public async Task WindowsGiveTheLibrarysVectorsAndMisshapenOnesAreRefused()
    {
        using var client = served.Client();
        int[] picks = [0, 3, served.Windows.Length - 1];
        var (status, body) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs(picks.Select(served.WindowJson)));
        Assert.True(status == 200, body.ToString());
        var vectors = ServedCheckpoint.Vectors(body);
        for (int j = 0; j < picks.Length; j++) ImageServiceTests.AssertClose(served.Library[picks[j]], vectors[j]);

        var (s2, b2) = await ServedCheckpoint.Post(client, "/neighbors", ServedCheckpoint.Inputs([served.WindowJson(3)]));
        Assert.True(s2 == 200, b2.ToString());
        var first = b2.GetProperty("neighbors")[0][0];
        Assert.Equal(served.Ids[3], first.GetProperty("id").GetString());

        string good = served.WindowJson(1);
        var cases = new (string Json, string Code, string Says)[]
        {
            ("[[1, 2]]", "missing_column", $"windows of {served.Length}"),
            ("[" + string.Join(",", Enumerable.Repeat("[1, 2, 3]", served.Length)) + "]", "missing_column", $"{served.Channels} channel(s)"),
            ("[" + string.Join(",", Enumerable.Repeat("[1, \"2\"]", served.Length)) + "]", "wrong_type", "readings are numbers"),
            ("{\"a\": 1}", "wrong_type", "array of"),
        };
        foreach (var c in cases)
        {
            var (s, b) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs([good, c.Json]));
            Assert.True(s == 400 && b.GetProperty("error").GetString() == c.Code, $"{c.Json[..Math.Min(40, c.Json.Length)]}: {s} {b}");
            Assert.Contains("inputs[1]", b.GetProperty("message").GetString());
            Assert.Contains(c.Says, b.GetProperty("message").GetString());
        }
    }
}
