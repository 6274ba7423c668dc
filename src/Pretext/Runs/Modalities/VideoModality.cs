using System.Globalization;
using Pretext.Compute;
using Pretext.Data;
using Pretext.Data.Video;
using Pretext.Evaluation;
using Pretext.Methods;
using Pretext.Reporting;
using static TorchSharp.torch;

namespace Pretext.Runs.Modalities;

/// <summary>
/// Video: Moving MNIST generated from the MNIST digits (<see cref="MovingMnist"/>; training clips from the training digits, test clips
/// from the test digits, so no digit image is in both), or a folder of clips (<see cref="VideoClips"/>: animated GIFs or folders of
/// frames, class folders as labels, a class-stratified held-out fifth as test). Encoders read clips (B, T, C, S, S) in [0, 1] as they
/// are. Labels: a Moving MNIST clip's first digit's class or its starting direction (<c>evaluation.video.label</c>). The no-learning
/// baseline is logistic regression on the raw pixels of the first and last frames, average-pooled to 16x16. Methods that predict
/// frames (<see cref="IFramePredictor"/>) are also scored on the test clips against copying the last frame, with a strip of true and
/// predicted frames in the report.
/// </summary>
public sealed class VideoModality : IModality
{
    /// <summary>Side the baseline pools each of its two frames to.</summary>
    public const int BaselineSide = 16;

    public Modality Kind => Modality.Video;
    public string DefaultMethod => "nextframe";
    public string BaselineName => "raw pixels of the first and last frames";

    public bool IsCatalogued(string dataset) => DataCatalog.Contains(dataset, Modality.Video);

    public RunConfig BasePreset(string dataset, int threads) => Presets.Video(IsCatalogued(dataset) ? dataset.ToLowerInvariant() : dataset, threads);

    /// <summary>
    /// Moving MNIST: its clips of each split, generated with <c>video.*</c> (counts, seed) at the encoder's frame count and side. A folder:
    /// every clip at the encoder's frame count, side and channels; a class-stratified fifth held out when a test split is needed and it is
    /// labelled.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">Neither a catalogued video set nor an existing folder.</exception>
    /// <exception cref="InvalidDataException">A clip of the wrong length or with an unreadable frame (named), unless <c>video.skipBad</c>.</exception>
    /// <exception cref="ArgumentException">Moving MNIST asked for in colour.</exception>
    public (ISampleSet Train, ISampleSet? Test) Load(string dataset, RunConfig config, string? dataDir, Action<string>? log, bool needTest)
    {
        var v = config.Encoder.Video;
        if (IsCatalogued(dataset))
        {
            if (v.Channels != 1)
                throw new ArgumentException($"Moving MNIST is grey; encoder.video.channels must be 1, not {v.Channels}.");
            var options = config.Video.MovingMnist(v.Frames, v.Size);
            var label = config.Evaluation.Video.Label;
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            string name = DataCatalog.Get(dataset).Name;
            var train = new VideoSamples(Labelled(fetcher.LoadVideo(name, DataSplit.Train, options), label));
            var test = needTest ? new VideoSamples(Labelled(fetcher.LoadVideo(name, DataSplit.Test, options), label)) : null;
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {train.Count:N0} training clips from MNIST's training digits{(test is null ? "" : $", {test.Count:N0} test clips from its test digits")} (seed {options.Seed}), {v.Frames} frames of {v.Size}x{v.Size}; label: the first digit's {(label == VideoLabel.Digit ? "class" : "starting direction")}."));
            return (train, test);
        }
        if (!Directory.Exists(dataset))
            throw new DirectoryNotFoundException(DataPathHints.NotReadable(dataset, Modality.Video, "a folder of clips (animated GIFs or folders of PNG/JPEG frames)"));
        var load = VideoClips.Load(dataset, new VideoClipOptions { Frames = v.Frames, Size = v.Size, Channels = v.Channels, SkipBad = config.Video.SkipBad, Log = log });
        return HeldOut.Split(new VideoSamples(load.Dataset), dataset, needTest);
    }

    /// <summary>
    /// <paramref name="clips"/>' dataset with <paramref name="label"/> as its labels: the first digit's class ("0".."9") or its starting
    /// direction (<see cref="MovingMnist.DirectionNames"/>). Takes over the clips' tensor.
    /// </summary>
    public static TensorDataset Labelled(MovingMnistClips clips, VideoLabel label)
    {
        var d = clips.Dataset;
        if (label == VideoLabel.Digit) return d;
        var directions = Enumerable.Range(0, (int)d.Count).Select(i => clips.Directions[i, 0]).ToArray();
        var ids = Enumerable.Range(0, (int)d.Count).Select(i => d.SampleId(i)).ToArray();
        var relabelled = new TensorDataset(d.Name, d.Data, directions, MovingMnist.DirectionNames, ids);
        d.Dispose();
        return relabelled;
    }

    /// <summary>Pretraining reads the training clips as they are (fp32 in [0, 1]); no statistics are fitted.</summary>
    /// <exception cref="ArgumentException">The method or encoder is not a video one, or the clips do not have the encoder's shape.</exception>
    public PreparedRun PrepareRun(RunConfig config, ISampleSet train, string runDirectory, bool resume, IRunObserver observer, CancellationToken cancel)
    {
        var entry = MethodRegistry.Get(config.Method);
        if (!entry.TrainsOn(Modality.Video) || config.Encoder.Modality != Modality.Video)
            throw new ArgumentException($"Method '{config.Method}' with a {config.Encoder.Kind} encoder does not train on clips; use a video method ({string.Join(", ", MethodRegistry.All.Where(m => m.TrainsOn(Modality.Video)).Select(m => m.Name))}) with the FrameSequence encoder.");
        Pretraining.RefuseOverwrite(runDirectory, resume);
        var clips = VideoSamples.Of(train);
        CheckShape(clips, config.Encoder.Video);
        var v = config.Encoder.Video;
        observer.Message($"{clips.Name}: {clips.Count} clips of {v.Frames} frames of {v.Size}x{v.Size} ({(v.Channels == 1 ? "grey" : "RGB")}) for pretraining, without their labels.");
        return new PreparedRun(config, clips.Data, null);
    }

    /// <exception cref="ArgumentException">Clips whose (frames, channels, side) differ from the encoder's; the message says which setting to change.</exception>
    public static void CheckShape(VideoSamples clips, Encoders.VideoEncoderConfig v)
    {
        var shape = clips.Data.SampleShape;
        if (!shape.SequenceEqual(new long[] { v.Frames, v.Channels, v.Size, v.Size }))
            throw new ArgumentException($"'{clips.Name}' holds clips of {shape[0]} frames x {shape[1]} channels x {shape[2]}x{shape[3]} but the encoder reads {v.Frames} x {v.Channels} x {v.Size}x{v.Size}; set encoder.video.frames, channels and size to match (--set encoder.video.frames={shape[0]}).");
    }

    public ModelInputs InputsFor(RunConfig config, string checkpointPath) => new VideoInputs(config);

    /// <summary>
    /// The general plan: kNN, linear probes at the fractions and counts per class, training the same encoder from scratch, the baseline;
    /// fine-tuning when asked. Accuracy only (the digit classes and directions are balanced).
    /// </summary>
    public EvaluationPlan Plan(EvaluationConfig ev) => EvaluationPlan.Standard(ev);

    /// <summary>
    /// A method that predicts frames is scored on every test clip against copying the last frame (<see cref="FramePrediction"/>), and
    /// <c>evaluation.video.stripClips</c> test clips are drawn as true and predicted frames (plots/next_frames.png); the validation clips the
    /// label protocols carved from <paramref name="train"/> (same fraction and seed) are scored the same way, for choices. On Moving MNIST, every
    /// method's frame encoder is also probed on single MNIST digits (<see cref="SingleDigitProbe"/>).
    /// </summary>
    public IReadOnlyList<ReportSection> EvaluateMore(ISslMethod method, RunConfig config, ModelInputs inputs, ISampleSet train, ISampleSet test, string outDirectory, IRunObserver observer,
        string dataset, string? dataDirectory)
    {
        var sections = new List<ReportSection>();
        if (method is IFramePredictor predictor) sections.Add(NextFrameSection(predictor, method, config, inputs, train, test, outDirectory, observer));
        if (SingleDigitSection(method, config, dataset, dataDirectory, observer) is { } digits) sections.Add(digits);
        return sections;
    }

    /// <summary>
    /// Moving MNIST with a frame encoder: its linear probe on single MNIST digits (<see cref="SingleDigitProbe"/>), frames of the training
    /// digits placed with the training stream's seed + 1 and of the test digits with the test stream's + 1; the counts per class and subsets
    /// of the label protocols, the validation fraction of the evaluation. Null for folders of clips or when
    /// <c>evaluation.video.singleDigitTrainFrames</c> is 0.
    /// </summary>
    private ReportSection? SingleDigitSection(ISslMethod method, RunConfig config, string dataset, string? dataDirectory, IRunObserver observer)
    {
        var ev = config.Evaluation;
        var o = ev.Video;
        if (!IsCatalogued(dataset) || o.SingleDigitTrainFrames <= 0 || o.SingleDigitTestFrames <= 0 || method.Encoder is not Encoders.FrameSequenceEncoder encoder) return null;
        var c = CultureInfo.InvariantCulture;
        double fraction = ev.ValidationFraction > 0 ? ev.ValidationFraction : 1.0 / 6;
        observer.Message($"The frame encoder's linear probe on single MNIST digits ({o.SingleDigitTrainFrames:N0} training and {o.SingleDigitTestFrames:N0} test frames) ...");
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDirectory, Log = observer.Message });
        string name = DataCatalog.Get(dataset).Name;
        using var trainDigits = fetcher.LoadVideoDigits(name, DataSplit.Train);
        using var testDigits = fetcher.LoadVideoDigits(name, DataSplit.Test);
        var r = SingleDigitProbe.Evaluate(encoder, trainDigits, testDigits, o.SingleDigitTrainFrames, o.SingleDigitTestFrames,
            unchecked(MovingMnist.StreamSeed(config.Video.Seed, DataSplit.Train) + 1), unchecked(MovingMnist.StreamSeed(config.Video.Seed, DataSplit.Test) + 1),
            fraction, ev.PerClass, ev.Seeds, ev.Probe);
        string Budget(DigitProbeScore s) => s.PerClass is int k ? $"{k} per class" : "100 %";
        string Key(DigitProbeScore s) => s.PerClass is int k ? $"{k}pc" : "100";
        string Cell(DigitProbeScore s) => s.Test.Length > 1
            ? string.Create(c, $"{100 * s.TestMean:F2} ± {100 * s.TestStd:F2} ({100 * s.ValidationMean:F2})")
            : string.Create(c, $"{100 * s.TestMean:F2} ({100 * s.ValidationMean:F2})");
        var summary = new Dictionary<string, double>();
        foreach (var (prefix, scores) in new[] { ("single_digit_linear", r.Encoder), ("single_digit_pixels", r.Pixels) })
            foreach (var s in scores)
            {
                summary[$"{prefix}_{Key(s)}"] = s.TestMean;
                summary[$"{prefix}_{Key(s)}_std"] = s.TestStd;
                summary[$"val_{prefix}_{Key(s)}"] = s.ValidationMean;
            }
        return new ReportSection("Frame encoder on single digits")
        {
            Paragraphs =
            [
                "Frame encoder: " + string.Join(", ", r.Encoder.Select(s => $"{Budget(s)} {Cell(s)}")) + "; raw pixels: " + string.Join(", ", r.Pixels.Select(s => $"{Budget(s)} {Cell(s)}")) + " (test %, validation in brackets).",
                string.Create(c, $"Linear probe for the class of a single MNIST digit placed at a uniform random position in an otherwise black {encoder.Config.Size}x{encoder.Config.Size} frame, read by the frame encoder alone (no temporal model): test accuracy in % on {r.TestFrames:N0} frames of MNIST test digits, mean ± std over {ev.Seeds} label subsets where labels are few, validation accuracy ({r.ValidationFrames:N0} frames carved from the training digits' frames; they choose each probe's penalty) in brackets. Labels come from the other {r.PoolFrames:N0} training frames. Raw pixels: logistic regression on the frame pooled to {SingleDigitProbe.BaselineSide}x{SingleDigitProbe.BaselineSide}."),
            ],
            Header = ["features", .. r.Encoder.Select(Budget)],
            Rows = [["frame encoder", .. r.Encoder.Select(Cell)], ["raw pixels (no learning)", .. r.Pixels.Select(Cell)]],
            Summary = summary,
        };
    }

    private static ReportSection NextFrameSection(IFramePredictor predictor, ISslMethod method, RunConfig config, ModelInputs inputs, ISampleSet train, ISampleSet test, string outDirectory, IRunObserver observer)
    {
        var clips = inputs.Encode(test);
        var c = CultureInfo.InvariantCulture;
        var ev = config.Evaluation;
        FramePredictionResult r;
        FramePredictionResult? v = null;
        using (ModeScope.Eval(method.Module))
        {
            if (train.Labels is { } labels)
            {
                var (_, valIdx) = ValidationSplit.Carve(labels, train.SampleId, ev.ValidationFraction, ev.ValidationSeed, train.GroupId);
                if (valIdx.Length > 0)
                {
                    using var valSet = train.Subset(valIdx, train.Name + " (validation)");
                    var valClips = inputs.Encode(valSet);
                    observer.Message($"Next-frame prediction on {valClips.Count} validation clips against copying the last frame ...");
                    v = FramePrediction.Evaluate(predictor, valClips, batchSize: 16);
                }
            }
            observer.Message($"Next-frame prediction on {clips.Count} test clips against copying the last frame ...");
            r = FramePrediction.Evaluate(predictor, clips, batchSize: 16);
        }
        var images = new List<(string, string)>();
        int k = (int)Math.Min(config.Evaluation.Video.StripClips, clips.Count);
        if (k > 0)
        {
            string path = Path.Combine(outDirectory, "plots", "next_frames.png");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (ModeScope.Eval(method.Module))
            using (no_grad())
            using (NewDisposeScope())
            {
                var x = Features.Batch(clips, 0, k, null);
                FrameStrip.Write(path, x.narrow(1, 1, x.shape[1] - 1), predictor.Predict(x));
            }
            images.Add(($"Next-frame prediction on the first {k} test clips: for each clip its true frames 1..{clips.SampleShape[0] - 1} (upper row) and the frames predicted for them, each from the true frames before it (lower row)", path));
        }
        string[][] rows =
        [
            ["model (" + config.Method + ")", r.ModelMse.ToString("G4", c)],
            ["copy the last frame", r.CopyLastMse.ToString("G4", c)],
            ["an all-black frame", r.BlankMse.ToString("G4", c)],
        ];
        var summary = new Dictionary<string, double>
        {
            ["nextframe_mse"] = r.ModelMse, ["copylast_mse"] = r.CopyLastMse, ["nextframe_below_copylast"] = r.BelowCopyLast, ["nextframe_clips"] = r.Clips, ["blank_mse"] = r.BlankMse,
        };
        var paragraphs = new List<string>();
        if (v is not null)
        {
            summary["val_nextframe_mse"] = v.ModelMse;
            summary["val_copylast_mse"] = v.CopyLastMse;
            summary["val_nextframe_below_copylast"] = v.BelowCopyLast;
            summary["val_blank_mse"] = v.BlankMse;
            summary["val_nextframe_clips"] = v.Clips;
            paragraphs.Add(string.Create(c, $"On the {v.Clips} validation clips (carved from the training clips as for the probes; what choices read): {v.ModelMse:G4} against {v.CopyLastMse:G4} for copy-last ({FramePrediction.Relative(v.BelowCopyLast)} copy-last) and {v.BlankMse:G4} for an all-black frame."));
        }
        var perStep = string.Join(", ", r.ModelMsePerStep.Select((m, t) => string.Create(c, $"{t + 1}: {m:G3}/{r.CopyLastMsePerStep[t]:G3}")));
        return new ReportSection("Next-frame prediction")
        {
            Paragraphs =
            [
                string.Create(c, $"Mean squared pixel error (pixels in [0, 1]) of one-step predictions of frames 1..{clips.SampleShape[0] - 1} of {r.Clips} test clips, each from the true frames before it: ") +
                string.Create(c, $"{r.ModelMse:G4} against {r.CopyLastMse:G4} for copying the last frame ({FramePrediction.Relative(r.BelowCopyLast)} copy-last) and {r.BlankMse:G4} for an all-black frame."),
                $"Per predicted frame (model/copy-last): {perStep}.",
                .. paragraphs,
            ],
            Header = ["predictor", "MSE per pixel"],
            Rows = rows,
            Images = images,
            Summary = summary,
        };
    }

    /// <summary>Clips read as they are; no augmentation for supervised training; raw first and last frames as the baseline.</summary>
    public sealed class VideoInputs(RunConfig config) : ModelInputs
    {
        private readonly Encoders.VideoEncoderConfig video = config.Encoder.Video;

        protected override (IDataset Data, bool Owned) EncodeCore(ISampleSet samples)
        {
            var clips = VideoSamples.Of(samples);
            CheckShape(clips, video);
            return (clips.Data, false);
        }

        public override int FeatureBatchSize => 64;

        public override (Tensor Train, Tensor Test, bool Standardize) BaselineFeatures(ISampleSet train, ISampleSet test) =>
            (FirstAndLast(VideoSamples.Of(train).Data), FirstAndLast(VideoSamples.Of(test).Data), true);
    }

    /// <summary>
    /// The baseline's features of clips (N, T, C, S, S): the first and the last frame, each average-pooled to
    /// <see cref="BaselineSide"/> x <see cref="BaselineSide"/>, concatenated, (N, 2 C 16 16) fp32 in [0, 1]. Pixels say which digit and, from
    /// where it is at the start and the end, roughly where it went, without any learning.
    /// </summary>
    public static Tensor FirstAndLast(TensorDataset clips)
    {
        using var scope = NewDisposeScope();
        var result = new List<Tensor>();
        const int chunk = 256;
        for (long start = 0; start < clips.Count; start += chunk)
        {
            long n = Math.Min(chunk, clips.Count - start);
            using var inner = NewDisposeScope();
            var x = Features.Batch(clips, start, n, null);
            long t = x.shape[1];
            var ends = cat([x.select(1, 0), x.select(1, t - 1)], 1);
            var side = Math.Min(BaselineSide, (int)x.shape[^1]);
            result.Add(nn.functional.adaptive_avg_pool2d(ends, [side, side]).reshape(n, -1).MoveToOuterDisposeScope());
        }
        return cat(result, 0).MoveToOuterDisposeScope();
    }
}

/// <summary>Clips as samples: a <see cref="TensorDataset"/> of uint8 (T, C, S, S) gathered as fp32 in [0, 1].</summary>
public sealed class VideoSamples(TensorDataset data) : TensorSamples(data)
{
    public override ISampleSet Subset(long[] indices, string name) => new VideoSamples(Data.Subset(indices, name));

    /// <exception cref="ArgumentException"><paramref name="samples"/> are not clips.</exception>
    public static VideoSamples Of(ISampleSet samples) =>
        samples as VideoSamples ?? throw new ArgumentException($"'{samples.Name}' holds no clips; a video model reads moving-mnist or folders of clips.");
}
