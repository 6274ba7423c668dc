using Pretext.Encoders;
using Pretext.Losses;
using Pretext.Methods;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class SimCseTests
{
    public SimCseTests() => set_num_threads(1);

    private static SimCse Make(double dropout)
    {
        manual_seed(5);
        var enc = new TransformerEncoder(new TransformerOptions { VocabSize = 20, MaxLength = 8, Dim = 8, Depth = 1, Heads = 2, Dropout = dropout });
        return new SimCse(enc);
    }

    private static Tensor Ids() => tensor(new long[] { 2, 5, 6, 3, 0, 2, 7, 8, 9, 3, 2, 10, 3, 0, 0 }).view(3, 5);

    [Fact]
    public void WithoutDropoutBothPassesAgreeAndTheLossIsThatOfIdenticalViews()
    {
        using var m = Make(0);
        m.train();
        using var x = Ids();
        var o = m.ComputeLoss(new Batch([x], [0, 1, 2]), new(0, 1));
        using var h = m.Encoder.forward(x);
        var proj = m.named_children().Single(c => c.name == "projector").module as nn.Module<Tensor, Tensor>;
        using var z = proj!.forward(h);
        using var expected = new NtXentLoss(0.05, crossViewOnly: true).Compute(z, z);
        Assert.Equal(expected.item<float>(), o.Loss.item<float>(), 5);
        Assert.True(o.Embedding.allclose(h, atol: 1e-6));
    }

    [Fact]
    public void DropoutGivesTwoDifferentViewsOfTheSameBatch()
    {
        using var noDrop = Make(0);
        using var drop = Make(0.1);
        drop.load_state_dict(noDrop.state_dict());
        using var x = Ids();
        var a = noDrop.ComputeLoss(new Batch([x], [0, 1, 2]), new(0, 1)).Loss.item<float>();
        var b = drop.ComputeLoss(new Batch([x], [0, 1, 2]), new(0, 1)).Loss.item<float>();
        // Same weights; the dropout noise moves positives apart, so the loss is higher.
        Assert.True(b > a, $"{b} <= {a}");
    }

    [Fact]
    public void NeedsATextEncoder()
    {
        using var mlp = new MlpEncoder(new MlpOptions { InputShape = [4], Hidden = [8] });
        Assert.Contains("text encoder", Assert.Throws<ArgumentException>(() => new SimCse(mlp)).Message);
    }
}
