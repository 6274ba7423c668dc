using Pretext.Runs;
using Pretext.Tests.Cli;

namespace Pretext.Tests.Serving;

/// <summary>`pretext serve` on the command line: complete help, and mistakes refused before anything loads.</summary>
[Collection("console")]
public class ServeCliTests
{
    [Fact]
    public void HelpNamesEveryOptionAndTheDefaults()
    {
        var (code, o, e) = CliRunner.Run("serve", "--help");
        Assert.True(code == 0, o + e);
        foreach (var option in new[] { "--checkpoint", "--reference", "--host", "--port", "--api-key", "--no-api-key", "--k", "--max-neighbors", "--max-items",
                     "--max-body-kb", "--max-batch", "--max-wait-ms", "--max-queue", "--threads", "PRETEXT_API_KEY", "X-Api-Key", "5080", "127.0.0.1" })
            Assert.Contains(option, o);
    }

    [Fact]
    public void WithoutAKeyOrWithoutLoopbackItRefusesToStart()
    {
        var previous = Environment.GetEnvironmentVariable("PRETEXT_API_KEY");
        Environment.SetEnvironmentVariable("PRETEXT_API_KEY", null);
        try
        {
            using var dir = new TempDirectory();
            var missing = dir.File("no-such.safetensors");
            var (c1, _, e1) = CliRunner.Run("serve", "--threads", "1", "--checkpoint", missing);
            Assert.Equal(2, c1);
            Assert.Contains("needs an API key", e1);
            var (c2, _, e2) = CliRunner.Run("serve", "--threads", "1", "--checkpoint", missing, "--no-api-key", "--host", "0.0.0.0");
            Assert.Equal(2, c2);
            Assert.Contains("loopback only", e2);
            var (c3, _, e3) = CliRunner.Run("serve", "--threads", "1", "--checkpoint", missing, "--api-key", "k", "--no-api-key");
            Assert.Equal(2, c3);
            Assert.Contains("not both", e3);
            var (c4, _, e4) = CliRunner.Run("serve", "--threads", "1", "--checkpoint", missing, "--no-api-key");
            Assert.Equal(2, c4);
            Assert.Contains("does not exist", e4);
            Environment.SetEnvironmentVariable("PRETEXT_API_KEY", "from-the-environment");
            var (c5, _, e5) = CliRunner.Run("serve", "--threads", "1", "--checkpoint", missing, "--max-items", "0");
            Assert.Equal(2, c5);
            Assert.Contains("--max-items", e5);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PRETEXT_API_KEY", previous);
        }
    }

    [Fact]
    public void TheLibraryStaysFreeOfAspNetCore() =>
        Assert.DoesNotContain(typeof(RunConfig).Assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
}
