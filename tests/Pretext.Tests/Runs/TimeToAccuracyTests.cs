using System.Globalization;
using System.Text.Json.Nodes;
using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>
/// Time to accuracy (Pretext.Bench time-to-accuracy): the first checkpoint at or above a threshold, pretraining seconds from a
/// metrics.csv less checkpoint writes, the peer's manifest, and a state dict the PyTorch peer saved coming in through
/// `pretext import` with the peer's own embeddings.
/// </summary>
public class TimeToAccuracyTests
{
    private static readonly CurvePoint[] Curve =
    [
        new(100, 2.0, 70.1), new(200, 4.0, 84.99), new(300, 6.0, 85.0), new(400, 8.0, 84.2), new(500, 10.0, 88.3), new(600, 12.0, 89.0),
    ];

    [Fact]
    public void TheFirstCheckpointAtOrAboveTheThresholdIsTheAnswerEvenWhenTheCurveDipsLater()
    {
        Assert.Equal(new CurvePoint(300, 6.0, 85.0), TimeToAccuracy.FirstAtOrAbove(Curve, 85));
        Assert.Equal(new CurvePoint(500, 10.0, 88.3), TimeToAccuracy.FirstAtOrAbove(Curve, 88));
        Assert.Equal(new CurvePoint(100, 2.0, 70.1), TimeToAccuracy.FirstAtOrAbove(Curve, 50));
        Assert.Null(TimeToAccuracy.FirstAtOrAbove(Curve, 89.5));
        Assert.Null(TimeToAccuracy.FirstAtOrAbove([], 85));
    }

    [Fact]
    public void PointsAreTakenInOrderOfPretrainingTimeAndUnmeasuredOnesAreSkipped()
    {
        var shuffled = new[] { Curve[5], Curve[2], Curve[4], Curve[0], new CurvePoint(250, double.NaN, 95), new CurvePoint(260, 5.0, double.NaN), Curve[1] };
        Assert.Equal(300, TimeToAccuracy.FirstAtOrAbove(shuffled, 85)!.Step);
        Assert.Equal(500, TimeToAccuracy.FirstAtOrAbove(shuffled, 88)!.Step);
    }

    [Fact]
    public void CheckpointWritesAreTakenOutOfThePretrainingTimeAndResumedSessionsAddUp()
    {
        // 1 s a step; a checkpoint after steps 3 and 6 costs 0.5 s (seen in the next step's interval); the run is killed after
        // step 8 and resumed from step 6: metrics.csv keeps steps 1-6, then the new session's clock starts again at step 7.
        var rows = new List<(long, double)>();
        double t = 0;
        for (long s = 1; s <= 6; s++)
        {
            t += 1 + (s is 4 ? 0.5 : 0);
            rows.Add((s, t));
        }
        for (long s = 7; s <= 12; s++)
            rows.Add((s, 1.2 + (s - 7) + (s > 9 ? 0.5 : 0)));   // first step 1.2 s (start-up), a write after step 9
        var seconds = TimeToAccuracy.PretrainSeconds(rows, s => s % 3 == 0);
        Assert.Equal(3.0, seconds[3], 9);
        Assert.Equal(4.0, seconds[4], 9);   // the write after step 3 is gone
        Assert.Equal(6.0, seconds[6], 9);
        Assert.Equal(7.2, seconds[7], 9);   // the second session starts from the first's last reading
        Assert.Equal(9.2, seconds[9], 9);
        Assert.Equal(10.2, seconds[10], 9);
        Assert.Equal(12.2, seconds[12], 9);
        // Nothing written: the clock as it is.
        var raw = TimeToAccuracy.PretrainSeconds(rows, _ => false);
        Assert.Equal(6.5, raw[6], 9);
        Assert.Equal(13.2, raw[12], 9);
    }

    [Fact]
    public void APretextRunsCheckpointsGetTheirStepsTimeFromMetricsCsvLessTheWritesOfEveryCheckpoint()
    {
        // A run that wrote a checkpoint every 2 steps and kept the last two: the writes of the deleted ones cost time too.
        using var dir = new TempDirectory();
        var cfg = Presets.For("simclr", "fashion-mnist", threads: 1);
        cfg = cfg with { Train = cfg.Train with { CheckpointEvery = 2, KeepCheckpoints = 2 } };
        File.WriteAllText(dir.File("config.json"), cfg.ToJson());
        Directory.CreateDirectory(dir.Combine("checkpoints"));
        foreach (var step in new[] { 4, 6 }) File.WriteAllText(dir.File(Path.Combine("checkpoints", $"step-{step:D8}.safetensors")), "");
        using (var log = Pretext.Reporting.MetricsLog.Create(dir.File("metrics.csv"), Pretraining.MetricColumns))
        {
            double t = 0;
            for (int s = 1; s <= 6; s++)
            {
                t += 2 + (s is 3 or 5 ? 0.25 : 0);   // 2 s a step, 0.25 s more after each write (steps 2 and 4)
                log.Append(new Dictionary<string, double> { ["step"] = s, ["epoch"] = 0, ["loss"] = 1, ["lr"] = 0.1, ["collapse_std"] = 0.5, ["samples_per_second"] = 1, ["elapsed_seconds"] = t });
            }
        }
        var saves = TimeToAccuracy.PretextCheckpoints(dir.Path);
        Assert.Equal([4L, 6L], saves.Select(s => s.Step));
        Assert.Equal(8.0, saves[0].PretrainSeconds, 9);
        Assert.Equal(12.0, saves[1].PretrainSeconds, 9);
        Assert.EndsWith("step-00000006.safetensors", saves[1].Path);
    }

    [Fact]
    public void ThePeersManifestListsItsSavesInStepOrderAndAMissingFileIsNamed()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("step-00000004.pt"), "x");
        File.WriteAllText(dir.File("step-00000002.pt"), "x");
        var manifest = new JsonObject
        {
            ["format"] = TimeToAccuracy.PeerFormat, ["widths"] = new JsonArray(8, 16), ["blocks"] = new JsonArray(1, 1),
            ["saves"] = new JsonArray(
                new JsonObject { ["step"] = 4, ["pretrain_seconds"] = 9.5, ["file"] = "step-00000004.pt" },
                new JsonObject { ["step"] = 2, ["pretrain_seconds"] = 4.25, ["file"] = "step-00000002.pt" }),
        };
        File.WriteAllText(dir.File("manifest.json"), manifest.ToJsonString());
        var run = TimeToAccuracy.PeerCheckpoints(dir.Path);
        Assert.Equal([8, 16], run.Widths);
        Assert.Equal([1, 1], run.Blocks);
        Assert.Equal([2L, 4L], run.Saves.Select(s => s.Step));
        Assert.Equal([4.25, 9.5], run.Saves.Select(s => s.PretrainSeconds));
        Assert.Equal(dir.File("step-00000002.pt"), run.Saves[0].Path);

        File.Delete(dir.File("step-00000004.pt"));
        var e = Assert.Throws<ArgumentException>(() => TimeToAccuracy.PeerCheckpoints(dir.Path));
        Assert.Contains("step-00000004.pt", e.Message);
        File.WriteAllText(dir.File("manifest.json"), "{\"format\": \"other\"}");
        Assert.Throws<ArgumentException>(() => TimeToAccuracy.PeerCheckpoints(dir.Path));
    }

    private static string Script => PeerScriptTests.Script;

    /// <summary>An IDX image file of <paramref name="n"/> random 28x28 images; returns the pixels.</summary>
    private static byte[] WriteIdx(string folder, int n)
    {
        var bytes = new byte[16 + n * 28 * 28];
        void Int(int at, int v) { bytes[at] = (byte)(v >> 24); bytes[at + 1] = (byte)(v >> 16); bytes[at + 2] = (byte)(v >> 8); bytes[at + 3] = (byte)v; }
        Int(0, 2051); Int(4, n); Int(8, 28); Int(12, 28);
        new Random(5).NextBytes(bytes.AsSpan(16));
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte"), bytes);
        return bytes[16..];
    }

    [PyTorchFact]
    public void AStateDictThePeerSavedImportsAndGivesThePeersEmbeddings()
    {
        torch.set_num_threads(1);
        using var dir = new TempDirectory();
        var pixels = WriteIdx(dir.Path, 48);
        string peerDir = dir.Combine("peer");
        var log = PythonTorch.Run(dir.Path, Script, "--out", peerDir, "--data", dir.Path, "--widths", "8,16", "--blocks", "1,2", "--batch", "16",
            "--threads", "1", "--workers", "0", "--max-steps", "3", "--save-every", "2", "--layout", "ChannelsLast");
        Assert.Contains("simclr_pretrain_peer", log);

        var run = TimeToAccuracy.PeerCheckpoints(peerDir);
        Assert.Equal([2L, 3L], run.Saves.Select(s => s.Step));   // every 2 steps, and the last
        Assert.True(run.Saves[0].PretrainSeconds > 0 && run.Saves[1].PretrainSeconds > run.Saves[0].PretrainSeconds);

        // An export of a Pretext encoder of the peer's layout is the template import reads the state dict into.
        var cfg = Presets.For("simclr", "fashion-mnist", threads: 1);
        cfg = cfg with
        {
            Encoder = cfg.Encoder with { Widths = run.Widths, Blocks = run.Blocks, Precision = Precision.Float32, Layout = MemoryLayout.ChannelsLast },
            Methods = new MethodSettings { SimClr = new SimClrOptions { ProjectionDim = 8 } },
        };
        string export = dir.Combine("export");
        using (var encoder = cfg.Encoder.Build()) PyTorchInterchange.Export(encoder, cfg, export);
        var imported = PyTorchInterchange.Import(export, run.Saves[1].Path, dir.Combine("imported"));
        Assert.Equal(EncoderKind.ResNet, imported.Kind);

        const int count = 6;
        var peerJson = JsonNode.Parse(PythonTorch.Run(dir.Path, Script, "--embed", run.Saves[1].Path, "--data", dir.Path, "--count", count.ToString(CultureInfo.InvariantCulture),
            "--widths", "8,16", "--blocks", "1,2", "--threads", "1"))!["features"]!.AsArray();
        var (method, loaded, _) = Pretraining.LoadMethod(imported.Checkpoint);
        using (method)
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
        {
            method.Encoder.eval();
            var images = tensor(pixels[..(count * 28 * 28)].Select(b => b / 255f).ToArray(), [count, 1, 28, 28]);
            var ours = method.Encoder.forward(loaded.Augment.BuildNormalize().Apply(images));
            var theirs = tensor(peerJson.SelectMany(r => r!.AsArray().Select(v => (float)v!.GetValue<double>())).ToArray(), [count, 16]);
            Assert.Equal(new long[] { count, 16 }, ours.shape);
            double largest = theirs.abs().max().item<float>();
            double diff = ours.sub(theirs).abs().max().item<float>();
            Assert.True(largest > 0.1, $"features near zero would make the comparison weak: {largest}");
            Assert.True(diff <= 1e-4 * Math.Max(1, largest), $"largest difference {diff} (largest feature {largest})");
        }
    }
}
