using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pretext.MLNet;
using Pretext.Tests.Serving;

namespace Pretext.Tests.MLNet;

/// <summary>Column classes the tests load into ML.NET (public: ML.NET reads their properties through generated code).</summary>
public sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

public sealed class TextRow
{
    public string Text { get; set; } = "";
}

public sealed class NumberRow
{
    public float Number { get; set; }
}

internal static class Featurized
{
    /// <summary>The rows of <paramref name="column"/>, each a vector.</summary>
    public static float[][] Vectors(IDataView data, string column = "Features") => [.. data.GetColumn<float[]>(column)];

    /// <summary><paramref name="model"/> saved to a zip and loaded back in a fresh MLContext, with its input schema.</summary>
    public static ITransformer SaveAndLoad(MLContext ml, ITransformer model, IDataView data, string zip)
    {
        ml.Model.Save(model, data.Schema, zip);
        return new MLContext(seed: 1).Model.Load(zip, out _);
    }

    /// <summary>Every message of <paramref name="e"/> and its inner exceptions: ML.NET may wrap what a mapping throws.</summary>
    public static string Messages(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException) parts.Add($"{x.GetType().Name}: {x.Message}");
        return string.Join(" <- ", parts);
    }

    public static void AssertSame(float[][] expected, float[][] actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) ImageServiceTests.AssertClose(expected[i], actual[i], tolerance);
    }
}

/// <summary>
/// The ML.NET featurizer on an image checkpoint (a ResNet of widths 8, 16 trained two steps on blob PNGs): a column of image paths gives
/// the embeddings the library computes for the same files, a saved and reloaded pipeline gives them again, and mistakes are named.
/// </summary>
[Collection("console")]
public class ImageFeaturizerTests(ServedImages served) : IClassFixture<ServedImages>
{
    private ImageRow[] Rows() => [.. served.Ids.Select(id => new ImageRow { ImagePath = Path.Combine(served.Data, id), Label = id.Split('/')[0] })];

    [Fact]
    public void ImagePathsGiveTheLibrarysEmbeddingsAndTheSameAfterSaveAndLoad()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(Rows());
        var estimator = ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.ImagePath, nameof(ImageRow.ImagePath));
        Assert.Equal(16, estimator.Dimension);
        var model = estimator.Fit(data);
        var transformed = model.Transform(data);
        var type = Assert.IsType<VectorDataViewType>(transformed.Schema["Features"].Type);
        Assert.Equal(16, type.Size);
        Assert.Null(transformed.Schema.GetColumnOrNull(EmbeddingColumns.Model));
        var vectors = Featurized.Vectors(transformed);
        Featurized.AssertSame(served.Library, vectors);

        using var dir = new TempDirectory();
        var loaded = Featurized.SaveAndLoad(ml, model, data, dir.File("model.zip"));
        var again = loaded.Transform(data);
        Assert.Equal(16, Assert.IsType<VectorDataViewType>(again.Schema["Features"].Type).Size);
        Featurized.AssertSame(vectors, Featurized.Vectors(again), 0);
    }

    [Fact]
    public void WrongColumnsModalityAndImagesAreNamed()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(Rows());
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Number = 1 } });

        var estimator = ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.ImagePath, nameof(NumberRow.Number));
        var wrongType = Assert.Throws<ArgumentException>(() => estimator.Fit(numbers));
        Assert.Contains("Column 'Number' is Single", wrongType.Message);
        Assert.Contains("image file paths from a text (string) column", wrongType.Message);
        var missing = Assert.Throws<ArgumentException>(() => ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.ImagePath, "Path").Fit(data));
        Assert.Contains("no column 'Path'", missing.Message);
        Assert.Contains("ImagePath, Label", missing.Message);

        var modality = Assert.Throws<ArgumentException>(() => ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.Text, "ImagePath"));
        Assert.Contains("holds a model of images", modality.Message);
        Assert.Contains("PretextInput.ImagePath", modality.Message);
        Assert.Throws<ArgumentException>(() => ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.TableRow, "ImagePath"));

        var noCheckpoint = Assert.Throws<FileNotFoundException>(() => ml.Transforms.PretextEmbedding(served.Checkpoint + ".gone", PretextInput.ImagePath, "ImagePath"));
        Assert.Contains(served.Checkpoint + ".gone", noCheckpoint.Message);

        using var dir = new TempDirectory();
        var notAnImage = dir.File("notes.png");
        File.WriteAllText(notAnImage, "these are notes, not pixels");
        var bad = ml.Data.LoadFromEnumerable(new[] { Rows()[0], new ImageRow { ImagePath = notAnImage, Label = "class0" } });
        var featurizer = ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.ImagePath, "ImagePath").Fit(bad);
        var undecodable = Assert.ThrowsAny<Exception>(() => Featurized.Vectors(featurizer.Transform(bad)));
        Assert.Contains($"Column 'ImagePath': image file '{notAnImage}' cannot be used: not an image", Featurized.Messages(undecodable));
        var absent = ml.Data.LoadFromEnumerable(new[] { new ImageRow { ImagePath = dir.File("absent.png") } });
        var notThere = Assert.ThrowsAny<Exception>(() => Featurized.Vectors(featurizer.Transform(absent)));
        Assert.Contains($"Column 'ImagePath': image file '{dir.File("absent.png")}' does not exist", Featurized.Messages(notThere));
    }

    [Fact]
    public void ASavedModelWhoseCheckpointMovedOrChangedSaysWhichFileAndHowToFixIt()
    {
        using var dir = new TempDirectory();
        var checkpoint = dir.File("encoder.safetensors");
        File.Copy(served.Checkpoint, checkpoint);
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(Rows().Take(3));
        var model = ml.Transforms.PretextEmbedding(checkpoint, PretextInput.ImagePath, "ImagePath").Fit(data);
        var zip = dir.File("model.zip");
        ml.Model.Save(model, data.Schema, zip);

        File.Move(checkpoint, checkpoint + ".moved");
        var gone = new MLContext().Model.Load(zip, out _);
        var missing = Assert.ThrowsAny<Exception>(() => Featurized.Vectors(gone.Transform(data)));
        var says = Featurized.Messages(missing);
        Assert.Contains($"embeds with the Pretext checkpoint '{checkpoint}', which does not exist", says);
        Assert.Contains("Put that file back there", says);

        // Another checkpoint at the same path (here: the same file with one byte more) would give other embeddings: refused.
        File.WriteAllBytes(checkpoint, [.. File.ReadAllBytes(checkpoint + ".moved"), 0]);
        var changed = new MLContext().Model.Load(zip, out _);
        var other = Assert.ThrowsAny<Exception>(() => Featurized.Vectors(changed.Transform(data)));
        Assert.Contains($"'{checkpoint}' is not the checkpoint this ML.NET model was built with", Featurized.Messages(other));

        File.Move(checkpoint + ".moved", checkpoint, overwrite: true);
        var back = new MLContext().Model.Load(zip, out _);
        Featurized.AssertSame(Featurized.Vectors(model.Transform(data)), Featurized.Vectors(back.Transform(data)), 0);
    }

    /// <summary>
    /// The example of docs/mlnet.md on the fixture's labelled folder: embeddings into an ML.NET multiclass trainer, accuracy on held-out
    /// images, and the saved whole pipeline predicting the same after loading.
    /// </summary>
    [Fact]
    public void DocsExampleTrainsAnMlNetClassifierOnTheEmbeddings()
    {
        // A labelled folder of small and large blobs at random places (the fixture's classes differ only by where the blob is, which
        // the encoder's global pooling does not see).
        using var folder = new TempDirectory();
        var rng = new Random(3);
        var rows = new List<ImageRow>();
        foreach (var (label, spread) in new[] { ("small", 3.0), ("large", 40.0) })
        {
            Directory.CreateDirectory(folder.Combine(label));
            for (int i = 0; i < 12; i++)
            {
                int cx = rng.Next(6, 22), cy = rng.Next(6, 22);
                var png = Pretext.Tests.Data.TestFiles.Png(28, 28, 1, (x, y) =>
                    [(byte)Math.Min(255, 255 * Math.Exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / spread) + rng.Next(0, 40))]);
                var path = folder.Combine(label, $"{i:D2}.png");
                File.WriteAllBytes(path, png);
                rows.Add(new ImageRow { ImagePath = path, Label = label });
            }
        }
        var ml = new MLContext(seed: 0);
        var train = ml.Data.LoadFromEnumerable(rows.Where((_, i) => i % 3 != 0));
        var test = ml.Data.LoadFromEnumerable(rows.Where((_, i) => i % 3 == 0));

        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.ImagePath, "ImagePath", "Features", threads: 1))
            .Append(ml.Transforms.NormalizeMeanVariance("Features"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.MicroAccuracy >= 0.75, $"accuracy {metrics.MicroAccuracy:0.###} on {rows.Count / 3} held-out blob images");

        using var dir = new TempDirectory();
        var loaded = Featurized.SaveAndLoad(ml, model, train, dir.File("classifier.zip"));
        Assert.Equal(model.Transform(test).GetColumn<string>("PredictedLabel").ToArray(), loaded.Transform(test).GetColumn<string>("PredictedLabel").ToArray());
        var engine = new MLContext().Model.CreatePredictionEngine<ImageRow, ImagePrediction>(loaded);
        Assert.Equal(rows[0].Label, engine.Predict(rows[0]).PredictedLabel);
    }
}

public sealed class ImagePrediction
{
    public string PredictedLabel { get; set; } = "";
}

/// <summary>The featurizer on a text checkpoint (MLM, a tiny Transformer): documents give the library's embeddings, also after save and load.</summary>
[Collection("console")]
public class TextFeaturizerTests(ServedText served) : IClassFixture<ServedText>
{
    [Fact]
    public void DocumentsGiveTheLibrarysEmbeddingsAndTheSameAfterSaveAndLoad()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(served.Texts.Select(t => new TextRow { Text = t }));
        var model = ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.Text, "Text", "Embedding").Fit(data);
        var vectors = Featurized.Vectors(model.Transform(data), "Embedding");
        Featurized.AssertSame(served.Library, vectors);
        using var dir = new TempDirectory();
        Featurized.AssertSame(vectors, Featurized.Vectors(Featurized.SaveAndLoad(ml, model, data, dir.File("text.zip")).Transform(data), "Embedding"), 0);

        var empty = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "  " } });
        var refused = Assert.ThrowsAny<Exception>(() => Featurized.Vectors(model.Transform(empty), "Embedding"));
        Assert.Contains("Column 'Text' holds an empty document", Featurized.Messages(refused));
        Assert.Contains("holds a model of text", Assert.Throws<ArgumentException>(() => ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.ImagePath, "Text")).Message);
    }
}

/// <summary>The featurizer on a table checkpoint (SCARF): rows as CSV lines of the model's columns give the library's embeddings.</summary>
[Collection("console")]
public class TableFeaturizerTests(ServedTable served) : IClassFixture<ServedTable>
{
    /// <summary>Row <paramref name="i"/> as a CSV line of the feature columns, numeric then categorical (missing: an empty field).</summary>
    private string Line(int i)
    {
        var rows = served.Rows;
        var numbers = Enumerable.Range(0, rows.NumericNames.Length).Select(k => rows.Numeric(i, k))
            .Select(v => float.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture));
        var categories = Enumerable.Range(0, rows.CategoricalNames.Length).Select(k => rows.Category(i, k) ?? "")
            .Select(c => c.Contains(',') || c.Contains('"') ? "\"" + c.Replace("\"", "\"\"") + "\"" : c);
        return string.Join(",", numbers.Concat(categories));
    }

    [Fact]
    public void CsvRowsGiveTheLibrarysEmbeddingsAndTheSameAfterSaveAndLoad()
    {
        var ml = new MLContext(seed: 0);
        var lines = Enumerable.Range(0, served.Rows.Count).Select(Line).ToArray();
        Assert.Contains(lines, l => l.StartsWith(',') || l.Contains(",,"));   // missing values are in the data
        var data = ml.Data.LoadFromEnumerable(lines.Select(l => new TextRow { Text = l }));
        var estimator = ml.Transforms.PretextEmbedding(served.Checkpoint, PretextInput.TableRow, "Text");
        Assert.Equal([.. served.Rows.NumericNames, .. served.Rows.CategoricalNames], estimator.TableColumns);
        var model = estimator.Fit(data);
        var vectors = Featurized.Vectors(model.Transform(data));
        Featurized.AssertSame(served.Library, vectors);
        using var dir = new TempDirectory();
        Featurized.AssertSame(vectors, Featurized.Vectors(Featurized.SaveAndLoad(ml, model, data, dir.File("table.zip")).Transform(data)), 0);

        var shortRow = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "1,2" } });
        var refused = Assert.ThrowsAny<Exception>(() => Featurized.Vectors(model.Transform(shortRow)));
        Assert.Contains($"Column 'Text' holds a row of 2 values ('1,2'); the checkpoint reads {estimator.TableColumns.Count} columns", Featurized.Messages(refused));
        var text = Line(0).Split(',');
        text[0] = "many";
        var wrong = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = string.Join(",", text) } });
        var notNumber = Assert.ThrowsAny<Exception>(() => Featurized.Vectors(model.Transform(wrong)));
        Assert.Contains(served.Rows.NumericNames[0], Featurized.Messages(notNumber));
    }
}
