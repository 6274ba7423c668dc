using Pretext.Compute;
using Pretext.Data;

namespace Pretext.Encoders;

/// <summary>One registered encoder family: what it reads and how an <see cref="EncoderConfig"/> builds it.</summary>
/// <param name="Description">One line for docs and `--help`.</param>
public sealed record EncoderEntry(EncoderKind Kind, Modality Modality, string Description, Func<EncoderConfig, Encoder> Build);

/// <summary>The encoder families behind the one encoder contract (features out, feature width), one row each.</summary>
public static class EncoderRegistry
{
    public static IReadOnlyList<EncoderEntry> All { get; } =
    [
        new(EncoderKind.ResNet, Modality.Image, "Small-image ResNet: 3x3 stem, no max-pool, basic blocks per stage (encoder.widths, encoder.blocks); global average pooling.",
            c => new ResNet(new ResNetOptions
            {
                InChannels = c.InChannels, ImageSize = c.ImageSize, Widths = c.Widths, Blocks = c.Blocks, Compute = new ComputeOptions(c.Precision, c.Layout),
            })),
        new(EncoderKind.Mlp, Modality.Image, "MLP over the flattened image (encoder.hidden; the last width is the feature width).",
            c => new MlpEncoder(new MlpOptions { InputShape = [c.InChannels, c.ImageSize, c.ImageSize], Hidden = c.Hidden })),
        new(EncoderKind.Vit, Modality.Image, "Vision Transformer over image patches (encoder.patchSize, embedDim, depth, heads, mlpRatio, pooling).",
            c => new VisionTransformer(new VitOptions
            {
                InChannels = c.InChannels, ImageSize = c.ImageSize, PatchSize = c.PatchSize, Dim = c.EmbedDim, Depth = c.Depth, Heads = c.Heads,
                MlpRatio = c.MlpRatio, Pooling = c.Pooling, Compute = new ComputeOptions(c.Precision, c.Layout),
            })),
        new(EncoderKind.Transformer, Modality.Text, "Transformer over token ids with padding masks (encoder.text: dim, depth, heads, maxLength, vocabSize).",
            c => c.Text.BuildTransformer(c.Precision)),
        new(EncoderKind.WordEmbedding, Modality.Text, "Mean of learned word vectors over token ids (word2vec; encoder.text.dim).",
            c => c.Text.BuildWordEmbedding()),
        new(EncoderKind.Tcn, Modality.Series, "Temporal convolutional network: causal residual blocks dilated by 1, 2, 4, ... over windows of a series (encoder.series: width, blocks, kernel, dim, pooling).",
            c => c.Series.BuildTcn()),
        new(EncoderKind.PatchTransformer, Modality.Series, "Transformer over patches of a series' windows, optionally causal (encoder.series: patchSize, dim, depth, heads, mlpRatio, causal, pooling).",
            c => c.Series.BuildPatchTransformer(c.Precision)),
        new(EncoderKind.AudioConv, Modality.Audio, "1-D convolutions over log-mel frames, BN-ReLU, mean and std pooled over time (encoder.audio: convWidths, convStrides).",
            c => c.Audio.BuildConv()),
        new(EncoderKind.AudioTransformer, Modality.Audio, "Transformer over patches of log-mel frames, sinusoidal positions, mean pooling (encoder.audio: patchFrames, dim, depth, heads).",
            c => c.Audio.BuildTransformer(c.Precision)),
        new(EncoderKind.TableMlp, Modality.Table, "MLP over table rows: standardised numbers with missing indicators and one embedding per categorical column, Linear-BN-ReLU (encoder.table: hidden, embeddingDim, dropout).",
            c => c.Table.BuildMlp()),
        new(EncoderKind.FrameSequence, Modality.Video, "Stride-2 convolutions per frame, pooled to a vector, then a causal GRU over the frames; features: the mean frame vector (encoder.video: frames, size, channels, widths, dim).",
            c => c.Video.Build()),
    ];

    /// <exception cref="ArgumentOutOfRangeException">The kind has no row.</exception>
    public static EncoderEntry Get(EncoderKind kind) =>
        All.FirstOrDefault(e => e.Kind == kind) ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, $"No encoder '{kind}' is registered; known: {string.Join(", ", All.Select(e => e.Kind))}.");
}
