using Pretext.Reporting;
using Xunit;

namespace Pretext.Tests.Reporting;

public class HtmlReportTests
{
    [Fact]
    public void ReportIsSelfContainedAndEscaped()
    {
        using var dir = new TempDirectory();
        var png = dir.File("bars.png");
        Plots.BarPlot(png, "Accuracy", "accuracy", [("a", 0.5), ("b", 0.75)]);

        var report = new HtmlReport { Title = "Run <1> & \"friends\"" };
        report.AddHeading("Results <b>")
              .AddParagraph("loss < 1 & acc > 0.9")
              .AddKeyValueTable("Config", [("method", "simclr"), ("note", "<script>alert(1)</script>")])
              .AddTable("Probe", ["model", "acc"], [["SimCLR", "0.87"], ["random", "0.41"]])
              .AddImage("Accuracy <chart>", png)
              .AddPreformatted("pretext train --method simclr\n  --epochs 10 <x>");
        var path = dir.File("out/report.html");
        report.Save(path);

        var html = File.ReadAllText(path);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("Run &lt;1&gt; &amp; &quot;friends&quot;", html);
        Assert.Contains("loss &lt; 1 &amp; acc &gt; 0.9", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<b>", html);
        Assert.Contains("data:image/png;base64,", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.Contains("<td class=\"num\">0.87</td>", html);

        // The embedded image decodes back to the very PNG on disk.
        int start = html.IndexOf("base64,", StringComparison.Ordinal) + "base64,".Length;
        int end = html.IndexOf('"', start);
        Assert.Equal(File.ReadAllBytes(png), Convert.FromBase64String(html[start..end]));
    }

    [Fact]
    public void AddImageRejectsNonPngNamingTheFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("not.png");
        File.WriteAllText(path, "hello");
        var e = Assert.Throws<InvalidDataException>(() => new HtmlReport().AddImage("x", path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AddTableRejectsRaggedRows()
    {
        Assert.Throws<ArgumentException>(() => new HtmlReport().AddTable("t", ["a", "b"], [["1"]]));
    }
}
