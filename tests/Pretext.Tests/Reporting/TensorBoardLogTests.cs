using System.Buffers.Binary;
using Pretext.Reporting;
using Pretext.Runs;
using Pretext.Tests.Training;
using static TorchSharp.torch;

namespace Pretext.Tests.Reporting;

/// <summary>
/// TensorBoard event files, checked without TensorBoard (not installable here): the checksum against published test vectors,
/// the records against bytes encoded by hand from the Event/Summary protocol buffer definitions, and the files a run writes.
/// </summary>
[Collection(SeededRunsCollection.Name)]
public class TensorBoardLogTests
{
    [Fact]
    public void Crc32CMatchesPublishedVectors()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));          // the CRC catalogue's check value of CRC-32C
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));           // RFC 3720, B.4: 32 bytes of zeros
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));   // ... of ones
        Assert.Equal(0xA282EAD8u, Crc32C.Masked([]));                       // CRC 0 rotated is 0, plus TensorFlow's mask delta
    }

    [Fact]
    public void AScalarEventIsTheRecordAndProtocolBufferTensorBoardReads()
    {
        using var dir = new TempDirectory();
        string path;
        using (var log = TensorBoardLog.Create(dir.Path, now: DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)))
        {
            log.Append(3, new Dictionary<string, double> { ["loss"] = 0.5, ["rankme"] = double.NaN }, now: DateTimeOffset.UnixEpoch);
            path = log.Path;
        }
        Assert.StartsWith("events.out.tfevents.1700000000.", Path.GetFileName(path));
        var records = Records(File.ReadAllBytes(path));
        Assert.Equal(2, records.Count);

        // Event { wall_time (1, double) = 1.7e9, file_version (3, string) = "brain.Event:2" }
        byte[] version = [0x09, .. BitConverter.GetBytes(1_700_000_000.0), 0x1A, 13, .. "brain.Event:2"u8];
        Assert.Equal(version, records[0]);
        // Event { wall_time = 0, step (2, varint) = 3, summary (5) = Summary { value (1) = Value { tag (1) = "loss", simple_value (2, float) = 0.5 } } };
        // the NaN (a diagnostic not measured at this step) is left out.
        byte[] value = [0x0A, 4, .. "loss"u8, 0x15, 0x00, 0x00, 0x00, 0x3F];
        byte[] summary = [0x0A, (byte)value.Length, .. value];
        byte[] scalar = [0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 3, 0x2A, (byte)summary.Length, .. summary];
        Assert.Equal(scalar, records[1]);

        var events = TensorBoardLog.Read(path);
        Assert.Equal(TensorBoardLog.FileVersion, events[0].FileVersion);
        Assert.Equal(3, events[1].Step);
        Assert.Equal(new Dictionary<string, float> { ["loss"] = 0.5f }, events[1].Scalars);
    }

    [Fact]
    public void DamageIsFoundAndACutShortLastRecordIsIgnored()
    {
        using var dir = new TempDirectory();
        string path;
        using (var log = TensorBoardLog.Create(dir.Path))
        {
            for (int step = 1; step <= 3; step++) log.Append(step, new Dictionary<string, double> { ["loss"] = 1.0 / step, ["lr"] = 0.1 });
            path = log.Path;
        }
        var bytes = File.ReadAllBytes(path);
        var events = TensorBoardLog.Read(path);
        Assert.Equal(new long[] { 0, 1, 2, 3 }, events.Select(e => e.Step));
        Assert.Equal((float)(1.0 / 3), events[3].Scalars["loss"]);

        File.WriteAllBytes(path, bytes[..^5]);                          // a crash in the middle of the last record
        Assert.Equal(3, TensorBoardLog.Read(path).Count);

        var damaged = (byte[])bytes.Clone();
        damaged[^8] ^= 0x01;                                            // a bit of the last event's data
        File.WriteAllBytes(path, damaged);
        var e = Assert.Throws<InvalidDataException>(() => TensorBoardLog.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void ARunWritesItsMetricsForTensorBoardAndAResumeRestartsFromItsCheckpoint()
    {
        set_num_threads(1);
        using var data = TestData.Blobs(64);
        using var dir = new TempDirectory();
        var cfg = TrainingLoopTests.Tiny(steps: 6, checkpointEvery: 3);
        var run = dir.File("run");
        Pretraining.Run(cfg, data, run, resume: false);
        var first = Assert.Single(Directory.GetFiles(run, "events.out.tfevents.*"));
        var rows = MetricsLog.Read(Path.Combine(run, "metrics.csv"));
        var scalars = TensorBoardLog.Read(first).Where(e => e.Scalars.Count > 0).ToList();
        Assert.Equal(rows.Select(r => (long)r["step"]), scalars.Select(e => e.Step));
        Assert.Equal(rows.Select(r => (float)r["loss"]), scalars.Select(e => e.Scalars["loss"]));
        Assert.Equal(rows.Select(r => (float)r["lr"]), scalars.Select(e => e.Scalars["lr"]));
        Assert.DoesNotContain(scalars, e => e.Scalars.ContainsKey("step"));

        // Lose the last checkpoint, as a kill before it was written does: the resume trains steps 4-6 again into a new file that
        // starts with a session start at step 4, so TensorBoard drops the first session's steps 4-6 and shows each step once.
        File.Delete(Path.Combine(run, "checkpoints", "step-00000006.safetensors"));
        Pretraining.Run(cfg, data, run, resume: true);
        var second = Assert.Single(Directory.GetFiles(run, "events.out.tfevents.*"), f => f != first);
        var resumed = TensorBoardLog.Read(second);
        Assert.True(resumed[1].SessionStart);
        Assert.Equal(4, resumed[1].Step);
        Assert.Equal(new long[] { 4, 5, 6 }, resumed.Where(e => e.Scalars.Count > 0).Select(e => e.Step));
        var shown = scalars.Where(e => e.Step < 4).Concat(resumed.Where(e => e.Scalars.Count > 0)).ToList();
        var rowsAfter = MetricsLog.Read(Path.Combine(run, "metrics.csv"));
        Assert.Equal(rowsAfter.Select(r => (float)r["loss"]), shown.Select(e => e.Scalars["loss"]));
    }

    /// <summary>The data of every record, after checking the length and both masked CRCs by hand.</summary>
    private static List<byte[]> Records(byte[] file)
    {
        var records = new List<byte[]>();
        for (int at = 0; at < file.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            Assert.Equal(Crc32C.Masked(file.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)));
            var data = file.AsSpan(at + 12, length).ToArray();
            Assert.Equal(Crc32C.Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + length)));
            records.Add(data);
            at += 16 + length;
        }
        return records;
    }
}
