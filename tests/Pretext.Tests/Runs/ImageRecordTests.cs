using Pretext.Evaluation;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Tests.Data;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>`pretext score` and `pretext cluster` on an image checkpoint: the same record path as tables, ids are the images' paths.</summary>
public class ImageRecordTests
{
    public ImageRecordTests() => set_num_threads(1);

    /// <summary>A class-per-folder set of 12x12 grey PNGs: 150 smooth ramps ("usual") and 10 checkerboards ("odd").</summary>
    private static string WriteFolder(TempDirectory dir)
    {
        var root = dir.Combine("scans");
        var rng = new Random(0);
        foreach (var (cls, n) in new[] { ("usual", 150), ("odd", 10) })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < n; i++)
            {
                int shift = rng.Next(40);
                byte[] Pixel(int x, int y) => cls == "usual" ? [(byte)Math.Min(255, 10 * (x + y) + shift)] : [(byte)(((x / 2 + y / 2) % 2) * 255)];
                File.WriteAllBytes(Path.Combine(root, cls, $"{cls}{i}.png"), TestFiles.Png(12, 12, 1, Pixel));
            }
        }
        return root;
    }

    [Fact]
    public void ImagesAreScoredAndSegmentedByPath()
    {
        using var dir = new TempDirectory();
        var folder = WriteFolder(dir);
        var cfg = ImageModality.WithShape(Presets.For("simclr", folder, threads: 1), 1, 12);
        cfg = cfg with
        {
            Encoder = cfg.Encoder with { Kind = Pretext.Encoders.EncoderKind.Mlp, Hidden = [32], Precision = Pretext.Compute.Precision.Float32 },
            Train = cfg.Train with { BatchSize = 32, MaxSteps = 3, CheckpointEvery = 0, KeepCheckpoints = 1 },
        };
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        var ckpt = Pretraining.Run(cfg, train, dir.Combine("run"), resume: false).FinalCheckpoint;

        using (var scores = RecordScoring.Run(ckpt, null, [], null, new RecordScoreOptions()))
        {
            Assert.Equal(160, scores.Scores.Length);
            Assert.Equal("odd", scores.AnomalyClass); // the rarer class
            Assert.Contains("usual/usual0.png", scores.Records.Ids);
            Assert.Null(scores.Records.Entities);
            Assert.Equal(["id", "part", "score", "flagged", "knn", "label"], scores.Table().Names);
            Assert.Equal(32, scores.Records.Parts.Count(p => p == ReadingPart.Test)); // the held-out fifth
            var anomalous = scores.Anomalous!;
            double auroc = RankingMetrics.Auroc(scores.Scores, anomalous);
            Assert.True(auroc > 0.9, $"AUROC over all images {auroc}");
        }
        using (var clusters = RecordClustering.Run(ckpt, null, [], null, new RecordClusterOptions { K = 2 }))
        {
            Assert.Equal(2, clusters.K);
            Assert.Equal(160, clusters.Segments.Length);
            Assert.All(clusters.Profiles, p => Assert.Empty(p.Columns)); // images have no columns: sizes only
            Assert.Equal(160, clusters.Profiles.Sum(p => p.Size));
            Assert.Equal(2, clusters.ProfileTable().Rows);
        }
        // --set only reads tables here; a series-only option is refused with the fix.
        Assert.Contains("table.columns", Assert.Throws<ArgumentException>(() => RecordScoring.Run(ckpt, null, ["train.batchSize=3"], null, new RecordScoreOptions())).Message);
    }
}
