using Pretext.Runs;
using Pretext.Tests.Training;

namespace Pretext.Tests.Cli;

/// <summary>Every command that loads a checkpoint refuses one with non-finite weights: one error line, exit 2, nothing written.</summary>
[Collection("console")]
public class CheckpointFaultCliTests
{
    [Fact]
    public void CommandsRefuseACheckpointWithNaNWeights()
    {
        TorchSharp.torch.set_num_threads(1);
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var good = Pretraining.Run(TrainingLoopTests.Tiny(steps: 3, checkpointEvery: 3), data, dir.File("run"), resume: false).FinalCheckpoint;
        var bad = dir.File("bad.safetensors");
        var tensor = CheckpointFaultTests.WriteWithNaN(good, bad);
        var csv = dir.File("out.csv");
        File.WriteAllText(dir.File("in.csv"), "time,value\n1,2\n");
        string[][] commands =
        [
            ["embed", "--checkpoint", bad, "--out", csv],
            ["evaluate", "--checkpoint", bad, "--out-dir", dir.File("eval")],
            ["score", "--checkpoint", bad, "--out", csv],
            ["curate", "--checkpoint", bad, "--out", csv],
            ["stream", "--checkpoint", bad, "--state", dir.File("state"), "--input", dir.File("in.csv"), "--out", csv],
        ];
        foreach (var args in commands)
        {
            var (code, output, err) = CliRunner.Run([.. args, "--threads", "1"]);
            Assert.True(code == 2, $"{args[0]}: exit {code}\n{output}\n{err}");
            Assert.StartsWith("error: Checkpoint", err);
            Assert.Contains(bad, err);
            Assert.Contains($"'{tensor}'", err);
            Assert.DoesNotContain("   at ", output + err);
            Assert.False(File.Exists(csv), args[0]);
            Assert.False(Directory.Exists(dir.File("eval")), args[0]);
        }
    }
}
