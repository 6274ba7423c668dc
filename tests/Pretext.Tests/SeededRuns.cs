namespace Pretext.Tests;

/// <summary>
/// Tests that compare two runs built from one seed (exact resume). Initial weights come from the global torch
/// generator, which every thread shares, so no other test may draw from it while they run: this collection
/// runs on its own, never in parallel with other tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeededRunsCollection
{
    public const string Name = "seeded runs";
}
