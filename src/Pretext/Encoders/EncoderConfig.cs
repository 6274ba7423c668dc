using System.Text.Json.Serialization;
using Pretext.Compute;

namespace Pretext.Encoders;

/// <summary>Encoder families behind the one encoder contract.</summary>
public enum EncoderKind
{
    ResNet,
    Mlp,
    /// <summary>Vision Transformer over image patches; shaped by the ViT fields of <see cref="EncoderConfig"/>.</summary>
    Vit,
    /// <summary>Transformer over token ids (text); shaped by <see cref="EncoderConfig.Text"/>.</summary>
    Transformer,
    /// <summary>Mean of learned word vectors over token ids (word2vec); shaped by <see cref="EncoderConfig.Text"/>.</summary>
    WordEmbedding,
    /// <summary>Dilated causal 1-D convolutions over windows of a series; shaped by <see cref="EncoderConfig.Series"/>.</summary>
    Tcn,
    /// <summary>Transformer over patches of windows of a series; shaped by <see cref="EncoderConfig.Series"/>.</summary>
    PatchTransformer,
    /// <summary>1-D convolutions over log-mel frames with statistics pooling; shaped by <see cref="EncoderConfig.Audio"/>.</summary>
    AudioConv,
    /// <summary>Transformer over patches of log-mel frames; shaped by <see cref="EncoderConfig.Audio"/>.</summary>
    AudioTransformer,
    /// <summary>MLP over table rows with per-column category embeddings; shaped by <see cref="EncoderConfig.Table"/>.</summary>
    TableMlp,
    /// <summary>Convolutional frame encoder and a GRU over the frames of a clip; shaped by <see cref="EncoderConfig.Video"/>.</summary>
    FrameSequence,
}

/// <summary>Which encoder to build; travels with the checkpoint so evaluation and export rebuild it exactly.</summary>
public sealed record EncoderConfig
{
    public EncoderKind Kind { get; init; } = EncoderKind.ResNet;
    public int InChannels { get; init; } = 1;
    public int ImageSize { get; init; } = 28;
    /// <summary>ResNet stage widths.</summary>
    public int[] Widths { get; init; } = [32, 64, 128, 256];
    /// <summary>ResNet blocks per stage.</summary>
    public int[] Blocks { get; init; } = [1, 1, 1, 1];
    /// <summary>MLP hidden widths (last = feature width).</summary>
    public int[] Hidden { get; init; } = [512, 256];
    /// <summary>ViT patch side (4 or 7 on 28x28 images).</summary>
    public int PatchSize { get; init; } = 4;
    /// <summary>ViT token width (the feature width).</summary>
    public int EmbedDim { get; init; } = 128;
    /// <summary>ViT Transformer blocks.</summary>
    public int Depth { get; init; } = 6;
    /// <summary>ViT attention heads (must divide EmbedDim).</summary>
    public int Heads { get; init; } = 4;
    /// <summary>ViT MLP hidden width as a multiple of EmbedDim.</summary>
    public double MlpRatio { get; init; } = 4.0;
    /// <summary>ViT feature: the CLS token or the mean of patch tokens.</summary>
    public VitPooling Pooling { get; init; } = VitPooling.Cls;
    public Precision Precision { get; init; } = Precision.Auto;
    public MemoryLayout Layout { get; init; } = MemoryLayout.ChannelsLast;
    /// <summary>Tokenizer, vocabulary and Transformer shape of the text encoders.</summary>
    public TextEncoderConfig Text { get; init; } = new();
    /// <summary>Input shape and sizes of the series encoders (TCN, patch Transformer).</summary>
    public SeriesEncoderConfig Series { get; init; } = new();
    /// <summary>Front end, input statistics and shapes of the audio encoders.</summary>
    public AudioEncoderConfig Audio { get; init; } = new();
    /// <summary>Input layout and MLP shape of the table encoder.</summary>
    public TableEncoderConfig Table { get; init; } = new();
    /// <summary>Clip shape and sizes of the video encoder.</summary>
    public VideoEncoderConfig Video { get; init; } = new();

    /// <summary>What the encoder takes: images, token ids for the text encoders, windows for the series encoders.</summary>
    [JsonIgnore]
    public Data.Modality Modality => EncoderRegistry.Get(Kind).Modality;

    /// <summary>A new encoder of this shape, built by its registry row (<see cref="EncoderRegistry"/>), weights from the global generator.</summary>
    public Encoder Build() => EncoderRegistry.Get(Kind).Build(this);
}
