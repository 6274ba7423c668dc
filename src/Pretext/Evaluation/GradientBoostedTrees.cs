using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>
/// Settings of <see cref="GradientBoostedTrees"/> (never chosen on test): LightGBM's defaults (Ke et al. 2017) except where few labels
/// need otherwise; the table evaluation chooses among several on the validation split (<see cref="TableEvaluationOptions.TreeCandidates"/>).
/// </summary>
public sealed record TreeOptions
{
    /// <summary>Boosting rounds: 100, LightGBM's default.</summary>
    public int Iterations { get; init; } = 100;
    /// <summary>Leaves per tree: 15, half of LightGBM's 31, as the label budgets here are often a few hundred rows.</summary>
    public int Leaves { get; init; } = 15;
    /// <summary>Fewest rows in a leaf: 5 instead of LightGBM's 20, which leaves 10 labels per class no split at all.</summary>
    public int MinimumLeafRows { get; init; } = 5;
    /// <summary>Shrinkage: 0.1, LightGBM's default.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <exception cref="ArgumentException">A setting out of range.</exception>
    public void Validate()
    {
        if (Iterations < 1 || Leaves < 2 || MinimumLeafRows < 1 || !(LearningRate > 0))
            throw new ArgumentException($"evaluation.table.trees needs iterations >= 1, leaves >= 2, minimumLeafRows >= 1 and learningRate > 0; got {Iterations}, {Leaves}, {MinimumLeafRows}, {LearningRate}.");
    }
}

/// <summary>
/// Gradient-boosted decision trees (LightGBM through ML.NET, multiclass softmax objective) on raw table columns: the supervised baseline
/// that tables are usually won by (Grinsztajn et al. 2022), beside logistic regression. One thread and a fixed seed, so a fit repeats.
/// </summary>
public static class GradientBoostedTrees
{
    private sealed class Row
    {
        public float[] Features { get; set; } = [];
        public uint Label { get; set; }
    }

    private sealed class Prediction
    {
        /// <summary>Class probabilities; slot i is class i.</summary>
        public float[] Score { get; set; } = [];
    }

    /// <summary>
    /// Fits on the rows of <paramref name="trainX"/> (N, D) with labels <paramref name="trainY"/> (0..classes-1) and predicts the class of
    /// each row of each of <paramref name="targets"/> (M, D).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or labels do not fit, or fewer than two rows.</exception>
    /// <exception cref="InvalidOperationException">LightGBM's native library does not load (the message says what to install).</exception>
    public static int[][] FitPredict(Tensor trainX, int[] trainY, int classes, IReadOnlyList<Tensor> targets, TreeOptions options, int seed)
    {
        options.Validate();
        if (trainX.dim() != 2 || trainX.shape[0] != trainY.Length || trainY.Length < 2)
            throw new ArgumentException($"Trees need (N, D) rows with one label each, N >= 2; got [{string.Join(",", trainX.shape)}] and {trainY.Length} labels.");
        if (trainY.Any(y => y < 0 || y >= classes)) throw new ArgumentException($"Labels must lie in [0, {classes}).");
        int d = (int)trainX.shape[1];
        foreach (var t in targets)
            if (t.dim() != 2 || t.shape[1] != d) throw new ArgumentException($"Rows to predict have shape [{string.Join(",", t.shape)}], the training rows {d} columns.");
        var ml = new MLContext(seed);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        // A key label of `classes` values, so every class exists for the trainer even if a subset lacks some. Loading from objects
        // takes the 0-based class index (it stores key = index + 1), but reading PredictedLabel back gives the 1-based key: the
        // scores' argmax (slot i = class i) avoids that asymmetry.
        schema[nameof(Row.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        var train = ml.Data.LoadFromEnumerable(Rows(trainX, trainY), schema);
        var trainer = ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
        {
            NumberOfIterations = options.Iterations, NumberOfLeaves = options.Leaves, MinimumExampleCountPerLeaf = options.MinimumLeafRows,
            LearningRate = options.LearningRate, NumberOfThreads = 1, Seed = seed, Silent = true,
        });
        ITransformer model;
        try { model = trainer.Fit(train); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException("LightGBM's native library (lib_lightgbm.so) did not load; it needs GCC's OpenMP runtime: apt-get install libgomp1. " +
                "Or leave the trees out with --set evaluation.table.gradientBoostedTrees=false.", e);
        }
        var result = new int[targets.Count][];
        for (int k = 0; k < targets.Count; k++)
        {
            var view = ml.Data.LoadFromEnumerable(Rows(targets[k], null), schema);
            var predicted = ml.Data.CreateEnumerable<Prediction>(model.Transform(view), reuseRowObject: false).Select(p => ArgMax(p.Score)).ToArray();
            result[k] = predicted;
        }
        return result;
    }

    /// <summary>
    /// Fits every one of <paramref name="candidates"/> on the same rows and keeps the one whose predictions of the validation rows
    /// <paramref name="validationX"/> are most accurate against <paramref name="validationY"/> (ties to the earlier candidate); returns its
    /// predictions of <paramref name="testX"/> and of the validation rows, and its index. Test rows play no part in the choice.
    /// </summary>
    /// <exception cref="ArgumentException">No candidate, or validation rows and labels that do not match.</exception>
    public static (int[] Test, int[] Validation, int Chosen) FitChosen(Tensor trainX, int[] trainY, int classes, Tensor testX,
        Tensor validationX, int[] validationY, IReadOnlyList<TreeOptions> candidates, int seed)
    {
        if (candidates.Count == 0) throw new ArgumentException("Trees need at least one candidate setting to choose among.");
        if (validationX.dim() != 2 || validationX.shape[0] != validationY.Length || validationY.Length == 0)
            throw new ArgumentException($"The validation rows ({validationX.shape[0]}) need one label each ({validationY.Length}), at least one.");
        int[][]? best = null;
        int chosen = -1;
        double bestAccuracy = -1;
        for (int c = 0; c < candidates.Count; c++)
        {
            var p = FitPredict(trainX, trainY, classes, [validationX, testX], candidates[c], seed);
            double accuracy = p[0].Zip(validationY, (a, b) => a == b ? 1.0 : 0.0).Average();
            if (accuracy > bestAccuracy) (bestAccuracy, best, chosen) = (accuracy, p, c);
        }
        return (best![1], best[0], chosen);
    }

    /// <summary>The rows as ML.NET reads them (materialised: the trainer passes over them more than once); rows to predict get a placeholder label.</summary>
    private static List<Row> Rows(Tensor x, int[]? y)
    {
        using var cpu = x.to(ScalarType.Float32).contiguous();
        var values = cpu.data<float>().ToArray();
        int n = (int)x.shape[0], d = (int)x.shape[1];
        var rows = new List<Row>(n);
        for (int i = 0; i < n; i++)
            rows.Add(new Row { Features = values.AsSpan(i * d, d).ToArray(), Label = y is null ? 0u : (uint)y[i] });
        return rows;
    }

    private static int ArgMax(float[] scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++) if (scores[i] > scores[best]) best = i;
        return best;
    }
}
