using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pretext.Data;
using Pretext.Evaluation;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>
/// The evaluation rows that do not depend on the checkpoint (training from scratch, its distilled student, the no-learning baseline's
/// probes and trees), kept between evaluations: on the quickstart they are 325 of the evaluation's 469 s, and every later `pretext
/// evaluate` of another checkpoint of the same run, data and settings would compute them again to the same predictions.
/// <para>What is kept is each subset's <b>predictions</b> on the test and validation samples, not scores: test labels are still read
/// only at the end of the evaluation, as for every other row. An entry is keyed by a SHA-256 of everything the rows depend on:
/// this build of Pretext (the library's module version id, so a code change is a miss), the run's config without the pretraining
/// method and schedule (encoder, augmentation, data and evaluation settings), the validation split, and the encoder inputs of every
/// training and test sample with their labels (the content, not file names: a changed image is a miss, never a stale hit). The
/// inputs are hashed as the model reads them, so for text the checkpoint's vocabulary is part of the key.</para>
/// <para>Entries are JSON files written atomically (temporary file and rename); a damaged one is reported, deleted and recomputed.
/// After each write the least recently used entries beyond <see cref="MaxBytes"/> are deleted.</para>
/// </summary>
/// <param name="folder">Where entries live (<see cref="DefaultFolder"/>).</param>
/// <param name="maxBytes">Cap on the entries' total size.</param>
public sealed class BaselineCache(string folder, long maxBytes = BaselineCache.DefaultMaxBytes)
{
    private const string KeyVersion = "pretext-baseline-rows-1";

    /// <summary>256 MiB: the quickstart's entry (10,000 test and 10,000 validation predictions for each of 22 subsets) is 961 KB.</summary>
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>Environment variable naming the folder; "off" (or "0") turns the cache off.</summary>
    public const string EnvironmentVariable = "PRETEXT_BASELINE_CACHE";

    /// <summary>How entries' file names end.</summary>
    public const string Extension = ".baselines.json";

    /// <summary>The protocols whose rows are kept: they train or fit nothing from the pretrained encoder.</summary>
    public static readonly IReadOnlySet<Protocol> Protocols = new HashSet<Protocol> { Protocol.FromScratch, Protocol.ScratchDistilled, Protocol.Baseline, Protocol.Trees };

    public string Folder { get; } = folder;
    public long MaxBytes { get; } = maxBytes > 0 ? maxBytes : throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "The baseline cache's cap must be positive.");

    /// <summary>
    /// The cache the environment asks for: <see cref="EnvironmentVariable"/>'s folder, none when it is "off" or "0", else
    /// <see cref="DefaultFolder"/>.
    /// </summary>
    /// <param name="getEnvironmentVariable">Environment lookup; the process environment when null (tests pass their own).</param>
    public static BaselineCache? FromEnvironment(Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        var value = getEnvironmentVariable(EnvironmentVariable)?.Trim();
        if (value is "0" || string.Equals(value, "off", StringComparison.OrdinalIgnoreCase)) return null;
        return new BaselineCache(string.IsNullOrEmpty(value) ? DefaultFolder(getEnvironmentVariable) : Path.GetFullPath(value));
    }

    /// <summary>The data cache's sibling: $XDG_CACHE_HOME/pretext/baselines, else ~/.cache/pretext/baselines (<see cref="DataCatalog.UserCacheFolder"/>).</summary>
    public static string DefaultFolder(Func<string, string?>? getEnvironmentVariable = null) => DataCatalog.UserCacheFolder("baselines", getEnvironmentVariable);

    /// <summary>The key of the rows <paramref name="config"/> gives on these inputs and this validation split (see the class summary).</summary>
    public static string Key(RunConfig config, IDataset train, IDataset test, long[] validation)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Text(string s) => sha.AppendData(Encoding.UTF8.GetBytes(s + "\n"));
        Text(KeyVersion);
        Text(typeof(BaselineCache).Assembly.ManifestModule.ModuleVersionId.ToString());
        // The pretraining method and schedule do not reach these rows; everything else might.
        Text((config with { Method = "", Methods = new(), Train = new(), InitFrom = null }).ToJson());
        Text(string.Join(",", validation));
        Content(sha, train);
        Content(sha, test);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Adds every sample of <paramref name="data"/> as the model reads it (in chunks), its labels and shape, to <paramref name="sha"/>.</summary>
    private static void Content(IncrementalHash sha, IDataset data)
    {
        sha.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{data.Count}|{string.Join(",", data.SampleShape)}\n")));
        if (data.Labels is { } labels) sha.AppendData(MemoryMarshal.AsBytes(labels.AsSpan()));
        const int chunk = 2048;
        var idx = new long[chunk];
        for (long start = 0; start < data.Count; start += chunk)
        {
            int n = (int)Math.Min(chunk, data.Count - start);
            for (int i = 0; i < n; i++) idx[i] = start + i;
            using var scope = NewDisposeScope();
            var x = data.Gather(idx.AsSpan(0, n)).contiguous();
            sha.AppendData(Encoding.UTF8.GetBytes(x.dtype.ToString()));
            sha.AppendData(x.bytes);
        }
    }

    /// <summary>One budget's predictions: the protocol, the budget as the report names it, each subset's seed and predictions.</summary>
    public sealed record Row(Protocol Protocol, string Budget, int[] Seeds, int[][] Test, int[][]? Validation);

    private sealed record Entry(string Key, string Created, int Threads, Row[] Rows);

    private string PathFor(string key) => Path.Combine(Folder, key[..32] + Extension);

    /// <summary>The rows kept under <paramref name="key"/>, or null on a miss; a damaged entry is reported through <paramref name="log"/>, deleted and a miss.</summary>
    public IReadOnlyList<Row>? TryLoad(string key, Action<string>? log)
    {
        string path = PathFor(key);
        if (!File.Exists(path)) return null;
        try
        {
            var entry = JsonSerializer.Deserialize<Entry>(File.ReadAllBytes(path)) ?? throw new InvalidDataException("empty");
            if (entry.Key != key) throw new InvalidDataException("it holds another key");
            if (entry.Rows is null || entry.Rows.Any(r => r.Seeds is null || r.Test is null || r.Test.Length != r.Seeds.Length || r.Validation is { } v && v.Length != r.Seeds.Length))
                throw new InvalidDataException("a row's subsets do not match its seeds");
            try { File.SetLastWriteTimeUtc(path, DateTime.UtcNow); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return entry.Rows;
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            log?.Invoke($"warning: the baseline cache file {path} is damaged ({e.Message}); computing the from-scratch and baseline rows again.");
            try { File.Delete(path); } catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
            return null;
        }
    }

    /// <summary>
    /// Keeps <paramref name="rows"/> under <paramref name="key"/> (written atomically), then deletes the least recently used other
    /// entries beyond <see cref="MaxBytes"/>. A folder that cannot be written is reported through <paramref name="log"/>; the
    /// evaluation goes on.
    /// </summary>
    public void Save(string key, IReadOnlyList<Row> rows, Action<string>? log)
    {
        string path = PathFor(key);
        string tmp = path + ".tmp";
        try
        {
            Directory.CreateDirectory(Folder);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new Entry(key, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture), get_num_threads(), [.. rows]));
            if (bytes.Length > MaxBytes)
            {
                log?.Invoke($"The from-scratch and baseline rows ({bytes.Length >> 20} MB) exceed the baseline cache's cap; they will be computed again next time.");
                return;
            }
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, path, overwrite: true);
            Prune(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log?.Invoke($"warning: could not keep the from-scratch and baseline rows in {Folder} ({e.Message}); the next evaluation computes them again.");
            try { File.Delete(tmp); } catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>Deletes the oldest entries (by modification time; a hit renews it) other than <paramref name="keep"/> until the folder's entries fit the cap.</summary>
    private void Prune(string keep)
    {
        var entries = new DirectoryInfo(Folder).GetFiles("*" + Extension).OrderBy(f => f.LastWriteTimeUtc).ToList();
        long total = entries.Sum(f => f.Length);
        foreach (var f in entries)
        {
            if (total <= MaxBytes) break;
            if (string.Equals(f.FullName, Path.GetFullPath(keep), StringComparison.Ordinal)) continue;
            try { f.Delete(); total -= f.Length; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
