using System.Text.Json;
using Pretext.Evaluation;
using Pretext.Serving;
using Pretext.Tests.Data;
using static TorchSharp.torch;

namespace Pretext.Tests.Serving;

/// <summary>`pretext serve` on an image checkpoint: the key, the library's vectors, batching, scores and neighbours, and every bad request refused.</summary>
[Collection("console")]
public class ImageServiceTests(ServedImages served) : IClassFixture<ServedImages>
{
    private static string Base64(byte[] bytes) => JsonSerializer.Serialize(Convert.ToBase64String(bytes));

    [Fact]
    public async Task HealthAndTheDescriptionNeedNoKeyEverythingElseDoes()
    {
        using var anonymous = served.Client(key: null);
        var (status, body) = await ServedCheckpoint.Send(anonymous.GetAsync("/health"));
        Assert.Equal(200, status);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal(200, (await ServedCheckpoint.Send(anonymous.GetAsync("/openapi.json"))).Status);

        var png = served.Png.Values.First();
        foreach (var (client, code) in new[] { (anonymous, "missing_api_key"), (served.Client("not-the-key"), "wrong_api_key") })
        {
            var (s1, b1) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs([Base64(png)]));
            Assert.Equal(401, s1);
            Assert.Equal(code, b1.GetProperty("error").GetString());
            Assert.Contains("X-Api-Key", b1.GetProperty("message").GetString());
            var (s2, b2) = await ServedCheckpoint.Send(client.GetAsync("/info"));
            Assert.Equal(401, s2);
            Assert.Equal(code, b2.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task EmbedGivesTheLibrarysVectorsAsJsonAndAsRawBytes()
    {
        using var client = served.Client();
        var ids = served.Ids.Take(5).ToArray();
        var (status, body) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs(ids.Select(id => Base64(served.Png[id]))));
        Assert.True(status == 200, body.ToString());
        Assert.Equal(served.Library[0].Length, body.GetProperty("dim").GetInt32());
        var vectors = ServedCheckpoint.Vectors(body);
        Assert.Equal(ids.Length, vectors.Length);
        for (int i = 0; i < ids.Length; i++) AssertClose(served.Library[Array.IndexOf(served.Ids, ids[i])], vectors[i]);

        // One image as the body, and a data URL: the same vector.
        var (s2, b2) = await ServedCheckpoint.PostBytes(client, "/embed", served.Png[ids[2]], "image/png");
        Assert.True(s2 == 200, b2.ToString());
        AssertClose(served.Library[Array.IndexOf(served.Ids, ids[2])], ServedCheckpoint.Vectors(b2)[0]);
        var url = JsonSerializer.Serialize("data:image/png;base64," + Convert.ToBase64String(served.Png[ids[3]]));
        var (s3, b3) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs([url]));
        Assert.True(s3 == 200, b3.ToString());
        AssertClose(served.Library[Array.IndexOf(served.Ids, ids[3])], ServedCheckpoint.Vectors(b3)[0]);
    }

    [Fact]
    public async Task ConcurrentRequestsShareEncoderPassesAndEachGetsItsOwnRows()
    {
        using var client = served.Client();
        var (batchesBefore, itemsBefore) = served.Service.Counts;
        var requests = served.Ids.Select((id, i) => (id, i)).Take(16).Select(async p =>
        {
            var (s, b) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs([Base64(served.Png[p.id])]));
            Assert.True(s == 200, b.ToString());
            return (p.i, ServedCheckpoint.Vectors(b)[0]);
        }).ToList();
        foreach (var (i, vector) in await Task.WhenAll(requests)) AssertClose(served.Library[i], vector);
        var (batches, items) = served.Service.Counts;
        Assert.Equal(16, items - itemsBefore);
        // The requests arrive within the 20 ms a batch waits: fewer passes than requests.
        Assert.True(batches - batchesBefore < 16, $"{batches - batchesBefore} encoder passes for 16 concurrent requests");
    }

    [Fact]
    public async Task EachMalformedRequestGetsA4xxNamingTheProblemAndTheServiceKeepsServing()
    {
        using var client = served.Client();
        var png = served.Png.Values.First();
        string good = Base64(png);
        var cases = new (string Name, string Path, byte[] Body, string Type, int Status, string Code, string Says)[]
        {
            ("not JSON", "/embed", "{\"inputs\": [".U(), "application/json", 400, "invalid_json", "not valid JSON"),
            ("JSON array", "/embed", "[1, 2]".U(), "application/json", 400, "bad_request_shape", "JSON object"),
            ("no inputs", "/embed", "{\"input\": []}".U(), "application/json", 400, "bad_request_shape", "'input'"),
            ("inputs not an array", "/embed", "{\"inputs\": \"x\"}".U(), "application/json", 400, "bad_request_shape", "array"),
            ("no items", "/embed", "{\"inputs\": []}".U(), "application/json", 400, "empty_inputs", "empty"),
            ("a number for an image", "/embed", $"{{\"inputs\": [{good}, 7]}}".U(), "application/json", 400, "wrong_type", "inputs[1] is a number"),
            ("not base64", "/embed", "{\"inputs\": [\"%%%\"]}".U(), "application/json", 400, "bad_image", "not base64"),
            ("base64 of no image", "/embed", ServedCheckpoint.Inputs([Base64("hello, world"u8.ToArray())]).U(), "application/json", 400, "bad_image", "inputs[0]"),
            ("wrong image bytes", "/embed", "GIF89a-but-not-really"u8.ToArray(), "image/png", 400, "bad_image", "The body"),
            ("an image too large to decode", "/embed", TestFiles.PngClaiming(20_000, 20_000), "image/png", 400, "bad_image", "megapixels"),
            ("too many items", "/embed", ServedCheckpoint.Inputs(Enumerable.Repeat(good, 9)).U(), "application/json", 413, "too_many_items", "up to 8"),
            ("too large a body", "/embed", new byte[300 * 1024], "application/octet-stream", 413, "body_too_large", "262,144"),
            ("unknown content type", "/embed", "a,b\n1,2"u8.ToArray(), "text/csv", 415, "unsupported_media_type", "text/csv"),
            ("k zero", "/neighbors", $"{{\"inputs\": [{good}], \"k\": 0}}".U(), "application/json", 400, "bad_value", "k is 0"),
            ("k a string", "/neighbors", $"{{\"inputs\": [{good}], \"k\": \"3\"}}".U(), "application/json", 400, "bad_value", "whole number"),
            ("k above the reference", "/neighbors", $"{{\"inputs\": [{good}], \"k\": 25}}".U(), "application/json", 400, "bad_value", "24 items"),
            ("k on /score", "/score", $"{{\"inputs\": [{good}], \"k\": 2}}".U(), "application/json", 400, "bad_request_shape", "'k'"),
            ("no such endpoint", "/embeddings", "{}".U(), "application/json", 404, "not_found", "/embed"),
        };
        foreach (var c in cases)
        {
            var (status, body) = await ServedCheckpoint.PostBytes(client, c.Path, c.Body, c.Type);
            Assert.True(status == c.Status, $"{c.Name}: {status} {body}");
            Assert.True(body.GetProperty("error").GetString() == c.Code, $"{c.Name}: {body}");
            Assert.True(body.GetProperty("message").GetString()!.Contains(c.Says, StringComparison.Ordinal), $"{c.Name}: {body}");
        }
        var (s405, b405) = await ServedCheckpoint.Send(client.GetAsync("/embed"));
        Assert.Equal(405, s405);
        Assert.Equal("method_not_allowed", b405.GetProperty("error").GetString());

        var (ok, after) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs([good]));
        Assert.True(ok == 200, after.ToString());
    }

    [Fact]
    public async Task AReferenceImageIsItsOwnNearestNeighbourAndScoresMatchTheLibrarysKnnScorer()
    {
        using var client = served.Client();
        int[] picks = [0, 5, 13, 20];
        var inputs = ServedCheckpoint.Inputs(picks.Select(i => Base64(served.Png[served.Ids[i]])));
        var (status, body) = await ServedCheckpoint.Post(client, "/neighbors", inputs.Replace("]}", "], \"k\": 4}", StringComparison.Ordinal));
        Assert.True(status == 200, body.ToString());
        var rows = body.GetProperty("neighbors").EnumerateArray().ToArray();
        for (int j = 0; j < picks.Length; j++)
        {
            var list = rows[j].EnumerateArray().ToArray();
            Assert.Equal(4, list.Length);
            Assert.Equal(served.Ids[picks[j]], list[0].GetProperty("id").GetString());
            Assert.True(list[0].GetProperty("distance").GetDouble() < 1e-3, list[0].ToString());
            Assert.Equal(served.Ids[picks[j]].Split('/')[0], list[0].GetProperty("label").GetString());
            var distances = list.Select(n => n.GetProperty("distance").GetDouble()).ToArray();
            Assert.Equal(distances.Order().ToArray(), distances);
        }

        // Scores: the library's kNN scorer on the library's embeddings, k = 3 (the service's option); a noise image lies further out.
        var rng = new Random(3);
        var noise = TestFiles.Png(28, 28, 1, (_, _) => [(byte)rng.Next(256)]);
        var (s2, b2) = await ServedCheckpoint.Post(client, "/score", ServedCheckpoint.Inputs([.. picks.Select(i => Base64(served.Png[served.Ids[i]])), Base64(noise)]));
        Assert.True(s2 == 200, b2.ToString());
        Assert.Equal(3, b2.GetProperty("k").GetInt32());
        var scores = b2.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble()).ToArray();
        using var bank = tensor(served.Library.SelectMany(v => v).ToArray(), [served.Library.Length, served.Library[0].Length]);
        using var queries = bank.index_select(0, tensor(picks.Select(i => (long)i).ToArray()));
        var expected = KnnAnomalyScorer.Score(bank, queries, 3);
        for (int j = 0; j < picks.Length; j++) Assert.Equal(expected[j], scores[j], 1e-4);
        Assert.True(scores[^1] > scores[..^1].Max(), $"noise {scores[^1]} against reference images {string.Join(", ", scores[..^1])}");
    }

    [Fact]
    public async Task InfoAndOpenApiDescribeTheModel()
    {
        using var client = served.Client();
        var (status, info) = await ServedCheckpoint.Send(client.GetAsync("/info"));
        Assert.Equal(200, status);
        Assert.Equal("simclr", info.GetProperty("method").GetString());
        Assert.Equal("image", info.GetProperty("modality").GetString());
        Assert.Equal(served.Library[0].Length, info.GetProperty("embedding_dim").GetInt32());
        Assert.Equal(new[] { 1, 28, 28 }, info.GetProperty("input").GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(Path.GetFullPath(served.Checkpoint), info.GetProperty("checkpoint").GetString());
        Assert.Equal(24, info.GetProperty("reference").GetProperty("items").GetInt32());

        var (s2, api) = await ServedCheckpoint.Send(client.GetAsync("/openapi.json"));
        Assert.Equal(200, s2);
        Assert.StartsWith("3.", api.GetProperty("openapi").GetString());
        var paths = api.GetProperty("paths");
        foreach (var p in new[] { "/embed", "/score", "/neighbors", "/health", "/info", "/openapi.json" }) Assert.True(paths.TryGetProperty(p, out _), p);
        var embed = paths.GetProperty("/embed").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(embed.TryGetProperty("image/png", out _));
        Assert.Equal("byte", embed.GetProperty("application/json").GetProperty("schema").GetProperty("properties").GetProperty("inputs").GetProperty("items").GetProperty("format").GetString());
        Assert.Equal("X-Api-Key", api.GetProperty("components").GetProperty("securitySchemes").GetProperty("apiKey").GetProperty("name").GetString());
    }

    [Fact]
    public async Task ARequestTheLibraryRefusesFailsAloneAndItsBatchMatesGetTheirRows()
    {
        // A batcher of its own that waits long enough to put both requests in one pass; the second carries items its reader never made.
        using var batcher = new MicroBatcher(served.Service.Model, served.Options with { MaxWait = TimeSpan.FromMilliseconds(300) });
        var good = batcher.Submit(new Job(JobKind.Embed, served.Service.Model.Reader.ReadRaw("image/png", served.Png[served.Ids[6]]), 0));
        var bad = batcher.Submit(new Job(JobKind.Embed, new ForeignItems(), 0));
        await Assert.ThrowsAsync<ArgumentException>(() => bad);
        var result = await good;
        AssertClose(served.Library[6], result.Embeddings);
        // The joint pass failed and counts nothing; re-run alone, the good request made the one pass of one item.
        Assert.Equal((1L, 1L), batcher.Counts);
    }

    private sealed class ForeignItems : RequestItems
    {
        public override int Count => 1;
    }

    internal static void AssertClose(float[] expected, float[] actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"element {i}: {expected[i]} against {actual[i]}");
    }
}

internal static class Utf8Text
{
    public static byte[] U(this string s) => System.Text.Encoding.UTF8.GetBytes(s);
}
