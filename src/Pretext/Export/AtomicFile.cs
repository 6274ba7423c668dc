namespace Pretext.Export;

/// <summary>
/// Writes a file through a temporary sibling and a rename, so readers (and a run that crashes
/// mid-write) see either the old complete file or the new complete file, never a torn one.
/// </summary>
/// <remarks>
/// The temporary file lives in the destination's directory because a rename is only atomic
/// within one file system. Its name carries a random suffix so two writers of the same path do
/// not clobber each other's half-written temp files.
/// </remarks>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> by calling <paramref name="write"/> on a temp-file stream.</summary>
    /// <exception cref="IOException">The directory cannot be created or the rename fails.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        var temp = PrepareTemp(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            TryDelete(temp);
            throw Explained(path, e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// A write the file system refused: no space, a file-size or quota limit, no permission. .NET reports a file-size limit as an
    /// ArgumentOutOfRangeException ("Specified file length was too large for the file system"), the rest as IOException.
    /// </summary>
    private static bool IsWriteFailure(Exception e) =>
        e is IOException or UnauthorizedAccessException
        || (e is ArgumentOutOfRangeException && e.Message.Contains("file system", StringComparison.OrdinalIgnoreCase));

    /// <summary>One sentence naming the file, the reason and the fix (issue 24: a full disk gave "(Parameter 'value')").</summary>
    private static IOException Explained(string path, Exception e)
    {
        string reason = e.Message.Split(" (Parameter")[0].TrimEnd('.');
        return new IOException($"Could not write '{path}' ({reason}). The disk or a size limit may be full: free space and run again " +
            "(a pretraining run continues from its last checkpoint with --resume). Files written before are unchanged; the partial file was removed.", e);
    }

    /// <summary>Asynchronous variant of <see cref="Write"/> for writers that only offer async APIs.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        var temp = PrepareTemp(path);
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true))
            {
                await write(stream).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            TryDelete(temp);
            throw Explained(path, e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes text as UTF-8 without a byte-order mark (a BOM confuses CSV and JSON readers).</summary>
    public static void WriteText(string path, Action<TextWriter> write) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, Utf8NoBom, 1 << 16, leaveOpen: true) { NewLine = "\n" };
            write(writer);
        });

    internal static readonly System.Text.UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    internal static string PrepareTemp(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)
            ?? throw new ArgumentException($"'{path}' names a root directory, not a file; pass a file path.", nameof(path));
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
    }

    internal static void TryDelete(string temp)
    {
        // Best effort: the original exception matters more than a leftover temp file.
        try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
