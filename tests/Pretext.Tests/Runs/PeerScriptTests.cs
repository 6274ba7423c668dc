using System.Globalization;
using System.Text.Json.Nodes;
using Pretext.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>
/// bench/peer/simclr_peer.py, the plain PyTorch SimCLR loop `Pretext.Bench peer` compares against: it trains and reports the
/// step bench's fields, and its NT-Xent is Pretext's on the same embeddings.
/// </summary>
public class PeerScriptTests
{
    /// <summary>bench/peer/simclr_peer.py of this checkout.</summary>
    internal static string Script
    {
        get
        {
            var root = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(root, "Pretext.slnx")))
                root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException($"No Pretext.slnx above {AppContext.BaseDirectory}.");
            return Path.Combine(root, "bench", "peer", "simclr_peer.py");
        }
    }

    /// <summary>An uncompressed IDX image file of <paramref name="n"/> random 28x28 images (what the script reads Fashion-MNIST from).</summary>
    private static void WriteIdx(string folder, int n)
    {
        var bytes = new byte[16 + n * 28 * 28];
        void Int(int at, int v) { bytes[at] = (byte)(v >> 24); bytes[at + 1] = (byte)(v >> 16); bytes[at + 2] = (byte)(v >> 8); bytes[at + 3] = (byte)v; }
        Int(0, 2051); Int(4, n); Int(8, 28); Int(12, 28);
        new Random(3).NextBytes(bytes.AsSpan(16));
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte"), bytes);
    }

    [PyTorchTheory]
    [InlineData("Float32", "Contiguous", 1)]
    [InlineData("BFloat16", "ChannelsLast", 0)]
    public void TwoStepsPrintTheStepBenchFields(string precision, string layout, int workers)
    {
        using var dir = new TempDirectory();
        WriteIdx(dir.Path, 32);
        var stdout = PythonTorch.Run(dir.Path, Script, "--data", dir.Path, "--batch", "8", "--steps", "2", "--warmup", "1", "--threads", "1",
            "--widths", "8,16", "--blocks", "1,1", "--precision", precision, "--layout", layout, "--workers", workers.ToString(CultureInfo.InvariantCulture));
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        var json = JsonNode.Parse(lines[0])!.AsObject();
        foreach (var field in new[] { "samples_per_second", "step_ms", "peak_rss_mb", "threads", "batch", "widths", "blocks", "precision", "layout",
                     "steps_measured", "data", "cpu_seconds" })
            Assert.True(json.ContainsKey(field), $"missing field {field}: {lines[0]}");
        Assert.Equal("simclr_step_peer", json["bench"]!.GetValue<string>());
        Assert.True(json["samples_per_second"]!.GetValue<double>() > 0);
        // Samples per second is the batch over the median step (both rounded to 0.1 in the output).
        Assert.InRange(json["samples_per_second"]!.GetValue<double>() * json["step_ms"]!.GetValue<double>() / 8000, 0.99, 1.01);
        Assert.True(json["peak_rss_mb"]!.GetValue<double>() > 50);
        Assert.True(json["cpu_seconds"]!.GetValue<double>() > 0);
        Assert.Equal(2, json["steps_measured"]!.GetValue<int>());
        Assert.Equal(1, json["threads"]!.GetValue<int>());
        Assert.Equal(8, json["batch"]!.GetValue<int>());
        Assert.Equal("8-16", json["widths"]!.GetValue<string>());
        Assert.Equal(precision, json["precision"]!.GetValue<string>());
        Assert.Equal(layout, json["layout"]!.GetValue<string>());
        Assert.True(double.IsFinite(json["last_loss"]!.GetValue<double>()));
    }

    [PyTorchFact]
    public void NtXentEqualsPretextsOnTheSameEmbeddings()
    {
        using var dir = new TempDirectory();
        using var g = new Generator(11);
        using var z1 = randn([8, 16], generator: g);
        using var z2 = randn([8, 16], generator: g).mul(0.5).add(z1);
        const double temperature = 0.2;
        using var loss = new NtXentLoss(temperature).Compute(z1, z2);
        string Rows(Tensor t) => "[" + string.Join(",", Enumerable.Range(0, 8).Select(i =>
            "[" + string.Join(",", t[i].data<float>().ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]")) + "]";
        var file = dir.File("z.json");
        File.WriteAllText(file, $"{{\"z1\": {Rows(z1)}, \"z2\": {Rows(z2)}, \"temperature\": {temperature.ToString(CultureInfo.InvariantCulture)}}}");
        var peer = JsonNode.Parse(PythonTorch.Run(dir.Path, Script, "--ntxent", file))!["loss"]!.GetValue<double>();
        double ours = loss.item<float>();
        Assert.True(ours > 0.1, $"a loss near zero would make the comparison weak: {ours}");
        Assert.Equal(ours, peer, 5);
    }

    [PyTorchFact]
    public void LayersModeTimesEveryConvolutionOfTheLayoutUnderTheExportedNames()
    {
        using var dir = new TempDirectory();
        var stdout = PythonTorch.Run(dir.Path, Script, "--layers", "--widths", "8,16", "--blocks", "1,2", "--batch", "4", "--reps", "1", "--threads", "1",
            "--precision", "Float32", "--layout", "ChannelsLast");
        var json = JsonNode.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!.AsObject();
        Assert.Equal("layers", json["bench"]!.GetValue<string>());
        Assert.Equal("peer", json["side"]!.GetValue<string>());
        var layers = json["layers"]!.AsArray();
        // The names `pretext export` gives these weights: a 1x1 projection where the second stage halves the side and widens.
        Assert.Equal(["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "layer2.0.conv2", "layer2.0.downsample.0", "layer2.1.conv1", "layer2.1.conv2"],
            layers.Select(l => l!["name"]!.GetValue<string>()).ToArray());
        Assert.Equal([28, 28, 28, 28, 14, 28, 14, 14], layers.Select(l => l!["side"]!.GetValue<int>()).ToArray());
        Assert.Equal([1, 1, 1, 2, 1, 2, 1, 1], layers.Select(l => l!["stride"]!.GetValue<int>()).ToArray());
        foreach (var l in layers)
            foreach (var part in new[] { "conv_fwd_ms", "conv_bwd_ms", "bn_relu_fwd_ms", "bn_relu_bwd_ms", "eval_ms" })
                Assert.True(l![part]!.GetValue<double>() > 0, $"{l["name"]} {part}");
    }
}
