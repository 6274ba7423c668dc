using System.Globalization;
using Pretext.Cli;
using Pretext.Runs;

namespace Pretext.Tests.Cli;

/// <summary>Numbers and ranges on the command line (issue 24: culture-dependent decimals, 0 and negative counts).</summary>
[Collection("console")]
public class OptionValueTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    /// <summary>
    /// de-DE number formatting: ',' before the decimals and '.' grouping thousands. The real culture when ICU is there;
    /// where .NET runs in invariant globalization mode (this repository's default) a copy of the invariant culture with
    /// the German separators, which is what the parser sees on such a machine.
    /// </summary>
    private static CultureInfo German()
    {
        try
        {
            var de = new CultureInfo("de-DE");
            if (de.NumberFormat.NumberDecimalSeparator == ",") return de;
        }
        catch (CultureNotFoundException) { }
        var c = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        c.NumberFormat.NumberDecimalSeparator = ",";
        c.NumberFormat.NumberGroupSeparator = ".";
        return c;
    }

    private static T UnderGermanCulture<T>(Func<T> f)
    {
        var old = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = German();
        try { return f(); }
        finally { CultureInfo.CurrentCulture = old; }
    }

    [Fact]
    public void DecimalsReadTheSameUnderAGermanCulture()
    {
        var parsed = UnderGermanCulture(() => PretextCli.Parse(["pretrain", "--lr", "0.5", "--weight-decay", "1e-4", "--minutes", "2.5", "--max-steps", "7"]));
        Assert.Empty(parsed.Errors);
        Assert.Equal(0.5, parsed.GetValue<double?>("--lr"));
        Assert.Equal(1e-4, parsed.GetValue<double?>("--weight-decay"));
        Assert.Equal(2.5, parsed.GetValue<double?>("--minutes"));
        Assert.Equal(7L, parsed.GetValue<long?>("--max-steps"));
        // Options with a default value (not nullable) too.
        var quick = UnderGermanCulture(() => PretextCli.Parse(["quickstart", "--minutes", "1.5"]));
        Assert.Empty(quick.Errors);
        Assert.Equal(1.5, quick.GetValue<double>("--minutes"));
    }

    [Theory]
    [InlineData("0,5", "0.5")]
    [InlineData("1,000", "1.000")]
    public void ADecimalCommaIsRefusedWithTheFix(string given, string fix)
    {
        foreach (bool german in new[] { true, false })
        {
            // A data set that does not exist: should the number ever parse again, the run stops at once instead of training.
            string[] args = ["pretrain", "--lr", given, "--dataset", Path.Combine(Path.GetTempPath(), "pretext-none-" + Guid.NewGuid().ToString("N"))];
            var (code, output, err) = german ? UnderGermanCulture(() => Run(args)) : Run(args);
            Assert.Equal(2, code);
            Assert.StartsWith("error: --lr", err);
            Assert.Contains($"write {fix}", err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.DoesNotContain("Usage:", output + err);
        }
    }

    [Fact]
    public void WholeNumberOptionsNameTheOptionNotADotNetType()
    {
        var (code, _, err) = Run("pretrain", "--epochs", "1.5");
        Assert.Equal(2, code);
        Assert.Contains("--epochs takes a whole number", err);
        Assert.DoesNotContain("System.", err);
        var (code2, _, err2) = Run("pretrain", "--no-such-option", "3");
        Assert.Equal(2, code2);
        Assert.StartsWith("error:", err2);
        Assert.Contains("pretext pretrain --help", err2);
    }

    [Fact]
    public void SetRefusesADecimalCommaAndReadsADot()
    {
        var cfg = Presets.For("simclr", "fashion-mnist");
        var e = UnderGermanCulture(() => Assert.Throws<ArgumentException>(() => ConfigOverrides.Apply(cfg, ["train.learning_rate=0,5"])));
        Assert.Contains("train.learning_rate=0.5", e.Message);
        Assert.Equal(0.5, UnderGermanCulture(() => ConfigOverrides.Apply(cfg, ["train.learning_rate=0.5"])).Train.LearningRate);
        var (code, _, err) = UnderGermanCulture(() => Run("pretrain", "--set", "train.learning_rate=0,5", "--dataset", Path.Combine(Path.GetTempPath(), "pretext-none-" + Guid.NewGuid().ToString("N")), "--run-dir", Path.Combine(Path.GetTempPath(), "pretext-never-" + Guid.NewGuid().ToString("N"))));
        Assert.Equal(2, code);
        Assert.Contains("write train.learning_rate=0.5", err);
    }

    [Theory]
    [InlineData("pretrain", "--threads", "0")]
    [InlineData("pretrain", "--threads", "-2")]
    [InlineData("evaluate", "--threads", "0")]
    [InlineData("embed", "--threads", "0")]
    [InlineData("quickstart", "--threads", "0")]
    public void ZeroOrNegativeThreadsIsAnErrorNotAnAbort(string command, string option, string value)
    {
        using var dir = new TempDirectory();
        string[] extra = command switch
        {
            "evaluate" => ["--checkpoint", dir.File("x.safetensors")],
            "embed" => ["--checkpoint", dir.File("x.safetensors"), "--out", dir.File("e.csv")],
            _ => ["--run-dir", dir.File("run")],
        };
        var (code, _, err) = Run([command, option, value, .. extra]);
        Assert.Equal(2, code);
        Assert.StartsWith($"error: --threads must be at least 1, got {value}", err);
        Assert.False(Directory.Exists(dir.File("run")));
    }

    [Theory]
    [InlineData("--max-steps", "0", "leave it out to train for --epochs")]
    [InlineData("--max-steps", "-5", "leave it out to train for --epochs")]
    [InlineData("--checkpoint-every", "0", "the last step always writes a checkpoint")]
    [InlineData("--checkpoint-every", "-1", "the last step always writes a checkpoint")]
    [InlineData("--keep-checkpoints", "0", "at least 1")]
    public void ZeroStepCountsAreRefusedNotReadAsNoLimit(string option, string value, string hint)
    {
        using var dir = new TempDirectory();
        var (code, _, err) = Run("pretrain", option, value, "--run-dir", dir.File("run"), "--threads", "1");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {option} must be", err);
        Assert.Contains(hint, err);
        Assert.False(Directory.Exists(dir.File("run")));
    }
}
