
namespace Pretext.Tests.Cli;

[Collection("console")]
public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData("quickstart")]
    [InlineData("pretrain")]
    [InlineData("evaluate")]
    [InlineData("embed")]
    [InlineData("export")]
    [InlineData("import")]
    [InlineData("data")]
    [InlineData("methods")]
    [InlineData("curate")]
    public void EveryCommandHasHelp(string command)
    {
        var (code, output, _) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
    }

    [Fact]
    public void MethodsListsSimClr()
    {
        var (code, output, _) = Run("methods");
        Assert.Equal(0, code);
        Assert.Contains("simclr", output);
    }

    [Fact]
    public void UserMistakesGiveOneLineErrorAndNonZeroExit()
    {
        using var dir = new TempDirectory();
        var missing = dir.File("nope.safetensors");
        var (code, output, err) = Run("evaluate", "--checkpoint", missing);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err);
        Assert.Contains(missing, err);
        Assert.DoesNotContain("   at ", err + output);

        var (code2, _, err2) = Run("pretrain", "--dataset", dir.File("no-such-folder"), "--run-dir", dir.File("run"));
        Assert.Equal(2, code2);
        Assert.Contains("no such file or folder exists", err2);

        var (code3, _, err3) = Run("data", "get", "cifar-10");
        Assert.Equal(2, code3);
        Assert.Contains("fashion-mnist", err3);

        var (code4, _, err4) = Run("pretrain", "--widths", "a,b", "--run-dir", dir.File("run2"));
        Assert.Equal(2, code4);
        Assert.Contains("--widths", err4);
    }
}
