using System.Text.RegularExpressions;
using NetArchTest.Rules;
using Pretext.Runs;

namespace Pretext.Tests.Layering;

/// <summary>
/// The library's folders are layers (docs/architecture.md): each may use the ones below it and none above. Checked twice:
/// in the compiled assembly (every type reference, also fully qualified ones and those hidden in lambdas), and in the
/// sources' <c>using</c> lines and <c>Pretext.X.</c> names (which also covers doc comments).
/// </summary>
public sealed partial class LayerTests
{
    /// <summary>Bottom first. A folder may depend on itself and on folders earlier in this list.</summary>
    public static readonly string[] Layers =
        ["Compute", "Export", "Data", "Text", "Augmentations", "Encoders", "Heads", "Losses", "Training", "Methods", "Evaluation", "Curation", "Reporting", "Runs"];

    public static TheoryData<string> Folders => new(Layers);

    [Theory, MemberData(nameof(Folders))]
    public void NoTypeUsesATypeOfAHigherLayer(string layer)
    {
        var above = Layers.Skip(Array.IndexOf(Layers, layer) + 1).Select(l => $"Pretext.{l}").ToArray();
        var types = Types.InAssembly(typeof(RunConfig).Assembly).That().ResideInNamespace($"Pretext.{layer}");
        Assert.NotEmpty(types.GetTypes());
        if (above.Length == 0) return;
        var result = types.ShouldNot().HaveDependencyOnAny(above).GetResult();
        Assert.True(result.IsSuccessful,
            $"Pretext.{layer} uses a higher layer ({string.Join(", ", above)}): " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    [GeneratedRegex(@"\bPretext\.([A-Z][A-Za-z]*)")]
    private static partial Regex PretextReference();

    [Theory, MemberData(nameof(Folders))]
    public void NoSourceFileNamesAHigherLayer(string layer)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Pretext.slnx")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException($"No Pretext.slnx above {AppContext.BaseDirectory}.");
        var files = Directory.GetFiles(Path.Combine(root, "src", "Pretext", layer), "*.cs", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        var allowed = Layers.Take(Array.IndexOf(Layers, layer) + 1).ToHashSet();
        var offending = (
            from file in files
            from line in File.ReadLines(file).Select((text, i) => (text, number: i + 1))
            from Match m in PretextReference().Matches(line.text)
            where Layers.Contains(m.Groups[1].Value) && !allowed.Contains(m.Groups[1].Value)
            select $"{Path.GetRelativePath(root, file)}:{line.number}: {line.text.Trim()}").ToList();
        Assert.True(offending.Count == 0, $"{layer}/ names a layer above it:\n" + string.Join("\n", offending));
    }

    [Fact]
    public void EveryLibraryFolderIsALayer()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Pretext.slnx"))) root = Path.GetDirectoryName(root)!;
        var folders = Directory.GetDirectories(Path.Combine(root, "src", "Pretext")).Select(Path.GetFileName)
            .Where(f => f is not ("bin" or "obj")).Order().ToArray();
        Assert.Equal(Layers.Order().ToArray(), folders);
    }
}
