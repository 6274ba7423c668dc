using System.Buffers.Binary;
using System.Text;

namespace Pretext.Reporting;

/// <summary>One event of a TensorBoard event file as <see cref="TensorBoardLog.Read"/> returns it.</summary>
/// <param name="FileVersion">Set on the file's first event only ("brain.Event:2").</param>
/// <param name="SessionStart">The event marks a (re)start at <paramref name="Step"/>: TensorBoard drops what an earlier
/// session logged from this step on (the steps a resumed run logs again).</param>
/// <param name="Scalars">Tag to value of a scalar summary; empty for other events.</param>
public sealed record TensorBoardEvent(double WallTime, long Step, string? FileVersion, bool SessionStart, IReadOnlyDictionary<string, float> Scalars);

/// <summary>
/// TensorBoard event files of scalars, written beside metrics.csv so `tensorboard --logdir runs` plots every run. The format,
/// written here without TensorFlow: a file of records, each a little-endian 64-bit length, the masked CRC-32C of those 8
/// bytes, the data, and the masked CRC-32C of the data; each record's data an <c>Event</c> protocol buffer (wall_time = 1,
/// step = 2, file_version = 3, summary = 5, session_log = 6) whose <c>Summary</c> holds one <c>Value</c> (tag = 1,
/// simple_value = 2) per scalar.
/// </summary>
/// <remarks>
/// Every event is flushed to the disk before <see cref="Append"/> returns, as metrics.csv's rows are. A resumed run opens a
/// new file that starts with a session start at the first step it logs, so TensorBoard drops the steps the earlier session
/// logged after the checkpoint, as metrics.csv drops them.
/// </remarks>
public sealed class TensorBoardLog : IDisposable
{
    /// <summary>The first event's file_version, the one TensorBoard expects of files it may purge orphaned steps from.</summary>
    public const string FileVersion = "brain.Event:2";

    private readonly FileStream _stream;

    /// <summary>The event file.</summary>
    public string Path { get; }

    private TensorBoardLog(string path, FileStream stream) { Path = path; _stream = stream; }

    /// <summary>
    /// Starts a new event file in <paramref name="directory"/> (created if missing), named as TensorBoard finds them:
    /// <c>events.out.tfevents.SECONDS.HOST</c> (a counter is added when that name is taken).
    /// </summary>
    /// <param name="firstStep">The first step this session logs; past 1 (a resume) a session start at it is written, so TensorBoard drops
    /// the earlier session's events from there on.</param>
    public static TensorBoardLog Create(string directory, long firstStep = 1, DateTimeOffset? now = null)
    {
        Directory.CreateDirectory(directory);
        var time = now ?? DateTimeOffset.UtcNow;
        string host = new(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
        string baseName = $"events.out.tfevents.{time.ToUnixTimeSeconds()}.{host}";
        string path = System.IO.Path.Combine(directory, baseName);
        for (int n = 1; File.Exists(path); n++) path = System.IO.Path.Combine(directory, $"{baseName}.{n}");
        var log = new TensorBoardLog(path, new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read));
        double wall = time.ToUnixTimeMilliseconds() / 1000.0;
        var first = new ProtoWriter();
        first.Double(1, wall);
        first.String(3, FileVersion);
        log.WriteRecord(first.ToArray());
        if (firstStep > 1)
        {
            var start = new ProtoWriter();
            start.Double(1, wall);
            start.Int64(2, firstStep);
            var sessionLog = new ProtoWriter();
            sessionLog.Int64(1, 1); // SessionLog.status = START
            start.Message(6, sessionLog);
            log.WriteRecord(start.ToArray());
        }
        return log;
    }

    /// <summary>Writes one event at <paramref name="step"/> with a scalar per finite value (missing diagnostics, NaN, are left out).</summary>
    /// <exception cref="ArgumentException">A tag is empty.</exception>
    public void Append(long step, IReadOnlyDictionary<string, double> values, DateTimeOffset? now = null)
    {
        var summary = new ProtoWriter();
        foreach (var (tag, value) in values)
        {
            if (string.IsNullOrEmpty(tag)) throw new ArgumentException("A TensorBoard scalar needs a tag.", nameof(values));
            if (!double.IsFinite(value)) continue;
            var v = new ProtoWriter();
            v.String(1, tag);
            v.Float(2, (float)value);
            summary.Message(1, v);
        }
        var e = new ProtoWriter();
        e.Double(1, (now ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds() / 1000.0);
        e.Int64(2, step);
        e.Message(5, summary);
        WriteRecord(e.ToArray());
    }

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();

    private void WriteRecord(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        _stream.Write(header);
        _stream.Write(data);
        _stream.Write(footer);
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Reads every event of an event file, checking both CRCs of every record.</summary>
    /// <remarks>A last record cut short by a crash is ignored, as TensorBoard ignores it.</remarks>
    /// <exception cref="InvalidDataException">A checksum does not match or an event is malformed; the message names the file and the byte offset.</exception>
    public static IReadOnlyList<TensorBoardEvent> Read(string path)
    {
        byte[] b;
        using (var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            b = new byte[s.Length];
            s.ReadExactly(b);
        }
        var events = new List<TensorBoardEvent>();
        int at = 0;
        while (b.Length - at >= 12)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at));
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at + 8)) != Crc32C.Masked(b.AsSpan(at, 8)))
                throw new InvalidDataException($"'{path}' byte {at}: the record length's checksum does not match; the file is damaged from there on.");
            long room = b.Length - at - 16;
            if (room < 0 || length > (ulong)room) break; // cut short
            var data = b.AsSpan(at + 12, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at + 12 + (int)length)) != Crc32C.Masked(data))
                throw new InvalidDataException($"'{path}' byte {at}: the event's checksum does not match; the file is damaged from there on.");
            events.Add(ParseEvent(data, path, at));
            at += 16 + (int)length;
        }
        return events;
    }

    private static TensorBoardEvent ParseEvent(ReadOnlySpan<byte> data, string path, int offset)
    {
        double wall = 0; long step = 0; string? version = null; bool start = false;
        var scalars = new Dictionary<string, float>(StringComparer.Ordinal);
        var r = new ProtoReader(data.ToArray(), path, offset);
        while (r.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, 1): wall = BitConverter.Int64BitsToDouble((long)r.Fixed64()); break;
                case (2, 0): step = (long)r.Varint(); break;
                case (3, 2): version = Encoding.UTF8.GetString(r.Bytes()); break;
                case (5, 2):
                    var summary = new ProtoReader(r.Bytes(), path, offset);
                    while (summary.Next(out int sf, out int sw))
                    {
                        if (sf != 1 || sw != 2) { summary.Skip(sw); continue; }
                        var value = new ProtoReader(summary.Bytes(), path, offset);
                        string? tag = null; float? simple = null;
                        while (value.Next(out int vf, out int vw))
                        {
                            if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(value.Bytes());
                            else if (vf == 2 && vw == 5) simple = BitConverter.Int32BitsToSingle((int)value.Fixed32());
                            else value.Skip(vw);
                        }
                        if (tag is not null && simple is float f) scalars[tag] = f;
                    }
                    break;
                case (6, 2):
                    var session = new ProtoReader(r.Bytes(), path, offset);
                    while (session.Next(out int lf, out int lw))
                    {
                        if (lf == 1 && lw == 0) start = session.Varint() == 1;
                        else session.Skip(lw);
                    }
                    break;
                default: r.Skip(wire); break;
            }
        }
        return new TensorBoardEvent(wall, step, version, start, scalars);
    }

    /// <summary>Protocol buffer fields in the wire format, the few kinds an event needs.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _buffer = new();

        public void Double(int field, double value) { Key(field, 1); Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(b, value); _buffer.Write(b); }
        public void Float(int field, float value) { Key(field, 5); Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, value); _buffer.Write(b); }
        public void Int64(int field, long value) { Key(field, 0); Varint((ulong)value); }
        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));
        public void Message(int field, ProtoWriter inner) => Bytes(field, inner.ToArray());
        public byte[] ToArray() => _buffer.ToArray();

        private void Bytes(int field, byte[] bytes) { Key(field, 2); Varint((ulong)bytes.Length); _buffer.Write(bytes); }
        private void Key(int field, int wire) => Varint((ulong)((field << 3) | wire));

        private void Varint(ulong v)
        {
            while (v >= 0x80) { _buffer.WriteByte((byte)(v | 0x80)); v >>= 7; }
            _buffer.WriteByte((byte)v);
        }
    }

    private sealed class ProtoReader(byte[] data, string path, int offset)
    {
        private int _at;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_at >= data.Length) return false;
            ulong key = Varint();
            field = (int)(key >> 3); wire = (int)(key & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = Take(1)[0];
                v |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return v;
            }
            throw Malformed("a varint longer than 10 bytes");
        }

        public ulong Fixed64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        public uint Fixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public byte[] Bytes() => Take(checked((int)Varint())).ToArray();

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Take(8); break;
                case 2: Bytes(); break;
                case 5: Take(4); break;
                default: throw Malformed($"wire type {wire}");
            }
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || _at + n > data.Length) throw Malformed("a field running past the end of its message");
            var span = data.AsSpan(_at, n);
            _at += n;
            return span;
        }

        private InvalidDataException Malformed(string what) => new($"'{path}' event at byte {offset}: {what}; not a TensorBoard event.");
    }
}

/// <summary>CRC-32C (Castagnoli), the checksum of TensorFlow's record files, and its masked form.</summary>
public static class Crc32C
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1; // the reflected Castagnoli polynomial
            t[i] = c;
        }
        return t;
    }

    /// <summary>The CRC-32C of <paramref name="data"/> ("123456789" gives 0xE3069283).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>
    /// The CRC rotated right by 15 bits plus 0xa282ead8, as TensorFlow stores it: a CRC of data that itself holds CRCs is
    /// then less likely to collide.
    /// </summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Compute(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }
}
