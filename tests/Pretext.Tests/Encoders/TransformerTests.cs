using Pretext.Compute;
using Pretext.Encoders;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Encoders;

public class TransformerTests
{
    public TransformerTests() => set_num_threads(1);

    private static TransformerEncoder Make(TextPooling pooling = TextPooling.Mean, Precision precision = Precision.Float32, double dropout = 0.1)
    {
        manual_seed(7);
        return new TransformerEncoder(new TransformerOptions { VocabSize = 30, MaxLength = 16, PadId = 0, Dim = 16, Depth = 2, Heads = 4, Dropout = dropout, Pooling = pooling, Precision = precision });
    }

    private static Tensor Ids(params long[][] rows)
    {
        int l = rows.Max(r => r.Length);
        var flat = rows.SelectMany(r => r.Concat(Enumerable.Repeat(0L, l - r.Length))).ToArray();
        return tensor(flat, [rows.Length, l]);
    }

    [Theory]
    [InlineData(TextPooling.Mean)]
    [InlineData(TextPooling.Cls)]
    public void PaddingDoesNotChangeThePooledOutput(TextPooling pooling)
    {
        using var enc = Make(pooling);
        enc.eval();
        using var noGrad = no_grad();
        long[] seq = [2, 7, 11, 5, 3];
        using var alone = Ids(seq);
        using var padded = Ids(seq.Concat(new long[] { 0, 0, 0, 0, 0, 0 }).ToArray());
        // In a batch with a longer sequence, the short one is padded to the other's length.
        using var mixed = Ids(seq, [2, 9, 9, 9, 8, 8, 8, 12, 13, 14, 3]);
        using var a = enc.forward(alone);
        using var b = enc.forward(padded);
        using var c = enc.forward(mixed);
        Assert.Equal(new long[] { 1, 16 }, a.shape);
        Assert.True(a.allclose(b, rtol: 1e-5, atol: 1e-5));
        Assert.True(a[0].allclose(c[0], rtol: 1e-5, atol: 1e-5));
        // The other row is not the same sequence: its output differs.
        Assert.False(a[0].allclose(c[1], rtol: 1e-3, atol: 1e-3));
    }

    [Fact]
    public void PerTokenOutputsHaveTokenShapeAndTokensSeeEachOther()
    {
        using var enc = Make();
        enc.eval();
        using var noGrad = no_grad();
        using var x = Ids([2, 7, 11, 3]);
        using var y = Ids([2, 7, 12, 3]);
        using var hx = enc.EncodeTokens(x);
        using var hy = enc.EncodeTokens(y);
        Assert.Equal(new long[] { 1, 4, 16 }, hx.shape);
        // Changing token 2 changes the output at token 1 (attention mixes positions).
        Assert.False(hx[0, 1].allclose(hy[0, 1], rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void DropoutMakesTrainingPassesDifferAndEvalPassesEqual()
    {
        using var enc = Make();
        using var x = Ids([2, 7, 11, 5, 3], [2, 8, 3]);
        using var noGrad = no_grad();
        enc.train();
        using var t1 = enc.forward(x);
        using var t2 = enc.forward(x);
        Assert.False(t1.allclose(t2, rtol: 1e-4, atol: 1e-4));
        enc.eval();
        using var e1 = enc.forward(x);
        using var e2 = enc.forward(x);
        Assert.True(TestData.Same(e1, e2));
    }

    [Fact]
    public void TrainingPathAttentionMatchesTheFusedKernel()
    {
        // Training spells attention out (so its dropout uses the step's generator); with a vanishing dropout rate
        // it must compute what the fused kernel computes in evaluation, padding mask included.
        using var enc = Make(dropout: 1e-9);
        using var x = Ids([2, 7, 11, 5, 3], [2, 8, 3]);
        using var noGrad = no_grad();
        using var g = new Generator(1);
        enc.train();
        using var train = enc.EncodeTokens(x, g);
        enc.eval();
        using var eval = enc.EncodeTokens(x);
        Assert.True(train.allclose(eval, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void DropoutMasksComeFromTheGivenGenerator()
    {
        using var enc = Make();
        enc.train();
        using var x = Ids([2, 7, 11, 5, 3], [2, 8, 3]);
        using var noGrad = no_grad();
        Tensor Run(ulong seed) { using var g = new Generator(seed); return enc.EncodeTokens(x, g); }
        using var a = Run(4); using var b = Run(4); using var c = Run(5);
        Assert.True(TestData.Same(a, b));
        Assert.False(c.allclose(a, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void BFloat16MatchesFloat32Closely()
    {
        using var f32 = Make();
        using var bf16 = Make(precision: Precision.BFloat16);
        bf16.load_state_dict(f32.state_dict());
        f32.eval(); bf16.eval();
        using var noGrad = no_grad();
        using var x = Ids([2, 7, 11, 5, 3], [2, 8, 3]);
        using var a = f32.forward(x);
        using var b = bf16.forward(x);
        Assert.Equal(ScalarType.Float32, b.dtype);
        Assert.True(a.allclose(b, rtol: 0, atol: 0.1), $"max diff {a.sub(b).abs().max().item<float>()}");
    }

    [Fact]
    public void CheckpointsFromBeforeTheSharedBlockStillLoadAndResume()
    {
        // Text blocks were once their own class with layers ln1, ln2, qkv, proj; they are now TransformerBlock
        // (norm1, norm2, attn.qkv, attn.proj). A checkpoint with the old names must load into today's encoder.
        using var enc = Make(dropout: 0);
        string Old(string k) => System.Text.RegularExpressions.Regex.Replace(
            k.Replace(".attn.qkv.", ".qkv.").Replace(".attn.proj.", ".proj."), @"\.norm([12])\.", ".ln$1.");
        var model = enc.state_dict().ToDictionary(kv => "encoder." + (kv.Key.StartsWith("blocks.", StringComparison.Ordinal) ? Old(kv.Key) : kv.Key), kv => kv.Value);
        Assert.Contains("encoder.blocks.0.ln1.weight", model.Keys);
        Assert.Contains("encoder.blocks.1.qkv.weight", model.Keys);
        using var moment = ones(16);
        using var dir = new TempDirectory();
        string path = dir.File("old.safetensors");
        Checkpoint.Save(path, 5, "simcse", "{}", model, new Dictionary<string, Tensor> { ["decay/encoder.blocks.0.ln2.weight.exp_avg"] = moment });

        using var ckpt = Checkpoint.Load(path);
        Assert.Contains("encoder.blocks.0.norm1.weight", ckpt.Model.Keys);
        Assert.Contains("encoder.blocks.1.attn.proj.bias", ckpt.Model.Keys);
        Assert.Contains("decay/encoder.blocks.0.norm2.weight.exp_avg", ckpt.Optimizer.Keys);
        Assert.Contains("encoder.tokens.weight", ckpt.Model.Keys);
        manual_seed(99);
        using var fresh = new TransformerEncoder(enc.Options);
        ckpt.LoadInto(fresh, "encoder.");
        enc.eval(); fresh.eval();
        using var noGrad = no_grad();
        using var ids = Ids([2, 7, 11, 5, 3], [4, 4, 9]);
        using var a = enc.forward(ids);
        using var b = fresh.forward(ids);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Fact]
    public void RejectsBadInputAndOptions()
    {
        using var enc = Make();
        using var floats = zeros(2, 4);
        using var tooLong = zeros(new long[] { 1, 17 }, dtype: ScalarType.Int64);
        using var outside = tensor(new long[] { 2, 30, 3 }).view(1, 3);
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() => enc.forward(floats)).Message);
        Assert.Contains("at most 16", Assert.Throws<ArgumentException>(() => enc.forward(tooLong)).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => enc.forward(outside)).Message);
        Assert.Throws<ArgumentException>(() => new TransformerEncoder(new TransformerOptions { VocabSize = 30, Dim = 10, Heads = 4 }));
        Assert.Throws<ArgumentException>(() => new TransformerEncoder(new TransformerOptions { VocabSize = 30, PadId = 30 }));
    }

    [Fact]
    public void WordEmbeddingEncoderIsTheMaskedMeanOfWordVectors()
    {
        manual_seed(1);
        using var enc = new WordEmbeddingEncoder(10, 4, 8, padId: 0);
        using var noGrad = no_grad();
        using var x = Ids([2, 5, 7], [6]);
        using var f = enc.forward(x);
        var w = enc.TokenEmbedding;
        using var expected0 = w[2].add(w[5]).add(w[7]).div(3);
        Assert.True(f[0].allclose(expected0, atol: 1e-7));
        Assert.True(f[1].allclose(w[6], atol: 1e-7));
    }
}
