using Pretext.Data;
using Pretext.Evaluation;
using Pretext.Export;
using Pretext.Methods;
using Pretext.Runs.Modalities;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>A frozen encoder's embeddings of a data set, for export, curation and search (any modality).</summary>
public static class Embeddings
{
    /// <summary>
    /// The samples `embed`, `curate` and `search` work on: a catalogued data set's <paramref name="split"/> (its training
    /// split when it has no test split), or the whole folder or file.
    /// </summary>
    public static ISampleSet Samples(IModality modality, RunConfig config, string dataset, DataSplit split, string? dataDir, Action<string>? log)
    {
        bool test = split == DataSplit.Test && modality.IsCatalogued(dataset);
        var (train, held) = modality.Load(dataset, config, dataDir, log, needTest: test);
        if (test && held is not null)
        {
            train.Dispose();
            return held;
        }
        held?.Dispose();
        return train;
    }

    /// <summary>(N, D) fp32 features of <paramref name="samples"/> by the frozen encoder, read through <paramref name="inputs"/>.</summary>
    /// <param name="device">Where the encoder computes (null: the CPU; <see cref="Compute.ComputeDevice.Parse(string)"/>); a GPU
    /// gets the method's encoder moved to it for good.</param>
    public static Tensor Extract(ISslMethod method, ModelInputs inputs, ISampleSet samples, IRunObserver? observer = null, Device? device = null)
    {
        observer ??= NullObserver.Instance;
        // Encoded for this call only: a long-lived reader (the ML.NET featurizer, one row at a time) must not pile up encodings in inputs.
        using var encoded = inputs.EncodeForCaller(samples);
        var data = encoded.Data;
        if (device is not null && device.type != TorchSharp.DeviceType.CPU) method.Encoder.to(device);
        observer.BeginStage($"Embedding {samples.Name}", data.Count);
        var f = Features.Extract(method.Encoder, data, inputs.Normalization, inputs.FeatureBatchSize, (d, _) => observer.Report(d), device);
        observer.EndStage();
        return f;
    }

    /// <summary>The features as a table with each sample's id and label.</summary>
    public static EmbeddingTable Table(Tensor features, ISampleSet samples) =>
        new(features.data<float>().ToArray(), (int)features.shape[0], (int)features.shape[1],
            Enumerable.Range(0, samples.Count).Select(samples.SampleId).ToArray(), samples.Labels);
}
