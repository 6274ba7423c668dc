using Pretext.Encoders;
using Pretext.Data;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Tests.Data.Audio;
using Pretext.Tests.Data.Series;
using Pretext.Tests.Data.Tables;
using Pretext.Tests.Data.Video;
using Pretext.Tests.Text;
using Pretext.Tests.Training;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

/// <summary>
/// Every registered method: three steps on small data of its modality (images, token ids for text
/// methods, windows for series methods), finite loss, right shapes, save/load round trip, no tensor leak.
/// </summary>
public class MethodContractTests
{
    public MethodContractTests() => set_num_threads(1);

    /// <summary>Every method on every kind of data it trains on (CPC: series and audio).</summary>
    public static TheoryData<string, Modality> Registered
    {
        get
        {
            var data = new TheoryData<string, Modality>();
            foreach (var m in MethodRegistry.All)
                foreach (var kind in m.Modalities) data.Add(m.Name, kind);
            return data;
        }
    }

    [Theory, MemberData(nameof(Registered))]
    public void TwoStepsSaveLoadNoLeak(string name, Modality kind)
    {
        var entry = MethodRegistry.Get(name);
        var cfg = kind switch
        {
            Modality.Text => TestText.Tiny(name),
            Modality.Series => TestSeries.Tiny(name),
            Modality.Audio => TestAudio.TinyRun(name),
            Modality.Table => TestTables.Tiny(name),
            Modality.Video => TestVideo.TinyRun(name),
            _ => TrainingLoopTests.Tiny() with { Method = name },
        };
        // A method whose preset picks the ViT (MAE) gets a tiny one: 16 patches of 7x7, width 16, one block.
        if (kind == Modality.Image && entry.ApplyPreset(cfg).Encoder.Kind == EncoderKind.Vit)
            cfg = cfg with { Encoder = cfg.Encoder with { Kind = EncoderKind.Vit, PatchSize = 7, EmbedDim = 16, Depth = 1, Heads = 2 } };
        using var owned = kind switch
        {
            Modality.Text => (IDisposable)TestText.Tokenized(32),
            Modality.Series => TestSeries.Windows(32),
            Modality.Audio => TestAudio.LogMels(32),
            Modality.Table => TestTables.Rows(32),
            Modality.Video => TestVideo.Clips(32),
            _ => TestData.Blobs(32),
        };
        var data = (IDataset)owned;
        using var method = Pretraining.CreateMethod(cfg);
        Assert.Equal(kind, cfg.Encoder.Modality);
        method.Prepare(new UnlabelledView(data));
        var views = entry.Views(cfg.Setup);
        Assert.Equal(method.ViewCount, views.ViewCount);
        using var opt = new Optimizer(method.ParameterGroups(), cfg.Train.Optimizer);
        method.Module.train();
        long before = 0;
        for (int step = 0; step < 3; step++)
        {
            TakeStep(step);
            // Measured after the step's scope is gone: optimiser state is created lazily, in step 0 or, for parts frozen
            // at the start (SwAV's prototypes, DINO's last layer), in step 1; nothing new may survive step 2.
            if (step == 1) before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        void TakeStep(int step)
        {
            using var scope = NewDisposeScope();
            using var g = new Generator((ulong)step + 1);
            var x = data.Gather(Enumerable.Range(0, 16).Select(i => (long)i).ToArray());
            var v = views.MakeViews(x, g);
            var o = method.ComputeLoss(new Batch(v, []), new TrainingProgress(step, 3));
            Assert.True(double.IsFinite(o.Loss.item<float>()));
            Assert.Equal(0, o.Loss.dim());
            Assert.Equal(16, o.Embedding.shape[0]);
            opt.ZeroGrad(); o.Loss.backward(); opt.Step(0.1);
            using (no_grad()) method.AfterOptimizerStep(new TrainingProgress(step, 3));
        }
        // No tensors accumulate from step to step (the second step leaves as many alive as the first).
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        using (no_grad())
        {
            method.Module.eval();
            using var x = data.Gather([0, 1, 2]);
            using var f = method.Encoder.forward(x);
            Assert.Equal(new long[] { 3, method.Encoder.FeatureDim }, f.shape);
            using var dir = new TempDirectory();
            var path = dir.File("m.safetensors");
            Checkpoint.Save(path, 2, method.Name, cfg.ToJson(), method.Module.state_dict(), opt.StateDict());
            var (loaded, loadedCfg, step) = Pretraining.LoadMethod(path);
            using (loaded)
            {
                Assert.Equal(2, step);
                Assert.Equal(cfg.ToJson(), loadedCfg.ToJson());
                loaded.Module.eval();
                using var f2 = loaded.Encoder.forward(x);
                Assert.True(TestData.Same(f, f2));
            }
        }
    }

    [Fact]
    public void UnknownMethodListsKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => MethodRegistry.Get("nope"));
        Assert.Contains("simclr", e.Message);
    }
}
