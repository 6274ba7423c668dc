using Pretext.Runs;
using Pretext.Tests.Data.Series;
using static TorchSharp.torch;

namespace Pretext.Tests.Runs;

/// <summary>`pretext stream` as a library: a score per good reading, bad lines skipped, restarts that continue exactly.</summary>
[Collection(SeededRunsCollection.Name)]
public class SeriesStreamTests
{
    public SeriesStreamTests() => set_num_threads(1);

    private static readonly StreamOptions Small = new() { BatchSize = 4, Replay = 64, K = 3, UpdateEvery = 2, CheckpointEvery = 0, LearningRate = 1e-3 };

    /// <summary>A tiny forecasting model (windows of 16) pretrained for 4 steps on a generated file; returns the checkpoint and the file's lines.</summary>
    private static (string Checkpoint, string[] Lines) Setup(TempDirectory dir, string method = "forecast")
    {
        var file = TestSeries.Write(dir.File("sensors.csv"), entities: 2, readings: 500, burst: 20, burstAt: 300, jump: 8);
        var cfg = SeriesEndToEndTests.Tiny(method, file).LevelForecast();
        using var train = PretrainRequest.TrainingSamples(cfg, null, null);
        return (Pretraining.Run(cfg, train, dir.Combine("run"), resume: false).FinalCheckpoint, File.ReadAllLines(file));
    }

    /// <summary>Scores without the input line they came from (inputs after a restart number their lines afresh).</summary>
    private static List<(string, double, double)> Plain(IEnumerable<StreamScore> scores) => [.. scores.Select(s => (s.Entity, s.Time, s.Score))];

    private static List<StreamScore> Run(SeriesStream stream, IEnumerable<string> lines, List<string>? warnings = null, bool skip = false)
    {
        var scores = new List<StreamScore>();
        stream.Run(lines, skip, scores.Add, w => warnings?.Add(w), new StreamMeter());
        return scores;
    }

    [Fact]
    public void EveryGoodReadingIsScoredAndBadLinesAreSkipped()
    {
        using var dir = new TempDirectory();
        var (checkpoint, lines) = Setup(dir);
        // Bad lines among the first readings: too few fields, a word for a number, a time that goes back, an empty entity.
        string[] input = [lines[0], .. lines[1..41], "1,u0", "7,u1,warm,50,0", "3,u0,20,50,0", "41,,20,50,0", .. lines[41..]];
        var warnings = new List<string>();
        using var stream = SeriesStream.Open(checkpoint, dir.Combine("state"), Small);
        var scores = Run(stream, input, warnings);
        Assert.Equal(1000, scores.Count);
        Assert.Equal(4, warnings.Count);
        Assert.Contains("line 42: 2 fields where the header has 5", warnings[0]);
        Assert.Contains("line 43: column 'temp': 'warm' is not a finite number", warnings[1]);
        Assert.Contains("line 44: time 3 is not after entity u0's previous reading at 19", warnings[2]);
        Assert.Contains("line 45: the entity column 'unit' is empty", warnings[3]);
        Assert.Equal((1000L, 4L), (stream.Counters.Good, stream.Counters.Bad));
        // The first 15 readings of each unit fill its first window of 16, and the buffer needs k = 3 windows that do not overlap the
        // scored one: no score until then; every later reading has one.
        Assert.All(scores.Take(30), s => Assert.True(double.IsNaN(s.Score)));
        Assert.All(scores.Where(s => s.Time >= 40), s => Assert.True(double.IsFinite(s.Score)));
        Assert.True(stream.Counters.Updates > 450);
        Assert.True(File.Exists(stream.StatePath));
        // Once the buffer has seen a whole period of both channels (humidity: 157 readings), the windows that hold the planted bursts (readings 300..319 and 337..356) score highest.
        var top = scores.Where(s => s.Time >= 200).OrderByDescending(s => s.Score).Take(10).ToList();
        Assert.All(top, s => Assert.InRange(s.Time, 300, 356 + 15));
    }

    [Fact]
    public void ARestartContinuesExactlyFromTheState()
    {
        using var dir = new TempDirectory();
        var (checkpoint, lines) = Setup(dir);
        List<StreamScore> whole;
        Dictionary<string, float[]> weights;
        using (var a = SeriesStream.Open(checkpoint, dir.Combine("a"), Small))
        {
            whole = Run(a, lines);
            weights = a.Method.Module.state_dict().ToDictionary(p => p.Key, p => p.Value.data<float>().ToArray());
        }
        // The same input in two parts, the stream closed and opened again in between; the second input starts with its header.
        using (var b = SeriesStream.Open(checkpoint, dir.Combine("b"), Small))
        {
            Assert.False(b.Resumed);
            Assert.Equal(Plain(whole.Take(611)), Plain(Run(b, lines[..612])));
        }
        using (var b = SeriesStream.Open(checkpoint, dir.Combine("b"), Small))
        {
            Assert.True(b.Resumed);
            Assert.Equal(611, b.Counters.Good);
            Assert.Equal(Plain(whole.Skip(611)), Plain(Run(b, [lines[0], .. lines[612..]])));
            foreach (var (name, t) in b.Method.Module.state_dict()) Assert.Equal(weights[name], t.data<float>().ToArray());
        }
        // A file read again after a restart skips what the state consumed; other options are refused.
        using (var c = SeriesStream.Open(checkpoint, dir.Combine("b"), Small))
            Assert.Empty(Run(c, lines, skip: true));
        var e = Assert.Throws<ArgumentException>(() => SeriesStream.Open(checkpoint, dir.Combine("b"), Small with { K = 4 }));
        Assert.Contains("same arguments", e.Message);
    }

    [Fact]
    public void TheStateIsACheckpointScoreReads()
    {
        using var dir = new TempDirectory();
        var (checkpoint, lines) = Setup(dir);
        using (var s = SeriesStream.Open(checkpoint, dir.Combine("state"), Small)) Run(s, lines);
        var scores = SeriesScoring.Run(new ScoreRequest { Checkpoint = Path.Combine(dir.Combine("state"), SeriesStream.StateFile), Dataset = dir.File("sensors.csv") });
        using (scores) Assert.True(scores.TestReadings!.Auroc > 0.8, scores.TestReadings.Describe());
    }
}
