using Pretext.Runs;
using Pretext.Training;

namespace Pretext.Tests.Runs;

/// <summary>`pretrain --config FILE`: the file over the preset, the command line over the file, errors that name the file, key and fix.</summary>
public class ConfigFileTests
{
    private static string Write(TempDirectory dir, string name, string text)
    {
        var path = dir.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void JsonFileLiesOverThePresetAndOptionsOverTheFile()
    {
        using var dir = new TempDirectory();
        var path = Write(dir, "run.json", """
            // comments and trailing commas are allowed
            {
              "method": "simclr",
              "dataset": "mnist",
              "train": { "epochs": 2, "batch_size": 64, "optimizer": { "kind": "AdamW" }, },
              "methods": { "simclr": { "temperature": 0.3 } },
            }
            """);
        var preset = Presets.For("simclr", "mnist");
        var fromFile = new PretrainRequest { ConfigFile = path, Threads = 1 }.Resolve();
        Assert.Equal("mnist", fromFile.Dataset);
        Assert.Equal(2, fromFile.Train.Epochs);
        Assert.Equal(64, fromFile.Train.BatchSize);
        Assert.Equal(OptimizerKind.AdamW, fromFile.Train.Optimizer.Kind);
        Assert.Equal(0.3, fromFile.Methods.SimClr.Temperature);
        Assert.Equal(preset.Train.LearningRate, fromFile.Train.LearningRate);   // not in the file: the preset's
        Assert.True(preset.Train.MinSteps > 0);
        Assert.Equal(0, fromFile.Train.MinSteps);                               // a length the file gives is the length
        Assert.Equal(preset.Encoder.Widths, fromFile.Encoder.Widths);

        var overridden = new PretrainRequest
        {
            ConfigFile = path, Threads = 1, Epochs = 3, Temperature = 0.5, Dataset = "fashion-mnist", Set = ["train.batch_size=32"],
        }.Resolve();
        Assert.Equal("fashion-mnist", overridden.Dataset);
        Assert.Equal(3, overridden.Train.Epochs);
        Assert.Equal(0.5, overridden.Methods.SimClr.Temperature);
        Assert.Equal(32, overridden.Train.BatchSize);
        Assert.Equal(OptimizerKind.AdamW, overridden.Train.Optimizer.Kind);   // the file's, where the command line says nothing
    }

    [Fact]
    public void YamlFileReadsLikeTheSameJson()
    {
        using var dir = new TempDirectory();
        var yaml = Write(dir, "run.yaml", """
            # a SimCLR run on MNIST
            method: simclr
            dataset: mnist
            transductive: true
            train:
              epochs: 2
              learning_rate: 0.5
              optimizer:
                kind: sgd
                weight_decay: 1e-5
            encoder:
              widths: [8, 16, 32, 64]
            methods:
              simclr:
                temperature: .25
            """);
        var json = Write(dir, "run.json", """
            {"method": "simclr", "dataset": "mnist", "transductive": true,
             "train": {"epochs": 2, "learningRate": 0.5, "optimizer": {"kind": "Sgd", "weightDecay": 1e-5}},
             "encoder": {"widths": [8, 16, 32, 64]}, "methods": {"simclr": {"temperature": 0.25}}}
            """);
        var fromYaml = new PretrainRequest { ConfigFile = yaml, Threads = 1 }.Resolve();
        var fromJson = new PretrainRequest { ConfigFile = json, Threads = 1 }.Resolve();
        Assert.Equal(fromJson.ToJson(), fromYaml.ToJson());
        Assert.True(fromYaml.Transductive);
        Assert.Equal(OptimizerKind.Sgd, fromYaml.Train.Optimizer.Kind);
        Assert.Equal(1e-5, fromYaml.Train.Optimizer.WeightDecay);
        Assert.Equal([8, 16, 32, 64], fromYaml.Encoder.Widths);
    }

    [Fact]
    public void AFileWithoutALengthKeepsThePresetsMinimumSteps()
    {
        using var dir = new TempDirectory();
        var path = Write(dir, "run.json", """{"methods": {"simclr": {"temperature": 0.3}}}""");
        Assert.Equal(Presets.ImageMinSteps, new PretrainRequest { ConfigFile = path, Threads = 1 }.Resolve().Train.MinSteps);
    }

    [Fact]
    public void ARunsOwnConfigJsonReproducesItsConfig()
    {
        using var dir = new TempDirectory();
        var original = new PretrainRequest { Dataset = "mnist", Method = "byol", Threads = 1, Epochs = 1, Set = ["train.batch_size=32"] }.Resolve();
        var path = Write(dir, "config.json", original.ToJson());
        var again = new PretrainRequest { ConfigFile = path, Threads = 1 }.Resolve();
        Assert.Equal(original.ToJson(), again.ToJson());
    }

    [Theory]
    [InlineData("run.json", """{"train": {"epochz": 2}}""", "'Train.epochz'", "Did you mean 'Epochs'")]
    [InlineData("run.json", """{"methods": {"simclr": {"temprature": 0.1}}}""", "'Methods.SimClr.temprature'", "Temperature")]
    [InlineData("run.json", """{"train": {"epochs": "two"}}""", "'Train.Epochs' takes a number", "the text \"two\"")]
    [InlineData("run.json", """{"train": 3}""", "'Train' is a section", "Give the keys inside it")]
    [InlineData("run.json", """{"train": {"epochs": 2,, }}""", "line 1: not valid JSON", "Fix the syntax")]
    [InlineData("run.json", "[1, 2]", "keys and values at the top", "a list")]
    [InlineData("run.yaml", "train:\n  epochs: [1\n", "not valid YAML", "line")]
    [InlineData("run.yaml", "train:\n  epochs: 2\n  epochs: 3\n", "a key is given twice", "line 3")]
    [InlineData("run.toml", "epochs = 2", "name the file .json, .yaml or .yml", "--config")]
    public void MistakesNameTheFileTheKeyAndTheFix(string name, string text, string expected, string alsoExpected)
    {
        using var dir = new TempDirectory();
        var path = Write(dir, name, text);
        var e = Assert.Throws<InvalidDataException>(() => new PretrainRequest { ConfigFile = path, Threads = 1 }.Resolve());
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(alsoExpected, e.Message);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => new PretrainRequest { ConfigFile = dir.File("nope.yaml") }.Resolve());
        Assert.Contains(dir.File("nope.yaml"), e.Message);
    }
}
