using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Pretext.MLNet;

/// <summary>The featurizer's own columns, dropped again at the end of its chain.</summary>
public static class EmbeddingColumns
{
    /// <summary>A copy of the input column under the name the mapping reads.</summary>
    public const string Input = "Pretext.Input";
    /// <summary>The encoded <see cref="ModelReference"/>, the same on every row.</summary>
    public const string Model = "Pretext.Model";
    /// <summary>The embedding before it is copied to the output column.</summary>
    public const string Embedding = "Pretext.Embedding";
}

/// <summary>What the mapping reads from a row: the input value and the model reference.</summary>
public sealed class PretextRow
{
    [ColumnName(EmbeddingColumns.Input)]
    public string Input { get; set; } = "";

    [ColumnName(EmbeddingColumns.Model)]
    public string Model { get; set; } = "";
}

/// <summary>A row's embedding; one class per width, because CustomMapping takes the output's vector size from the class alone.</summary>
public interface IEmbeddingRow
{
    float[] Embedding { get; set; }
}

/// <summary>
/// The CustomMapping of one embedding width. A saved ML.NET model names its mapping by contract name only ("Pretext.Embedding.D")
/// and builds it again, on load, from this class with no other state; the checkpoint comes from the row's model reference. ML.NET's
/// trainers need a vector of known size, and on load the size can only come from the output class's <see cref="VectorTypeAttribute"/>,
/// so each supported width has its own pair of classes (<see cref="EmbeddingMappings.Widths"/>).
/// </summary>
public abstract class EmbeddingMapping<TRow> : CustomMappingFactory<PretextRow, TRow> where TRow : class, IEmbeddingRow, new()
{
    /// <summary>The model the estimator already loaded (null when ML.NET builds the mapping while loading a saved model).</summary>
    internal CheckpointEmbedder? Preloaded { get; init; }

    /// <summary>
    /// Called once per transformer: when the estimator builds it, and when <c>Model.Load</c> builds it again. Each mapping loads its
    /// checkpoint on its first row and keeps it, so a loaded model checks the checkpoint (path and hash) when it is first used.
    /// </summary>
    public override Action<PretextRow, TRow> GetMapping()
    {
        var loaded = new LoadedModel(Preloaded);
        return (row, output) =>
        {
            var embedding = loaded.For(row.Model).Embed(row.Input);
            if (embedding.Length != output.Embedding.Length)
                throw new InvalidDataException($"The checkpoint gives {embedding.Length}-d embeddings but this mapping writes {output.Embedding.Length}-d ones; build the pipeline again for this checkpoint.");
            output.Embedding = embedding;
        };
    }

    /// <summary>The checkpoint of one mapping, loaded on first use (rows may come from several threads).</summary>
    private sealed class LoadedModel(CheckpointEmbedder? preloaded)
    {
        private readonly Lock gate = new();
        private string? key = preloaded?.Reference.Encode();
        private CheckpointEmbedder? embedder = preloaded;

        public CheckpointEmbedder For(string encoded)
        {
            lock (gate)
            {
                if (embedder is null || key != encoded)
                {
                    embedder = CheckpointEmbedder.Load(ModelReference.Decode(encoded));
                    key = encoded;
                }
                return embedder;
            }
        }
    }
}

/// <summary>The mapping of each supported embedding width.</summary>
public static class EmbeddingMappings
{
    private static readonly Dictionary<int, Func<TransformsCatalog, CheckpointEmbedder, IEstimator<ITransformer>>> ByWidth = new()
    {
        [8] = Mapping<Embedding8, EmbeddingMapping8>, [16] = Mapping<Embedding16, EmbeddingMapping16>,
        [32] = Mapping<Embedding32, EmbeddingMapping32>, [48] = Mapping<Embedding48, EmbeddingMapping48>,
        [64] = Mapping<Embedding64, EmbeddingMapping64>, [96] = Mapping<Embedding96, EmbeddingMapping96>,
        [128] = Mapping<Embedding128, EmbeddingMapping128>, [192] = Mapping<Embedding192, EmbeddingMapping192>,
        [256] = Mapping<Embedding256, EmbeddingMapping256>, [384] = Mapping<Embedding384, EmbeddingMapping384>,
        [512] = Mapping<Embedding512, EmbeddingMapping512>, [768] = Mapping<Embedding768, EmbeddingMapping768>,
        [1024] = Mapping<Embedding1024, EmbeddingMapping1024>, [1536] = Mapping<Embedding1536, EmbeddingMapping1536>,
        [2048] = Mapping<Embedding2048, EmbeddingMapping2048>,
    };

    /// <summary>The embedding widths the featurizer supports.</summary>
    public static IReadOnlyList<int> Widths { get; } = [.. ByWidth.Keys.Order()];

    /// <summary>The CustomMapping estimator writing <see cref="EmbeddingColumns.Embedding"/> as a vector of the embedder's width.</summary>
    /// <exception cref="NotSupportedException">No mapping of that width.</exception>
    internal static IEstimator<ITransformer> For(TransformsCatalog catalog, CheckpointEmbedder embedder) => ByWidth.TryGetValue(embedder.Dimension, out var make)
        ? make(catalog, embedder)
        : throw new NotSupportedException(
            $"Checkpoint '{embedder.Reference.Checkpoint}' gives {embedder.Dimension}-d embeddings; the ML.NET featurizer supports widths {string.Join(", ", Widths)} (a saved ML.NET model takes the " +
            "vector size from a class per width). Add a pair of classes for this width in src/Pretext.MLNet/EmbeddingMappings.cs, or pretrain with one of those widths.");

    private static IEstimator<ITransformer> Mapping<TRow, TFactory>(TransformsCatalog catalog, CheckpointEmbedder embedder)
        where TRow : class, IEmbeddingRow, new()
        where TFactory : EmbeddingMapping<TRow>, new()
    {
        var contract = typeof(TFactory).GetCustomAttribute<CustomMappingFactoryAttributeAttribute>()!.ContractName;
        return catalog.CustomMapping(new TFactory { Preloaded = embedder }.GetMapping(), contract);
    }
}

// One line per width: the classes differ only in the vector size and the contract name.
public sealed class Embedding8 : IEmbeddingRow { [VectorType(8), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[8]; }
public sealed class Embedding16 : IEmbeddingRow { [VectorType(16), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[16]; }
public sealed class Embedding32 : IEmbeddingRow { [VectorType(32), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[32]; }
public sealed class Embedding48 : IEmbeddingRow { [VectorType(48), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[48]; }
public sealed class Embedding64 : IEmbeddingRow { [VectorType(64), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[64]; }
public sealed class Embedding96 : IEmbeddingRow { [VectorType(96), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[96]; }
public sealed class Embedding128 : IEmbeddingRow { [VectorType(128), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[128]; }
public sealed class Embedding192 : IEmbeddingRow { [VectorType(192), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[192]; }
public sealed class Embedding256 : IEmbeddingRow { [VectorType(256), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[256]; }
public sealed class Embedding384 : IEmbeddingRow { [VectorType(384), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[384]; }
public sealed class Embedding512 : IEmbeddingRow { [VectorType(512), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[512]; }
public sealed class Embedding768 : IEmbeddingRow { [VectorType(768), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[768]; }
public sealed class Embedding1024 : IEmbeddingRow { [VectorType(1024), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[1024]; }
public sealed class Embedding1536 : IEmbeddingRow { [VectorType(1536), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[1536]; }
public sealed class Embedding2048 : IEmbeddingRow { [VectorType(2048), ColumnName(EmbeddingColumns.Embedding)] public float[] Embedding { get; set; } = new float[2048]; }

[CustomMappingFactoryAttribute("Pretext.Embedding.8")] public sealed class EmbeddingMapping8 : EmbeddingMapping<Embedding8>;
[CustomMappingFactoryAttribute("Pretext.Embedding.16")] public sealed class EmbeddingMapping16 : EmbeddingMapping<Embedding16>;
[CustomMappingFactoryAttribute("Pretext.Embedding.32")] public sealed class EmbeddingMapping32 : EmbeddingMapping<Embedding32>;
[CustomMappingFactoryAttribute("Pretext.Embedding.48")] public sealed class EmbeddingMapping48 : EmbeddingMapping<Embedding48>;
[CustomMappingFactoryAttribute("Pretext.Embedding.64")] public sealed class EmbeddingMapping64 : EmbeddingMapping<Embedding64>;
[CustomMappingFactoryAttribute("Pretext.Embedding.96")] public sealed class EmbeddingMapping96 : EmbeddingMapping<Embedding96>;
[CustomMappingFactoryAttribute("Pretext.Embedding.128")] public sealed class EmbeddingMapping128 : EmbeddingMapping<Embedding128>;
[CustomMappingFactoryAttribute("Pretext.Embedding.192")] public sealed class EmbeddingMapping192 : EmbeddingMapping<Embedding192>;
[CustomMappingFactoryAttribute("Pretext.Embedding.256")] public sealed class EmbeddingMapping256 : EmbeddingMapping<Embedding256>;
[CustomMappingFactoryAttribute("Pretext.Embedding.384")] public sealed class EmbeddingMapping384 : EmbeddingMapping<Embedding384>;
[CustomMappingFactoryAttribute("Pretext.Embedding.512")] public sealed class EmbeddingMapping512 : EmbeddingMapping<Embedding512>;
[CustomMappingFactoryAttribute("Pretext.Embedding.768")] public sealed class EmbeddingMapping768 : EmbeddingMapping<Embedding768>;
[CustomMappingFactoryAttribute("Pretext.Embedding.1024")] public sealed class EmbeddingMapping1024 : EmbeddingMapping<Embedding1024>;
[CustomMappingFactoryAttribute("Pretext.Embedding.1536")] public sealed class EmbeddingMapping1536 : EmbeddingMapping<Embedding1536>;
[CustomMappingFactoryAttribute("Pretext.Embedding.2048")] public sealed class EmbeddingMapping2048 : EmbeddingMapping<Embedding2048>;
