using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pretext.MLNet;

namespace Pretext.Bench;

/// <summary>
/// The example of docs/mlnet.md as a program: a labelled image folder (one sub-folder per class) split into training and test images,
/// a Pretext checkpoint's embeddings as ML.NET features, an ML.NET multiclass trainer on them, and test accuracy; then the whole
/// pipeline saved, loaded in a fresh MLContext, and checked to predict the same. One JSON-ish line of results.
///   dotnet bench/Pretext.Bench/bin/Release/net10.0/linux-x64/Pretext.Bench.dll mlnet --checkpoint CKPT --train DIR --test DIR [--threads 1]
///       [--trainer lbfgs|sdca] [--save model.zip]
///   ... mlnet --load model.zip --test DIR     a saved pipeline loaded in this (another) process: its test accuracy, nothing trained
/// </summary>
internal static class MlNetBench
{
    public sealed class Image
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public sealed class Prediction
    {
        public string PredictedLabel { get; set; } = "";
    }

    public static int Run(BenchArgs a)
    {
        if (a.Has("load")) return Load(a.Get("load", ""), a.Get("test", ""));
        string checkpoint = a.Get("checkpoint", ""), trainDir = a.Get("train", ""), testDir = a.Get("test", "");
        if (!File.Exists(checkpoint)) return Fail($"No checkpoint '{checkpoint}'; pass --checkpoint of a run's checkpoints/step-*.safetensors.");
        if (!Directory.Exists(trainDir) || !Directory.Exists(testDir)) return Fail("Pass --train and --test: labelled image folders (one sub-folder per class).");
        int threads = a.Int("threads", 1);
        string trainer = a.Get("trainer", "lbfgs");

        var ml = new MLContext(seed: 0);
        var trainRows = Images(trainDir).ToList();
        var train = ml.Data.LoadFromEnumerable(trainRows);
        var test = ml.Data.LoadFromEnumerable(Images(testDir).ToList());
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.PretextEmbedding(checkpoint, PretextInput.ImagePath, "ImagePath", "Features", threads))
            .Append(ml.Transforms.NormalizeMeanVariance("Features"))
            .AppendCacheCheckpoint(ml)
            .Append(trainer == "sdca"
                ? ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()
                : (IEstimator<ITransformer>)ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var clock = Stopwatch.StartNew();
        var model = pipeline.Fit(train);
        double fitSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        double testSeconds = clock.Elapsed.TotalSeconds;

        var zip = a.Get("save", Path.Combine(Path.GetTempPath(), $"pretext-mlnet-{Environment.ProcessId}.zip"));
        ml.Model.Save(model, train.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);
        var before = model.Transform(test).GetColumn<string>("PredictedLabel").ToArray();
        var after = loaded.Transform(test).GetColumn<string>("PredictedLabel").ToArray();
        if (!a.Has("save")) File.Delete(zip);

        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c,
            $"{{\"trainer\": \"{trainer}\", \"train\": {trainRows.Count}, \"test\": {before.Length}, \"accuracy\": {metrics.MicroAccuracy:0.0000}, " +
            $"\"macro_accuracy\": {metrics.MacroAccuracy:0.0000}, \"fit_seconds\": {fitSeconds:0.0}, \"test_seconds\": {testSeconds:0.0}, " +
            $"\"test_images_per_second\": {before.Length / testSeconds:0.0}, \"same_after_load\": {before.SequenceEqual(after).ToString().ToLowerInvariant()}}}"));
        return 0;
    }

    /// <summary>Test accuracy of a pipeline saved by another process (`--save`), loaded here with no Pretext call before it.</summary>
    private static int Load(string zip, string testDir)
    {
        if (!File.Exists(zip) || !Directory.Exists(testDir)) return Fail("Pass --load of a zip written with --save, and --test: a labelled image folder.");
        var ml = new MLContext(seed: 0);
        var clock = Stopwatch.StartNew();
        var model = ml.Model.Load(zip, out _);
        var test = ml.Data.LoadFromEnumerable(Images(testDir).ToList());
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"loaded\": \"{zip}\", \"accuracy\": {metrics.MicroAccuracy:0.0000}, \"seconds\": {clock.Elapsed.TotalSeconds:0.0}}}"));
        return 0;
    }

    /// <summary>Every image of a labelled folder, its class the sub-folder's name, in a stable order.</summary>
    private static IEnumerable<Image> Images(string folder) =>
        Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal).SelectMany(d =>
            Directory.EnumerateFiles(d).Order(StringComparer.Ordinal).Select(f => new Image { ImagePath = f, Label = Path.GetFileName(d) }));

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }
}
