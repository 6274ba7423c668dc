namespace Pretext.Tests.Cli;

[Collection("console")]
public class MethodListTests
{
    [Fact]
    public void MethodsListsEveryRegisteredMethodWithItsFamily()
    {
        var (code, output, _) = CliRunner.Run("methods");
        Assert.Equal(0, code);
        var lines = output.Split('\n');
        foreach (var (name, family) in new[] { ("mocov2", "contrastive"), ("mocov3", "contrastive"), ("nnclr", "contrastive"), ("byol", "non-contrastive"), ("simsiam", "non-contrastive") })
            Assert.Contains(lines, l => l.StartsWith(name + " ", StringComparison.Ordinal) && l.Contains(" " + family + " "));
    }
}
