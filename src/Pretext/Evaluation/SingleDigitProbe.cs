using Pretext.Compute;
using Pretext.Data;
using Pretext.Data.Video;
using Pretext.Encoders;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>Probe accuracy at one label budget: one test and one validation accuracy per label subset.</summary>
/// <param name="PerClass">Labels per class, or null for every labelled frame of the pool.</param>
/// <param name="Labels">Labelled frames per subset.</param>
public sealed record DigitProbeScore(int? PerClass, int Labels, double[] Test, double[] Validation)
{
    public double TestMean => Test.Average();
    /// <summary>Sample standard deviation over the subsets (0 for one subset).</summary>
    public double TestStd => Std(Test);
    public double ValidationMean => Validation.Average();

    private static double Std(double[] v)
    {
        if (v.Length < 2) return 0;
        double m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }
}

/// <summary>The frame encoder's and the raw pixels' probe scores on single digits, with the frame counts they came from.</summary>
public sealed record SingleDigitProbeResult(IReadOnlyList<DigitProbeScore> Encoder, IReadOnlyList<DigitProbeScore> Pixels, int PoolFrames, int ValidationFrames, int TestFrames);

/// <summary>
/// The frame encoder's linear probe on single MNIST digits, as the video issue asks: each digit alone at a uniform random position in a
/// black frame of the clips' side (a Moving MNIST frame with one digit), through the frame encoder only (no temporal model), and a linear
/// probe for the digit's class. Frames of the training digits give a validation part (carved by id, as every evaluation carves it) that
/// chooses each probe's penalty, and a pool the label subsets are drawn from; frames of the test digits are scored. Logistic regression on
/// the frames' raw pixels pooled to 16x16 is the no-learning baseline beside it.
/// </summary>
public static class SingleDigitProbe
{
    /// <summary>Side the pixel baseline pools each frame to (as the clips' baseline).</summary>
    public const int BaselineSide = 16;

    /// <summary>
    /// <paramref name="count"/> frames, each one digit drawn from <paramref name="digits"/> (N, 28, 28) or (N, 1, 28, 28) uint8 and placed
    /// at a uniform random position in a black <paramref name="size"/> x <paramref name="size"/> frame by the Moving MNIST generator (its
    /// first frame, one digit a clip): (count, 1, 1, size, size) uint8 labelled by the digit's class, ids "digit-00000", ...
    /// </summary>
    public static TensorDataset Frames(Tensor digits, int[] labels, int count, int seed, int size, string name)
    {
        var clips = MovingMnist.Generate(digits, labels, count, seed, new MovingMnistOptions { Frames = 2, Size = size, Digits = 1 }, name);
        using var d = clips.Dataset;
        var classes = Enumerable.Range(0, count).Select(i => clips.DigitClasses[i, 0]).ToArray();
        var ids = Enumerable.Range(0, count).Select(i => $"digit-{i:D5}").ToArray();
        return new TensorDataset(name, d.Data.narrow(1, 0, 1).clone(), classes, d.ClassNames, ids);
    }

    /// <summary>Frame vectors (N, D) of <paramref name="frames"/> (N, 1, C, S, S): the frame encoder alone, in eval mode, without gradients.</summary>
    public static Tensor FrameVectors(FrameSequenceEncoder encoder, IDataset frames, int batchSize = 256)
    {
        using var mode = ModeScope.Eval(encoder);
        using var grad = no_grad();
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < frames.Count; start += batchSize)
        {
            long n = Math.Min(batchSize, frames.Count - start);
            var x = Features.Batch(frames, start, n, null);
            parts.Add(encoder.EncodeFrames(x).reshape(n, -1));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>The baseline's features: each frame (N, 1, C, S, S) average-pooled to <see cref="BaselineSide"/> x <see cref="BaselineSide"/>, (N, C 16 16) fp32.</summary>
    public static Tensor PooledPixels(IDataset frames, int batchSize = 1024)
    {
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < frames.Count; start += batchSize)
        {
            long n = Math.Min(batchSize, frames.Count - start);
            var x = Features.Batch(frames, start, n, null).select(1, 0);
            int side = Math.Min(BaselineSide, (int)x.shape[^1]);
            parts.Add(nn.functional.adaptive_avg_pool2d(x, [side, side]).reshape(n, -1));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Linear probes on <paramref name="trainX"/> rows: at each of <paramref name="perClass"/> labels per class over <paramref name="seeds"/>
    /// subsets (seeds 0..), then once on the whole <paramref name="pool"/>; each penalty chosen on the <paramref name="validation"/> rows,
    /// each probe scored on the test rows and the validation rows.
    /// </summary>
    /// <exception cref="ArgumentException">Pool or validation empty, or they overlap.</exception>
    public static IReadOnlyList<DigitProbeScore> Probe(Tensor trainX, int[] trainY, long[] pool, long[] validation, Tensor testX, int[] testY,
        IReadOnlyList<int> perClass, int seeds, int classes, LinearProbeOptions options)
    {
        if (pool.Length == 0 || validation.Length == 0) throw new ArgumentException("The single-digit probe needs a labelled pool and a validation part.");
        if (pool.Intersect(validation).Any()) throw new ArgumentException("The single-digit probe's pool and validation part overlap.");
        using var scope = NewDisposeScope();
        var valX = trainX.index_select(0, tensor(validation));
        var valY = validation.Select(i => trainY[i]).ToArray();
        var budgets = perClass.Select(k => ((int?)k, Enumerable.Range(0, seeds).Select(s => LabelSubsets.PerClass(trainY, k, s, pool)).ToArray()))
            .Append(((int?)null, new[] { pool.Order().ToArray() }));
        var scores = new List<DigitProbeScore>();
        foreach (var (k, subsets) in budgets)
        {
            var test = new List<double>();
            var val = new List<double>();
            foreach (var subset in subsets)
            {
                using var inner = NewDisposeScope();
                using var model = LinearProbe.Train(trainX.index_select(0, tensor(subset)), subset.Select(i => trainY[i]).ToArray(), classes, options, (valX, valY));
                test.Add(Metrics.Accuracy(model.Predict(testX), testY));
                val.Add(Metrics.Accuracy(model.Predict(valX), valY));
            }
            scores.Add(new DigitProbeScore(k, subsets[0].Length, [.. test], [.. val]));
        }
        return scores;
    }

    /// <summary>
    /// The whole protocol: <paramref name="trainFrames"/> frames of <paramref name="trainDigits"/> (a <paramref name="validationFraction"/>
    /// part of them carved by id for the penalties) and <paramref name="testFrames"/> frames of <paramref name="testDigits"/>, each digit
    /// placed with its own seed; probes on the encoder's frame vectors and on the pooled pixels at <paramref name="perClass"/> labels per
    /// class (<paramref name="seeds"/> subsets) and on the whole pool.
    /// </summary>
    public static SingleDigitProbeResult Evaluate(FrameSequenceEncoder encoder, TensorDataset trainDigits, TensorDataset testDigits, int trainFrames, int testFrames,
        int trainSeed, int testSeed, double validationFraction, IReadOnlyList<int> perClass, int seeds, LinearProbeOptions options)
    {
        if (trainDigits.Labels is null || testDigits.Labels is null) throw new ArgumentException("The single-digit probe needs labelled digits.");
        int size = encoder.Config.Size;
        using var train = Frames(trainDigits.Data, trainDigits.Labels, trainFrames, trainSeed, size, "single digits/train");
        using var test = Frames(testDigits.Data, testDigits.Labels, testFrames, testSeed, size, "single digits/test");
        var trainY = train.Labels!;
        var testY = test.Labels!;
        var (pool, validation) = ValidationSplit.Carve(trainY, i => train.SampleId(i), validationFraction);
        int classes = Math.Max(trainY.Max(), testY.Max()) + 1;
        using var scope = NewDisposeScope();
        var enc = Probe(FrameVectors(encoder, train), trainY, pool, validation, FrameVectors(encoder, test), testY, perClass, seeds, classes, options);
        var pix = Probe(PooledPixels(train), trainY, pool, validation, PooledPixels(test), testY, perClass, seeds, classes, options);
        return new SingleDigitProbeResult(enc, pix, pool.Length, validation.Length, testFrames);
    }
}
