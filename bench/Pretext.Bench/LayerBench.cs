using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pretext.Compute;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Where the SimCLR step's encoder time goes, layer by layer, against the PyTorch peer's same kernels: for every convolution of
/// the ResNet layout (named as `pretext export` and the peer name them: conv1, layer1.0.conv1, layer2.0.downsample.0, ...) at
/// one view's batch, the training forward (autograd recording), the backward (input and weight gradients; the stem's input
/// needs none), the training batch norm + ReLU after it (forward and backward), and the inference path `pretext embed` runs
/// (the convolution with the folded batch norm as its bias, then ReLU, no autograd). Tensors are in the compute dtype
/// (bf16 or fp32) and memory layout on both sides, so the comparison is of the two libtorch builds' kernels and their
/// dispatch, not of autocast. Each figure is the median of --reps timed calls after one untimed call. With --peer the same
/// measurement runs in the peer script (`simclr_peer.py --layers`) right after, and the table gets a Pretext / peer time
/// column (above 1: Pretext slower). One JSON line per side, then the table.
///   Pretext.Bench layers [--widths 32,64,128,256] [--blocks 1,1,1,1] [--batch 256] [--threads 2] [--reps 7]
///       [--precision Float32|BFloat16] [--layout ChannelsLast|Contiguous] [--peer] [--python /usr/bin/python3]
/// </summary>
internal static class LayerBench
{
    /// <summary>One convolution of the layout: its name, shape and the side of its input.</summary>
    internal sealed record ConvLayer(string Name, int In, int Out, int Kernel, int Stride, int Side)
    {
        public int OutSide => ModelFlops.ConvOutputSide(Side, Kernel, Stride, Kernel / 2);
        public double Flops(int batch) => 2.0 * batch * In * Out * Kernel * Kernel * OutSide * OutSide;
    }

    /// <summary>The convolutions of the small-image ResNet (Encoders/ResNet.cs) in forward order.</summary>
    internal static List<ConvLayer> Layers(int inChannels, int imageSize, int[] widths, int[] blocks)
    {
        var layers = new List<ConvLayer> { new("conv1", inChannels, widths[0], 3, 1, imageSize) };
        int side = imageSize, c = widths[0];
        for (int s = 0; s < widths.Length; s++)
            for (int b = 0; b < blocks[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                string at = $"layer{s + 1}.{b}";
                layers.Add(new($"{at}.conv1", c, widths[s], 3, stride, side));
                int outSide = ModelFlops.ConvOutputSide(side, 3, stride, 1);
                layers.Add(new($"{at}.conv2", widths[s], widths[s], 3, 1, outSide));
                if (stride != 1 || c != widths[s]) layers.Add(new($"{at}.downsample.0", c, widths[s], 1, stride, side));
                side = outSide;
                c = widths[s];
            }
        return layers;
    }

    public static int Run(BenchArgs a)
    {
        int threads = a.Int("threads", 2), batch = a.Int("batch", 256), reps = a.Int("reps", 7);
        int[] widths = BenchArgs.Ints(a.Get("widths", "32,64,128,256")), blocks = BenchArgs.Ints(a.Get("blocks", "1,1,1,1"));
        var precision = Enum.Parse<Precision>(a.Get("precision", "Float32"), true);
        var layout = Enum.Parse<MemoryLayout>(a.Get("layout", "ChannelsLast"), true);
        if (widths.Length != blocks.Length || batch < 2 || reps < 1 || threads < 1)
            return Fail("--widths and --blocks need the same length, --batch >= 2, --reps >= 1, --threads >= 1.");
        set_num_threads(threads);
        var compute = new ComputeOptions(ComputeOptions.Resolve(precision), layout);
        var layers = Layers(1, 28, widths, blocks);
        var pretext = new JsonArray(layers.Select(l => (JsonNode)Measure(l, batch, compute, reps)).ToArray());
        var mine = Side("pretext", pretext, widths, blocks, batch, threads, compute);
        Console.WriteLine(mine.ToJsonString());
        JsonObject? peer = null;
        if (a.Has("peer"))
        {
            string python = a.Get("python", PeerBench.DefaultPython);
            string script = Path.Combine(Machine.RepositoryRoot(), "bench", "peer", "simclr_peer.py");
            if (PeerBench.PythonTorchVersion(python) is null)
                return Fail($"{python} is missing or cannot import torch: apt-get install python3-torch libopenblas0-pthread (scripts/setup.sh --with-test-tools).");
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { script, "--layers", "--widths", string.Join(",", widths), "--blocks", string.Join(",", blocks), "--batch", Inv(batch),
                "--threads", Inv(threads), "--reps", Inv(reps), "--precision", compute.Precision.ToString(), "--layout", layout.ToString() })
                psi.ArgumentList.Add(arg);
            psi.Environment["OPENBLAS_NUM_THREADS"] = Inv(threads);
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {python}.");
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) return Fail($"The peer's --layers run exited with {p.ExitCode}.");
            peer = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
            Console.WriteLine(peer.ToJsonString());
        }
        Console.WriteLine();
        Console.WriteLine(Table(layers, pretext, peer?["layers"]?.AsArray(), batch));
        return 0;
    }

    private static JsonObject Side(string side, JsonArray layers, int[] widths, int[] blocks, int batch, int threads, ComputeOptions compute) => new()
    {
        ["bench"] = "layers", ["side"] = side, ["layers"] = layers,
        ["widths"] = string.Join("-", widths), ["blocks"] = string.Join("-", blocks), ["batch"] = batch, ["threads"] = threads,
        ["precision"] = compute.Precision.ToString(), ["layout"] = compute.Layout.ToString(), ["load_average"] = Machine.LoadAverage(),
    };

    /// <summary>The median milliseconds of each part of one layer at <paramref name="batch"/>.</summary>
    internal static JsonObject Measure(ConvLayer l, int batch, ComputeOptions compute, int reps)
    {
        using var scope = NewDisposeScope();
        var dtype = compute.ComputeType;
        bool stem = l.Name == "conv1";
        var x = compute.ToLayout(randn(batch, l.In, l.Side, l.Side).to(dtype)).requires_grad_(!stem);
        var w = compute.ToLayout(randn(l.Out, l.In, l.Kernel, l.Kernel).mul(0.05).to(dtype)).requires_grad_(true);
        var bias = zeros(l.Out).to(dtype);
        var gamma = ones(l.Out).requires_grad_(true);
        var beta = zeros(l.Out).requires_grad_(true);
        var runMean = zeros(l.Out);
        var runVar = ones(l.Out);
        var grad = compute.ToLayout(randn(batch, l.Out, l.OutSide, l.OutSide).to(dtype));
        long[] strides = [l.Stride, l.Stride], padding = [l.Kernel / 2, l.Kernel / 2];

        double Median(Func<double> timed)
        {
            timed();
            var t = Enumerable.Range(0, reps).Select(_ => timed()).Order().ToArray();
            return t[t.Length / 2];
        }
        double Time(Action act)
        {
            var clock = Stopwatch.StartNew();
            act();
            return clock.Elapsed.TotalMilliseconds;
        }
        void ClearGrads()
        {
            foreach (var t in new[] { x, w, gamma, beta })
                if (t.grad is { } g) { t.grad = null; g.Dispose(); }
        }

        double convFwd = Median(() => { using var s = NewDisposeScope(); return Time(() => nn.functional.conv2d(x, w, strides: strides, padding: padding)); });
        double convBwd = Median(() =>
        {
            using var s = NewDisposeScope();
            var y = nn.functional.conv2d(x, w, strides: strides, padding: padding);
            ClearGrads();
            return Time(() => y.backward([grad]));
        });
        double normFwd, normBwd;
        using (var y0 = nn.functional.conv2d(x, w, strides: strides, padding: padding).detach().requires_grad_(true))
        {
            normFwd = Median(() =>
            {
                using var s = NewDisposeScope();
                return Time(() => nn.functional.relu(nn.functional.batch_norm(y0, runMean, runVar, gamma, beta, training: true)));
            });
            normBwd = Median(() =>
            {
                using var s = NewDisposeScope();
                var h = nn.functional.relu(nn.functional.batch_norm(y0, runMean, runVar, gamma, beta, training: true));
                if (y0.grad is { } g) { y0.grad = null; g.Dispose(); }
                ClearGrads();
                return Time(() => h.backward([grad]));
            });
        }
        double eval;
        using (no_grad())
        {
            var xe = x.detach();
            var we = w.detach();
            eval = Median(() => { using var s = NewDisposeScope(); return Time(() => nn.functional.relu(nn.functional.conv2d(xe, we, bias, strides: strides, padding: padding))); });
        }
        return new JsonObject
        {
            ["name"] = l.Name, ["in"] = l.In, ["out"] = l.Out, ["kernel"] = l.Kernel, ["stride"] = l.Stride, ["side"] = l.Side,
            ["conv_fwd_ms"] = Round(convFwd), ["conv_bwd_ms"] = Round(convBwd), ["bn_relu_fwd_ms"] = Round(normFwd), ["bn_relu_bwd_ms"] = Round(normBwd),
            ["eval_ms"] = Round(eval),
        };
    }

    private static readonly string[] Parts = ["conv_fwd_ms", "conv_bwd_ms", "bn_relu_fwd_ms", "bn_relu_bwd_ms", "eval_ms"];

    /// <summary>A Markdown table: each layer's parts (Pretext, and Pretext / peer where the peer ran), then the totals.</summary>
    internal static string Table(List<ConvLayer> layers, JsonArray pretext, JsonArray? peer, int batch)
    {
        var sb = new System.Text.StringBuilder();
        string Cell(JsonArray side, int i, string part) => side[i]![part]!.GetValue<double>().ToString("F2", CultureInfo.InvariantCulture);
        string Ratio(int i, string part) => peer is null ? "" : " (" + (pretext[i]![part]!.GetValue<double>() / Math.Max(1e-9, peer[i]![part]!.GetValue<double>())).ToString("F2", CultureInfo.InvariantCulture) + ")";
        sb.AppendLine($"| layer (batch {batch}) | GFLOP | " + string.Join(" | ", Parts.Select(p => p.Replace("_ms", " ms"))) + " |");
        sb.AppendLine("|---|---|" + string.Concat(Parts.Select(_ => "---|")));
        for (int i = 0; i < layers.Count; i++)
            sb.AppendLine($"| {layers[i].Name} | {(layers[i].Flops(batch) / 1e9).ToString("F2", CultureInfo.InvariantCulture)} | " +
                string.Join(" | ", Parts.Select(p => Cell(pretext, i, p) + Ratio(i, p))) + " |");
        double Sum(JsonArray side, string part) => side.Sum(n => n![part]!.GetValue<double>());
        sb.AppendLine($"| **total** | {(layers.Sum(l => l.Flops(batch)) / 1e9).ToString("F2", CultureInfo.InvariantCulture)} | " + string.Join(" | ", Parts.Select(p =>
            Sum(pretext, p).ToString("F1", CultureInfo.InvariantCulture) + (peer is null ? "" : $" / {Sum(peer, p).ToString("F1", CultureInfo.InvariantCulture)} ({(Sum(pretext, p) / Sum(peer, p)).ToString("F2", CultureInfo.InvariantCulture)})"))) + " |");
        return sb.ToString();
    }

    private static JsonNode Round(double ms) => JsonValue.Create(Math.Round(ms, 3));
    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }
}
