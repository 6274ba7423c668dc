using Pretext.Export;
using Xunit;

namespace Pretext.Tests.Export;

public class JsonFileTests
{
    private enum Mode { Fast, Careful }

    private sealed record Summary(string MethodName, double FinalLoss, Mode Mode, double[] Curve);

    [Fact]
    public void WritesIndentedSnakeCaseAndReadsBack()
    {
        using var dir = new TempDirectory();
        var path = dir.File("run/summary.json");
        var summary = new Summary("simclr", double.NaN, Mode.Careful, [1.5, 0.25]);
        JsonFile.WriteAtomic(path, summary);

        var text = File.ReadAllText(path);
        Assert.Contains("\"method_name\": \"simclr\"", text);
        Assert.Contains("\"final_loss\": \"NaN\"", text);
        Assert.Contains("\"mode\": \"Careful\"", text);
        Assert.Contains('\n', text);

        var back = JsonFile.Read<Summary>(path);
        Assert.Equal("simclr", back.MethodName);
        Assert.True(double.IsNaN(back.FinalLoss));
        Assert.Equal(Mode.Careful, back.Mode);
        Assert.Equal([1.5, 0.25], back.Curve);
    }

    [Fact]
    public void ReadNamesFileOnBadJson()
    {
        using var dir = new TempDirectory();
        var path = dir.File("config.json");
        File.WriteAllText(path, "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => JsonFile.Read<Summary>(path));
        Assert.Contains(path, e.Message);
    }
}
