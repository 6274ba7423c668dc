using System.Globalization;
using Pretext.Data;
using Pretext.Methods;

namespace Pretext.Runs.Modalities;

/// <summary>What every source with same-entity positives checks and says (tables' <c>table.entityPositives</c>, images' <c>images.entityPositives</c>).</summary>
public static class SameEntity
{
    /// <exception cref="ArgumentException"><paramref name="method"/> takes no positives from other samples; the message names those that do.</exception>
    public static void Check(MethodEntry method, string option)
    {
        if (!method.EntityPositives)
            throw new ArgumentException($"{option} is on, but '{method.Name}' takes no positives from other samples; use {string.Join(" or ", MethodRegistry.All.Where(m => m.Modality == method.Modality && m.EntityPositives).Select(m => m.Name))}, or leave the option off.");
    }

    /// <summary>The groups of <paramref name="entities"/>, described to the observer.</summary>
    public static EntityGroups Groups(IReadOnlyList<string?> entities, string what, IRunObserver observer)
    {
        var groups = new EntityGroups(entities);
        observer.Message(string.Create(CultureInfo.InvariantCulture,
            $"Same-entity positives: {groups.EntityCount:N0} entities; {groups.PairedCount:N0} of {groups.Count:N0} {what} share their entity with another (the others pair with themselves)."));
        return groups;
    }
}
