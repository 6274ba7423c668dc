using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Tests.Losses;
using Pretext.Tests.Training;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

/// <summary>
/// MoCo v2, MoCo v3, NNCLR, BYOL and SimSiam: each method's loss on a real batch against a slow reference
/// that recomputes the heads' outputs from the method's own sub-modules and evaluates the paper's loss in
/// double-precision loops (so a swapped view, branch or sign is caught), plus what is particular to each.
/// </summary>
public class SiameseMethodTests
{
    public SiameseMethodTests() => set_num_threads(1);

    private static Encoder Enc() =>
        new EncoderConfig { Widths = [8, 16], Blocks = [1, 1], Precision = Precision.Float32, Layout = MemoryLayout.Contiguous }.Build();

    private static nn.Module<Tensor, Tensor> Child(nn.Module m, string name) =>
        (nn.Module<Tensor, Tensor>)m.named_children().Single(c => c.name == name).module;

    private static Tensor[] Views(int b)
    {
        manual_seed(5);
        return [randn(b, 1, 28, 28), randn(b, 1, 28, 28)];
    }

    private static float[][] Out(nn.Module<Tensor, Tensor> f, Tensor x)
    {
        using var noGrad = no_grad();
        using var y = f.forward(x);
        return Reference.Rows(y);
    }

    /// <summary>Moves every target parameter away from its online twin, so a swapped branch changes the loss.</summary>
    private static void Perturb(nn.Module m)
    {
        using var noGrad = no_grad();
        manual_seed(9);
        foreach (var (name, p) in m.named_parameters().Where(p => p.name.StartsWith("target", StringComparison.Ordinal)))
            p.add_(randn_like(p).mul(0.2));
    }

    private static double Loss(ISslMethod m, Tensor[] v)
    {
        using var scope = NewDisposeScope();
        var o = m.ComputeLoss(new Batch(v, []), new TrainingProgress(0, 10));
        Assert.Equal(v[0].shape[0], o.Embedding.shape[0]);
        return o.Loss.item<float>();
    }

    [Fact]
    public void ByolLossMatchesReference()
    {
        manual_seed(1);
        using var m = new Byol(Enc(), Enc(), new ByolOptions { HiddenDim = 32, ProjectionDim = 8 });
        m.train();
        Perturb(m);
        var v = Views(6);
        double actual = Loss(m, v);
        var enc = Child(m, "encoder"); var proj = Child(m, "projector"); var pred = Child(m, "predictor");
        var tenc = Child(m, "targetEncoder"); var tproj = Child(m, "targetProjector");
        float[][] P(Tensor x) { using var h = enc.forward(x); using var z = proj.forward(h); return Out(pred, z); }
        float[][] Z(Tensor x) { using var h = tenc.forward(x); return Out(tproj, h); }
        double expected = (2 - 2 * Reference.MeanCos(P(v[0]), Z(v[1]))) + (2 - 2 * Reference.MeanCos(P(v[1]), Z(v[0])));
        Assert.Equal(expected, actual, 4);
    }

    [Fact]
    public void SimSiamLossMatchesReference()
    {
        manual_seed(2);
        using var m = new SimSiam(Enc(), new SimSiamOptions { ProjectionHiddenDim = 32, ProjectionDim = 16, PredictionHiddenDim = 8 });
        m.train();
        var v = Views(6);
        double actual = Loss(m, v);
        var enc = Child(m, "encoder"); var proj = Child(m, "projector"); var pred = Child(m, "predictor");
        float[][] Z(Tensor x) { using var h = enc.forward(x); return Out(proj, h); }
        float[][] P(Tensor x) { using var h = enc.forward(x); using var z = proj.forward(h); return Out(pred, z); }
        double expected = -Reference.MeanCos(P(v[0]), Z(v[1])) / 2 - Reference.MeanCos(P(v[1]), Z(v[0])) / 2;
        Assert.Equal(expected, actual, 4);
    }

    [Fact]
    public void MoCoV3LossMatchesReference()
    {
        manual_seed(3);
        const double tau = 0.2;
        using var m = new MoCoV3(Enc(), Enc(), new MoCoV3Options { HiddenDim = 32, ProjectionDim = 8, Temperature = tau });
        m.train();
        Perturb(m);
        var v = Views(6);
        double actual = Loss(m, v);
        var enc = Child(m, "encoder"); var proj = Child(m, "projector"); var pred = Child(m, "predictor");
        var tenc = Child(m, "targetEncoder"); var tproj = Child(m, "targetProjector");
        float[][] Q(Tensor x) { using var h = enc.forward(x); using var z = proj.forward(h); return Out(pred, z); }
        float[][] K(Tensor x) { using var h = tenc.forward(x); return Out(tproj, h); }
        double expected = 2 * tau * (Reference.InfoNceInBatch(Q(v[0]), K(v[1]), tau) + Reference.InfoNceInBatch(Q(v[1]), K(v[0]), tau));
        Assert.Equal(expected, actual, 4);
    }

    [Theory]
    [InlineData(true, 0.0, 0)]
    [InlineData(false, 0.0, 0)]
    [InlineData(true, 0.3, 2)]
    [InlineData(true, 0.3, 3)]
    public void NnclrLossMatchesReferenceAndFillsTheSupportSet(bool prefilled, double ownPositiveFraction, long step)
    {
        manual_seed(4);
        const double tau = 0.1;
        // Steps 0-2 of 10 lie inside the first 30 % of the run, where the positive is the view's own projection; from step 3 it is the neighbour.
        bool ownPositives = step < ownPositiveFraction * 10;
        using var m = new Nnclr(Enc(), new NnclrOptions { ProjectionHiddenDim = 32, ProjectionDim = 8, PredictionHiddenDim = 16, Temperature = tau, SupportSetSize = 32, OwnPositiveFraction = ownPositiveFraction });
        m.train();
        if (prefilled)
        {
            using var s = nn.functional.normalize(randn(10, 8), dim: 1);
            using (no_grad()) m.SupportSet.Enqueue(s);
        }
        float[][] support;
        using (var c = m.SupportSet.Contents()) support = Reference.Rows(c);
        var v = Views(6);
        var enc = Child(m, "encoder"); var proj = Child(m, "projector"); var pred = Child(m, "predictor");
        float[][] Z(Tensor x) { using var h = enc.forward(x); return Out(proj, h); }
        float[][] P(Tensor x) { using var h = enc.forward(x); using var z = proj.forward(h); return Out(pred, z); }
        // The neighbour is the support row of largest cosine similarity; an empty support set gives the projection itself.
        float[][] Nn(float[][] z) => z.Select(zi => support.Length == 0 || ownPositives
            ? Reference.Unit(zi).Select(x => (float)x).ToArray()
            : support.MaxBy(s => Reference.Cos(zi, s))!).ToArray();
        var z1 = Z(v[0]); var z2 = Z(v[1]);
        double expected = (Reference.InfoNceInBatch(Nn(z1), P(v[1]), tau) + Reference.InfoNceInBatch(Nn(z2), P(v[0]), tau)) / 2;

        using (var scope = NewDisposeScope())
        {
            var o = m.ComputeLoss(new Batch(v, []), new TrainingProgress(step, 10));
            Assert.Equal(expected, o.Loss.item<float>(), 4);
            using (no_grad()) m.AfterOptimizerStep(new TrainingProgress(step, 10));
        }
        // View 1's normalised projections were appended (also while the own positives are used).
        Assert.Equal(support.Length + 6, m.SupportSet.Count);
        using var after = m.SupportSet.Contents();
        var added = Reference.Rows(after).Skip(support.Length).ToArray();
        for (int i = 0; i < 6; i++)
        {
            var u = Reference.Unit(z1[i]);
            for (int k = 0; k < u.Length; k++) Assert.Equal(u[k], added[i][k], 4);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MoCoV2LossMatchesReferenceWithSplitBatchNorm(bool symmetric)
    {
        manual_seed(6);
        const double tau = 0.2;
        using var m = new MoCoV2(Enc(), Enc(), new MoCoV2Options { ProjectionDim = 8, Temperature = tau, QueueSize = 16, Symmetric = symmetric, BatchNormSplits = 2 });
        m.train();
        Perturb(m);
        float[][] negatives;
        using (var c = m.Queue.Contents()) negatives = Reference.Rows(c);
        var v = Views(6);
        var enc = Child(m, "encoder"); var proj = Child(m, "projector");
        var tenc = Child(m, "targetEncoder"); var tproj = Child(m, "targetProjector");
        // Queries: contiguous batch-norm groups {0,1,2}, {3,4,5}; keys: interleaved groups {0,2,4}, {1,3,5}.
        float[][] Grouped(nn.Module<Tensor, Tensor> e, nn.Module<Tensor, Tensor> head, Tensor x, long[][] groups)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var rows = new Tensor[x.shape[0]];
            foreach (var g in groups)
            {
                var h = e.forward(x.index_select(0, tensor(g)));
                for (int i = 0; i < g.Length; i++) rows[g[i]] = h[i];
            }
            return Reference.Rows(head.forward(stack(rows)));
        }
        long[][] contiguous = [[0, 1, 2], [3, 4, 5]], interleaved = [[0, 2, 4], [1, 3, 5]], whole = [[0, 1, 2, 3, 4, 5]];
        var q1 = Grouped(enc, proj, v[0], contiguous); var q2 = Grouped(enc, proj, v[1], contiguous);
        var k1 = Grouped(tenc, tproj, v[0], interleaved); var k2 = Grouped(tenc, tproj, v[1], interleaved);
        double expected = symmetric
            ? (Reference.InfoNceWithNegatives(q1, k2, negatives, tau) + Reference.InfoNceWithNegatives(q2, k1, negatives, tau)) / 2
            : Reference.InfoNceWithNegatives(q1, k2, negatives, tau);
        // The grouping matters: one batch-norm group over the whole batch gives another loss.
        double unsplit = Reference.InfoNceWithNegatives(Grouped(enc, proj, v[0], whole), Grouped(tenc, tproj, v[1], whole), negatives, tau);
        Assert.True(Math.Abs(unsplit - Reference.InfoNceWithNegatives(q1, k2, negatives, tau)) > 1e-3);

        using (var scope = NewDisposeScope())
        {
            var o = m.ComputeLoss(new Batch(v, []), new TrainingProgress(0, 10));
            Assert.Equal(expected, o.Loss.item<float>(), 4);
            using (no_grad()) m.AfterOptimizerStep(new TrainingProgress(0, 10));
        }
        // The normalised keys were enqueued: view 2's first, then view 1's.
        var keys = symmetric ? k2.Concat(k1).ToArray() : k2;
        Assert.Equal(keys.Length % 16, m.Queue.Pointer);
        using var after = m.Queue.Contents();
        var rowsAfter = Reference.Rows(after);
        for (int i = 0; i < keys.Length; i++)
        {
            var u = Reference.Unit(keys[i]);
            for (int k = 0; k < u.Length; k++) Assert.Equal(u[k], rowsAfter[i][k], 4);
        }
    }

    [Fact]
    public void MoCoV2RefusesBatchesTooSmallForItsGroups()
    {
        manual_seed(7);
        using var m = new MoCoV2(Enc(), Enc(), new MoCoV2Options { ProjectionDim = 8, QueueSize = 16, BatchNormSplits = 4 });
        var v = Views(6);
        var e = Assert.Throws<ArgumentException>(() => m.ComputeLoss(new Batch(v, []), new TrainingProgress(0, 1)));
        Assert.Contains("batchNormSplits", e.Message);
        Assert.Throws<ArgumentException>(() => new MoCoV2(Enc(), Enc(), new MoCoV2Options { BatchNormSplits = 0 }));
    }

    [Theory]
    [InlineData("mocov2")]
    [InlineData("mocov3")]
    [InlineData("byol")]
    public void EmaTargetsAreNotOptimisedAndFollowTheOnlineNetwork(string name)
    {
        var cfg = TrainingLoopTests.Tiny() with { Method = name };
        using var data = TestData.Blobs(16);
        using var method = Pretraining.CreateMethod(cfg);
        var all = method.Module.named_parameters().ToList();
        var targets = all.Where(p => p.name.StartsWith("target", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(targets);
        var optimised = method.ParameterGroups().SelectMany(g => g.Parameters).Select(p => p.Parameter.Handle).ToHashSet();
        Assert.Equal(all.Count - targets.Count, optimised.Count);
        Assert.All(targets, t => Assert.False(t.parameter.requires_grad || optimised.Contains(t.parameter.Handle), t.name));

        var before = targets.Select(t => t.parameter.detach().clone()).ToList();
        using var opt = new Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        method.Module.train();
        using (var scope = NewDisposeScope())
        {
            using var g = new Generator(1);
            var v = MethodRegistry.Get(name).Views(cfg.Setup).MakeViews(data.Gather(Enumerable.Range(0, 16).Select(i => (long)i).ToArray()), g);
            var o = method.ComputeLoss(new Batch(v, []), new TrainingProgress(0, 10));
            opt.ZeroGrad(); o.Loss.backward(); opt.Step(0.1);
            Assert.All(targets, t => Assert.Null(t.parameter.grad));
            using (no_grad()) method.AfterOptimizerStep(new TrainingProgress(0, 10));
        }
        // The EMA moved the targets (the online weights changed in the step).
        Assert.Contains(targets.Zip(before), p => !TestData.Same(p.First.parameter.detach(), p.Second));
        foreach (var b in before) b.Dispose();
    }

    [Fact]
    public void SimSiamPredictorKeepsItsLearningRate()
    {
        using var m = new SimSiam(Enc(), new SimSiamOptions { ProjectionHiddenDim = 16, ProjectionDim = 8, PredictionHiddenDim = 4 });
        var groups = m.ParameterGroups();
        Assert.Equal(m.named_parameters().Count(), groups.Sum(g => g.Parameters.Count));
        foreach (var g in groups)
        {
            bool predictor = g.Name.StartsWith("predictor_", StringComparison.Ordinal);
            Assert.Equal(!predictor, g.DecayLr);
            Assert.All(g.Parameters, p => Assert.Equal(predictor, p.Name.StartsWith("predictor.", StringComparison.Ordinal)));
        }
        using var decaying = new SimSiam(Enc(), new SimSiamOptions { ProjectionHiddenDim = 16, ProjectionDim = 8, PredictionHiddenDim = 4, FixedPredictorLr = false });
        Assert.All(decaying.ParameterGroups(), g => Assert.True(g.DecayLr));
    }

    [Fact]
    public void OptionsAreSetFromTheCommandLineAndTravelInTheConfig()
    {
        var cfg = ConfigOverrides.Apply(MethodRegistry.Get("mocov2").ApplyPreset(Presets.For("simclr", "fashion-mnist")),
            ["methods.mocov2.queue_size=1024", "methods.mocov2.symmetric=false", "methods.simsiam.fixedPredictorLr=false", "methods.byol.base-momentum=0.996"]);
        Assert.Equal(1024, cfg.Methods.MoCoV2.QueueSize);
        Assert.False(cfg.Methods.MoCoV2.Symmetric);
        Assert.False(cfg.Methods.SimSiam.FixedPredictorLr);
        Assert.Equal(0.996, cfg.Methods.Byol.BaseMomentum);
        var back = RunConfig.FromJson(cfg.ToJson(), "test");
        Assert.Equal(cfg.Methods, back.Methods);
        var e = Assert.Throws<ArgumentException>(() => ConfigOverrides.Apply(cfg, ["methods.nnclr.queueSize=5"]));
        Assert.Contains("SupportSetSize", e.Message);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void NnclrRejectsAnOwnPositiveFractionOutsideZeroToOne(double fraction)
    {
        var e = Assert.Throws<ArgumentException>(() => new Nnclr(Enc(), new NnclrOptions { OwnPositiveFraction = fraction }));
        Assert.Contains("methods.nnclr.ownPositiveFraction", e.Message);
    }
}
