using Pretext.Augmentations;
using Pretext.Methods;
using Pretext.Tests.Data.Tables;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Methods;

public class TableMethodTests
{
    public TableMethodTests() => set_num_threads(1);

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static readonly int[] Columns = TestTables.TinyEncoder.FeatureColumns(); // [0, 1, 0, 1, 2, 3]

    [Fact]
    public void ScarfMaskCorruptsAFixedCountPerRowAndRepeatsBySeed()
    {
        using var g1 = new Generator(7);
        using var g2 = new Generator(7);
        using var g3 = new Generator(8);
        using var a = TableCorruption.FixedCountMask(50, 4, 0.6, g1);
        using var b = TableCorruption.FixedCountMask(50, 4, 0.6, g2);
        using var c = TableCorruption.FixedCountMask(50, 4, 0.6, g3);
        Assert.True(Same(a, b));
        Assert.False(Same(a, c));
        Assert.All(a.sum(1, type: ScalarType.Int64).data<long>().ToArray(), k => Assert.Equal(2L, k)); // round(0.6 * 4)
        using var perColumn = a.sum(0, type: ScalarType.Int64);
        Assert.True(perColumn.min().item<long>() > 10, "every column is picked now and then");
    }

    [Fact]
    public void MarginalDrawsComeFromTheSameColumnOfOneBatchRowAndRepeatBySeed()
    {
        using var rows = TestTables.Rows(40);
        using var x = rows.Data.clone();
        using var g = new Generator(3);
        using var mask = TableCorruption.FixedCountMask(40, 4, 0.5, g);
        using var gA = new Generator(11);
        using var gB = new Generator(11);
        using var y = TableCorruption.FromMarginals(x, mask, Columns, gA);
        using var again = TableCorruption.FromMarginals(x, mask, Columns, gB);
        Assert.True(Same(y, again));
        var xs = x.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        var m = mask.data<bool>().ToArray();
        bool anyChanged = false;
        for (int i = 0; i < 40; i++)
        {
            for (int col = 0; col < 4; col++)
            {
                int[] features = [.. Enumerable.Range(0, 6).Where(f => Columns[f] == col)];
                float[] cell = [.. features.Select(f => ys[i * 6 + f])];
                if (!m[i * 4 + col])
                {
                    Assert.Equal(features.Select(f => xs[i * 6 + f]), cell);
                    continue;
                }
                // A number and its missing indicator come together from one donor row.
                Assert.Contains(Enumerable.Range(0, 40), r => features.Select(f => xs[r * 6 + f]).SequenceEqual(cell));
                anyChanged |= !features.Select(f => xs[i * 6 + f]).SequenceEqual(cell);
            }
        }
        Assert.True(anyChanged);
    }

    [Fact]
    public void VimeMaskIsBernoulliAndRepeatsBySeed()
    {
        using var rows = TestTables.Rows(400);
        using var vime = new Vime(TestTables.TinyEncoder.BuildMlp(), TestTables.TinyEncoder);
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        var (m1, c1) = vime.Corrupt(rows.Data, g1);
        var (m2, c2) = vime.Corrupt(rows.Data, g2);
        using (m1) using (c1) using (m2) using (c2)
        {
            Assert.True(Same(m1, m2));
            Assert.True(Same(c1, c2));
            double rate = m1.to(ScalarType.Float32).mean().item<float>();
            Assert.InRange(rate, 0.25, 0.35); // p_m = 0.3 over 1,600 cells
            // Unmasked cells are untouched.
            using var keep = m1.logical_not().index_select(1, tensor(Columns.Select(c => (long)c).ToArray()));
            Assert.True(Same(c1.masked_select(keep), rows.Data.masked_select(keep)));
        }
    }

    [Fact]
    public void ScarfCorruptionRepeatsBySeedAndRefusesANonTableEncoder()
    {
        using var rows = TestTables.Rows(16);
        using var scarf = new Scarf(TestTables.TinyEncoder.BuildMlp(), TestTables.TinyEncoder);
        using var g1 = new Generator(9);
        using var g2 = new Generator(9);
        using var a = scarf.Corrupt(rows.Data, g1);
        using var b = scarf.Corrupt(rows.Data, g2);
        Assert.True(Same(a, b));
        var e = Assert.Throws<ArgumentException>(() => new Scarf(new Pretext.Encoders.MlpEncoder(new() { InputShape = [1, 28, 28] }), TestTables.TinyEncoder));
        Assert.Contains("table", e.Message);
    }
}

public class ScarfEntityPositiveTests
{
    public ScarfEntityPositiveTests() => set_num_threads(1);

    private static float Loss(Scarf scarf, Tensor x, Tensor? partners, ulong seed)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(seed);
        var batch = new Pretext.Training.Batch([x], [.. Enumerable.Range(0, (int)x.shape[0]).Select(i => (long)i)], g) { Partners = partners is null ? null : [partners] };
        return scarf.ComputeLoss(batch, new Pretext.Training.TrainingProgress(0, 1)).Loss.item<float>();
    }

    [Fact]
    public void ScarfCorruptsThePartnerRowWhenThereIsOne()
    {
        using var rows = TestTables.Rows(32);
        using var other = TestTables.Rows(32, seed: 9);
        manual_seed(1);
        using var scarf = new Scarf(TestTables.TinyEncoder.BuildMlp(), TestTables.TinyEncoder);
        scarf.eval(); // batch norm statistics stay put between the calls
        float own = Loss(scarf, rows.Data, null, 3);
        // A row that is its own partner is what SCARF did before; another row as partner changes the positive.
        Assert.Equal(own, Loss(scarf, rows.Data, rows.Data, 3));
        Assert.NotEqual(own, Loss(scarf, rows.Data, other.Data, 3));
    }
}
