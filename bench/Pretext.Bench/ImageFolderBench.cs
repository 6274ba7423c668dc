using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Pretext.Bench;

/// <summary>
/// Issue 24's image-folder memory bench: a folder of --images PNGs of mixed sizes and kinds (grey, RGB, RGBA; sides drawn from
/// 24 to 640 pixels, a --large share of 2,000-6,000 pixel images up to 36 megapixels, and --huge valid images above 100
/// megapixels), loaded by the real CLI (`pretext pretrain --max-steps 1`) in a child process whose peak resident memory
/// (VmHWM) is polled every 50 ms. Reports files, bytes, megapixels, seconds, peak memory, and whether every image above
/// --max-megapixels (40) was named in one warning before any decoding and left out. Exit code 0 when the peak stays under
/// --limit-mb (2,048) and every huge image was reported.
///
///   images-load [--images 8000] [--large 40] [--huge 3] [--seed 0] [--limit-mb 2048] [--threads 1] [--keep]
///               [--work /tmp/pretext-images-load] [--out runs/bench-images-load.json] [--pretext src/Pretext.Cli/bin/Release/net10.0/linux-x64/pretext]
/// </summary>
internal static class ImageFolderBench
{
    public static int Run(BenchArgs a)
    {
        int images = a.Int("images", 8000), large = a.Int("large", 40), huge = a.Int("huge", 3), threads = a.Int("threads", 1);
        double limitMb = a.Double("limit-mb", 2048);
        string exe = a.Get("pretext", Path.Combine(Machine.RepositoryRoot(), "src", "Pretext.Cli", "bin", "Release", "net10.0", "linux-x64", "pretext"));
        if (!File.Exists(exe)) throw new FileNotFoundException($"'{exe}' does not exist; build the CLI (dotnet build -c Release) or give --pretext.");
        string work = Path.GetFullPath(a.Get("work", Path.Combine(Path.GetTempPath(), "pretext-images-load")));
        string output = a.Get("out", Path.Combine("runs", "bench-images-load.json"));
        string folder = Path.Combine(work, "images");
        var clock = Stopwatch.StartNew();
        var made = MakeFolder(folder, images, large, huge, a.Int("seed", 0));
        double makeSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(FormattableString.Invariant(
            $"{made.Files} PNGs, {made.Bytes / 1e6:F0} MB on disk, {made.Megapixels:F0} megapixels in all; {made.Huge.Count} above 100 MP: {string.Join(", ", made.Huge)} (made in {makeSeconds:F0} s)"));

        string run = Path.Combine(work, "run");
        if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "pretrain", "--dataset", folder, "--max-steps", "1", "--threads", threads.ToString(CultureInfo.InvariantCulture), "--run-dir", run })
            psi.ArgumentList.Add(arg);
        string load = Machine.LoadAverage();
        var watch = Stopwatch.StartNew();
        var (p, lines) = Machine.StartCapturing(psi);
        double peak = 0;
        while (!p.WaitForExit(50)) peak = Math.Max(peak, Machine.StatusMegabytes(p.Id, "VmHWM:") ?? 0);
        p.WaitForExit();
        double seconds = watch.Elapsed.TotalSeconds;
        List<string> log;
        lock (lines) log = [.. lines];
        // The warning lists every skipped image in one message, before decoding starts.
        var reported = made.Huge.Where(name => log.Any(l => l.Contains(name, StringComparison.Ordinal))).ToList();
        bool allReported = reported.Count == made.Huge.Count;
        Console.WriteLine(FormattableString.Invariant($"pretext pretrain --max-steps 1: exit {p.ExitCode} in {seconds:F1} s, peak resident memory {peak:F0} MB (limit {limitMb:F0}), load average {load} -> {Machine.LoadAverage()}"));
        Console.WriteLine($"images above 100 MP named in the log: {reported.Count} of {made.Huge.Count}");
        foreach (var l in log.Where(l => l.Contains("megapixel", StringComparison.OrdinalIgnoreCase) || l.Contains("skipp", StringComparison.OrdinalIgnoreCase)).Take(5))
            Console.WriteLine("  log: " + (l.Length > 400 ? l[..400] + " ..." : l));
        if (p.ExitCode != 0) Console.WriteLine(string.Join("\n", log.TakeLast(20)));

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, JsonSerializer.Serialize(new
        {
            bench = "images-load", files = made.Files, megabytes_on_disk = Math.Round(made.Bytes / 1e6, 1), megapixels = Math.Round(made.Megapixels), huge = made.Huge,
            large_files = made.Large, exit_code = p.ExitCode, seconds = Math.Round(seconds, 1), peak_resident_mb = Math.Round(peak), limit_mb = limitMb,
            huge_reported = reported.Count, threads, load_average_start = load, load_average_end = Machine.LoadAverage(),
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"Results in {output}");
        if (!a.Has("keep")) Directory.Delete(work, recursive: true);
        return p.ExitCode == 0 && peak < limitMb && allReported ? 0 : 1;
    }

    private sealed record Made(int Files, long Bytes, double Megapixels, int Large, List<string> Huge);

    /// <summary>
    /// Writes the folder: two classes (a/, b/) so the loader sees a labelled layout. Small images carry noise over a gradient (so
    /// they do not compress to nothing); large and huge ones are smooth gradients, written row by row so the generator never holds
    /// a whole huge image.
    /// </summary>
    private static Made MakeFolder(string folder, int images, int large, int huge, int seed)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        var rng = new Random(seed);
        long bytes = 0;
        double megapixels = 0;
        var hugeNames = new List<string>();
        for (int i = 0; i < images; i++)
        {
            string cls = i % 2 == 0 ? "a" : "b";
            Directory.CreateDirectory(Path.Combine(folder, cls));
            int channels = (i % 3) switch { 0 => 1, 1 => 3, _ => 4 };
            int w, h;
            bool noisy = true;
            if (i < huge)
            {
                (w, h) = (10_240 + 512 * i, 10_240);
                noisy = false;
            }
            else if (i < huge + large)
            {
                (w, h) = (rng.Next(2000, 6001), rng.Next(2000, 6001));
                noisy = false;
            }
            else
            {
                // Log-uniform sides between 24 and 640 pixels, aspect ratios up to 2.
                w = (int)Math.Round(24 * Math.Pow(640 / 24.0, rng.NextDouble()));
                h = Math.Clamp((int)Math.Round(w * Math.Pow(2, rng.NextDouble() * 2 - 1)), 16, 1280);
            }
            string name = $"{i:D5}-{w}x{h}.png";
            string path = Path.Combine(folder, cls, name);
            int noiseSeed = rng.Next();
            bytes += WritePng(path, w, h, channels, noisy ? noiseSeed : null);
            megapixels += (double)w * h / 1e6;
            if ((double)w * h > 100e6) hugeNames.Add(name);
        }
        return new Made(images, bytes, megapixels, large, hugeNames);
    }

    /// <summary>An 8-bit PNG (grey, RGB or RGBA) streamed row by row through zlib; returns its size in bytes.</summary>
    private static long WritePng(string path, int width, int height, int channels, int? noiseSeed)
    {
        var noise = noiseSeed is int s ? new Random(s) : null;
        var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + width * channels];
            for (int y = 0; y < height; y++)
            {
                row[0] = 0;
                for (int x = 0; x < width; x++)
                    for (int c = 0; c < channels; c++)
                    {
                        int v = c == 3 ? 255 - (x * 97 / Math.Max(1, width)) : (x * 255 / Math.Max(1, width) + y * 255 / Math.Max(1, height) * (c + 1)) & 255;
                        if (noise is not null && c < 3) v = Math.Clamp(v + noise.Next(-24, 25), 0, 255);
                        row[1 + x * channels + c] = (byte)v;
                    }
                z.Write(row);
            }
        }
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = channels switch { 1 => 0, 3 => 2, _ => 6 };
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", idat.GetBuffer().AsSpan(0, (int)idat.Length));
        Chunk(file, "IEND", []);
        return file.Length;
    }

    private static void Chunk(Stream png, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        png.Write(four);
        var name = Encoding.ASCII.GetBytes(type);
        png.Write(name);
        png.Write(data);
        uint crc = Crc32(0xffffffff, name);
        crc = Crc32(crc, data);
        BinaryPrimitives.WriteUInt32BigEndian(four, ~crc);
        png.Write(four);
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    private static uint Crc32(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes) crc = CrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
        return crc;
    }
}
