using Pretext.Compute;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Evaluation;
using static TorchSharp.torch;

namespace Pretext.Tests.Encoders;

/// <summary>
/// Every registered encoder, built small from its config: it reads its modality's batch, returns (B, FeatureDim) fp32
/// features, reports its input shape, and a checkpoint of its weights rebuilds the same function. A new registry row is
/// tested here without a line of its own.
/// </summary>
public class EncoderContractTests
{
    public EncoderContractTests() => set_num_threads(1);

    public static TheoryData<EncoderKind> Registered => new(EncoderRegistry.All.Select(e => e.Kind));

    private static EncoderConfig Tiny(EncoderKind kind) => new()
    {
        Kind = kind, Precision = Precision.Float32, Layout = MemoryLayout.Contiguous, Widths = [4, 8, 8, 16], Hidden = [32, 16],
        PatchSize = 7, EmbedDim = 16, Depth = 1, Heads = 2,
        Text = new TextEncoderConfig { VocabSize = 50, MaxLength = 12, Dim = 16, Depth = 1, Heads = 2 },
        Series = new SeriesEncoderConfig { Channels = 2, Length = 16, Dim = 8, Width = 8, Blocks = 2, PatchSize = 4, Depth = 1, Heads = 2 },
        Audio = Tests.Data.Audio.TestAudio.TinyEncoder,
        Table = new TableEncoderConfig { Numeric = 2, Cardinalities = [3, 4], Hidden = [16, 8] },
        Video = new VideoEncoderConfig { Frames = 3, Size = 8, Widths = [4, 8], Dim = 8 },
    };

    private static Tensor Batch(EncoderEntry entry, Encoder encoder, Generator g) => entry.Modality switch
    {
        // Token ids from 5 up (pad, unknown, [CLS], [SEP] and [MASK] are 0-4), a padded tail on the second row.
        Modality.Text => cat([randint(5, 50, [2, encoder.InputShape[0] - 4], generator: g), tensor(new long[,] { { 6, 7, 8, 9 }, { 0, 0, 0, 0 } })], 1),
        // Two numbers, their missing indicators, and codes 1 and 2 of the two categorical columns.
        Modality.Table => cat([rand([2, 4], generator: g), tensor(new float[,] { { 1, 2 }, { 2, 3 } })], 1),
        _ => rand([2, .. encoder.InputShape], generator: g),
    };

    [Theory, MemberData(nameof(Registered))]
    public void BuildsReadsItsModalityAndRoundTripsItsWeights(EncoderKind kind)
    {
        var entry = EncoderRegistry.Get(kind);
        var config = Tiny(kind);
        Assert.Equal(entry.Modality, config.Modality);
        manual_seed(1);
        using var encoder = config.Build();
        manual_seed(2);
        using var other = config.Build();
        using var g = new Generator(3);
        using var x = Batch(entry, encoder, g);
        encoder.eval(); other.eval();
        using var noGrad = no_grad();
        using var f = encoder.forward(x);
        Assert.Equal(new long[] { 2, encoder.FeatureDim }, f.shape);
        Assert.Equal(ScalarType.Float32, f.dtype);
        Assert.True(f.isfinite().all().item<bool>());
        using (var before = other.forward(x)) Assert.False(before.allclose(f), "two seeds built the same weights");
        SupervisedTraining.CopyWeights(encoder, other);
        using var after = other.forward(x);
        Assert.True(after.allclose(f), $"{kind}: copied weights do not reproduce the features");
    }

    [Fact]
    public void AnUnregisteredKindIsNamedWithTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => EncoderRegistry.Get((EncoderKind)99));
        Assert.Contains("ResNet", e.Message);
    }
}
