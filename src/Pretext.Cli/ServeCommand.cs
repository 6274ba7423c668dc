using System.CommandLine;
using System.Globalization;
using Pretext.Serving;

namespace Pretext.Cli;

/// <summary>`pretext serve`: an HTTP service around a checkpoint (embeddings, anomaly scores, nearest reference items); docs/serve.md.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var d = new ServeOptions { Checkpoint = "" };
        var c = CultureInfo.InvariantCulture;
        var checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint served: an image, text, table, series or audio model (not video) (run-dir/checkpoints/step-*.safetensors; a text checkpoint needs its run folder's tokenizer.json).", Required = true };
        var reference = new Option<string?>("--reference") { Description = "The reference collection /score and /neighbors measure against, read as the checkpoint's data is: an image folder, a folder or file of documents, a .csv/.parquet/.arff table, a series file, or a catalogued data set (its training split). Without it /score and /neighbors answer 404." };
        var host = new Option<string>("--host") { Description = "Address to listen on: 127.0.0.1 serves this machine only; 0.0.0.0 every interface (needs an API key).", DefaultValueFactory = _ => d.Host };
        var port = new Option<int>("--port") { Description = "Port to listen on (0: any free port).", DefaultValueFactory = _ => d.Port };
        var apiKey = new Option<string?>("--api-key") { Description = $"The key clients send in the {ServeOptions.ApiKeyHeader} header (default: ${ServeOptions.ApiKeyVariable}). Required unless --no-api-key. /health and /openapi.json need none." };
        var noKey = new Option<bool>("--no-api-key") { Description = "Serve without an API key; then only on loopback (127.0.0.1, ::1, localhost)." };
        var k = new Option<int>("--k") { Description = "Nearest reference items whose mean distance is an item's anomaly score (/score).", DefaultValueFactory = _ => d.K };
        var maxNeighbours = new Option<int>("--max-neighbors") { Description = "Most neighbours one /neighbors request may ask for (its \"k\", default 10).", DefaultValueFactory = _ => d.MaxNeighbours };
        var maxItems = new Option<int>("--max-items") { Description = "Most items in one request (more: 413).", DefaultValueFactory = _ => d.MaxItems };
        var maxBody = new Option<int>("--max-body-kb") { Description = "Largest request body in KiB (larger: 413).", DefaultValueFactory = _ => (int)(d.MaxBodyBytes / 1024) };
        var maxBatch = new Option<int>("--max-batch") { Description = "Most items embedded in one encoder pass: requests arriving together are batched up to this.", DefaultValueFactory = _ => d.MaxBatch };
        var maxWait = new Option<double>("--max-wait-ms") { Description = "How long a batch waits for more requests after its first arrived, in ms (0: never waits; under load batches form while the encoder runs).", DefaultValueFactory = _ => d.MaxWait.TotalMilliseconds };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests waiting for the encoder beyond which new ones get 503.", DefaultValueFactory = _ => d.MaxQueue };
        var threads = PretextCli.ThreadsOption();
        var dataDir = PretextCli.DataDirOption();
        var cmd = new Command("serve", string.Create(c,
            $"Serve a checkpoint over HTTP (default http://127.0.0.1:{ServeOptions.DefaultPort}): POST /embed (embeddings), /score (kNN anomaly score against --reference), /neighbors (nearest reference items); GET /health, /info, /openapi.json. Concurrent requests are micro-batched. Clients send the API key in {ServeOptions.ApiKeyHeader}; see docs/serve.md."))
        {
            checkpoint, reference, host, port, apiKey, noKey, k, maxNeighbours, maxItems, maxBody, maxBatch, maxWait, maxQueue, threads, dataDir,
        };
        cmd.SetAction(p => PretextCli.Guard(() =>
        {
            var options = new ServeOptions
            {
                Checkpoint = p.GetValue(checkpoint)!, Reference = p.GetValue(reference), DataDirectory = p.GetValue(dataDir),
                Host = p.GetValue(host)!, Port = p.GetValue(port),
                ApiKey = p.GetValue(apiKey) ?? (p.GetValue(noKey) ? null : NonEmpty(Environment.GetEnvironmentVariable(ServeOptions.ApiKeyVariable))),
                AllowNoKey = p.GetValue(noKey), K = p.GetValue(k), MaxNeighbours = p.GetValue(maxNeighbours), MaxItems = p.GetValue(maxItems),
                MaxBodyBytes = p.GetValue(maxBody) * 1024L, MaxBatch = p.GetValue(maxBatch),
                MaxWait = p.GetValue(maxWait) is var ms && double.IsFinite(ms) && ms >= 0 && ms <= 1000 ? TimeSpan.FromMilliseconds(ms)
                    : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--max-wait-ms lies in 0..1000, got {p.GetValue(maxWait)}.")),
                MaxQueue = p.GetValue(maxQueue),
            };
            // Mistakes in the options are found before the checkpoint and the reference take their time to load.
            options.Validate();
            PretextCli.SetThreads(p.GetValue(threads));
            var model = ServedModel.Load(options, Console.WriteLine);
            var service = EmbeddingService.StartAsync(model, options, Console.Error.WriteLine).GetAwaiter().GetResult();
            try
            {
                Console.WriteLine(service.Describe());
                service.WaitForShutdownAsync().GetAwaiter().GetResult();
                var (batches, items) = service.Counts;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Stopped after embedding {items:N0} items in {batches:N0} batches."));
            }
            finally
            {
                service.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            return 0;
        }));
        return cmd;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
