using System.Text.RegularExpressions;

namespace Pretext.Tests.Data;

/// <summary>The data layer sits at the bottom: it may use the atomic file helpers of Pretext.Export and nothing else of Pretext.</summary>
public sealed partial class DataLayerImportsTests
{
    private static readonly string[] Allowed = ["Data", "Export"];

    [GeneratedRegex(@"\bPretext\.([A-Z][A-Za-z]*)")]
    private static partial Regex PretextReference();

    [Fact]
    public void DataImportsNoOtherPretextFolderButExport()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Pretext.slnx")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException($"No Pretext.slnx above {AppContext.BaseDirectory}.");
        var files = Directory.GetFiles(Path.Combine(root, "src", "Pretext", "Data"), "*.cs", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        var offending = (
            from file in files
            from line in File.ReadLines(file).Select((text, i) => (text, number: i + 1))
            from Match m in PretextReference().Matches(line.text)
            where !Allowed.Contains(m.Groups[1].Value)
            select $"{Path.GetRelativePath(root, file)}:{line.number}: {line.text.Trim()}").ToList();
        Assert.True(offending.Count == 0, "Data/ refers to a Pretext folder above it:\n" + string.Join("\n", offending));
    }
}
