using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using static TorchSharp.torch;

namespace Pretext.Serving;

/// <summary>What a request wants besides its embeddings.</summary>
public enum JobKind
{
    Embed,
    /// <summary>Each item's mean distance to its k nearest reference items.</summary>
    Score,
    /// <summary>Each item's k nearest reference items.</summary>
    Neighbours,
}

/// <summary>One request's answer: (Count, Dim) embeddings row-major, and the scores or neighbours it asked for.</summary>
public sealed record JobResult(float[] Embeddings, int Dim, double[]? Scores, Neighbour[][]? Neighbours);

/// <summary>One request waiting for the encoder.</summary>
public sealed class Job(JobKind kind, RequestItems items, int k)
{
    private readonly TaskCompletionSource<JobResult> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public JobKind Kind { get; } = kind;
    public RequestItems Items { get; } = items;
    /// <summary>Neighbours asked for (score and neighbours jobs).</summary>
    public int K { get; } = k;
    public Task<JobResult> Result => done.Task;
    internal void Complete(JobResult result) => done.TrySetResult(result);
    internal void Fail(Exception e) => done.TrySetException(e);
}

/// <summary>
/// Groups requests that arrive together into one encoder pass. Requests queue (bounded: a full queue is refused, not buffered without
/// end); one thread takes the first waiting request, then more until <see cref="ServeOptions.MaxBatch"/> items or until
/// <see cref="ServeOptions.MaxWait"/> passed, embeds them in one pass and hands each request its rows. The model is only ever touched
/// from that thread. A batch that fails is retried request by request, so one request the library refuses fails alone.
/// </summary>
public sealed class MicroBatcher : IDisposable
{
    private readonly ServedModel model;
    private readonly ServeOptions options;
    private readonly Channel<Job> queue;
    private readonly Thread thread;
    private readonly Action<string>? log;
    private long batches, items;

    public MicroBatcher(ServedModel model, ServeOptions options, Action<string>? log = null)
    {
        this.model = model; this.options = options; this.log = log;
        queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(options.MaxQueue) { FullMode = BoundedChannelFullMode.Wait });
        thread = new Thread(Loop) { IsBackground = true, Name = "pretext-batcher" };
        thread.Start();
    }

    /// <summary>Encoder passes so far, and the items they embedded (their ratio is the mean batch size).</summary>
    public (long Batches, long Items) Counts => (Interlocked.Read(ref batches), Interlocked.Read(ref items));

    /// <summary>Queues <paramref name="job"/>; its <see cref="Job.Result"/> completes when its batch has run.</summary>
    /// <exception cref="RequestException">The queue is full, or the service is stopping (503).</exception>
    public Task<JobResult> Submit(Job job)
    {
        if (!queue.Writer.TryWrite(job))
            throw new RequestException(RequestProblem.Busy, string.Create(CultureInfo.InvariantCulture,
                $"The service is busy ({options.MaxQueue:N0} requests are waiting) or stopping; retry shortly."));
        return job.Result;
    }

    private void Loop()
    {
        var batch = new List<Job>();
        while (WaitForWork(Timeout.InfiniteTimeSpan))
        {
            batch.Clear();
            int count = 0;
            var clock = Stopwatch.StartNew();
            while (true)
            {
                if (queue.Reader.TryPeek(out var next))
                {
                    if (batch.Count > 0 && count + next.Items.Count > options.MaxBatch) break;
                    queue.Reader.TryRead(out next);
                    batch.Add(next!);
                    count += next!.Items.Count;
                    if (count >= options.MaxBatch) break;
                    continue;
                }
                var left = options.MaxWait - clock.Elapsed;
                if (batch.Count == 0 || left <= TimeSpan.Zero || !WaitForWork(left)) break;
            }
            if (batch.Count > 0) Run(batch);
        }
    }

    /// <summary>Whether a request is waiting within <paramref name="timeout"/> (false also once the queue is closed and empty).</summary>
    private bool WaitForWork(TimeSpan timeout)
    {
        var wait = queue.Reader.WaitToReadAsync().AsTask();
        if (timeout == Timeout.InfiniteTimeSpan) return wait.GetAwaiter().GetResult();
        return wait.Wait(timeout) && wait.Result;
    }

    private void Run(List<Job> batch)
    {
        try
        {
            RunTogether(batch);
        }
        catch (Exception) when (batch.Count > 1)
        {
            foreach (var job in batch)
            {
                try { RunTogether([job]); }
                catch (Exception e) { Fail(job, e); }
            }
        }
        catch (Exception e)
        {
            Fail(batch[0], e);
        }
    }

    private void Fail(Job job, Exception e)
    {
        if (e is not (ArgumentException or InvalidDataException or RequestException)) log?.Invoke($"error: a batch failed: {e}");
        job.Fail(e);
    }

    private void RunTogether(IReadOnlyList<Job> jobs)
    {
        using var scope = NewDisposeScope();
        using var samples = model.Reader.Samples([.. jobs.Select(j => j.Items)]);
        using var embeddings = model.Embed(samples);
        int dim = (int)embeddings.shape[1];
        var results = new JobResult[jobs.Count];
        long offset = 0;
        for (int j = 0; j < jobs.Count; j++)
        {
            var job = jobs[j];
            var rows = embeddings.narrow(0, offset, job.Items.Count);
            offset += job.Items.Count;
            var values = rows.contiguous().data<float>().ToArray();
            double[]? scores = null;
            Neighbour[][]? neighbours = null;
            if (job.Kind != JobKind.Embed)
            {
                var (s, n) = model.Nearest(rows, job.K);
                if (job.Kind == JobKind.Score) scores = s;
                else neighbours = n;
            }
            results[j] = new JobResult(values, dim, scores, neighbours);
        }
        for (int j = 0; j < jobs.Count; j++) jobs[j].Complete(results[j]);
        Interlocked.Increment(ref batches);
        Interlocked.Add(ref items, offset);
    }

    /// <summary>Stops taking requests, lets the queued ones run, and waits for the thread (up to 30 s).</summary>
    public void Dispose()
    {
        queue.Writer.TryComplete();
        thread.Join(TimeSpan.FromSeconds(30));
    }
}
