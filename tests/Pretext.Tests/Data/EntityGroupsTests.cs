using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Data;

public class EntityGroupsTests
{
    public EntityGroupsTests() => set_num_threads(1);

    // Entities a (4 rows), b (2 rows), c (1 row), and a row without an entity.
    private static readonly string?[] Entities = ["a", "b", "a", "c", "a", "b", null, "a"];

    [Fact]
    public void PartnersShareTheEntityAndAreAnotherRowUnlessTheEntityHasOne()
    {
        var groups = new EntityGroups(Entities);
        Assert.Equal(4, groups.EntityCount);
        Assert.Equal(6, groups.PairedCount);
        long[] all = [.. Enumerable.Range(0, Entities.Length).Select(i => (long)i)];
        var seen = new HashSet<(long, long)>();
        for (int draw = 0; draw < 50; draw++)
        {
            using var g = new Generator((ulong)draw);
            var partners = groups.Partners(all, g);
            for (int i = 0; i < all.Length; i++)
            {
                long p = partners[i];
                seen.Add((i, p));
                if (i is 3 or 6) Assert.Equal(i, p); // alone in its entity: its own partner
                else
                {
                    Assert.NotEqual(i, p);
                    Assert.Equal(Entities[i], Entities[p]);
                    Assert.True(groups.SameEntity(i, p));
                }
            }
        }
        // Every other member of a's group is drawn now and then.
        Assert.All(new long[] { 2, 4, 7 }, p => Assert.Contains((0L, p), seen));
    }

    [Fact]
    public void PartnersRepeatBySeed()
    {
        var groups = new EntityGroups(Entities);
        long[] idx = [0, 2, 4, 7, 1, 5];
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        Assert.Equal(groups.Partners(idx, g1), groups.Partners(idx, g2));
        Assert.Throws<ArgumentOutOfRangeException>(() => groups.Partners([8], null));
    }

    /// <summary>Records the batches the loop hands it; a single weight so there is something to optimise.</summary>
    private sealed class RecordingTask : nn.Module, ITrainingTask
    {
        private readonly nn.Module<Tensor, Tensor> linear = nn.Linear(1, 1);
        public RecordingTask() : base("recording") => RegisterComponents();
        public List<(float[] Rows, float[]? Partners)> Batches { get; } = [];
        public string Name => "recording";
        public int ViewCount => 1;
        public nn.Module Module => this;
        public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(named_parameters());
        public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
        {
            var x = batch.Views[0];
            Batches.Add((x.data<float>().ToArray(), batch.Partners?[0].data<float>().ToArray()));
            var y = linear.forward(x);
            return new StepOutput(y.pow(2).mean(), y);
        }
    }

    private static List<(float[] Rows, float[]? Partners)> Train(EntityGroups? groups, int seed = 1)
    {
        // Sample i holds the value i, so a batch row names the sample it came from.
        using var data = new TensorDataset("ids", arange(Entities.Length, dtype: ScalarType.Float32).reshape(Entities.Length, 1)) { Entities = groups };
        using var task = new RecordingTask();
        var options = new TrainerOptions { BatchSize = 4, MaxSteps = 6, Threads = 1, Seed = seed, Optimizer = new OptimizerOptions { Kind = OptimizerKind.Sgd, WeightDecay = 0 } };
        using var optimizer = new Optimizer(task.ParameterGroups(), options.Optimizer);
        new Trainer(task, data, new IdentityViews(), options).Run(optimizer, 0, null, null);
        return task.Batches;
    }

    [Fact]
    public void TheLoopHandsSameEntityPartnersRowByRowOnlyWhenTheDataHasGroups()
    {
        var groups = new EntityGroups(Entities);
        var batches = Train(groups);
        Assert.Equal(6, batches.Count);
        foreach (var (rows, partners) in batches)
        {
            Assert.NotNull(partners);
            for (int k = 0; k < rows.Length; k++)
            {
                int i = (int)rows[k], p = (int)partners![k];
                Assert.True(groups.SameEntity(i, p), $"row {i} ({Entities[i]}) got partner {p} ({Entities[p]})");
                if (i is not (3 or 6)) Assert.NotEqual(i, p);
            }
        }
        // Seeded: the same run draws the same partners; the sample order is the one the data without groups gets.
        var again = Train(groups);
        Assert.Equal(batches.Select(b => b.Partners), again.Select(b => b.Partners));
        var plain = Train(null);
        Assert.All(plain, b => Assert.Null(b.Partners)); // off by default: no partners
        Assert.Equal(plain.Select(b => b.Rows), batches.Select(b => b.Rows));
    }
}
