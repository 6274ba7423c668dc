using Pretext.Compute;
using Pretext.Runs;
using Pretext.Tests.Data.Tables;
using TorchSharp;

namespace Pretext.Tests.Cli;

/// <summary>`pretrain --config`, `--device` and `pretext info` on the command line.</summary>
[Collection("console")]
public class ConfigAndDeviceCliTests
{
    [Fact]
    public void PretrainTakesAYamlConfigAndTheCommandLineOverridesIt()
    {
        using var dir = new TempDirectory();
        var table = TestTables.WriteCsv(dir.File("customers.csv"), 150);
        var config = dir.File("run.yaml");
        File.WriteAllText(config, $"""
            method: scarf
            dataset: '{table}'
            table:
              columns:
                id: id
            encoder:
              table:
                hidden: [16, 8]
            train:
              max_steps: 3
              batch_size: 32
              checkpoint_every: 100
            """);
        var run = dir.Combine("run");
        var (code, output, err) = CliRunner.Run("pretrain", "--config", config, "--run-dir", run, "--max-steps", "2", "--threads", "1");
        Assert.True(code == 0, output + err);
        Assert.Contains("Done: 2 steps", output);                     // --max-steps over the file's 3
        var resolved = Pretraining.Recorded(run)!;
        Assert.Equal("scarf", resolved.Method);
        Assert.Equal(table, resolved.Dataset);
        Assert.Equal(32, resolved.Train.BatchSize);
        Assert.Equal(2, resolved.Train.MaxSteps);
        Assert.Equal(1, resolved.Train.Threads);
        Assert.Equal([16, 8], resolved.Encoder.Table.Hidden);
        Assert.Single(Directory.GetFiles(run, "events.out.tfevents.*"));
    }

    [Fact]
    public void ABadConfigFileIsOneLineNamingTheFileAndKey()
    {
        using var dir = new TempDirectory();
        var config = dir.File("run.json");
        File.WriteAllText(config, """{"train": {"batchsise": 32}}""");
        var (code, output, err) = CliRunner.Run("pretrain", "--config", config, "--run-dir", dir.Combine("run"), "--threads", "1");
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err);
        Assert.Contains(config, err);
        Assert.Contains("'Train.batchsise'", err);
        Assert.Contains("Did you mean 'BatchSize'", err);
        Assert.DoesNotContain("   at ", err + output);
        Assert.False(Directory.Exists(dir.Combine("run")));
    }

    [Fact]
    public void DeviceNamesParseAndMissingGpusNameTheFix()
    {
        Assert.Equal(DeviceType.CPU, ComputeDevice.Parse("cpu").type);
        Assert.Equal(DeviceType.CPU, ComputeDevice.Parse(" CPU ", 0).type);
        var second = ComputeDevice.Parse("cuda:1", cudaDevices: 2);
        Assert.Equal((DeviceType.CUDA, 1), (second.type, second.index));
        Assert.Equal(0, ComputeDevice.Parse("cuda", cudaDevices: 1).index);
        Assert.Contains("cuda:0 to cuda:1", Assert.Throws<ArgumentException>(() => ComputeDevice.Parse("cuda:2", cudaDevices: 2)).Message);
        Assert.Contains("use cpu, cuda", Assert.Throws<ArgumentException>(() => ComputeDevice.Parse("gpu", cudaDevices: 1)).Message);
        var none = Assert.Throws<ArgumentException>(() => ComputeDevice.Parse("cuda", cudaDevices: 0));
        Assert.Contains("no CUDA device", none.Message);
        Assert.Contains("docs/gpu.md", none.Message);
    }

    [Fact]
    public void CudaOnACpuBuildIsAOneLineErrorAndInfoSaysWhy()
    {
        // The projects reference the CPU build of libtorch; on a CUDA build this test has nothing to check.
        if (ComputeDevice.CudaDeviceCount() > 0) return;
        using var dir = new TempDirectory();
        var (c1, _, e1) = CliRunner.Run("embed", "--checkpoint", dir.File("none.safetensors"), "--out", dir.File("e.csv"), "--device", "cuda");
        Assert.Equal(2, c1);
        Assert.StartsWith("error: --device cuda: no CUDA device", e1);
        Assert.Contains("libtorch-cpu-linux-x64", e1);
        Assert.Single(e1.Trim().Split('\n'));

        var (c2, _, e2) = CliRunner.Run("pretrain", "--device", "cuda:0", "--run-dir", dir.Combine("run"), "--threads", "1");
        Assert.Equal(2, c2);
        Assert.Contains("no CUDA device", e2);

        var (c3, o3, e3) = CliRunner.Run("info");
        Assert.True(c3 == 0, o3 + e3);
        Assert.Contains("libtorch: loaded", o3);
        Assert.Contains("devices: cpu (no CUDA", o3);
    }
}
