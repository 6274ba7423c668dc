using Pretext.Reporting;
using Xunit;

namespace Pretext.Tests.Reporting;

public class PlotsTests
{
    private static (string, double[], double[]) Curve(string name, double scale)
    {
        var x = Enumerable.Range(1, 200).Select(i => (double)i).ToArray();
        return (name, x, x.Select(s => scale * Math.Exp(-s / 40) + 0.05).ToArray());
    }

    [Fact]
    public void LinePlotWritesPng()
    {
        using var dir = new TempDirectory();
        var path = dir.File("loss.png");
        Plots.LinePlot(path, "Training loss", "step", "loss", [Curve("train", 6), Curve("val", 5)]);
        PngAssert.IsPng(path, Plots.Width, Plots.Height);
    }

    [Fact]
    public void LinePlotCanPutTheLegendBesideTheAxes()
    {
        using var dir = new TempDirectory();
        string inside = dir.File("inside.png"), outside = dir.File("outside.png");
        Plots.LinePlot(inside, "Curve", "minutes", "accuracy %", [Curve("probe", 6), Curve("kNN", 6)]);
        Plots.LinePlot(outside, "Curve", "minutes", "accuracy %", [Curve("probe", 6), Curve("kNN", 6)], legendOutside: true);
        PngAssert.IsPng(outside, Plots.Width, Plots.Height);
        // Same size, but the axes shrink to make room for the legend, so the pictures differ.
        Assert.NotEqual(File.ReadAllBytes(inside), File.ReadAllBytes(outside));
    }

    [Fact]
    public void LogLinePlotSkipsNonPositiveAndNonFinitePoints()
    {
        using var dir = new TempDirectory();
        var path = dir.File("lr.png");
        double[] x = [0, 1, 2, 3, 4, 5];
        double[] y = [0, 1e-4, double.NaN, 1e-2, 0.1, 0.05];
        Plots.LinePlot(path, "Learning rate", "step", "lr", [("", x, y)], logY: true);
        PngAssert.IsPng(path, Plots.Width, Plots.Height);
    }

    [Fact]
    public void LinePlotRejectsMismatchedOrEmptySeries()
    {
        using var dir = new TempDirectory();
        Assert.Throws<ArgumentException>(() => Plots.LinePlot(dir.File("a.png"), "t", "x", "y", [("s", new double[3], new double[2])]));
        Assert.Throws<ArgumentException>(() => Plots.LinePlot(dir.File("b.png"), "t", "x", "y", [("s", [1.0], [-1.0])], logY: true));
        Assert.False(File.Exists(dir.File("a.png")));
    }

    [Fact]
    public void BarPlotWritesPng()
    {
        using var dir = new TempDirectory();
        var path = dir.File("probe.png");
        Plots.BarPlot(path, "Linear probe accuracy", "accuracy", [("random init", 0.412), ("SimCLR", 0.8734), ("supervised", 0.912)]);
        PngAssert.IsPng(path, Plots.Width, Plots.Height);
        Assert.Throws<ArgumentException>(() => Plots.BarPlot(dir.File("x.png"), "t", "y", [("nan", double.NaN)]));
    }

    [Fact]
    public void ScatterByLabelColoursEachClass()
    {
        using var dir = new TempDirectory();
        var path = dir.File("map.png");
        var rng = new Random(1);
        var labels = Enumerable.Range(0, 300).Select(i => i % 3).ToArray();
        var x = labels.Select(l => 5.0 * l + rng.NextDouble()).ToArray();
        var y = labels.Select(l => (l == 1 ? 4.0 : 0) + rng.NextDouble()).ToArray();
        Plots.ScatterByLabel(path, "t-SNE", "t-SNE 1", "t-SNE 2", x, y, labels, ["shirt", "shoe", "bag"]);
        PngAssert.IsPng(path, Plots.Width, Plots.Height);
        // Category10's first three colours (blue, orange, green) all appear: one cluster each.
        var png = PngPixels.Load(path);
        Assert.True(png.Count(0x1f, 0x77, 0xb4, 10) > 200);
        Assert.True(png.Count(0xff, 0x7f, 0x0e, 10) > 200);
        Assert.True(png.Count(0x2c, 0xa0, 0x2c, 10) > 200);

        Assert.Throws<ArgumentException>(() => Plots.ScatterByLabel(dir.File("a.png"), "t", "x", "y", [1.0, 2], [1.0], null, []));
        Assert.Throws<ArgumentException>(() => Plots.ScatterByLabel(dir.File("b.png"), "t", "x", "y", [1.0], [1.0], [-1], []));
        Assert.Throws<ArgumentException>(() => Plots.ScatterByLabel(dir.File("c.png"), "t", "x", "y", [double.NaN], [1.0], null, []));
    }
}
