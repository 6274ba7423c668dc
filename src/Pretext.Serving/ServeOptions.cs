using System.Globalization;
using System.Net;

namespace Pretext.Serving;

/// <summary>Options of <c>pretext serve</c>; one documented default each.</summary>
public sealed record ServeOptions
{
    /// <summary>The default port: 5080, clear of the 5000/5001 that ASP.NET Core development servers take.</summary>
    public const int DefaultPort = 5080;
    /// <summary>The environment variable the API key is read from when no key is given on the command line.</summary>
    public const string ApiKeyVariable = "PRETEXT_API_KEY";
    /// <summary>The request header that carries the key.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The checkpoint served (run-dir/checkpoints/step-*.safetensors; a text checkpoint needs its run folder's tokenizer).</summary>
    public required string Checkpoint { get; init; }
    /// <summary>
    /// The reference collection /score and /neighbors measure against: whatever the checkpoint's modality loads (an image folder, a
    /// document folder, a table or series file, an audio folder, a catalogued data set; its training split). Null: those two endpoints answer 404.
    /// </summary>
    public string? Reference { get; init; }
    /// <summary>Data cache folder for a catalogued reference (null: $PRETEXT_DATA, else ~/.cache/pretext/data).</summary>
    public string? DataDirectory { get; init; }
    /// <summary>Address listened on: loopback. Serving other machines is a choice made with <c>--host 0.0.0.0</c>, never a default.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>Port listened on (0: any free port, what tests use).</summary>
    public int Port { get; init; } = DefaultPort;
    /// <summary>The key every request but /health and /openapi.json must carry in <see cref="ApiKeyHeader"/>; null only with <see cref="AllowNoKey"/>.</summary>
    public string? ApiKey { get; init; }
    /// <summary>Serve without a key; then only on loopback.</summary>
    public bool AllowNoKey { get; init; }
    /// <summary>Reference items whose distances make an anomaly score: 10, as <c>pretext score</c> averages (RecordScoreOptions.K).</summary>
    public int K { get; init; } = 10;
    /// <summary>Most neighbours one /neighbors request may ask for: 100.</summary>
    public int MaxNeighbours { get; init; } = 100;
    /// <summary>Largest request body: 16 MiB (a request of 256 photographs of a few dozen kB each fits).</summary>
    public long MaxBodyBytes { get; init; } = 16L << 20;
    /// <summary>Most items in one request: 256.</summary>
    public int MaxItems { get; init; } = 256;
    /// <summary>
    /// Most items the batcher puts through the encoder at once: 64. Requests that arrive together are embedded in one pass up to this;
    /// a larger single request goes through alone.
    /// </summary>
    public int MaxBatch { get; init; } = 64;
    /// <summary>
    /// How long the batcher waits for more requests after the first of a batch arrived: 2 ms. Under load the queue fills while the
    /// encoder runs, so batches form without waiting; the wait only adds latency to a lone client, hence short.
    /// </summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(2);
    /// <summary>Requests waiting for the encoder beyond which new ones get 503: 1,024.</summary>
    public int MaxQueue { get; init; } = 1024;
    /// <summary>Pixels an image's header may declare before it is refused undecoded: 40 megapixels, as image folders.</summary>
    public long MaxImagePixels { get; init; } = (long)(Data.ImageDataConfig.DefaultMaxMegapixels * 1e6);

    /// <summary>The address to bind.</summary>
    /// <exception cref="ArgumentException">The host is neither an IP address nor "localhost".</exception>
    public IPAddress Address => Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
        : IPAddress.TryParse(Host, out var ip) ? ip
        : throw new ArgumentException($"--host '{Host}' is not an IP address; give one such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).");

    /// <exception cref="ArgumentException">A value the service cannot run with; the message names the option and the fix.</exception>
    public void Validate()
    {
        var c = CultureInfo.InvariantCulture;
        if (Port is < 0 or > 65535) throw new ArgumentException(string.Create(c, $"--port must lie in 0..65535, got {Port}."));
        if (AllowNoKey && ApiKey is not null)
            throw new ArgumentException($"Give an API key (--api-key or ${ApiKeyVariable}) or --no-api-key, not both.");
        if (!AllowNoKey && string.IsNullOrWhiteSpace(ApiKey))
            throw new ArgumentException($"The service needs an API key: --api-key KEY or ${ApiKeyVariable}; clients send it in the {ApiKeyHeader} header. " +
                "For a service on this machine only, --no-api-key serves without one on loopback.");
        var address = Address;
        if (AllowNoKey && !IPAddress.IsLoopback(address))
            throw new ArgumentException($"--no-api-key serves on loopback only (127.0.0.1, ::1 or localhost), not on '{Host}'; give an API key to serve other machines.");
        if (K < 1) throw new ArgumentException(string.Create(c, $"--k must be at least 1, got {K}."));
        if (MaxNeighbours < 1) throw new ArgumentException(string.Create(c, $"--max-neighbors must be at least 1, got {MaxNeighbours}."));
        if (MaxBodyBytes < 1024) throw new ArgumentException(string.Create(c, $"--max-body-kb must be at least 1, got {MaxBodyBytes / 1024.0:0.###}."));
        if (MaxItems < 1) throw new ArgumentException(string.Create(c, $"--max-items must be at least 1, got {MaxItems}."));
        if (MaxBatch < 1) throw new ArgumentException(string.Create(c, $"--max-batch must be at least 1, got {MaxBatch}."));
        if (MaxWait < TimeSpan.Zero || MaxWait > TimeSpan.FromSeconds(1))
            throw new ArgumentException(string.Create(c, $"--max-wait-ms lies in 0..1000, got {MaxWait.TotalMilliseconds}."));
        if (MaxQueue < 1) throw new ArgumentException(string.Create(c, $"--max-queue must be at least 1, got {MaxQueue}."));
        if (MaxImagePixels < 1) throw new ArgumentException("The image pixel limit must be at least 1.");
    }
}
