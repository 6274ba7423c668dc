using System.Text.Json;
using Pretext.Data;
using Pretext.Data.Video;
using Pretext.Methods;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Tests.Data;
using Pretext.Tests.Data.Video;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>Moving MNIST from a stand-in MNIST cache through the one pipeline: pretrain, reload, evaluate (probes, next-frame error, strip).</summary>
public class VideoRunTests
{
    public VideoRunTests() => set_num_threads(1);

    /// <summary>A stand-in MNIST in <paramref name="dir"/>/mnist: 30 training and 20 test "digits" of random pixels, labels i % 10.</summary>
    internal static void StandInMnist(TempDirectory dir)
    {
        Directory.CreateDirectory(dir.Combine("mnist"));
        TestFiles.WriteIdx(dir.Combine("mnist", "train-images-idx3-ubyte"), TestFiles.Pixels(30, 28, 28), [30, 28, 28], gzip: false);
        TestFiles.WriteIdx(dir.Combine("mnist", "train-labels-idx1-ubyte"), Enumerable.Range(0, 30).Select(i => (byte)(i % 10)).ToArray(), [30], gzip: false);
        TestFiles.WriteIdx(dir.Combine("mnist", "t10k-images-idx3-ubyte"), TestFiles.Pixels(20, 28, 28), [20, 28, 28], gzip: false);
        TestFiles.WriteIdx(dir.Combine("mnist", "t10k-labels-idx1-ubyte"), Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray(), [20], gzip: false);
    }

    /// <summary>The moving-mnist preset of <paramref name="method"/>, shrunk: 60/30 clips of 4 frames of 32x32, the tiny encoder, 4 steps.</summary>
    internal static RunConfig Tiny(string method)
    {
        var cfg = new PretrainRequest { Dataset = "moving-mnist", Method = method, Threads = 1 }.Resolve();
        return cfg with
        {
            Encoder = cfg.Encoder with { Video = TestVideo.TinyEncoder },
            Video = cfg.Video with { TrainClips = 60, TestClips = 30 },
            Train = cfg.Train with { BatchSize = 8, MaxSteps = 4, CheckpointEvery = 2, KeepCheckpoints = 2 },
            Evaluation = cfg.Evaluation with
            {
                KnnK = 5, PerClass = [2], TrainedPerClass = [2], Seeds = 2, Probe = cfg.Evaluation.Probe with { Iterations = 30 },
                Supervised = cfg.Evaluation.Supervised with { Steps = 2, BatchSize = 8 }, Maps = new Pretext.Evaluation.EmbeddingMapOptions { Samples = 0 },
                Video = cfg.Evaluation.Video with { StripClips = 2, SingleDigitTrainFrames = 60, SingleDigitTestFrames = 30 },
            },
        };
    }

    [Theory]
    [InlineData("nextframe")]
    [InlineData("timecontrastive")]
    public void PretrainsAndEvaluatesMovingMnist(string method)
    {
        using var dir = new TempDirectory();
        StandInMnist(dir);
        var cfg = Tiny(method);
        Assert.Equal(Pretext.Encoders.EncoderKind.FrameSequence, cfg.Encoder.Kind);
        string run = dir.Combine("run");
        PretrainResult pre;
        using (var train = PretrainRequest.TrainingSamples(cfg, dir.Path, null))
        {
            Assert.Equal(60, train.Count);
            pre = Pretraining.Run(cfg, train, run, resume: false);
        }
        Assert.Equal(4, pre.Steps);
        Assert.True(double.IsFinite(pre.FinalLoss));

        // No --seeds: the checkpoint's own count of label subsets (2 in this tiny config; the video preset's 5), not a CLI default of 3.
        var r = CheckpointEvaluation.Run(new EvaluateRequest { Checkpoint = pre.FinalCheckpoint, DataDirectory = dir.Path });
        Assert.All(r.Evaluation.For(Pretext.Evaluation.Protocol.LinearProbe).Where(s => s.PerClass is not null), s => Assert.Equal(2, s.Subsets));
        Assert.Equal("raw pixels of the first and last frames", r.Evaluation.Baseline);
        foreach (var protocol in new[] { Pretext.Evaluation.Protocol.Knn, Pretext.Evaluation.Protocol.LinearProbe, Pretext.Evaluation.Protocol.FromScratch, Pretext.Evaluation.Protocol.Baseline })
            Assert.NotEmpty(r.Evaluation.For(protocol));
        Assert.All(r.Evaluation.Scores, s => Assert.InRange(s.Accuracy, 0, 1));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "evaluation", "summary.json")));
        string html = File.ReadAllText(r.ReportPath);
        if (method == "nextframe")
        {
            Assert.Equal(["Next-frame prediction", "Frame encoder on single digits"], r.Sections.Select(x => x.Heading));
            var section = r.Sections[0];
            Assert.Equal(30, (int)section.Summary["nextframe_clips"]);
            Assert.True(section.Summary["copylast_mse"] > 0);
            Assert.True(double.IsFinite(section.Summary["nextframe_mse"]));
            Assert.Equal(section.Summary["copylast_mse"], summary.RootElement.GetProperty("copylast_mse").GetDouble(), 12);
            Assert.True(File.Exists(Path.Combine(run, "evaluation", "plots", "next_frames.png")));
            Assert.Contains("Next-frame prediction", html);
            Assert.Contains("copy the last frame", html);
            // The validation clips the probes carved (about 1/6 of the 60 training clips) are scored too, for choices.
            Assert.InRange(r.Evaluation.ValidationSize, 5, 15);
            Assert.Equal(r.Evaluation.ValidationSize, (int)section.Summary["val_nextframe_clips"]);
            Assert.True(section.Summary["val_copylast_mse"] > 0);
            Assert.True(double.IsFinite(summary.RootElement.GetProperty("val_nextframe_mse").GetDouble()));

            // The clip embedding has no weights of its own: evaluate may change it, and the probes then read 2 x 8 features.
            var both = CheckpointEvaluation.Run(new EvaluateRequest
            {
                Checkpoint = pre.FinalCheckpoint, DataDirectory = dir.Path, Baselines = false, OutDirectory = dir.Combine("both"),
                Set = ["encoder.video.embedding=MeanFrameAndLastState"],
            });
            Assert.Equal(Pretext.Encoders.ClipEmbedding.MeanFrameAndLastState, both.Config.Encoder.Video.Embedding);
            Assert.NotEmpty(both.Evaluation.For(Pretext.Evaluation.Protocol.LinearProbe));
            var weights = Assert.Throws<ArgumentException>(() => CheckpointEvaluation.Run(new EvaluateRequest
            {
                Checkpoint = pre.FinalCheckpoint, DataDirectory = dir.Path, Set = ["encoder.video.pooling=Flatten"],
            }));
            Assert.Contains("encoder.video.embedding", weights.Message);

            // evaluate --config: the file's evaluation section and clip embedding are laid over the checkpoint's, --set wins over the
            // file, and its other sections (here train) are the checkpoint's, with a notice naming them.
            string yaml = dir.Combine("eval.yaml");
            File.WriteAllText(yaml, "train:\n  epochs: 99\nencoder:\n  video:\n    embedding: MapMax\nevaluation:\n  seeds: 1\n  knn_k: 3\n");
            var lines = new List<string>();
            var fromFile = CheckpointEvaluation.Run(new EvaluateRequest
            {
                Checkpoint = pre.FinalCheckpoint, DataDirectory = dir.Path, Baselines = false, OutDirectory = dir.Combine("file"),
                ConfigFile = yaml, Set = ["evaluation.knnK=4"],
            }, log: lines.Add);
            Assert.Equal(Pretext.Encoders.ClipEmbedding.MapMax, fromFile.Config.Encoder.Video.Embedding);
            Assert.Equal(4, fromFile.Config.Evaluation.KnnK);
            Assert.All(fromFile.Evaluation.For(Pretext.Evaluation.Protocol.LinearProbe).Where(s => s.PerClass is not null), s => Assert.Equal(1, s.Subsets));
            Assert.Equal(cfg.Train.Epochs, fromFile.Config.Train.Epochs);
            Assert.Contains(lines, l => l.Contains("eval.yaml") && l.Contains("'train'") && l.Contains("from the checkpoint"));
            string useless = dir.Combine("useless.json");
            File.WriteAllText(useless, "{\"train\": {\"epochs\": 3}}");
            var nothing = Assert.Throws<InvalidDataException>(() => CheckpointEvaluation.Run(new EvaluateRequest
            {
                Checkpoint = pre.FinalCheckpoint, DataDirectory = dir.Path, ConfigFile = useless,
            }));
            Assert.Contains("useless.json", nothing.Message);
            Assert.Contains("evaluation", nothing.Message);
        }
        else
        {
            // Time contrast predicts no frames: no prediction section, no strip.
            Assert.Equal(["Frame encoder on single digits"], r.Sections.Select(x => x.Heading));
            Assert.False(summary.RootElement.TryGetProperty("copylast_mse", out _));
        }
        // Every method's frame encoder is probed on single digits: the label protocols' counts per class (2, two subsets) and all labels,
        // beside the raw pixels, in the report and summary.json.
        var digits = r.Sections.Single(x => x.Heading == "Frame encoder on single digits");
        Assert.Equal(["features", "2 per class", "100 %"], digits.Header);
        Assert.Equal(["frame encoder", "raw pixels (no learning)"], digits.Rows.Select(row => row[0]));
        foreach (var key in new[] { "single_digit_linear_2pc", "single_digit_linear_100", "single_digit_pixels_2pc", "val_single_digit_linear_100" })
            Assert.InRange(summary.RootElement.GetProperty(key).GetDouble(), 0, 1);
        Assert.Contains("Frame encoder on single digits", html);
    }

    [Fact]
    public void DirectionLabelsAreTheGeneratorsAndTrainAndTestShareNoDigitImage()
    {
        using var dir = new TempDirectory();
        StandInMnist(dir);
        var cfg = Tiny("nextframe");
        var video = ModalityCatalog.Get(Modality.Video);
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Path, Sources = DataSources.Cache });
        var recorded = fetcher.LoadVideo("moving-mnist", DataSplit.Train, cfg.Video.MovingMnist(4, 32));
        using (recorded.Dataset)
        {
            var directed = cfg with { Evaluation = cfg.Evaluation with { Video = cfg.Evaluation.Video with { Label = VideoLabel.Direction } } };
            var (train, test) = video.Load("moving-mnist", directed, dir.Path, null, needTest: true);
            using (train)
            using (test)
            {
                Assert.Equal(MovingMnist.DirectionNames, train.ClassNames);
                Assert.Equal(Enumerable.Range(0, 60).Select(i => recorded.Directions[i, 0]), train.Labels!);
                Assert.Equal(30, test!.Count);
                // Same clips as the digit-labelled load: only the labels differ.
                using var same = VideoSamples.Of(train).Data.Data.eq(recorded.Dataset.Data).all();
                Assert.True(same.item<bool>());
            }
        }
        // Train clips come from MNIST's training digits, test clips from its test digits (the generator's two sources).
        var testClips = fetcher.LoadVideo("moving-mnist", DataSplit.Test, cfg.Video.MovingMnist(4, 32));
        using (testClips.Dataset)
            Assert.All(Enumerable.Range(0, 30), i => Assert.InRange(testClips.SourceDigits[i, 0], 0, 19));
    }

    [Fact]
    public void BadShapesAndBadClipsAreNamed()
    {
        using var dir = new TempDirectory();
        var video = ModalityCatalog.Get(Modality.Video);
        var cfg = Tiny("nextframe");
        // Clips of 4 frames into an encoder that reads 6: the message says which setting to change.
        using (var clips = new VideoSamples(TestVideo.Clips(8)))
        {
            var six = cfg with { Encoder = cfg.Encoder with { Video = cfg.Encoder.Video with { Frames = 6 } } };
            var e = Assert.Throws<ArgumentException>(() => video.PrepareRun(six, clips, dir.Combine("run"), false, NullObserver.Instance, default));
            Assert.Contains("encoder.video.frames=4", e.Message);
        }
        // A folder of clips with one too short: named by the modality's loader.
        foreach (var (clip, frames) in new[] { ("good", 4), ("short", 3) })
        {
            Directory.CreateDirectory(dir.Combine("clips", clip));
            for (int f = 0; f < frames; f++) File.WriteAllBytes(dir.Combine("clips", clip, $"f{f}.png"), TestFiles.Png(8, 8, 1, (x, y) => [(byte)(x * 30)]));
        }
        var bad = Assert.Throws<InvalidDataException>(() => video.Load(dir.Combine("clips"), cfg, null, null, needTest: false));
        Assert.Contains("'short'", bad.Message);
        Assert.Contains("has 3 frames, expected 4", bad.Message);
        var skipping = cfg with { Video = cfg.Video with { SkipBad = true } };
        var (kept, _) = video.Load(dir.Combine("clips"), skipping, null, null, needTest: false);
        using (kept) Assert.Equal(1, kept.Count);
        Assert.Throws<DirectoryNotFoundException>(() => video.Load(dir.Combine("nowhere"), cfg, null, null, needTest: false));
        // Moving MNIST in colour is refused at the edge.
        var rgb = cfg with { Encoder = cfg.Encoder with { Video = cfg.Encoder.Video with { Channels = 3 } } };
        Assert.Contains("grey", Assert.Throws<ArgumentException>(() => video.Load("moving-mnist", rgb, dir.Path, null, needTest: false)).Message);
    }
}
