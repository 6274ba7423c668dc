using System.Globalization;
using System.Text.Json;
using Pretext.Augmentations;
using Pretext.Compute;
using Pretext.Data.Series;
using Pretext.Methods;
using Pretext.Training;
using static TorchSharp.torch;

namespace Pretext.Runs;

/// <summary>Options of <see cref="SeriesStream"/>; one documented default each.</summary>
public sealed record StreamOptions
{
    /// <summary>One optimiser step every this many good readings (1: after every reading).</summary>
    public int UpdateEvery { get; init; } = 1;
    /// <summary>Windows drawn from the replay buffer per optimiser step: small, so that a step fits between readings (8: about 6 ms of one
    /// core for the step of a 32-wide TCN here).</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Windows the replay buffer holds: a uniform sample (reservoir) of every window seen, so memory stays flat.</summary>
    public int Replay { get; init; } = 2048;
    /// <summary>Embeddings of buffered windows recomputed with the current encoder per optimiser step (round robin), so the kNN bank
    /// follows the learning encoder: 4 renews a buffer of 2,048 every 512 steps, while the encoder moves slowly at the online rate.</summary>
    public int Refresh { get; init; } = 4;
    /// <summary>Neighbours averaged by the score (as <see cref="SeriesScoreOptions.K"/>).</summary>
    public int K { get; init; } = 10;
    /// <summary>Constant learning rate of the online steps: a tenth of the series preset's peak (1e-3), so a few windows at a time move a
    /// pretrained encoder slowly. Not tuned.</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Seed of the replay sampling, the batches and the views (every draw is a function of (seed, stream, counter)).</summary>
    public int Seed { get; init; } = 42;
    /// <summary>Write the state every this many good readings (0: only at the end).</summary>
    public int CheckpointEvery { get; init; } = 10_000;

    /// <exception cref="ArgumentException">A value no stream can use; the message names the option.</exception>
    public void Validate()
    {
        if (UpdateEvery < 0) throw new ArgumentException($"--update-every must be 0 (never learn) or a number of readings, got {UpdateEvery}.");
        if (BatchSize < 2) throw new ArgumentException($"--batch-size must be at least 2 (contrastive losses compare windows in a batch), got {BatchSize}.");
        if (Replay < BatchSize) throw new ArgumentException($"--replay ({Replay}) must hold at least one batch ({BatchSize}).");
        if (K < 1 || K > Replay) throw new ArgumentException($"--k must be in [1, --replay], got {K}.");
        if (Refresh < 0 || Refresh > Replay) throw new ArgumentException($"--refresh must be in [0, --replay], got {Refresh}.");
        if (!(LearningRate >= 0)) throw new ArgumentException($"--lr must be 0 or more, got {LearningRate}.");
        if (CheckpointEvery < 0) throw new ArgumentException($"--checkpoint-every must be 0 or more, got {CheckpointEvery}.");
    }

    /// <summary>What must match for a restart to continue a state exactly (not how often it is written).</summary>
    internal string Fingerprint() => JsonSerializer.Serialize(this with { CheckpointEvery = 0 });
}

/// <summary>A reading's score as the stream emits it.</summary>
/// <param name="Score">kNN distance of the window ending at this reading; NaN while its entity has fewer readings than a window, or
/// the buffer fewer than k windows that do not overlap it.</param>
/// <param name="Line">The input line it came from (1-based, the header is line 1).</param>
public readonly record struct StreamScore(string Entity, double Time, double Score, long Line);

/// <summary>A line the stream could not use; it is skipped.</summary>
public sealed class StreamLineException(long line, string message) : Exception($"line {line}: {message}; skipped.")
{
    public long Line { get; } = line;
}

/// <summary>Counters of a stream (all since its state was created, restarts included).</summary>
public sealed record StreamCounters
{
    /// <summary>Input lines consumed after the header, good and bad.</summary>
    public long Lines { get; set; }
    public long Good { get; set; }
    public long Bad { get; set; }
    /// <summary>Windows completed (readings that got a score).</summary>
    public long Windows { get; set; }
    public long Updates { get; set; }
    /// <summary>Windows in the replay buffer.</summary>
    public int Buffered { get; set; }
    /// <summary>Next buffer slot whose embedding is refreshed.</summary>
    public int RefreshAt { get; set; }
}

/// <summary>
/// Online learning on a stream of readings (`pretext stream`). Each good reading goes into its entity's window of the model's length;
/// once full, the window (normalised with the checkpoint's statistics) is embedded by the current encoder and scored: the mean distance
/// between unit-length embeddings to its k nearest windows in the replay buffer, none of the same entity overlapping it in time (the
/// kNN score of `pretext score`, read at the window's last reading, because a stream cannot wait for later windows). The window then
/// joins the replay buffer (reservoir sampling: a uniform sample of every window seen, bounded). Every
/// <see cref="StreamOptions.UpdateEvery"/> readings one optimiser step of the method's own loss runs on a batch drawn from the buffer,
/// and the embeddings of <see cref="StreamOptions.Refresh"/> buffered windows are recomputed. Every draw is a function of (seed,
/// stream, counter), so a stream restarted from its state continues exactly as an uninterrupted one (same threads, same CPU). The state
/// file is a Pretext checkpoint too: `pretext score`, `embed` and `evaluate` read the adapted model from it.
/// </summary>
public sealed class SeriesStream : IDisposable
{
    /// <summary>The state file inside the state folder.</summary>
    public const string StateFile = "stream.safetensors";
    private const long ReplayStream = 21, BatchStream = 22, ViewStream = 23, StepStream = 24;
    private const int StepHistory = 15;

    private readonly ISslMethod method;
    private readonly RunConfig config;
    private readonly StreamOptions options;
    private readonly Training.Optimizer optimizer;
    private readonly IViewGenerator views;
    private readonly ChannelStats stats;
    private readonly int channels, length, dim;
    private readonly Tensor replay, bank, bankEntity, bankStart, bankEnd;   // (R, C, L), (R, D) unit rows, (R) each
    private readonly List<string> entities = [];
    private readonly Dictionary<string, int> entityIndex = new(StringComparer.Ordinal);
    private readonly List<EntityState> states = [];
    private readonly float[] window;
    private Columns? columns;

    private sealed class EntityState(int channels, int length)
    {
        public float[] Ring = new float[channels * length];  // the last L normalised readings, reading-major, circular
        public int Head, Count;                               // next slot; readings held (at most L)
        public double LastTime = double.NegativeInfinity;
        public double[] Steps = [.. Enumerable.Repeat(double.NaN, StepHistory)];  // the last steps between readings, for gaps
        public double[] Times = new double[length];           // time of each ring slot (its window's span)
        public int StepAt;
    }

    private sealed record Columns(int Count, int Time, int Entity, int[] Channels, string[] Header);

    private SeriesStream(ISslMethod method, RunConfig config, StreamOptions options, string stateDirectory)
    {
        this.method = method; this.config = config; this.options = options;
        StateDirectory = stateDirectory;
        stats = config.Series.Normalization ?? throw new InvalidDataException("The checkpoint has no series normalisation; it was not written by a series pretraining run.");
        channels = stats.Channels; length = config.Series.Window; dim = method.Encoder.FeatureDim;
        optimizer = new Training.Optimizer(method.ParameterGroups(), config.Train.Optimizer);
        views = MethodRegistry.Get(method.Name).Views(config.Setup);
        replay = zeros(options.Replay, channels, length).DetachFromDisposeScope();
        bank = zeros(options.Replay, dim).DetachFromDisposeScope();
        bankEntity = full(options.Replay, -1L, ScalarType.Int64).DetachFromDisposeScope();
        bankStart = zeros(options.Replay, ScalarType.Float64).DetachFromDisposeScope();
        bankEnd = zeros(options.Replay, ScalarType.Float64).DetachFromDisposeScope();
        window = new float[channels * length];
    }

    public string StateDirectory { get; }
    public string StatePath => Path.Combine(StateDirectory, StateFile);
    public StreamCounters Counters { get; private set; } = new();
    /// <summary>Whether this stream continued a saved state.</summary>
    public bool Resumed { get; private set; }
    public ISslMethod Method => method;

    /// <summary>
    /// Opens a stream on a series checkpoint. When <paramref name="stateDirectory"/> holds a state, the stream continues it (weights,
    /// optimiser, replay buffer, windows in progress, counters) and <paramref name="checkpoint"/> only has to be the same series model;
    /// otherwise it starts from <paramref name="checkpoint"/>'s weights and optimiser state. <paramref name="set"/> may change how lines
    /// are read (<c>series.columns.*</c>, <c>series.gapFactor</c>).
    /// </summary>
    /// <exception cref="ArgumentException">Not a series checkpoint, bad options, or a state written with other options.</exception>
    public static SeriesStream Open(string checkpoint, string stateDirectory, StreamOptions options, IReadOnlyList<string>? set = null)
    {
        options.Validate();
        foreach (var a in set ?? [])
            if (!a.TrimStart().StartsWith("series.columns.", StringComparison.OrdinalIgnoreCase) && !a.TrimStart().StartsWith("series.gapFactor", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--set '{a}': stream only changes how lines are read (series.columns.*, series.gapFactor); the model and its window come from the checkpoint.");
        string statePath = Path.Combine(stateDirectory, StateFile);
        bool resume = File.Exists(statePath);
        var (method, config, _) = Pretraining.LoadMethod(resume ? statePath : checkpoint);
        try
        {
            if (config.Encoder.Modality != Data.Modality.Series)
                throw new ArgumentException($"'{checkpoint}' holds a {config.Encoder.Modality.ToString().ToLowerInvariant()} model; `stream` takes a series checkpoint.");
            config = ConfigOverrides.Apply(config, set ?? []);
            var stream = new SeriesStream(method, config, options, stateDirectory);
            using var ckpt = Training.Checkpoint.Load(resume ? statePath : checkpoint);
            if (ckpt.Optimizer.Count > 0) stream.optimizer.LoadStateDict(ckpt.Optimizer);
            if (resume) stream.Restore(statePath);
            stream.Resumed = resume;
            return stream;
        }
        catch
        {
            method.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the header line of an input: the columns of the checkpoint's <c>series.columns</c> (time, channels, entity; a label column
    /// is ignored). Every input, a restarted one too, starts with its header.
    /// </summary>
    /// <exception cref="InvalidDataException">A column is missing; the message lists the header's columns and the fix.</exception>
    public void Header(string line)
    {
        var header = Split(line).Select(h => h.Trim()).ToArray();
        var names = config.Series.Columns;
        int Find(string name, string what, string option)
        {
            int i = Array.FindIndex(header, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
            return i >= 0 ? i : throw new InvalidDataException($"The input's header has no {what} column '{name}'; its columns are {string.Join(", ", header)}. Name it with --set {option}=NAME.");
        }
        int time = Find(names.Time, "time", "series.columns.time");
        int entity = names.Entity is { } e ? Find(e, "entity", "series.columns.entity") : -1;
        int label = Array.FindIndex(header, h => string.Equals(h, names.Label ?? SeriesFiles.DefaultLabelColumn, StringComparison.OrdinalIgnoreCase));
        int[] chans = names.Channels.Length > 0
            ? [.. names.Channels.Select(c => Find(c, "channel", "series.columns.channels"))]
            : [.. Enumerable.Range(0, header.Length).Where(i => i != time && i != entity && i != label)];
        if (chans.Length != channels)
            throw new InvalidDataException($"The input gives {chans.Length} channel(s) ({string.Join(", ", chans.Select(i => header[i]))}); the model reads {channels}. Name them with --set 'series.columns.channels=[\"a\",\"b\"]'.");
        columns = new Columns(header.Length, time, entity, chans, header);
    }

    /// <summary>
    /// Takes one input line (after the header): scores it, hands the score to <paramref name="emit"/>, then, when due, learns one step
    /// and writes the state. <paramref name="lineNumber"/> names the line in messages.
    /// </summary>
    /// <exception cref="StreamLineException">The line cannot be used (wrong number of fields, not a number, time not after the entity's last); nothing changed but the counters.</exception>
    public void Push(string line, long lineNumber, Action<StreamScore> emit)
    {
        if (columns is null) throw new InvalidOperationException("Give the input's header line first (Header).");
        Counters.Lines++;
        var (entity, time, values) = Parse(line, lineNumber);
        Counters.Good++;
        if (!entityIndex.TryGetValue(entity, out int e))
        {
            e = entities.Count;
            entityIndex[entity] = e;
            entities.Add(entity);
            states.Add(new EntityState(channels, length));
        }
        var s = states[e];
        // A gap (a step much longer than the entity's usual one) starts the window again: no window spans a gap.
        if (s.Count > 0)
        {
            double step = time - s.LastTime;
            var known = s.Steps.Where(double.IsFinite).Order().ToArray();
            if (known.Length >= 3 && step > config.Series.GapFactor * known[known.Length / 2]) s.Count = 0;
            s.Steps[s.StepAt] = step;
            s.StepAt = (s.StepAt + 1) % StepHistory;
        }
        s.LastTime = time;
        for (int c = 0; c < channels; c++) s.Ring[s.Head * channels + c] = (values[c] - stats.Mean[c]) / stats.Std[c];
        s.Times[s.Head] = time;
        s.Head = (s.Head + 1) % length;
        s.Count = Math.Min(s.Count + 1, length);

        double score = double.NaN;
        if (s.Count == length)
        {
            // The window in time order: the oldest reading sits at Head.
            for (int t = 0; t < length; t++)
            {
                int slot = (s.Head + t) % length;
                for (int c = 0; c < channels; c++) window[c * length + t] = s.Ring[slot * channels + c];
            }
            score = ScoreAndKeep(e, s.Times[s.Head], time);
        }
        emit(new StreamScore(entity, time, score, lineNumber));
        if (options.UpdateEvery > 0 && Counters.Good % options.UpdateEvery == 0 && Counters.Buffered >= options.BatchSize) Update();
        if (options.CheckpointEvery > 0 && Counters.Good % options.CheckpointEvery == 0) Save();
    }

    /// <summary>Counts a line that was skipped before <see cref="Push"/> could take it (an unreadable line of the input).</summary>
    public void CountBad() { Counters.Lines++; Counters.Bad++; }

    private (string Entity, double Time, float[] Values) Parse(string line, long lineNumber)
    {
        var cols = columns!;
        var fields = Split(line);
        if (fields.Count != cols.Count)
            Bad($"{fields.Count} fields where the header has {cols.Count} ({string.Join(",", cols.Header)})");
        if (!SeriesFiles.TryParseTime(fields[cols.Time], out double time))
            Bad($"time '{fields[cols.Time]}' is neither a number nor a date-time");
        string entity = cols.Entity >= 0 ? fields[cols.Entity].Trim() : "";
        if (cols.Entity >= 0 && entity.Length == 0) Bad($"the entity column '{cols.Header[cols.Entity]}' is empty");
        var values = new float[channels];
        for (int c = 0; c < channels; c++)
            if (!SeriesFiles.TryParseValue(fields[cols.Channels[c]], out values[c]))
                Bad($"column '{cols.Header[cols.Channels[c]]}': '{fields[cols.Channels[c]]}' is not a finite number");
        if (entityIndex.TryGetValue(entity, out int e) && !(time > states[e].LastTime))
            Bad(string.Create(CultureInfo.InvariantCulture, $"time {time} is not after {(entity.Length > 0 ? $"entity {entity}'s" : "the")} previous reading at {states[e].LastTime}"));
        return (entity, time, values);

        void Bad(string why)
        {
            Counters.Bad++;
            throw new StreamLineException(lineNumber, why);
        }
    }

    /// <summary>Embeds the window in <see cref="window"/>, scores it against the buffer, and offers it to the buffer.</summary>
    private double ScoreAndKeep(int entity, double start, double end)
    {
        using var scope = NewDisposeScope();
        using var mode = ModeScope.Eval(method.Module);
        using var noGrad = no_grad();
        var x = tensor(window, [1, channels, length]);
        var z = nn.functional.normalize(method.Encoder.forward(x).to(ScalarType.Float32), dim: 1);   // (1, D)
        double score = double.NaN;
        int n = Counters.Buffered;
        if (n >= options.K)
        {
            // Always over the whole buffer, empty slots (entity -1) masked: with a shape that grew with every reading while the buffer
            // filled, one run here had p99 latency 280 ms during the fill and 2 ms after (kernels planned again for each new shape).
            var similarity = bank.matmul(z.squeeze(0));                                      // (R)
            var masked = bankEntity.eq(entity).logical_and_(bankStart.le(end)).logical_and_(bankEnd.ge(start)).logical_or_(bankEntity.lt(0));
            // No score until k buffered windows do not overlap this one: a distance to fewer would say nothing yet.
            if (options.Replay - masked.sum().item<long>() >= options.K)
            {
                var (top, _) = similarity.masked_fill(masked, -2f).topk(options.K);
                score = top.neg_().add_(1).mul_(2).clamp_min_(0).sqrt_().mean().item<float>();
            }
        }
        // Reservoir sampling (Vitter's algorithm R): the w-th window replaces a random slot with probability R / w.
        long seen = ++Counters.Windows;
        int slot = -1;
        if (n < options.Replay) slot = n;
        else
        {
            long j = (long)((ulong)Trainer.DeriveSeed(options.Seed, ReplayStream, seen) % (ulong)seen);
            if (j < options.Replay) slot = (int)j;
        }
        if (slot >= 0)
        {
            replay[slot].copy_(x[0]);
            bank[slot].copy_(z[0]);
            bankEntity[slot].fill_(entity);
            bankStart[slot].fill_(start);
            bankEnd[slot].fill_(end);
            if (slot == n) Counters.Buffered = n + 1;
        }
        return score;
    }

    /// <summary>One optimiser step of the method's loss on a batch from the buffer, then refreshed embeddings of the oldest-refreshed windows.</summary>
    private void Update()
    {
        long u = Counters.Updates;
        using (var scope = NewDisposeScope())
        {
            using var mode = ModeScope.Train(method.Module);
            using var pick = new Generator((ulong)Trainer.DeriveSeed(options.Seed, BatchStream, u));
            var idx = randint(0, Counters.Buffered, [options.BatchSize], generator: pick, dtype: ScalarType.Int64);
            var raw = replay.index_select(0, idx);
            using var viewRandom = new Generator((ulong)Trainer.DeriveSeed(options.Seed, ViewStream, u));
            var v = views.MakeViews(raw, viewRandom);
            using var stepRandom = new Generator((ulong)Trainer.DeriveSeed(options.Seed, StepStream, u));
            var progress = new TrainingProgress(u, long.MaxValue);
            var output = method.ComputeLoss(new Batch(v, idx.data<long>().ToArray(), stepRandom), progress);
            double loss = output.Loss.item<float>();
            if (!double.IsFinite(loss)) throw new TrainingDivergedException(u, loss, File.Exists(StatePath) ? StatePath : null);
            optimizer.ZeroGrad();
            output.Loss.backward();
            if (config.Train.GradientClipNorm > 0) optimizer.ClipGradientNorm(config.Train.GradientClipNorm);
            optimizer.Step(options.LearningRate);
            using (no_grad()) method.AfterOptimizerStep(progress);
            LastLoss = loss;
        }
        Counters.Updates = u + 1;
        int refresh = Math.Min(options.Refresh, Counters.Buffered);
        if (refresh == 0) return;
        using (var scope = NewDisposeScope())
        {
            using var mode = ModeScope.Eval(method.Module);
            using var noGrad = no_grad();
            int start = Counters.RefreshAt % Counters.Buffered;
            var slots = arange(start, start + refresh, ScalarType.Int64).remainder_(Counters.Buffered);
            var z = nn.functional.normalize(method.Encoder.forward(replay.index_select(0, slots)).to(ScalarType.Float32), dim: 1);
            bank.index_copy_(0, slots, z);
            Counters.RefreshAt = (start + refresh) % Counters.Buffered;
        }
    }

    /// <summary>The loss of the last optimiser step (NaN before the first).</summary>
    public double LastLoss { get; private set; } = double.NaN;

    /// <summary>Writes the state atomically: model, optimiser, buffer, windows in progress and counters, as a Pretext checkpoint.</summary>
    public void Save()
    {
        Directory.CreateDirectory(StateDirectory);
        var tensors = new Dictionary<string, Tensor>();
        using var scope = NewDisposeScope();
        foreach (var (k, t) in method.Module.state_dict()) tensors["model." + k] = t;
        foreach (var (k, t) in optimizer.StateDict()) tensors["optim." + k] = t;
        tensors["stream.replay"] = replay; tensors["stream.bank"] = bank;
        tensors["stream.bank_entity"] = bankEntity; tensors["stream.bank_start"] = bankStart; tensors["stream.bank_end"] = bankEnd;
        int e = Math.Max(1, states.Count);
        var ring = new float[e * channels * length];
        var times = new double[e * length];
        var steps = new double[e * StepHistory];
        var ints = new long[e * 3];
        var last = new double[e];
        for (int i = 0; i < states.Count; i++)
        {
            states[i].Ring.CopyTo(ring, i * channels * length);
            states[i].Times.CopyTo(times, i * length);
            states[i].Steps.CopyTo(steps, i * StepHistory);
            (ints[3 * i], ints[3 * i + 1], ints[3 * i + 2]) = (states[i].Head, states[i].Count, states[i].StepAt);
            last[i] = states[i].LastTime;
        }
        tensors["stream.ring"] = tensor(ring, [e, channels * length]);
        tensors["stream.ring_times"] = tensor(times, [e, length]);
        tensors["stream.steps"] = tensor(steps, [e, StepHistory]);
        tensors["stream.positions"] = tensor(ints, [e, 3]);
        tensors["stream.last_time"] = tensor(last, [e]);
        SafeTensors.Save(StatePath, tensors, new Dictionary<string, string>
        {
            ["format"] = "pretext-checkpoint", ["format_version"] = Training.Checkpoint.FormatVersion,
            ["step"] = Counters.Updates.ToString(CultureInfo.InvariantCulture), ["method"] = method.Name, ["config"] = config.ToJson(),
            ["stream_options"] = options.Fingerprint(), ["stream_entities"] = JsonSerializer.Serialize(entities),
            ["stream_counters"] = JsonSerializer.Serialize(Counters),
        });
    }

    private void Restore(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        try
        {
            if (!meta.TryGetValue("stream_options", out var saved) || saved != options.Fingerprint())
                throw new ArgumentException($"The stream state '{path}' was written with other options ({saved ?? "none"}); restart with the same arguments, or use another --state folder.");
            using var noGrad = no_grad();
            replay.copy_(tensors["stream.replay"]); bank.copy_(tensors["stream.bank"]);
            bankEntity.copy_(tensors["stream.bank_entity"]); bankStart.copy_(tensors["stream.bank_start"]); bankEnd.copy_(tensors["stream.bank_end"]);
            Counters = JsonSerializer.Deserialize<StreamCounters>(meta["stream_counters"])!;
            var names = JsonSerializer.Deserialize<List<string>>(meta["stream_entities"])!;
            var ring = tensors["stream.ring"].data<float>().ToArray();
            var times = tensors["stream.ring_times"].data<double>().ToArray();
            var steps = tensors["stream.steps"].data<double>().ToArray();
            var ints = tensors["stream.positions"].data<long>().ToArray();
            var last = tensors["stream.last_time"].data<double>().ToArray();
            for (int i = 0; i < names.Count; i++)
            {
                var s = new EntityState(channels, length);
                Array.Copy(ring, i * channels * length, s.Ring, 0, channels * length);
                Array.Copy(times, i * length, s.Times, 0, length);
                Array.Copy(steps, i * StepHistory, s.Steps, 0, StepHistory);
                (s.Head, s.Count, s.StepAt) = ((int)ints[3 * i], (int)ints[3 * i + 1], (int)ints[3 * i + 2]);
                s.LastTime = last[i];
                entityIndex[names[i]] = i;
                entities.Add(names[i]);
                states.Add(s);
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Runs the stream over <paramref name="lines"/>: the first is the header; with <paramref name="skipConsumed"/> (a file read again
    /// after a restart) the lines the state already consumed are skipped. Each score goes to <paramref name="emit"/> and the time from
    /// taking the line to the end of <paramref name="emit"/> to <paramref name="meter"/>; bad lines go to <paramref name="warn"/> and are
    /// skipped; <paramref name="report"/> gets a progress line every <paramref name="reportEvery"/> good readings (0: never). The state is
    /// written at the end (and every <see cref="StreamOptions.CheckpointEvery"/> readings).
    /// </summary>
    /// <exception cref="InvalidDataException">No header, or a header without the model's columns.</exception>
    public void Run(IEnumerable<string> lines, bool skipConsumed, Action<StreamScore> emit, Action<string> warn, StreamMeter meter,
        int reportEvery = 0, Action<string>? report = null, CancellationToken cancel = default)
    {
        long number = 0, skip = -1;
        bool saved = false;
        meter.Begin(this);
        try
        {
            foreach (var line in lines)
            {
                number++;
                if (line.Trim().Length == 0) continue;
                if (skip < 0)
                {
                    Header(line);
                    skip = skipConsumed ? Counters.Lines : 0;
                    continue;
                }
                if (skip > 0) { skip--; continue; }
                cancel.ThrowIfCancellationRequested();
                long taken = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    Push(line, number, s =>
                    {
                        emit(s);
                        meter.Record(System.Diagnostics.Stopwatch.GetElapsedTime(taken));
                    });
                }
                catch (StreamLineException e)
                {
                    warn(e.Message);
                    continue;
                }
                if (reportEvery > 0 && Counters.Good % reportEvery == 0) report?.Invoke(meter.Describe(this));
            }
            if (skip < 0) throw new InvalidDataException("The input is empty: a stream starts with a header line naming its columns (e.g. time,machine,temp).");
        }
        finally
        {
            // What was consumed is kept, whether the input ended, was cancelled or a step diverged.
            if (skip >= 0 && !saved) { Save(); saved = true; }
        }
    }

    /// <summary>
    /// The lines of <paramref name="reader"/>; with <paramref name="follow"/> it waits at the end for more (a file another process is
    /// writing) until <paramref name="cancel"/>, and yields a line only once its line break has arrived.
    /// </summary>
    public static IEnumerable<string> Lines(TextReader reader, bool follow, CancellationToken cancel = default, int pollMilliseconds = 100)
    {
        var line = new System.Text.StringBuilder();
        var buffer = new char[1 << 14];
        while (!cancel.IsCancellationRequested)
        {
            int n = reader.Read(buffer, 0, buffer.Length);
            if (n == 0)
            {
                if (!follow) break;
                try { Task.Delay(pollMilliseconds, cancel).Wait(cancel); } catch (OperationCanceledException) { yield break; }
                continue;
            }
            for (int i = 0; i < n; i++)
            {
                char ch = buffer[i];
                if (ch == '\n')
                {
                    if (line.Length > 0 && line[^1] == '\r') line.Length--;
                    yield return line.ToString();
                    line.Clear();
                }
                else line.Append(ch);
            }
        }
        if (line.Length > 0 && !follow) yield return line.ToString();
    }

    /// <summary>Fields of a CSV line (RFC 4180 quotes honoured; a line holds one record).</summary>
    private static List<string> Split(string line)
    {
        var fields = new List<string>();
        if (line.IndexOf('"') < 0)
        {
            fields.AddRange(line.Split(','));
            return fields;
        }
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch != '"') field.Append(ch);
                else if (i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(ch);
        }
        fields.Add(field.ToString());
        return fields;
    }

    public void Dispose()
    {
        method.Dispose();
        optimizer.Dispose();
        replay.Dispose(); bank.Dispose(); bankEntity.Dispose(); bankStart.Dispose(); bankEnd.Dispose();
    }
}
