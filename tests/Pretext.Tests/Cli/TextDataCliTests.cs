namespace Pretext.Tests.Cli;

[Collection("console")]
public class TextDataCliTests
{
    [Fact]
    public void DataListAndGetKnowTheTextCorpora()
    {
        var (code, output, _) = CliRunner.Run("data", "list");
        Assert.Equal(0, code);
        Assert.Contains("spamassassin", output);
        Assert.Contains("wordnet", output);

        var (code2, _, err) = CliRunner.Run("data", "get", "no-such-corpus");
        Assert.Equal(2, code2);
        Assert.Contains("spamassassin, wordnet", err);

        using var dir = new TempDirectory();
        var (code3, output3, _) = CliRunner.Run("data", "get", "WordNet", "--data-dir", dir.Path);
        Assert.Equal(0, code3);
        Assert.Contains("wordnet: ready in", output3);
        Assert.True(File.Exists(dir.File("wordnet/data.noun")));
    }
}
