using System.Globalization;
using Pretext.Data;
using Pretext.Methods;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>
/// One-step next-frame prediction error on clips: the model's and the copy-the-last-frame baseline's mean squared error per
/// pixel (frames in [0, 1]), over every predicted frame 1..T-1 and per step t -> t + 1.
/// </summary>
/// <param name="Clips">Clips scored.</param>
/// <param name="ModelMse">Mean squared pixel error of the model's predictions of frames 1..T-1 (each from the true frames before it).</param>
/// <param name="CopyLastMse">The same for predicting frame t + 1 as frame t.</param>
/// <param name="ModelMsePerStep">(T - 1) entries: the model's error on frame t + 1.</param>
/// <param name="CopyLastMsePerStep">(T - 1) entries: copy-last's error on frame t + 1.</param>
/// <param name="BlankMse">The error of predicting an all-black frame (the mean squared pixel of frames 1..T-1): on sparse frames such as
/// Moving MNIST's this is close to copy-last's, so beating copy-last by a little says little.</param>
public sealed record FramePredictionResult(int Clips, double ModelMse, double CopyLastMse, double[] ModelMsePerStep, double[] CopyLastMsePerStep, double BlankMse)
{
    /// <summary>How far below copy-last the model's error is, as a fraction of copy-last's (0.3: 30 % lower; negative: worse).</summary>
    public double BelowCopyLast => 1 - ModelMse / CopyLastMse;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"next-frame MSE on {Clips} clips: model {ModelMse:G4}, copy-last-frame {CopyLastMse:G4} ({FramePrediction.Relative(BelowCopyLast)} copy-last), blank frame {BlankMse:G4}");

}

/// <summary>Next-frame prediction error against copying the last frame (the baseline Srivastava et al. 2015 and later work compare with).</summary>
public static class FramePrediction
{
    /// <summary>"31.2 % below" or "12.0 % above" for a fraction below (positive) or above (negative).</summary>
    public static string Relative(double below) =>
        (100 * Math.Abs(below)).ToString("F1", CultureInfo.InvariantCulture) + (below >= 0 ? " % below" : " % above");

    /// <summary>Copy-last's predictions of frames 1..T-1 of <paramref name="clips"/> (B, T, ...): frames 0..T-2 (a view).</summary>
    /// <exception cref="ArgumentException">Clips of fewer than 2 frames.</exception>
    public static Tensor CopyLast(Tensor clips)
    {
        if (clips.dim() < 3 || clips.shape[1] < 2) throw new ArgumentException($"Clips (B, T, ...) with at least 2 frames are needed to predict a next frame, got [{string.Join(",", clips.shape)}].");
        return clips.narrow(1, 0, clips.shape[1] - 1);
    }

    /// <summary>
    /// Sums of squared errors per predicted frame, (T - 1) values in double: entry t is the sum over the batch and the pixels of
    /// (<paramref name="predicted"/>[:, t] - <paramref name="clips"/>[:, t + 1])^2.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="predicted"/> is not (B, T - 1, ...) of <paramref name="clips"/> (B, T, ...).</exception>
    public static double[] SquaredErrorPerStep(Tensor predicted, Tensor clips)
    {
        long t = clips.shape[1] - 1;
        var expected = clips.shape.ToArray();
        expected[1] = t;
        if (!predicted.shape.SequenceEqual(expected))
            throw new ArgumentException($"Predictions of shape [{string.Join(",", predicted.shape)}] do not fit clips [{string.Join(",", clips.shape)}]: expected [{string.Join(",", expected)}].");
        using var scope = NewDisposeScope();
        var diff = predicted.to(ScalarType.Float64).sub(clips.narrow(1, 1, t).to(ScalarType.Float64));
        return diff.square().transpose(0, 1).reshape(t, -1).sum(1).data<double>().ToArray();
    }

    /// <summary>
    /// Scores <paramref name="predictor"/> and copy-last on every clip of <paramref name="clips"/> (samples (T, C, S, S) in [0, 1]),
    /// <paramref name="batchSize"/> clips at a time, without gradients. The caller puts the model in evaluation mode.
    /// </summary>
    /// <exception cref="ArgumentException">No clips, or clips of fewer than 2 frames.</exception>
    public static FramePredictionResult Evaluate(IFramePredictor predictor, IDataset clips, int batchSize = 32)
    {
        if (clips.Count == 0) throw new ArgumentException($"'{clips.Name}' has no clips to score next-frame prediction on.");
        if (clips.SampleShape.Length < 2 || clips.SampleShape[0] < 2)
            throw new ArgumentException($"'{clips.Name}' holds samples of shape [{string.Join(",", clips.SampleShape)}]; next-frame prediction needs clips (T, C, S, S) of at least 2 frames.");
        using var noGrad = no_grad();
        int steps = (int)clips.SampleShape[0] - 1;
        var model = new double[steps];
        var copy = new double[steps];
        double blank = 0;
        for (long start = 0; start < clips.Count; start += batchSize)
        {
            long n = Math.Min(batchSize, clips.Count - start);
            using var scope = NewDisposeScope();
            var x = Features.Batch(clips, start, n, null);
            Add(model, SquaredErrorPerStep(predictor.Predict(x), x));
            Add(copy, SquaredErrorPerStep(CopyLast(x), x));
            blank += x.narrow(1, 1, steps).to(ScalarType.Float64).square().sum().item<double>();
        }
        double perStep = clips.Count * clips.SampleShape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var modelPer = model.Select(v => v / perStep).ToArray();
        var copyPer = copy.Select(v => v / perStep).ToArray();
        return new FramePredictionResult((int)clips.Count, modelPer.Average(), copyPer.Average(), modelPer, copyPer, blank / (perStep * steps));

        static void Add(double[] into, double[] values)
        {
            for (int i = 0; i < into.Length; i++) into[i] += values[i];
        }
    }
}
