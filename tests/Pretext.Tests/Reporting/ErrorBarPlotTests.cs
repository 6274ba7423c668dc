using Pretext.Reporting;

namespace Pretext.Tests.Reporting;

public class ErrorBarPlotTests
{
    [Fact]
    public void LabelEfficiencyCurveWithErrorBarsOnALogAxis()
    {
        using var dir = new TempDirectory();
        var path = dir.File("curve.png");
        double[] labels = [60, 600, 6000, 60000];
        Plots.ErrorBarPlot(path, "Label efficiency", "labelled samples", "accuracy (%)",
        [
            ("linear probe", labels, [62.1, 79.4, 86.5, 88.4], [2.1, 0.8, 0, 0]),
            ("fine-tuned", labels, [60.3, 81.0, 89.9, 92.3], [3.0, 1.1, 0, 0]),
            ("from scratch", [600, 6000], [80.9, 84.9], [0.9, 0]),
        ], logX: true);
        PngAssert.IsPng(path, Plots.Width, Plots.Height);
    }

    [Fact]
    public void RejectsBadSeries()
    {
        using var dir = new TempDirectory();
        Assert.Throws<ArgumentException>(() => Plots.ErrorBarPlot(dir.File("a.png"), "t", "x", "y", [("s", [1.0, 2.0], [1.0, 2.0], [0.1])]));
        Assert.Contains("negative error", Assert.Throws<ArgumentException>(() => Plots.ErrorBarPlot(dir.File("b.png"), "t", "x", "y", [("s", [1.0], [1.0], [-0.1])])).Message);
        Assert.Throws<ArgumentException>(() => Plots.ErrorBarPlot(dir.File("c.png"), "t", "x", "y", [("s", [0.0], [1.0], [0.1])], logX: true));
        Assert.Throws<ArgumentException>(() => Plots.ErrorBarPlot(dir.File("d.png"), "t", "x", "y", []));
        Assert.False(File.Exists(dir.File("a.png")));
    }
}
