using System.Globalization;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Training;

/// <summary>A loaded checkpoint: model and optimiser tensors, the step it was taken after, and the run's config JSON.</summary>
public sealed class Checkpoint : IDisposable
{
    public const string FormatVersion = "1";
    public required string Path { get; init; }
    public required long Step { get; init; }
    public required string Method { get; init; }
    public required string ConfigJson { get; init; }
    public required Dictionary<string, Tensor> Model { get; init; }
    public required Dictionary<string, Tensor> Optimizer { get; init; }

    /// <summary>Saves a checkpoint atomically. Keys: "model.*" and "optim.*"; metadata carries step, method and config.</summary>
    public static void Save(string path, long step, string method, string configJson, IReadOnlyDictionary<string, Tensor> model, IReadOnlyDictionary<string, Tensor>? optimizer)
    {
        var all = new Dictionary<string, Tensor>();
        foreach (var (k, v) in model) all["model." + k] = v;
        if (optimizer is not null) foreach (var (k, v) in optimizer) all["optim." + k] = v;
        SafeTensors.Save(path, all, new Dictionary<string, string>
        {
            ["format"] = "pretext-checkpoint", ["format_version"] = FormatVersion,
            ["step"] = step.ToString(CultureInfo.InvariantCulture), ["method"] = method, ["config"] = configJson,
        });
    }

    /// <summary>Loads a checkpoint written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not a Pretext checkpoint, or a tensor holds NaN or infinity; the message names the file (and the tensor).</exception>
    public static Checkpoint Load(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        if (!meta.TryGetValue("format", out var f) || f != "pretext-checkpoint" || !meta.ContainsKey("step"))
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException($"'{path}' is a safetensors file but not a Pretext checkpoint (no pretext metadata). Pass a file from a run's checkpoints/ folder.");
        }
        if (meta.TryGetValue("format_version", out var v) && v != FormatVersion)
        {
            foreach (var t in tensors.Values) t.Dispose();
            bool newer = int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > int.Parse(FormatVersion, CultureInfo.InvariantCulture);
            throw new InvalidDataException($"Checkpoint '{path}' has format version '{v}'; this Pretext reads version {FormatVersion}. " +
                (newer ? "It was written by a newer Pretext: update Pretext to use it." : "It was not written by a Pretext release: use a checkpoint from a run's checkpoints/ folder."));
        }
        // The trainer never writes non-finite weights, but a file edited, written by another tool or damaged on disk can hold
        // them; every use of a checkpoint (evaluate, embed, score, stream, resume) would then end in a stack trace or rows of
        // NaN, so it is refused here, at the edge, with the tensor's name.
        if (FirstNonFinite(tensors) is { } bad)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException($"Checkpoint '{path}' holds non-finite values (NaN or infinity) in tensor '{bad.Name}' ({bad.Count} of {bad.Total} tensors); " +
                "it cannot be used. Take an earlier checkpoint of the run (its checkpoints/ folder), or pretrain again with a lower --lr or --precision Float32.");
        }
        return new Checkpoint
        {
            Path = path,
            Step = long.Parse(meta["step"], CultureInfo.InvariantCulture),
            Method = meta.GetValueOrDefault("method", ""),
            ConfigJson = meta.GetValueOrDefault("config", "{}"),
            Model = tensors.Where(kv => kv.Key.StartsWith("model.", StringComparison.Ordinal)).ToDictionary(kv => Renamed(kv.Key[6..]), kv => kv.Value),
            Optimizer = tensors.Where(kv => kv.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(kv => Renamed(kv.Key[6..]), kv => kv.Value),
        };
    }

    /// <summary>The first floating-point tensor (by name) with a NaN or an infinity, how many have one, and how many tensors there are; null when all are finite.</summary>
    internal static (string Name, int Count, int Total)? FirstNonFinite(IReadOnlyDictionary<string, Tensor> tensors)
    {
        string? first = null;
        int count = 0;
        foreach (var (name, t) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!t.is_floating_point()) continue;
            using var finite = t.isfinite().all();
            if (finite.item<bool>()) continue;
            first ??= name;
            count++;
        }
        return first is null ? null : (first, count, tensors.Count);
    }

    /// <summary>
    /// Parameter names that changed since checkpoints were first written, old to new, so older runs still load and resume.
    /// The text transformer's blocks (a ModuleList, so "blocks.N") used to name their own layers; they are now the shared
    /// <see cref="Encoders.TransformerBlock"/>, whose layer norms are norm1/norm2 and whose projections sit in attn.
    /// </summary>
    private static readonly (Regex Old, string New)[] Renames =
    [
        (new Regex(@"(^|[./])blocks\.(\d+)\.ln([12])\.", RegexOptions.Compiled), "$1blocks.$2.norm$3."),
        (new Regex(@"(^|[./])blocks\.(\d+)\.(qkv|proj)\.", RegexOptions.Compiled), "$1blocks.$2.attn.$3."),
    ];

    private static string Renamed(string key)
    {
        foreach (var (old, now) in Renames) key = old.Replace(key, now);
        return key;
    }

    /// <summary>Copies the model tensors into <paramref name="module"/>, checking names and shapes first.</summary>
    /// <exception cref="InvalidDataException">A name or shape differs; the message names the checkpoint and the first mismatch.</exception>
    public void LoadInto(nn.Module module, string prefix = "")
    {
        var target = module.state_dict();
        var source = Model.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        var missing = target.Keys.Except(source.Keys).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"Checkpoint '{Path}' does not match this model: it lacks '{missing[0]}' ({missing.Count} missing). It was written by another method or encoder configuration.");
        using var noGrad = no_grad();
        foreach (var (k, t) in target)
        {
            var s = source[k];
            if (!s.shape.SequenceEqual(t.shape))
                throw new InvalidDataException($"Checkpoint '{Path}' does not match this model: '{k}' has shape [{string.Join(",", s.shape)}], the model expects [{string.Join(",", t.shape)}].");
            t.copy_(s);
        }
    }

    public void Dispose()
    {
        foreach (var t in Model.Values) t.Dispose();
        foreach (var t in Optimizer.Values) t.Dispose();
    }
}

/// <summary>The checkpoints/ folder of a run: step-numbered files, newest last, pruned to the last K.</summary>
public sealed class CheckpointFolder(string directory, int keep)
{
    public string Directory { get; } = directory;

    public string PathFor(long step) => System.IO.Path.Combine(Directory, $"step-{step:D8}.safetensors");

    /// <summary>Step checkpoints present, oldest first.</summary>
    public IReadOnlyList<(long Step, string Path)> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var list = new List<(long, string)>();
        foreach (var f in System.IO.Directory.GetFiles(Directory, "step-*.safetensors"))
        {
            var stem = System.IO.Path.GetFileNameWithoutExtension(f)[5..];
            if (long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out var s)) list.Add((s, f));
        }
        return list.OrderBy(x => x.Item1).ToList();
    }

    public string? Latest => List() is { Count: > 0 } l ? l[^1].Path : null;

    /// <summary>
    /// Deletes half-written checkpoints left by a process killed while writing one: the temp files of
    /// <see cref="Export.AtomicFile"/> (".step-00000120.safetensors.&lt;32 hex digits&gt;.tmp"), nothing else. Called when a
    /// run starts or resumes, before it writes anything; the checkpoints themselves are never touched.
    /// </summary>
    /// <returns>The names of the files removed.</returns>
    public IReadOnlyList<string> RemoveStaleTemporaries()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var removed = new List<string>();
        foreach (var f in System.IO.Directory.GetFiles(Directory, ".step-*.safetensors.*.tmp"))
        {
            var name = System.IO.Path.GetFileName(f);
            if (!StaleTemporary.IsMatch(name)) continue;
            File.Delete(f);
            removed.Add(name);
        }
        return removed;
    }

    private static readonly Regex StaleTemporary = new(@"^\.step-\d+\.safetensors\.[0-9a-f]{32}\.tmp$", RegexOptions.Compiled);

    /// <summary>Deletes all but the newest <c>keep</c> step checkpoints.</summary>
    public void Prune()
    {
        var l = List();
        for (int i = 0; i < l.Count - keep; i++) File.Delete(l[i].Path);
    }
}
