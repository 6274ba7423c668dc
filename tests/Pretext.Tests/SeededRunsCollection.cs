namespace Pretext.Tests;

/// <summary>
/// Tests that compare two seeded runs for bit-equality. Weight initialisation draws from TorchSharp's one
/// process-wide generator, which test classes running in parallel also draw from, so these tests run
/// alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeededRunsCollection
{
    public const string Name = "seeded runs";
}
