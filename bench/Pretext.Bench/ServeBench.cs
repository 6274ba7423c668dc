using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Pretext.Data;
using Pretext.Runs;
using Pretext.Runs.Modalities;
using SkiaSharp;
using static TorchSharp.torch;

namespace Pretext.Bench;

/// <summary>
/// Load test of `pretext serve` (issue #23) on loopback: the real CLI in a child process serving an image checkpoint, and here
/// concurrent clients posting one PNG per request to /embed. Per level of concurrency: requests/s, latency p50 and p99, errors, and
/// the server's mean batch size; the server's resident memory sampled every 250 ms across the whole run.
///   Pretext.Bench serve --checkpoint CKPT [--requests 10000] [--clients 1,8,32] [--warmup 200] [--threads 1] [--max-batch 64]
///       [--max-wait-ms 2] [--format png|json] [--port 5081] [--pretext src/Pretext.Cli/bin/Release/net10.0/linux-x64/pretext]
///       [--out runs/bench-serve/results.json]
/// The images are the first 1,000 test images of the checkpoint's data set, encoded as PNG. Client and server share this machine's
/// cores: on a 2-core machine the figures are the service's with a load generator beside it, not the service's alone.
/// </summary>
internal static class ServeBench
{
    public static int Run(BenchArgs a)
    {
        string checkpoint = a.Get("checkpoint", "");
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"--checkpoint '{checkpoint}' does not exist; give an image checkpoint (the quickstart's).");
        int requests = a.Int("requests", 10_000), warmup = a.Int("warmup", 200), port = a.Int("port", 5081);
        int[] levels = BenchArgs.Ints(a.Get("clients", "1,8,32"));
        string format = a.Get("format", "png");
        string output = a.Get("out", Path.Combine("runs", "bench-serve", "results.json"));
        string exe = a.Get("pretext", Path.Combine(Machine.RepositoryRoot(), "src", "Pretext.Cli", "bin", "Release", "net10.0", "linux-x64", "pretext"));
        if (!File.Exists(exe)) throw new FileNotFoundException($"'{exe}' does not exist; build the CLI (dotnet build -c Release) or give --pretext.");

        var images = Images(checkpoint, 1000);
        string key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var start = new ProcessStartInfo(exe)
        {
            ArgumentList = { "serve", "--checkpoint", checkpoint, "--port", port.ToString(CultureInfo.InvariantCulture), "--threads", a.Get("threads", "1"),
                             "--max-batch", a.Get("max-batch", "64"), "--max-wait-ms", a.Get("max-wait-ms", "2") },
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.Environment["PRETEXT_API_KEY"] = key;
        var (server, serverLines) = Machine.StartCapturing(start);
        using var _ = server;
        var memory = new List<(double Seconds, string Phase, double RssMb)>();
        string phase = "start";
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && !server.HasExited)
            {
                if (Machine.StatusMegabytes(server.Id, "VmRSS:") is double mb) lock (memory) memory.Add((clock.Elapsed.TotalSeconds, phase, mb));
                try { await Task.Delay(250, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60),
            };
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
            WaitUntilUp(client, server, serverLines);
            string load = Machine.LoadAverage();
            var results = new List<object>();
            int errors = 0;
            foreach (int clients in levels)
            {
                phase = $"warmup-{clients}";
                Load(client, images, format, clients, warmup);
                var before = Counters(client);
                phase = $"clients-{clients}";
                var level = Load(client, images, format, clients, requests);
                var after = Counters(client);
                double batch = (after.Items - before.Items) / Math.Max(1.0, after.Batches - before.Batches);
                var row = new
                {
                    clients, requests, level.Errors, requests_per_second = Math.Round(requests / level.Seconds, 1),
                    p50_ms = Math.Round(level.Percentile(0.50), 2), p99_ms = Math.Round(level.Percentile(0.99), 2), mean_batch = Math.Round(batch, 2),
                    seconds = Math.Round(level.Seconds, 1), first_error = level.FirstError,
                };
                Console.WriteLine(JsonSerializer.Serialize(row));
                results.Add(row);
                errors += level.Errors;
            }
            phase = "end";
            Thread.Sleep(500);
            stop.Cancel();
            sampler.Wait();
            var rss = memory.ToList();
            var measured = rss.Where(m => m.Phase.StartsWith("clients-", StringComparison.Ordinal)).ToList();
            var summary = new
            {
                bench = "serve", checkpoint = Path.GetFullPath(checkpoint), format, threads = a.Get("threads", "1"), max_batch = a.Get("max-batch", "64"),
                max_wait_ms = a.Get("max-wait-ms", "2"), machine = $"{Environment.ProcessorCount} cores", load_average_start = load, load_average_end = Machine.LoadAverage(),
                levels = results,
                rss_mb = new
                {
                    first_measured = measured.Count > 0 ? measured[0].RssMb : double.NaN, last_measured = measured.Count > 0 ? measured[^1].RssMb : double.NaN,
                    max = rss.Count > 0 ? rss.Max(m => m.RssMb) : double.NaN, samples = rss.Count,
                    // Flat or not: each phase's resident memory at the start and at each quarter of its samples.
                    per_phase = rss.GroupBy(m => m.Phase).Select(g => new
                    {
                        phase = g.Key, first = g.First().RssMb, last = g.Last().RssMb, max = g.Max(m => m.RssMb),
                        quarters = new[] { 0.25, 0.5, 0.75, 1.0 }.Select(q => Math.Round(g.ElementAt(Math.Max(0, (int)Math.Ceiling(q * g.Count()) - 1)).RssMb, 1)).ToArray(),
                    }).ToList(),
                    timeline = rss.Select(m => new[] { Math.Round(m.Seconds, 2), Math.Round(m.RssMb, 1) }).ToList(),
                },
            };
            Console.WriteLine(JsonSerializer.Serialize(new { rss_mb = new { summary.rss_mb.first_measured, summary.rss_mb.last_measured, summary.rss_mb.max, summary.rss_mb.per_phase } }));
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            File.WriteAllText(output, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"Results in {output}");
            return errors > 0 ? 1 : 0;
        }
        finally
        {
            stop.Cancel();
            if (!server.HasExited)
            {
                using var term = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)]);
                term?.WaitForExit();
                if (!server.WaitForExit(15_000)) server.Kill();
            }
            lock (serverLines) foreach (var line in serverLines.TakeLast(3)) Console.WriteLine("server: " + line);
        }
    }

    /// <summary>Latencies of one level and its wall time.</summary>
    private sealed class LevelResult(double[] latenciesMs, double seconds, int errors, string? firstError)
    {
        public double Seconds { get; } = seconds;
        public int Errors { get; } = errors;
        public string? FirstError { get; } = firstError;
        /// <summary>The q quantile of the latencies in ms (nearest rank).</summary>
        public double Percentile(double q)
        {
            var sorted = latenciesMs.Order().ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        }
    }

    /// <summary><paramref name="total"/> requests from <paramref name="clients"/> concurrent loops, each posting one image at a time.</summary>
    private static LevelResult Load(HttpClient client, byte[][] images, string format, int clients, int total)
    {
        var latencies = new double[total];
        int next = -1, errors = 0;
        string? firstError = null;
        var wall = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                var image = images[i % images.Length];
                using HttpContent content = format == "json"
                    ? new StringContent("{\"inputs\":[\"" + Convert.ToBase64String(image) + "\"]}", System.Text.Encoding.UTF8, "application/json")
                    : new ByteArrayContent(image) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } };
                var watch = Stopwatch.StartNew();
                try
                {
                    using var response = await client.PostAsync("/embed", content);
                    var body = await response.Content.ReadAsByteArrayAsync();
                    latencies[i] = watch.Elapsed.TotalMilliseconds;
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}", null);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    latencies[i] = watch.Elapsed.TotalMilliseconds;
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                }
            }
        })).ToArray();
        Task.WaitAll(loops);
        return new LevelResult(latencies, wall.Elapsed.TotalSeconds, errors, firstError);
    }

    private static (long Batches, long Items) Counters(HttpClient client)
    {
        using var doc = JsonDocument.Parse(client.GetStringAsync("/health").GetAwaiter().GetResult());
        return (doc.RootElement.GetProperty("batches").GetInt64(), doc.RootElement.GetProperty("items").GetInt64());
    }

    private static void WaitUntilUp(HttpClient client, Process server, List<string> lines)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            if (server.HasExited)
                throw new InvalidOperationException($"The server exited with code {server.ExitCode}: {string.Join(" | ", lines)}");
            try
            {
                if (client.GetAsync("/health").GetAwaiter().GetResult().IsSuccessStatusCode)
                {
                    lock (lines) Console.WriteLine(string.Join(Environment.NewLine, lines));
                    return;
                }
            }
            catch (HttpRequestException) { }
            Thread.Sleep(200);
        }
        throw new TimeoutException("The server did not answer /health within 3 minutes.");
    }

    /// <summary>The first <paramref name="count"/> test images of the checkpoint's data set as PNG files' bytes.</summary>
    private static byte[][] Images(string checkpoint, int count)
    {
        var cfg = Pretraining.ReadConfig(checkpoint);
        if (cfg.Encoder.Modality != Modality.Image) throw new ArgumentException($"'{checkpoint}' is not an image checkpoint; the load test posts images.");
        var (train, test) = ModalityCatalog.Get(Modality.Image).Load(cfg.Dataset, cfg, null, null, needTest: true);
        using (train) using (test)
        {
            var data = ImageSamples.Of(test ?? train).Data;
            int n = (int)Math.Min(count, data.Count), c = (int)data.SampleShape[0], h = (int)data.SampleShape[1], w = (int)data.SampleShape[2];
            using var scope = NewDisposeScope();
            var raw = data.Data.narrow(0, 0, n);
            var bytes = raw.dtype == ScalarType.Byte ? raw : raw.mul(255).round().clamp(0, 255).to(ScalarType.Byte);
            var pixels = bytes.contiguous().data<byte>().ToArray();
            var result = new byte[n][];
            for (int i = 0; i < n; i++)
            {
                using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        int p = i * c * h * w + y * w + x;
                        bitmap.SetPixel(x, y, c == 1 ? new SKColor(pixels[p], pixels[p], pixels[p]) : new SKColor(pixels[p], pixels[p + h * w], pixels[p + 2 * h * w]));
                    }
                using var image = SKImage.FromBitmap(bitmap);
                using var png = image.Encode(SKEncodedImageFormat.Png, 100);
                result[i] = png.ToArray();
            }
            return result;
        }
    }



}
