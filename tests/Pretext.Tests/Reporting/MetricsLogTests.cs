using Pretext.Reporting;
using Xunit;

namespace Pretext.Tests.Reporting;

public class MetricsLogTests
{
    private static readonly string[] Columns = ["step", "epoch", "loss", "lr"];

    [Fact]
    public void AppendedRowsReadBackExactly()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.csv");
        using (var log = MetricsLog.Create(path, Columns))
        {
            log.Append(1, 0, 6.123456789012345, 1e-3 / 3);
            log.Append(new Dictionary<string, double> { ["step"] = 2, ["loss"] = double.PositiveInfinity });
        }

        var rows = MetricsLog.Read(path);
        Assert.Equal(2, rows.Count);
        Assert.Equal(6.123456789012345, rows[0]["loss"]);
        Assert.Equal(1e-3 / 3, rows[0]["lr"]);
        Assert.Equal(double.PositiveInfinity, rows[1]["loss"]);
        Assert.True(double.IsNaN(rows[1]["epoch"]), "a value not supplied reads back as NaN");
        Assert.Equal("step,epoch,loss,lr", File.ReadLines(path).First());
    }

    [Fact]
    public void RowsAreOnDiskBeforeDispose()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.csv");
        using var log = MetricsLog.Create(path, Columns);
        log.Append(1, 0, 2.5, 0.1);
        // Read while the writer is still open, as a crash would leave it.
        Assert.Single(MetricsLog.Read(path));
    }

    [Fact]
    public void OpenTruncatesRowsAfterResumeStepAndAppends()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.csv");
        using (var log = MetricsLog.Create(path, Columns))
            for (int step = 1; step <= 5; step++) log.Append(step, 0, 10 - step, 0.1);

        using (var log = MetricsLog.Open(path, Columns, truncateAfterStep: 3))
            log.Append(4, 0, 99, 0.1);

        var rows = MetricsLog.Read(path);
        Assert.Equal([1.0, 2, 3, 4], rows.Select(r => r["step"]));
        Assert.Equal(99, rows[3]["loss"]);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void OpenUpgradesALogWhoseColumnsArePrefixOfTheRunsColumns()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.csv");
        using (var log = MetricsLog.Create(path, Columns))
            for (int step = 1; step <= 4; step++) log.Append(step, 0, 10 - step, 0.1);

        string[] newer = [.. Columns, "rankme", "uniformity"];
        using (var log = MetricsLog.Open(path, newer, truncateAfterStep: 3))
            log.Append(new Dictionary<string, double> { ["step"] = 4, ["loss"] = 5, ["rankme"] = 7.5 });

        Assert.Equal("step,epoch,loss,lr,rankme,uniformity", File.ReadLines(path).First());
        var rows = MetricsLog.Read(path);
        Assert.Equal([1.0, 2, 3, 4], rows.Select(r => r["step"]));
        Assert.True(double.IsNaN(rows[0]["rankme"]), "old rows get empty cells for the new columns");
        Assert.Equal(9, rows[0]["loss"]);
        Assert.Equal(7.5, rows[3]["rankme"]);

        // Columns that are not an extension are still refused.
        var e = Assert.Throws<InvalidDataException>(() => MetricsLog.Open(path, ["step", "loss"]));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void OpenWithoutTruncationKeepsRowsAndDropsTornLastLine()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.csv");
        using (var log = MetricsLog.Create(path, Columns)) log.Append(1, 0, 1, 1);
        File.AppendAllText(path, "2,0,0.5"); // a write cut short by a crash: no newline

        using (var log = MetricsLog.Open(path, Columns)) log.Append(2, 0, 0.25, 1);

        var rows = MetricsLog.Read(path);
        Assert.Equal(2, rows.Count);
        Assert.Equal(0.25, rows[1]["loss"]);
    }

    [Fact]
    public void OpenCreatesMissingFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("sub/metrics.csv");
        using (var log = MetricsLog.Open(path, Columns, truncateAfterStep: 10)) log.Append(1, 0, 1, 1);
        Assert.Single(MetricsLog.Read(path));
    }

    [Fact]
    public void OpenRejectsDifferentColumnsNamingTheFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("metrics.csv");
        MetricsLog.Create(path, Columns).Dispose();
        var e = Assert.Throws<InvalidDataException>(() => MetricsLog.Open(path, ["step", "loss"]));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void RejectsUnknownColumnAndBadNames()
    {
        using var dir = new TempDirectory();
        using var log = MetricsLog.Create(dir.File("m.csv"), Columns);
        Assert.Throws<ArgumentException>(() => log.Append(new Dictionary<string, double> { ["acc"] = 1 }));
        Assert.Throws<ArgumentException>(() => log.Append(1, 2));
        Assert.Throws<ArgumentException>(() => MetricsLog.Create(dir.File("n.csv"), ["a,b"]));
        Assert.Throws<ArgumentException>(() => MetricsLog.Create(dir.File("n.csv"), ["a", "a"]));
        Assert.Throws<ArgumentException>(() => MetricsLog.Open(dir.File("n.csv"), ["loss"], truncateAfterStep: 1));
    }

    [Fact]
    public void SeriesSkipsMissingValues()
    {
        var rows = new List<IReadOnlyDictionary<string, double>>
        {
            new Dictionary<string, double> { ["step"] = 1, ["loss"] = 3 },
            new Dictionary<string, double> { ["step"] = 2, ["loss"] = double.NaN },
            new Dictionary<string, double> { ["step"] = 3, ["loss"] = 1 },
        };
        var (x, y) = MetricsLog.Series(rows, "step", "loss");
        Assert.Equal([1.0, 3], x);
        Assert.Equal([3.0, 1], y);
    }
}
