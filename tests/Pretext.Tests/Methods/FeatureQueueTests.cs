using Pretext.Methods;
using Pretext.Methods.Shared;
using Pretext.Runs;
using Pretext.Tests.Training;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class FeatureQueueTests
{
    public FeatureQueueTests() => set_num_threads(1);

    private static Tensor Rows(int first, int count, int dim) =>
        arange(first, first + count, dtype: ScalarType.Float32).unsqueeze(1).expand(count, dim).contiguous();

    [Fact]
    public void FillsInOrderThenWrapsAround()
    {
        using var q = new FeatureQueue(5, 2, QueueStart.Empty);
        Assert.Equal(0, q.Count);
        using (var empty = q.Contents()) Assert.Equal(new long[] { 0, 2 }, empty.shape);

        using (var a = Rows(1, 3, 2)) q.Enqueue(a);                 // rows 1, 2, 3
        Assert.Equal(3, q.Pointer);
        Assert.Equal(3, q.Count);
        using (var c = q.Contents()) Assert.Equal(new float[] { 1, 1, 2, 2, 3, 3 }, c.data<float>().ToArray());

        using (var b = Rows(4, 4, 2)) q.Enqueue(b);                 // 4, 5 fill the end; 6, 7 overwrite the oldest two
        Assert.Equal(2, q.Pointer);
        Assert.Equal(5, q.Count);
        using (var c = q.Contents()) Assert.Equal(new float[] { 6, 6, 7, 7, 3, 3, 4, 4, 5, 5 }, c.data<float>().ToArray());

        using (var full = Rows(10, 5, 2)) q.Enqueue(full);          // a whole capacity at once, starting at row 2
        Assert.Equal(2, q.Pointer);
        using (var c = q.Contents()) Assert.Equal(new float[] { 13, 13, 14, 14, 10, 10, 11, 11, 12, 12 }, c.data<float>().ToArray());
    }

    [Fact]
    public void RandomStartIsFullOfUnitVectors()
    {
        manual_seed(3);
        using var q = new FeatureQueue(7, 4, QueueStart.RandomUnitVectors);
        Assert.Equal(7, q.Count);
        Assert.Equal(0, q.Pointer);
        using var c = q.Contents();
        using var norms = c.norm(1);
        Assert.True(norms.allclose(ones(7), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void StoresDetachedCopies()
    {
        using var q = new FeatureQueue(4, 3, QueueStart.Empty);
        using var x = randn(2, 3).requires_grad_();
        using (no_grad()) q.Enqueue(x);
        using (no_grad()) x.mul_(2);
        using var c = q.Contents();
        Assert.False(c.requires_grad);
        Assert.False(TestData.Same(c, x.detach()));
    }

    [Fact]
    public void BadInputNamesTheOption()
    {
        using var q = new FeatureQueue(4, 3, QueueStart.Empty, "methods.nnclr.supportSetSize");
        using var tooMany = randn(5, 3); using var wrongWidth = randn(2, 4);
        var e = Assert.Throws<ArgumentException>(() => q.Enqueue(tooMany));
        Assert.Contains("methods.nnclr.supportSetSize", e.Message);
        Assert.Throws<ArgumentException>(() => q.Enqueue(wrongWidth));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureQueue(0, 3, QueueStart.Empty));
    }

    [Fact]
    public void CheckpointCarriesRowsPointerAndCount()
    {
        using var dir = new TempDirectory();
        using var q = new FeatureQueue(6, 2, QueueStart.Empty);
        using (var a = Rows(1, 4, 2)) q.Enqueue(a);
        using (var b = Rows(5, 3, 2)) q.Enqueue(b);                 // wrapped: pointer 1
        var path = dir.File("q.safetensors");
        Checkpoint.Save(path, 2, "queue", "{}", q.state_dict(), null);

        using var restored = new FeatureQueue(6, 2, QueueStart.Empty);
        using (var ckpt = Checkpoint.Load(path))
        {
            Assert.Equal(new[] { "features", "filled", "pointer" }, ckpt.Model.Keys.Order().ToArray());
            ckpt.LoadInto(restored);
        }
        Assert.Equal(1, restored.Pointer);
        Assert.Equal(6, restored.Count);
        // The next enqueue lands in the same rows of both.
        using (var c = Rows(9, 2, 2)) { q.Enqueue(c); restored.Enqueue(c); }
        using var x = q.Contents(); using var y = restored.Contents();
        Assert.True(TestData.Same(x, y));
        Assert.Equal(new float[] { 7, 7, 9, 9, 10, 10, 4, 4, 5, 5, 6, 6 }, y.data<float>().ToArray());
    }
}

/// <summary>A run of a queue method interrupted after its step-3 checkpoint and resumed gives the same losses and state as an uninterrupted one.</summary>
[Collection(SeededRunsCollection.Name)]
public class QueueResumeTests
{
    public QueueResumeTests() => set_num_threads(1);

    [Theory]
    [InlineData("mocov2")]
    [InlineData("nnclr")]
    public void QueueMethodResumesExactly(string method)
    {
        // Small queues so that they wrap before the checkpoint (mocov2 enqueues 32 keys a step, nnclr 16).
        var cfg = TrainingLoopTests.Tiny() with
        {
            Method = method,
            Methods = new MethodSettings
            {
                MoCoV2 = new MoCoV2Options { QueueSize = 40, ProjectionDim = 16, BatchNormSplits = 2 },
                Nnclr = new NnclrOptions { SupportSetSize = 40, ProjectionDim = 16, ProjectionHiddenDim = 32, PredictionHiddenDim = 32 },
            },
        };
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var full = Path.Combine(dir.Path, "full");
        Pretraining.Run(cfg, data, full, resume: false);

        var part = Path.Combine(dir.Path, "part");
        Pretraining.Run(cfg, data, part, resume: false);
        var ckpts = new CheckpointFolder(Path.Combine(part, "checkpoints"), 10).List();
        Assert.Equal(new long[] { 3, 6 }, ckpts.Select(c => c.Step).ToArray());
        using (var mid = Checkpoint.Load(ckpts[0].Path))
        {
            string prefix = method == "mocov2" ? "queue." : "supportSet.";
            long perStep = method == "mocov2" ? 32 : 16;
            Assert.Equal(3 * perStep % 40, mid.Model[prefix + "pointer"].item<long>());
            Assert.Equal(40, mid.Model[prefix + "filled"].item<long>());
        }
        File.Delete(ckpts[1].Path);
        Pretraining.Run(cfg, data, part, resume: true);

        double[] Losses(string run) => Pretext.Reporting.MetricsLog.Read(Path.Combine(run, "metrics.csv")).Select(r => r["loss"]).ToArray();
        Assert.Equal(6, Losses(part).Length);
        Assert.Equal(Losses(full), Losses(part));
        using var ca = Checkpoint.Load(Path.Combine(full, "checkpoints", "step-00000006.safetensors"));
        using var cb = Checkpoint.Load(Path.Combine(part, "checkpoints", "step-00000006.safetensors"));
        foreach (var (k, t) in ca.Model) Assert.True(TestData.Same(t, cb.Model[k]), k);
    }
}
