using System.Globalization;
using Pretext.Data.Tables;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Runs;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>
/// `pretext score` and `pretext cluster` on a CSV file read in chunks: with a whole-file read's parts and samples as large as the parts,
/// the rows written are the whole-file read's; by default parts come from id hashes and every sample stays within its bound.
/// </summary>
public class RecordStreamingTests
{
    public RecordStreamingTests() => set_num_threads(1);

    private static readonly string[] IdColumn = ["table.columns.id=id"];

    /// <summary>Bounds no small file reaches, chunks of 512 rows (so 700 rows take two chunks and the second starts at reconstruction batch 2).</summary>
    private static StreamLimits Unbounded(Func<string, ReadingPart>? parts) => new()
    {
        ChunkRows = 512, ReferenceRows = 1_000_000, ValidationRows = 1_000_000, SilhouetteRows = 1_000_000, TestRows = 1_000_000, Parts = parts,
    };

    /// <summary>The rows of a CSV file written by <see cref="ColumnTable"/> (no quoted fields here), header first.</summary>
    private static string[][] Cells(string path) => [.. File.ReadAllLines(path).Select(l => l.Split(','))];

    /// <summary>Equal headers, equal text cells, numbers within <paramref name="tolerance"/> (relative; float rounding of other batch shapes, though here they come out bit for bit equal).</summary>
    private static void AssertSameRows(string expected, string actual, double tolerance = 1e-6)
    {
        var a = Cells(expected);
        var b = Cells(actual);
        Assert.Equal(a.Length, b.Length);
        Assert.Equal(a[0], b[0]);
        for (int r = 1; r < a.Length; r++)
            for (int j = 0; j < a[r].Length; j++)
            {
                if (double.TryParse(a[r][j], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && a[0][j] is not "id" and not "segment"
                    && double.TryParse(b[r][j], NumberStyles.Float, CultureInfo.InvariantCulture, out var y))
                    Assert.True(Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x)), $"row {r}, column {a[0][j]}: {a[r][j]} against {b[r][j]}");
                else Assert.True(a[r][j] == b[r][j], $"row {r}, column {a[0][j]}: '{a[r][j]}' against '{b[r][j]}'");
            }
    }

    [Fact]
    public void ChunksHoldTheValuesOfAWholeFileRead()
    {
        using var dir = new TempDirectory();
        var file = RecordScoringTests.WritePlanted(dir.File("shop.csv"), 130);
        var whole = TableFiles.Read(file, new TableColumns { Id = "id" });
        var encoding = TableEncoding.Fit(whole);
        var chunks = CsvTableStream.Open(file, new TableColumns { Id = "id" }, encoding).Chunks(50).ToList();
        Assert.Equal([50, 50, 30], chunks.Select(c => c.Rows.Count));
        Assert.Equal([0L, 50, 100], chunks.Select(c => c.First));
        int i = 0;
        foreach (var chunk in chunks)
            for (int r = 0; r < chunk.Rows.Count; r++, i++)
            {
                Assert.Equal(whole.Ids[i], chunk.Rows.Ids[r]);
                Assert.Equal(whole.ClassNames[whole.Labels![i]], chunk.Labels![r]);
                for (int k = 0; k < whole.NumericNames.Length; k++) Assert.Equal(whole.Numeric(i, k), chunk.Rows.Numeric(r, k));
                for (int k = 0; k < whole.CategoricalNames.Length; k++) Assert.Equal(whole.Category(i, k), chunk.Rows.Category(r, k));
            }
        Assert.Equal(130, i);
    }

    [Fact]
    public void BadRowsAreNamedByFileLineAndColumn()
    {
        using var dir = new TempDirectory();
        var good = RecordScoringTests.WritePlanted(dir.File("shop.csv"), 130);
        var encoding = TableEncoding.Fit(TableFiles.Read(good, new TableColumns { Id = "id" }));
        var lines = File.ReadAllLines(good);
        // Line 101 is the 100th row: in the third chunk of 40, past what a first chunk would show.
        var word = lines.ToArray();
        word[100] = "t99,abc,1.0,North,normal";
        File.WriteAllLines(dir.File("word.csv"), word);
        var e = Assert.Throws<InvalidDataException>(() => CsvTableStream.Open(dir.File("word.csv"), new TableColumns { Id = "id" }, encoding).Chunks(40).ToList());
        Assert.Contains("word.csv' line 101, column 'x': 'abc' is not a number", e.Message);
        var fields = lines.ToArray();
        fields[60] = "t59,1.0,North,normal";
        File.WriteAllLines(dir.File("fields.csv"), fields);
        e = Assert.Throws<InvalidDataException>(() => CsvTableStream.Open(dir.File("fields.csv"), new TableColumns { Id = "id" }, encoding).Chunks(40).ToList());
        Assert.Contains("fields.csv' line 61: 4 fields where the header has 5", e.Message);
        var unlabelled = lines.ToArray();
        unlabelled[7] = "t6,0.5,1.0,North,";
        File.WriteAllLines(dir.File("label.csv"), unlabelled);
        e = Assert.Throws<InvalidDataException>(() => CsvTableStream.Open(dir.File("label.csv"), new TableColumns { Id = "id" }, encoding).Chunks(40).ToList());
        Assert.Contains("label.csv' line 8, column 'label': the label is missing", e.Message);
        File.WriteAllLines(dir.File("extra.csv"), lines.Select((l, r) => l + (r == 0 ? ",note" : ",x")));
        e = Assert.Throws<InvalidDataException>(() => CsvTableStream.Open(dir.File("extra.csv"), new TableColumns { Id = "id" }, encoding));
        Assert.Contains("not fitted on (note)", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StreamedScoresEqualAWholeFileReadsWithItsParts(bool labelled)
    {
        using var dir = new TempDirectory();
        var file = RecordScoringTests.WritePlanted(dir.File("shop.csv"), 700, labelled);
        var ckpt = RecordScoringTests.Pretrain(dir, file, "dae");
        var options = new RecordScoreOptions { Stream = Streaming.Never, Draws = 2 };
        string whole = dir.File("whole.csv");
        Dictionary<string, ReadingPart> parts;
        ThresholdChoice threshold;
        using (var scores = RecordScoring.Run(ckpt, null, IdColumn, null, options))
        {
            scores.Table().Write(whole);
            parts = scores.Records.Ids.Zip(scores.Records.Parts).ToDictionary(p => p.First, p => p.Second);
            threshold = scores.Threshold;
            Assert.Equal(labelled, scores.Records.Parts.Contains(ReadingPart.Test));
        }
        var streamed = RecordStreaming.Score(ckpt, null, IdColumn, options with { Stream = Streaming.Always, Limits = Unbounded(id => parts[id]) },
            [dir.File("streamed.csv"), dir.File("streamed.parquet")]);
        Assert.Equal(700, streamed.Rows);
        Assert.Equal(threshold.Rule, streamed.Threshold.Rule);
        Assert.Equal(threshold.Value, streamed.Threshold.Value, 1e-6);
        AssertSameRows(whole, dir.File("streamed.csv"));
        // The Parquet file holds the same rows.
        var parquet = TableFiles.Read(dir.File("streamed.parquet"), new TableColumns { Id = "id", Label = labelled ? "label" : null, Ignore = ["part", "flagged"] });
        Assert.Equal(Cells(whole).Skip(1).Select(r => r[0]), parquet.Ids);
    }

    [Fact]
    public void StreamedSegmentsAndProfilesEqualAWholeFileReadsWithItsParts()
    {
        using var dir = new TempDirectory();
        var file = RecordClusteringTests.WriteSegments(dir.File("customers.csv"), 700);
        var ckpt = RecordScoringTests.Pretrain(dir, file, "scarf");
        var options = new RecordClusterOptions { Stream = Streaming.Never, MaxK = 4 };
        Dictionary<string, ReadingPart> parts;
        int k;
        using (var clusters = RecordClustering.Run(ckpt, null, IdColumn, null, options))
        {
            clusters.Table().Write(dir.File("whole.csv"));
            clusters.ProfileTable().Write(dir.File("whole-profile.csv"));
            parts = clusters.Records.Ids.Zip(clusters.Records.Parts).ToDictionary(p => p.First, p => p.Second);
            k = clusters.K;
        }
        var streamed = RecordStreaming.Cluster(ckpt, null, IdColumn, options with { Stream = Streaming.Always, Limits = Unbounded(id => parts[id]) },
            [dir.File("streamed.csv")], [dir.File("streamed-profile.csv")]);
        Assert.Equal(k, streamed.K);
        Assert.Equal(700, streamed.Rows);
        AssertSameRows(dir.File("whole.csv"), dir.File("streamed.csv"));
        AssertSameRows(dir.File("whole-profile.csv"), dir.File("streamed-profile.csv"), 1e-9);
    }

    [Fact]
    public void PartsComeFromIdHashesAndSamplesStayWithinTheirBounds()
    {
        using var dir = new TempDirectory();
        var file = RecordScoringTests.WritePlanted(dir.File("shop.csv"), 700, labelled: false);
        var ckpt = RecordScoringTests.Pretrain(dir, file, "scarf");
        var options = new RecordScoreOptions { Stream = Streaming.Always, Limits = new StreamLimits { ChunkRows = 512, ReferenceRows = 50, ValidationRows = 30 } };
        var first = RecordStreaming.Score(ckpt, null, IdColumn, options, [dir.File("a.csv")]);
        Assert.Equal(50, first.Bank);
        Assert.Equal(30, first.Threshold.ValidationCount);
        Assert.Equal(0, first.TestRows);
        Assert.InRange(first.Validation, 80, 160);   // about a sixth of 700
        var rows = Cells(dir.File("a.csv"));
        Assert.Equal(["id", "part", "score", "flagged", "knn"], rows[0]);
        Assert.Equal(700, rows.Skip(1).Select(r => r[0]).Distinct().Count());
        // A row is in validation exactly when its id hashes below the fraction, under the hash a whole-file read ranks ids by.
        Assert.All(rows.Skip(1), r => Assert.Equal(ValidationSplit.Unit(0, r[0]) < ValidationSplit.DefaultFraction ? "validation" : "reference", r[1]));
        // Seeded: the same again.
        RecordStreaming.Score(ckpt, null, IdColumn, options, [dir.File("b.csv")]);
        Assert.Equal(File.ReadAllText(dir.File("a.csv")), File.ReadAllText(dir.File("b.csv")));
        // Auto reads a small file whole; Always refuses what is not a CSV file.
        var config = Pretraining.ReadConfig(ckpt);
        Assert.False(RecordStreaming.Applies(config, file, Streaming.Auto, new StreamLimits()));
        Assert.True(RecordStreaming.Applies(config, file, Streaming.Auto, new StreamLimits { AutoBytes = 1 }));
        Assert.Contains("CSV", Assert.Throws<ArgumentException>(() => RecordStreaming.Applies(config, "credit-g", Streaming.Always, new StreamLimits())).Message);
    }
}
