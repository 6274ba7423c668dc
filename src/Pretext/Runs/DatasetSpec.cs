using Pretext.Data;

namespace Pretext.Runs;

/// <summary>
/// Resolves what a user passes as --dataset: a catalogue name (fashion-mnist, mnist) with its official
/// train/test split, or a folder of images (one sub-folder per class, or none), split 80/20 by a fixed
/// seed (stratified when labelled) when a test split is needed.
/// </summary>
public static class DatasetSpec
{
    public static bool IsCatalogName(string spec) => DataCatalog.Contains(spec, Modality.Image);

    /// <summary>Loads (train, test). For folders, test is a held-out fifth (seed 0); unlabelled folders return all images as train and an empty test (null).</summary>
    /// <exception cref="DirectoryNotFoundException">Neither a known data set nor an existing folder.</exception>
    public static (TensorDataset Train, TensorDataset? Test) Load(string spec, EncoderConfig encoder, string? dataDir, Action<string>? log, bool needTest)
    {
        if (IsCatalogName(spec))
        {
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dataDir, Log = log });
            var train = fetcher.LoadSplit(spec.ToLowerInvariant(), DataSplit.Train);
            var test = needTest ? fetcher.LoadSplit(spec.ToLowerInvariant(), DataSplit.Test) : null;
            return (train, test);
        }
        if (!Directory.Exists(spec))
            throw new DirectoryNotFoundException($"'{spec}' is neither a known data set ({string.Join(", ", DataCatalog.All.Where(e => e.Modality == Modality.Image).Select(e => e.Name))}) nor an existing image folder.");
        var all = ImageFolderDataset.Load(spec, encoder.ImageSize, encoder.InChannels, new ImageFolderOptions { Log = log });
        if (!needTest || all.Labels is null) return (all, null);
        var testIdx = new HashSet<long>(Evaluation.LabelSubsets.Stratified(all.Labels, 0.2, 0));
        var trainIdx = Enumerable.Range(0, (int)all.Count).Select(i => (long)i).Where(i => !testIdx.Contains(i)).ToArray();
        var trainSet = all.Subset(trainIdx, $"{spec} (train 80 %)");
        var testSet = all.Subset(testIdx.Order().ToArray(), $"{spec} (held-out 20 %)");
        all.Dispose();
        return (trainSet, testSet);
    }
}
