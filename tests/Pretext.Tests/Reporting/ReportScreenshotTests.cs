using System.Diagnostics;
using System.Text.RegularExpressions;
using Pretext.Tests.Runs;

namespace Pretext.Tests.Reporting;

/// <summary>Finds headless Chromium (Debian package `chromium`).</summary>
internal static class Chromium
{
    /// <summary>Set to 1 (CI does) to make the browser tests fail, not skip, when Chromium is missing.</summary>
    public const string RequireVariable = "PRETEXT_REQUIRE_CHROMIUM";

    public static string? Path { get; } = Find();

    private static string? Find()
    {
        foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome", "google-chrome-stable" })
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = System.IO.Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>Renders <paramref name="html"/> headless at width x height and writes the screenshot to <paramref name="png"/>.</summary>
    public static void Screenshot(string html, string png, int width, int height)
    {
        var exe = Path ?? throw new InvalidOperationException(
            "Chromium is not installed: run 'apt-get install chromium' (scripts/setup.sh does it when run as root).");
        var profile = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(png)!, "chromium-profile");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // --no-sandbox: the tests may run as root (CI containers), where the sandbox refuses to start.
        // The resolver rule makes any network fetch fail, so the picture shows only what the file carries.
        foreach (var arg in new[]
                 {
                     "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                     "--host-resolver-rules=MAP * ~NOTFOUND", $"--user-data-dir={profile}", $"--screenshot={png}",
                     $"--window-size={width},{height}", new Uri(System.IO.Path.GetFullPath(html)).AbsoluteUri,
                 })
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Chromium did not finish rendering '{html}' within 120 s.");
        }
        if (process.ExitCode != 0 || !File.Exists(png))
            throw new InvalidOperationException($"Chromium exited with {process.ExitCode} and wrote no screenshot of '{html}':\n{stdout.Result}\n{stderr.Result}");
    }
}

/// <summary>Runs only where Chromium is installed, unless CI requires it (then a missing browser fails the test).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null && Environment.GetEnvironmentVariable(Chromium.RequireVariable) != "1")
            Skip = "Chromium is not installed and cannot be installed here (not root or no apt-get); scripts/setup.sh installs the Debian package 'chromium' when run as root.";
    }
}

/// <summary>Renders real run reports in headless Chromium and looks at the picture.</summary>
[Collection("tiny runs")]
public class ReportScreenshotTests(TinyRunsFixture runs)
{
    private const int Width = 1200, Height = 4000;

    // The warning box's left bar (#c62828) and Category10's first colour (#1f77b4), used by bars and lines.
    private static readonly (int R, int G, int B) WarningRed = (0xc6, 0x28, 0x28), PlotBlue = (0x1f, 0x77, 0xb4);

    /// <summary>Everything the page shows comes from the file itself.</summary>
    private static void AssertSelfContained(string html)
    {
        var images = Regex.Matches(html, "<img [^>]*src=\"([^\"]*)\"");
        Assert.True(images.Count >= 5, $"expected the plots inline, found {images.Count} images");
        Assert.All(images, m => Assert.StartsWith("data:image/png;base64,", m.Groups[1].Value));
        foreach (Match m in images)
        {
            var bytes = Convert.FromBase64String(m.Groups[1].Value["data:image/png;base64,".Length..]);
            Assert.Equal(0x89, bytes[0]); // a real PNG, not a truncated string
        }
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("url(", html);
        Assert.DoesNotMatch("(src|href)=\"(?!data:)", html);
    }

    private static PngPixels Render(string report, string name)
    {
        var png = Path.Combine(Path.GetDirectoryName(report)!, name);
        Chromium.Screenshot(report, png, Width, Height);
        return PngPixels.Load(png);
    }

    [ChromiumFact]
    public void CollapsedRunReportRendersWithTheWarningOnTop()
    {
        var run = runs.Collapsed;
        AssertSelfContained(File.ReadAllText(run.Report));
        var shot = Render(run.Report, "screenshot.png");

        Assert.Equal(Width, shot.Width);
        Assert.Equal(Height, shot.Height);
        Assert.True(shot.GreyVariance() > 100, $"grey variance {shot.GreyVariance():F1}: the page looks blank");
        // The red bar of the warning sits within the first screenful's top, above tables and plots.
        int red = shot.Count(WarningRed.R, WarningRed.G, WarningRed.B, 12, top: 0, bottom: 400);
        Assert.True(red > 300, $"only {red} warning-red pixels in the top 400 rows");
        // The plots below the tables are drawn: plenty of the plot palette's blue and of non-white pixels.
        int blue = shot.Count(PlotBlue.R, PlotBlue.G, PlotBlue.B, 12, top: 400);
        Assert.True(blue > 2000, $"only {blue} plot-blue pixels below the tables");
        Assert.True(shot.NonWhite(top: 400) > 50_000, $"only {shot.NonWhite(top: 400)} non-white pixels below the tables");
    }

    [ChromiumFact]
    public void HealthyRunReportRendersWithoutWarning()
    {
        var run = runs.Healthy;
        AssertSelfContained(File.ReadAllText(run.Report));
        var shot = Render(run.Report, "screenshot.png");

        Assert.Equal(Width, shot.Width);
        Assert.Equal(Height, shot.Height);
        Assert.True(shot.GreyVariance() > 100, $"grey variance {shot.GreyVariance():F1}: the page looks blank");
        Assert.Equal(0, shot.Count(WarningRed.R, WarningRed.G, WarningRed.B, 12, top: 0, bottom: 400));
        Assert.True(shot.Count(PlotBlue.R, PlotBlue.G, PlotBlue.B, 12, top: 400) > 2000);
    }
}
