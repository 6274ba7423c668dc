using System.Globalization;
using System.Text.Json;

namespace Pretext.Tests.Serving;

/// <summary>`pretext serve` on a table checkpoint: rows as objects or arrays give the library's vectors; bad rows are refused by column.</summary>
[Collection("console")]
public class TableServiceTests(ServedTable served) : IClassFixture<ServedTable>
{
    /// <summary>
    /// Row <paramref name="i"/> of the file as a JSON object of its feature columns (missing: null), each column's JSON replaced by
    /// <paramref name="replace"/> where it says (null: the column left out), then the <paramref name="extra"/> columns.
    /// </summary>
    private string RowObject(int i, Dictionary<string, string?>? replace = null, params (string Name, string Json)[] extra)
    {
        var rows = served.Rows;
        var columns = new List<(string Name, string Json)>();
        for (int k = 0; k < rows.NumericNames.Length; k++)
        {
            float v = rows.Numeric(i, k);
            columns.Add((rows.NumericNames[k], float.IsNaN(v) ? "null" : v.ToString("R", CultureInfo.InvariantCulture)));
        }
        for (int k = 0; k < rows.CategoricalNames.Length; k++)
            columns.Add((rows.CategoricalNames[k], JsonSerializer.Serialize(rows.Category(i, k))));
        var parts = new List<string>();
        foreach (var (name, json) in columns.Concat(extra))
        {
            string? value = replace is not null && replace.TryGetValue(name, out var r) ? r : json;
            if (value is not null) parts.Add($"{JsonSerializer.Serialize(name)}: {value}");
        }
        return "{" + string.Join(", ", parts) + "}";
    }

    private string RowArray(int i)
    {
        var rows = served.Rows;
        var values = Enumerable.Range(0, rows.NumericNames.Length).Select(k => rows.Numeric(i, k)).Select(v => float.IsNaN(v) ? "null" : v.ToString("R", CultureInfo.InvariantCulture))
            .Concat(Enumerable.Range(0, rows.CategoricalNames.Length).Select(k => JsonSerializer.Serialize(rows.Category(i, k))));
        return "[" + string.Join(", ", values) + "]";
    }

    [Fact]
    public async Task RowsAsObjectsOrArraysGiveTheLibrarysVectors()
    {
        using var client = served.Client();
        // Row 5 has a missing amount (every 11th row from the 6th); the id and label columns ride along and are left out.
        int[] picks = [0, 5, 16];
        var items = picks.Select(i => RowObject(i, null, ("id", "\"x\""), ("label", "\"stay\""))).Append(RowArray(7));
        var (status, body) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs(items));
        Assert.True(status == 200, body.ToString());
        var vectors = ServedCheckpoint.Vectors(body);
        for (int j = 0; j < picks.Length; j++) ImageServiceTests.AssertClose(served.Library[picks[j]], vectors[j]);
        ImageServiceTests.AssertClose(served.Library[7], vectors[^1]);

        var (s2, b2) = await ServedCheckpoint.Post(client, "/neighbors", ServedCheckpoint.Inputs([RowObject(16)]));
        Assert.True(s2 == 200, b2.ToString());
        var first = b2.GetProperty("neighbors")[0][0];
        Assert.True(first.GetProperty("distance").GetDouble() < 1e-3, first.ToString());
        Assert.Equal(10, b2.GetProperty("neighbors")[0].GetArrayLength());
    }

    [Fact]
    public async Task BadRowsAreRefusedNamingTheColumn()
    {
        using var client = served.Client();
        var rows = served.Rows;
        string numeric = rows.NumericNames[0], categorical = rows.CategoricalNames[0];
        string good = RowObject(1);
        var cases = new (string Name, string Json, string Code, string Says)[]
        {
            ("too few values", "[1]", "missing_column", $"the model reads {rows.NumericNames.Length + rows.CategoricalNames.Length} columns"),
            ("a column renamed", RowObject(1, new() { [categorical] = null }, ("renamed", "\"x\"")), "unknown_column", "'renamed'"),
            ("a column missing", RowObject(1, new() { [numeric] = null }), "missing_column", numeric),
            ("text in a numeric column", RowObject(1, new() { [numeric] = "\"many\"" }), "wrong_type", $"column '{numeric}' is numeric"),
            ("an object in a categorical column", RowObject(1, new() { [categorical] = "{}" }), "wrong_type", $"column '{categorical}' is categorical"),
            ("a string for a row", "\"Paris\"", "wrong_type", "a table model takes each row"),
        };
        foreach (var c in cases)
        {
            var (status, body) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs([good, c.Json]));
            Assert.True(status == 400, $"{c.Name}: {status} {body} for {c.Json}");
            Assert.True(body.GetProperty("error").GetString() == c.Code, $"{c.Name}: {body}");
            var message = body.GetProperty("message").GetString()!;
            Assert.True(message.Contains(c.Says, StringComparison.Ordinal) && message.Contains("inputs[1]", StringComparison.Ordinal), $"{c.Name}: {body}");
        }
        var (ok, after) = await ServedCheckpoint.Post(client, "/score", ServedCheckpoint.Inputs([good]));
        Assert.True(ok == 200, after.ToString());
    }
}

/// <summary>`pretext serve` on a text checkpoint: documents give the library's vectors; numbers and empty documents are refused.</summary>
[Collection("console")]
public class TextServiceTests(ServedText served) : IClassFixture<ServedText>
{
    [Fact]
    public async Task DocumentsGiveTheLibrarysVectorsAndBadOnesAreRefused()
    {
        using var client = served.Client();
        var (status, body) = await ServedCheckpoint.Post(client, "/embed", ServedCheckpoint.Inputs(served.Texts.Take(3).Select(t => JsonSerializer.Serialize(t))));
        Assert.True(status == 200, body.ToString());
        var vectors = ServedCheckpoint.Vectors(body);
        for (int i = 0; i < 3; i++) ImageServiceTests.AssertClose(served.Library[i], vectors[i]);

        var (s2, b2) = await ServedCheckpoint.PostBytes(client, "/embed", System.Text.Encoding.UTF8.GetBytes(served.Texts[4]), "text/plain");
        Assert.True(s2 == 200, b2.ToString());
        ImageServiceTests.AssertClose(served.Library[4], ServedCheckpoint.Vectors(b2)[0]);

        var (s3, b3) = await ServedCheckpoint.Post(client, "/embed", "{\"inputs\": [\"fine\", 12]}");
        Assert.Equal(400, s3);
        Assert.Equal("wrong_type", b3.GetProperty("error").GetString());
        var (s4, b4) = await ServedCheckpoint.Post(client, "/embed", "{\"inputs\": [\"  \"]}");
        Assert.Equal(400, s4);
        Assert.Equal("bad_value", b4.GetProperty("error").GetString());
        var (s5, b5) = await ServedCheckpoint.PostBytes(client, "/embed", [0xff, 0xfe, 0x00], "text/plain");
        Assert.Equal(400, s5);
        Assert.Contains("UTF-8", b5.GetProperty("message").GetString());

        // A reference document is its own nearest neighbour.
        var (s6, b6) = await ServedCheckpoint.Post(client, "/neighbors", "{\"inputs\": [" + JsonSerializer.Serialize(served.Texts[9]) + "], \"k\": 2}");
        Assert.True(s6 == 200, b6.ToString());
        Assert.True(b6.GetProperty("neighbors")[0][0].GetProperty("distance").GetDouble() < 1e-3, b6.ToString());
    }
}
