using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pretext.Data.Tables;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using Pretext.Serving;
using Pretext.Tests.Cli;
using Pretext.Tests.Data;
using Pretext.Tests.Data.Tables;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Serving;

/// <summary>
/// A tiny checkpoint trained by the CLI in a second or two (one or two steps, fp32, one thread), its data as files, and a running
/// service around it on a free loopback port; what the library embeds for the same files, to compare the service with.
/// </summary>
public abstract class ServedCheckpoint : IAsyncLifetime
{
    public const string Key = "test-key-0123456789";
    private readonly TempDirectory dir = new();
    private EmbeddingService? service;

    public string Checkpoint { get; private set; } = "";
    /// <summary>The reference data (folder or file) the service was started with.</summary>
    public string Data { get; private set; } = "";
    public EmbeddingService Service => service!;
    public ServeOptions Options { get; private set; } = null!;
    /// <summary>The library's embeddings of <see cref="Data"/> ((N, D), as `pretext embed` computes them), and each item's id.</summary>
    public float[][] Library { get; private set; } = [];
    public string[] Ids { get; private set; } = [];
    public RunConfig Config { get; private set; } = null!;

    /// <summary>The data cache the library and the service read through (audio keeps log-mels there); null: the default.</summary>
    protected string? DataDirectory { get; set; }

    /// <summary>Writes the data and trains; returns (data, checkpoint).</summary>
    protected abstract (string Data, string Checkpoint) Prepare(string folder);

    /// <summary>The options the service starts with (tight limits, so the limits can be tested with small requests).</summary>
    protected virtual ServeOptions OptionsFor(string checkpoint, string data) => new()
    {
        Checkpoint = checkpoint, Reference = data, DataDirectory = DataDirectory, Port = 0, ApiKey = Key, K = 3, MaxItems = 8, MaxBodyBytes = 256 * 1024,
        MaxWait = TimeSpan.FromMilliseconds(20),
    };

    public async Task InitializeAsync()
    {
        torch.set_num_threads(1);
        (Data, Checkpoint) = Prepare(dir.Path);
        var (method, cfg, _) = Pretraining.LoadMethod(Checkpoint);
        Config = cfg;
        using (method)
        {
            var modality = ModalityCatalog.Get(cfg.Encoder.Modality);
            using var inputs = modality.InputsFor(cfg, Checkpoint);
            var readAs = cfg.Encoder.Modality == Pretext.Data.Modality.Table ? TableModality.TypedAsModel(cfg, Checkpoint) : cfg;
            var (train, test) = modality.Load(Data, readAs, DataDirectory, null, needTest: false);
            test?.Dispose();
            using (train)
            {
                using var features = Embeddings.Extract(method, inputs, train);
                int d = (int)features.shape[1];
                var flat = features.data<float>().ToArray();
                Library = [.. Enumerable.Range(0, train.Count).Select(i => flat.AsSpan(i * d, d).ToArray())];
                Ids = [.. Enumerable.Range(0, train.Count).Select(train.SampleId)];
                Loaded(train);
            }
        }
        Options = OptionsFor(Checkpoint, Data);
        service = await EmbeddingService.StartAsync(ServedModel.Load(Options), Options);
    }

    /// <summary>Keeps what a test needs of the samples the library embedded.</summary>
    protected virtual void Loaded(ISampleSet samples) { }

    public async Task DisposeAsync()
    {
        if (service is not null) await service.DisposeAsync();
        dir.Dispose();
    }

    public HttpClient Client(string? key = Key)
    {
        var client = new HttpClient { BaseAddress = Service.Address, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) client.DefaultRequestHeaders.Add(ServeOptions.ApiKeyHeader, key);
        return client;
    }

    /// <summary>POSTs <paramref name="json"/> and returns the status and the parsed body (every answer of the service is JSON).</summary>
    public static async Task<(int Status, JsonElement Body)> Post(HttpClient client, string path, string json, string contentType = "application/json")
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await Send(client.PostAsync(path, content));
    }

    public static async Task<(int Status, JsonElement Body)> PostBytes(HttpClient client, string path, byte[] body, string contentType)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await Send(client.PostAsync(path, content));
    }

    public static async Task<(int Status, JsonElement Body)> Send(Task<HttpResponseMessage> request)
    {
        using var response = await request;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"{(int)response.StatusCode}: not JSON: {text}");
        using var doc = JsonDocument.Parse(text);
        return ((int)response.StatusCode, doc.RootElement.Clone());
    }

    public static float[][] Vectors(JsonElement body) =>
        [.. body.GetProperty("embeddings").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray())];

    public static string Inputs(IEnumerable<string> jsonItems) => "{\"inputs\": [" + string.Join(",", jsonItems) + "]}";
}

/// <summary>Two classes of blob images (PNG files, 28x28 grey) and a ResNet of widths 8, 16 trained two steps on them.</summary>
public sealed class ServedImages : ServedCheckpoint
{
    public Dictionary<string, byte[]> Png { get; } = [];

    protected override (string Data, string Checkpoint) Prepare(string folder)
    {
        var images = Path.Combine(folder, "images");
        var rng = new Random(7);
        for (int c = 0; c < 2; c++)
        {
            Directory.CreateDirectory(Path.Combine(images, $"class{c}"));
            for (int i = 0; i < 12; i++)
            {
                int cx = 8 + 12 * c, cy = 10 + 6 * c;
                var png = TestFiles.Png(28, 28, 1, (x, y) =>
                    [(byte)Math.Min(255, 255 * Math.Exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 12.0) + rng.Next(0, 60))]);
                File.WriteAllBytes(Path.Combine(images, $"class{c}", $"img{i:D2}.png"), png);
                Png[$"class{c}/img{i:D2}.png"] = png;
            }
        }
        var run = Path.Combine(folder, "run");
        var (code, o, e) = CliRunner.Run("pretrain", "--dataset", images, "--run-dir", run, "--widths", "8,16", "--blocks", "1,1", "--batch-size", "16",
            "--max-steps", "2", "--threads", "1", "--precision", "Float32", "--layout", "Contiguous");
        Assert.True(code == 0, o + e);
        return (images, Path.Combine(run, "checkpoints", "step-00000002.safetensors"));
    }
}

/// <summary>A customer table (CSV: id, amount with gaps, visits, city, member, label) and SCARF trained three steps on it.</summary>
public sealed class ServedTable : ServedCheckpoint
{
    public TableRows Rows { get; private set; } = null!;

    protected override (string Data, string Checkpoint) Prepare(string folder)
    {
        var file = TestTables.WriteCsv(Path.Combine(folder, "customers.csv"), 60);
        var run = Path.Combine(folder, "run");
        var (code, o, e) = CliRunner.Run("pretrain", "--dataset", file, "--method", "scarf", "--run-dir", run, "--max-steps", "3", "--batch-size", "16",
            "--threads", "1", "--set", "table.columns.id=id", "--set", "encoder.table.hidden=[16,8]");
        Assert.True(code == 0, o + e);
        return (file, Path.Combine(run, "checkpoints", "step-00000003.safetensors"));
    }

    protected override void Loaded(ISampleSet samples) => Rows = TableSamples.Of(samples).Rows;
}

/// <summary>A labelled folder of short documents and MLM trained two steps on them (a tiny Transformer, its tokenizer in the run folder).</summary>
public sealed class ServedText : ServedCheckpoint
{
    public IReadOnlyList<string> Texts { get; private set; } = [];

    protected override (string Data, string Checkpoint) Prepare(string folder)
    {
        var docs = Path.Combine(folder, "docs");
        TextEndToEndTests.WriteTextFolder(docs, 24);
        var run = Path.Combine(folder, "run");
        var (code, o, e) = CliRunner.Run(["pretrain", "--dataset", docs, "--method", "mlm", "--run-dir", run, "--batch-size", "8", "--max-steps", "2", "--threads", "1", .. TextEndToEndTests.Small]);
        Assert.True(code == 0, o + e);
        return (docs, Path.Combine(run, "checkpoints", "step-00000002.safetensors"));
    }

    protected override void Loaded(ISampleSet samples) => Texts = TextSamples.Of(samples).Data.Texts;
}

/// <summary>A two-channel sensor file (two units) and CPC trained two steps on windows of 16 readings with a tiny TCN.</summary>
public sealed class ServedSeries : ServedCheckpoint
{
    /// <summary>Each reference window's raw readings, (C, L) row-major.</summary>
    public float[][] Windows { get; private set; } = [];
    public int Channels { get; private set; }
    public int Length { get; private set; }

    protected override (string Data, string Checkpoint) Prepare(string folder)
    {
        var file = Pretext.Tests.Data.Series.TestSeries.Write(Path.Combine(folder, "sensors.csv"), entities: 2, readings: 500, burst: 20, burstAt: 300);
        var run = Path.Combine(folder, "run");
        var (code, o, e) = CliRunner.Run("pretrain", "--dataset", file, "--method", "cpc", "--run-dir", run, "--max-steps", "2", "--batch-size", "16", "--threads", "1",
            "--set", "series.columns.entity=unit", "--set", "series.window=16", "--set", "series.stride=4", "--set", "series.blockLength=100",
            "--set", "encoder.series.dim=8", "--set", "encoder.series.width=8", "--set", "encoder.series.blocks=2");
        Assert.True(code == 0, o + e);
        return (file, Path.Combine(run, "checkpoints", "step-00000002.safetensors"));
    }

    protected override void Loaded(ISampleSet samples)
    {
        var windows = SeriesSamples.Of(samples);
        Channels = windows.Channels;
        Length = windows.Length;
        var flat = windows.Data.Data.contiguous().data<float>().ToArray();
        int size = Channels * Length;
        Windows = [.. Enumerable.Range(0, windows.Count).Select(i => flat.AsSpan(i * size, size).ToArray())];
    }

    /// <summary>Window <paramref name="i"/> as JSON: its readings in time order, each an array of its channels.</summary>
    public string WindowJson(int i) => "[" + string.Join(",", Enumerable.Range(0, Length).Select(t =>
        "[" + string.Join(",", Enumerable.Range(0, Channels).Select(c => Windows[i][c * Length + t].ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]")) + "]";
}

/// <summary>Two classes of tones as WAV files (mono and stereo at 16 kHz) and COLA trained two steps with a tiny front end and encoder.</summary>
public sealed class ServedAudio : ServedCheckpoint
{
    protected override (string Data, string Checkpoint) Prepare(string folder)
    {
        var clips = Path.Combine(folder, "clips");
        Pretext.Tests.Data.Audio.TestAudio.WriteClassFolder(clips, perClass: 8);
        DataDirectory = Path.Combine(folder, "data");
        var run = Path.Combine(folder, "run");
        var (code, o, e) = CliRunner.Run("pretrain", "--dataset", clips, "--run-dir", run, "--batch-size", "8", "--max-steps", "2", "--threads", "1", "--data-dir", DataDirectory,
            "--set", "encoder.audio.clip.sampleRate=8000", "--set", "encoder.audio.clip.seconds=0.25", "--set", "encoder.audio.logMel.fftSize=256",
            "--set", "encoder.audio.logMel.windowLength=200", "--set", "encoder.audio.logMel.hopLength=80", "--set", "encoder.audio.logMel.mels=16",
            "--set", "encoder.audio.convWidths=[8,8]", "--set", "encoder.audio.convStrides=[1,2]", "--set", "methods.cola.projectionDim=16",
            "--set", "methods.cola.segmentSeconds=0.1");
        Assert.True(code == 0, o + e);
        return (clips, Path.Combine(run, "checkpoints", "step-00000002.safetensors"));
    }
}
