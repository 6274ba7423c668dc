using System.Diagnostics;
using Pretext.Core;
using Pretext.Encoders;
using Pretext.Methods;
using TorchSharp;
using static TorchSharp.torch;

static class Probe
{
    public static void Run(int[] widths, int[] blocks, Precision prec, MemoryLayout layout, int batch, int threads, int steps)
    {
        torch.set_num_threads(threads);
        torch.manual_seed(0);
        var enc = new ResNet(new ResNetOptions { Widths = widths, Blocks = blocks, Compute = new ComputeOptions(prec, layout) });
        var m = new SimClr(enc);
        var opt = torch.optim.SGD(m.parameters(), 0.1, momentum: 0.9);
        var x1 = randn(batch, 1, 28, 28); var x2 = randn(batch, 1, 28, 28);
        var times = new List<double>();
        for (int s = 0; s < steps; s++)
        {
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                opt.zero_grad();
                var o = m.ComputeLoss(new Batch([x1, x2], []), new TrainingProgress(s, steps));
                o.Loss.backward();
                opt.step();
            }
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        var med = times.Skip(2).OrderBy(t => t).ElementAt((times.Count - 2) / 2);
        Console.WriteLine($"widths={string.Join("-", widths)} blocks={string.Join("-", blocks)} {prec} {layout} B={batch} T={threads}: step {med:F0} ms, {batch * 1000 / med:F1} samples/s");
    }
}
