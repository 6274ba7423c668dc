using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pretext.Serving;

/// <summary>
/// `pretext serve`: an ASP.NET Core minimal API around a <see cref="ServedModel"/>. POST /embed, /score and /neighbors queue their
/// items with the <see cref="MicroBatcher"/>; GET /health, /info and /openapi.json answer at once. Every refusal is a 4xx with a JSON
/// body <c>{"error": CODE, "message": TEXT}</c> (<see cref="RequestProblem"/>); no request can stop the service.
/// </summary>
public sealed class EmbeddingService : IAsyncDisposable
{
    /// <summary>Paths that need no API key: liveness probes carry none, and the API's description is no secret.</summary>
    private static readonly string[] Open = ["/health", "/openapi.json"];
    private static readonly string[] Posts = ["/embed", "/score", "/neighbors"];

    private readonly WebApplication app;
    private readonly MicroBatcher batcher;
    private readonly ServedModel model;
    private readonly ServeOptions options;
    private readonly byte[]? keyHash;
    private readonly byte[] info, openApi;
    private readonly Action<string>? log;

    private EmbeddingService(ServedModel model, ServeOptions options, Action<string>? log)
    {
        this.model = model; this.options = options; this.log = log;
        keyHash = options.ApiKey is { } key ? SHA256.HashData(Encoding.UTF8.GetBytes(key)) : null;
        info = Encoding.UTF8.GetBytes(model.Describe(options).ToJsonString());
        openApi = Encoding.UTF8.GetBytes(OpenApiDescription.Build(model, options).ToJsonString());
        batcher = new MicroBatcher(model, options, log);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.Listen(options.Address, options.Port);
        });
        app = builder.Build();
        app.Use(Guard);
        app.Use(Authorize);
        app.MapGet("/health", c => Write(c, 200, w =>
        {
            var (batches, items) = batcher.Counts;
            w.WriteString("status", "ok");
            w.WriteNumber("batches", batches);
            w.WriteNumber("items", items);
        }));
        app.MapGet("/info", c => WriteBytes(c, info));
        app.MapGet("/openapi.json", c => WriteBytes(c, openApi));
        app.MapPost("/embed", c => Handle(c, JobKind.Embed));
        app.MapPost("/score", c => Handle(c, JobKind.Score));
        app.MapPost("/neighbors", c => Handle(c, JobKind.Neighbours));
    }

    /// <summary>Where it listens, e.g. http://127.0.0.1:5080 (the port chosen when <see cref="ServeOptions.Port"/> was 0).</summary>
    public Uri Address { get; private set; } = null!;
    public ServedModel Model => model;
    /// <summary>Encoder passes and the items they embedded.</summary>
    public (long Batches, long Items) Counts => batcher.Counts;

    /// <summary>Starts listening on <paramref name="model"/>'s behalf; the service owns the model from here (disposing it disposes the model).</summary>
    /// <exception cref="ArgumentException">Options the service cannot run with.</exception>
    /// <exception cref="IOException">The address is taken or cannot be bound; the message names it.</exception>
    public static async Task<EmbeddingService> StartAsync(ServedModel model, ServeOptions options, Action<string>? log = null, CancellationToken cancel = default)
    {
        options.Validate();
        var service = new EmbeddingService(model, options, log);
        try
        {
            await service.app.StartAsync(cancel).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            service.batcher.Dispose();
            await service.app.DisposeAsync().ConfigureAwait(false);
            model.Dispose();
            throw new IOException($"Cannot listen on {options.Host}:{options.Port.ToString(CultureInfo.InvariantCulture)}: {e.Message} Choose another --port or --host.", e);
        }
        var addresses = service.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        service.Address = new Uri(addresses.First());
        return service;
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C, SIGTERM) or <paramref name="cancel"/> fires.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancel = default) => app.WaitForShutdownAsync(cancel);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        batcher.Dispose();
        await app.DisposeAsync().ConfigureAwait(false);
        model.Dispose();
    }

    /// <summary>Every failure becomes a JSON error; a body-less 4xx of the framework (404, 405) gets one too.</summary>
    private async Task Guard(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
            var r = context.Response;
            if (!r.HasStarted && r.StatusCode >= 400 && r.ContentLength is null)
            {
                var (problem, message) = r.StatusCode switch
                {
                    404 => (RequestProblem.NotFound, $"No endpoint {context.Request.Path}; this service has GET /health, /info, /openapi.json and POST {string.Join(", ", Posts)}."),
                    405 => (RequestProblem.MethodNotAllowed, $"{context.Request.Method} is not taken by {context.Request.Path}; see /openapi.json."),
                    _ => (RequestProblem.BadRequestShape, $"The request was refused with status {r.StatusCode}."),
                };
                await WriteError(context, r.StatusCode, problem, message).ConfigureAwait(false);
            }
        }
        catch (RequestException e)
        {
            await WriteError(context, RequestException.StatusOf(e.Problem), e.Problem, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            var problem = e.StatusCode == 413 ? RequestProblem.BodyTooLarge : RequestProblem.BadRequestShape;
            string message = e.StatusCode == 413
                ? string.Create(CultureInfo.InvariantCulture, $"The body is larger than this service takes ({options.MaxBodyBytes:N0} bytes, --max-body-kb).")
                : e.Message;
            await WriteError(context, e.StatusCode, problem, message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception e)
        {
            log?.Invoke($"error: {context.Request.Method} {context.Request.Path} failed: {e}");
            await WriteError(context, 500, RequestProblem.Internal, "The service failed on this request; it keeps serving. Retry, and report it if it persists.").ConfigureAwait(false);
        }
    }

    private Task Authorize(HttpContext context, RequestDelegate next)
    {
        if (keyHash is null || Open.Contains(context.Request.Path.Value ?? "", StringComparer.OrdinalIgnoreCase)) return next(context);
        if (!context.Request.Headers.TryGetValue(ServeOptions.ApiKeyHeader, out var given) || given.Count == 0 || string.IsNullOrEmpty(given[0]))
            throw new RequestException(RequestProblem.MissingApiKey, $"Send the API key in the {ServeOptions.ApiKeyHeader} header.");
        // Hashes of equal length, compared in constant time: neither the key's length nor its prefix leaks through timing.
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given[0]!)), keyHash))
            throw new RequestException(RequestProblem.WrongApiKey, $"The {ServeOptions.ApiKeyHeader} header does not hold this service's key.");
        return next(context);
    }

    private async Task Handle(HttpContext context, JobKind kind)
    {
        if (kind != JobKind.Embed && model.ReferenceCount == 0)
            throw new RequestException(RequestProblem.NotFound, $"{context.Request.Path} needs a reference collection: start the service with --reference PATH.");
        var body = await ReadBody(context.Request).ConfigureAwait(false);
        var (items, k) = Parse(context.Request, body, kind);
        JobResult result;
        try
        {
            result = await batcher.Submit(new Job(kind, items, k)).WaitAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            // The readers check every item; what the library still refuses is this request's, not the service's, fault.
            throw new RequestException(RequestProblem.Unprocessable, $"The model could not read these items: {e.Message}");
        }
        await Write(context, 200, w => WriteResult(w, kind, result, k)).ConfigureAwait(false);
    }

    private async Task<byte[]> ReadBody(HttpRequest request)
    {
        long max = options.MaxBodyBytes;
        if (request.ContentLength is long declared && declared > max)
            throw new RequestException(RequestProblem.BodyTooLarge, string.Create(CultureInfo.InvariantCulture,
                $"The body is {declared:N0} bytes; this service takes up to {max:N0} (--max-body-kb). Send fewer items per request."));
        using var buffer = new MemoryStream((int)Math.Min(request.ContentLength ?? 16 * 1024, max));
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
                throw new RequestException(RequestProblem.BodyTooLarge, string.Create(CultureInfo.InvariantCulture,
                    $"The body is larger than {max:N0} bytes, what this service takes (--max-body-kb). Send fewer items per request."));
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>The request's items and k (0 for /embed), from a JSON body or a raw body of one item.</summary>
    private (RequestItems Items, int K) Parse(HttpRequest request, byte[] body, JobKind kind)
    {
        var reader = model.Reader;
        string mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) && parsed.MediaType is { } m ? m.ToLowerInvariant() : "application/json";
        bool json = mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal);
        if (!json)
        {
            if (!reader.RawMediaTypes.Contains(mediaType))
                throw new RequestException(RequestProblem.UnsupportedMediaType,
                    $"Content-Type '{mediaType}' is not taken here; send application/json {{\"inputs\": [...]}}" +
                    (reader.RawMediaTypes.Count > 0 ? $", or one item as {string.Join(", ", reader.RawMediaTypes)}." : "."));
            if (body.Length == 0) throw new RequestException(RequestProblem.EmptyInputs, "The body is empty; send one item.");
            int rawK = kind == JobKind.Embed ? 0 : KOf(request.Query.TryGetValue("k", out var q) ? q.ToString() : null, kind);
            return (reader.ReadRaw(mediaType, body), rawK);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new RequestException(RequestProblem.InvalidJson, $"The body is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new RequestException(RequestProblem.BadRequestShape, $"The body is {InputReaders.KindOf(root)}; send a JSON object {{\"inputs\": [...]}}.");
            string[] allowed = kind == JobKind.Neighbours ? ["inputs", "k"] : ["inputs"];
            foreach (var p in root.EnumerateObject())
                if (!allowed.Contains(p.Name, StringComparer.Ordinal))
                    throw new RequestException(RequestProblem.BadRequestShape, $"Unknown field '{p.Name}'; {request.Path} takes {string.Join(" and ", allowed.Select(a => $"\"{a}\""))}.");
            if (!root.TryGetProperty("inputs", out var inputs))
                throw new RequestException(RequestProblem.BadRequestShape, "The body has no \"inputs\"; send {\"inputs\": [item, ...]}.");
            if (inputs.ValueKind != JsonValueKind.Array)
                throw new RequestException(RequestProblem.BadRequestShape, $"\"inputs\" is {InputReaders.KindOf(inputs)}; it must be an array of items.");
            int n = inputs.GetArrayLength();
            if (n == 0) throw new RequestException(RequestProblem.EmptyInputs, "\"inputs\" is empty; send at least one item.");
            if (n > options.MaxItems)
                throw new RequestException(RequestProblem.TooManyItems, string.Create(CultureInfo.InvariantCulture,
                    $"\"inputs\" holds {n:N0} items; this service takes up to {options.MaxItems:N0} per request (--max-items). Split the request."));
            int k = kind == JobKind.Embed ? 0
                : kind == JobKind.Score ? model.ScoreK(options)
                : root.TryGetProperty("k", out var kElement) ? KOf(kElement) : KOf((string?)null, kind);
            return (reader.Read(inputs), k);
        }
    }

    /// <summary>k of a score (the service's) or of a neighbours request (the query's ?k=, default 10 capped by the limits).</summary>
    private int KOf(string? text, JobKind kind)
    {
        if (kind == JobKind.Score) return model.ScoreK(options);
        if (text is null) return Math.Min(Math.Min(10, options.MaxNeighbours), model.ReferenceCount);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? CheckK(k)
            : throw new RequestException(RequestProblem.BadValue, $"k '{text}' is not a whole number.");
    }

    private int KOf(JsonElement k) => k.ValueKind == JsonValueKind.Number && k.TryGetInt32(out int v) ? CheckK(v)
        : throw new RequestException(RequestProblem.BadValue, $"\"k\" is {InputReaders.KindOf(k)} ({k.GetRawText()}); it must be a whole number of neighbours.");

    private int CheckK(int k)
    {
        int most = Math.Min(options.MaxNeighbours, model.ReferenceCount);
        return k >= 1 && k <= most ? k
            : throw new RequestException(RequestProblem.BadValue, string.Create(CultureInfo.InvariantCulture, $"k is {k}; it must lie in 1..{most} (the reference holds {model.ReferenceCount:N0} items; --max-neighbors {options.MaxNeighbours})."));
    }

    private void WriteResult(Utf8JsonWriter w, JobKind kind, JobResult result, int k)
    {
        int n = result.Embeddings.Length / Math.Max(1, result.Dim);
        if (kind == JobKind.Embed)
        {
            w.WriteNumber("dim", result.Dim);
            w.WriteStartArray("embeddings");
            for (int i = 0; i < n; i++)
            {
                w.WriteStartArray();
                foreach (var v in result.Embeddings.AsSpan(i * result.Dim, result.Dim))
                    if (float.IsFinite(v)) w.WriteNumberValue(v); else w.WriteNullValue();
                w.WriteEndArray();
            }
            w.WriteEndArray();
            return;
        }
        w.WriteNumber("k", k);
        if (kind == JobKind.Score)
        {
            w.WriteStartArray("scores");
            foreach (var s in result.Scores!) w.WriteNumberValue(Math.Round(s, 6));
            w.WriteEndArray();
            return;
        }
        w.WriteStartArray("neighbors");
        foreach (var row in result.Neighbours!)
        {
            w.WriteStartArray();
            foreach (var nb in row)
            {
                w.WriteStartObject();
                w.WriteString("id", model.ReferenceIds[nb.Index]);
                w.WriteNumber("index", nb.Index);
                w.WriteNumber("distance", Math.Round(nb.Distance, 6));
                if (model.ReferenceLabels is { } labels) w.WriteString("label", labels[nb.Index]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static Task WriteError(HttpContext context, int status, RequestProblem problem, string message)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        // A body refused unread is not drained past the size limit: the connection cannot carry another request.
        if (problem == RequestProblem.BodyTooLarge) context.Response.Headers.Connection = "close";
        return Write(context, status, w =>
        {
            w.WriteString("error", RequestException.CodeOf(problem));
            w.WriteString("message", message);
        });
    }

    private static async Task Write(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        await WriteBytes(context, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), status).ConfigureAwait(false);
    }

    private static Task WriteBytes(HttpContext context, byte[] json) => WriteBytes(context, json, 200);

    private static async Task WriteBytes(HttpContext context, ReadOnlyMemory<byte> json, int status)
    {
        var r = context.Response;
        r.StatusCode = status;
        r.ContentType = "application/json; charset=utf-8";
        r.ContentLength = json.Length;
        await r.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The startup line: where it listens, what it serves, how to call it.</summary>
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        string reference = model.ReferenceCount > 0 ? string.Create(c, $"; reference {model.ReferenceCount:N0} items (k = {model.ScoreK(options)})") : "; no reference (/score and /neighbors off)";
        string key = options.ApiKey is null ? "no API key (loopback only)" : $"API key required in {ServeOptions.ApiKeyHeader}";
        return string.Create(c, $"Listening on {Address.ToString().TrimEnd('/')}: {model.MethodName} {model.Config.Encoder.Modality.ToString().ToLowerInvariant()} encoder, {model.Dim}-d embeddings{reference}; {key}. ") +
               "POST /embed /score /neighbors, GET /health /info /openapi.json. Ctrl+C stops.";
    }
}
