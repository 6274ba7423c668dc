using Pretext.Data;
using Pretext.Data.Video;
using static TorchSharp.torch;

namespace Pretext.Tests.Data.Video;

public class VideoTests
{
    public VideoTests() => set_num_threads(1);

    /// <summary><paramref name="n"/> distinct random 28x28 "digits" drawn from <paramref name="seed"/>, labels i mod 10.</summary>
    private static (Tensor Digits, int[] Labels) Digits(int n, int seed)
    {
        var rng = new Random(seed);
        var bytes = new byte[n * 28 * 28];
        rng.NextBytes(bytes);
        return (tensor(bytes, [n, 1, 28, 28], ScalarType.Byte), Enumerable.Range(0, n).Select(i => i % 10).ToArray());
    }

    private static readonly MovingMnistOptions Small = new() { Frames = 6, Size = 40 };

    [Fact]
    public void MovingMnistIsDeterministicBySeed()
    {
        var (digits, labels) = Digits(30, 1);
        using (digits)
        {
            var a = MovingMnist.Generate(digits, labels, 8, seed: 5, Small, "a");
            var b = MovingMnist.Generate(digits, labels, 8, seed: 5, Small, "b");
            var c = MovingMnist.Generate(digits, labels, 8, seed: 6, Small, "c");
            using (a.Dataset) using (b.Dataset) using (c.Dataset)
            {
                Assert.Equal(new long[] { 8, 6, 1, 40, 40 }, a.Dataset.Data.shape);
                Assert.True(a.Dataset.Data.eq(b.Dataset.Data).all().item<bool>());
                Assert.Equal(a.Directions, b.Directions);
                Assert.Equal(a.SourceDigits, b.SourceDigits);
                Assert.False(a.Dataset.Data.eq(c.Dataset.Data).all().item<bool>());
                // Labels: the recorded classes are the source digits' labels; the dataset's label is the first digit's.
                for (int i = 0; i < 8; i++)
                {
                    Assert.Equal(labels[a.SourceDigits[i, 0]], a.DigitClasses[i, 0]);
                    Assert.Equal(labels[a.SourceDigits[i, 1]], a.DigitClasses[i, 1]);
                    Assert.Equal(a.DigitClasses[i, 0], a.Dataset.Labels![i]);
                    Assert.InRange(a.Directions[i, 0], 0, 7);
                }
                // Digits move: consecutive frames differ.
                Assert.False(a.Dataset.Data[0, 0].eq(a.Dataset.Data[0, 1]).all().item<bool>());
            }
        }
    }

    [Fact]
    public void TrainAndTestClipsNeverShareADigitImage()
    {
        // Train clips from the "training digits", test clips from the "test digits", as DatasetFetcher.LoadVideo does per split.
        var (trainDigits, trainLabels) = Digits(40, 2);
        var (testDigits, testLabels) = Digits(40, 3);
        using (trainDigits) using (testDigits)
        {
            var train = MovingMnist.Generate(trainDigits, trainLabels, 20, MovingMnist.StreamSeed(9, DataSplit.Train), Small, "train");
            var test = MovingMnist.Generate(testDigits, testLabels, 20, MovingMnist.StreamSeed(9, DataSplit.Test), Small, "test");
            using (train.Dataset) using (test.Dataset)
            {
                string Image(Tensor digits, int i) => Convert.ToHexString(digits[i].flatten().data<byte>().ToArray());
                var trainImages = Enumerable.Range(0, 20).SelectMany(c => new[] { train.SourceDigits[c, 0], train.SourceDigits[c, 1] }).Select(i => Image(trainDigits, i)).ToHashSet();
                var testImages = Enumerable.Range(0, 20).SelectMany(c => new[] { test.SourceDigits[c, 0], test.SourceDigits[c, 1] }).Select(i => Image(testDigits, i)).ToHashSet();
                Assert.Empty(trainImages.Intersect(testImages));
                Assert.NotEqual(MovingMnist.StreamSeed(9, DataSplit.Train), MovingMnist.StreamSeed(9, DataSplit.Test));
                // Each clip's first frame holds its digits' pixels (overlaid by max): the frame is at least as bright in total as its brightest digit.
                for (int c = 0; c < 20; c++)
                {
                    double frame = test.Dataset.Data[c, 0].to(ScalarType.Float64).sum().item<double>();
                    double digit = testDigits[test.SourceDigits[c, 0]].to(ScalarType.Float64).sum().item<double>();
                    Assert.True(frame >= digit - 1e-6);
                }
            }
        }
    }

    [Fact]
    public void TheCatalogueEntryGeneratesEachSplitFromTheSameSplitsDigits()
    {
        using var dir = new TempDirectory();
        // A stand-in for MNIST in the cache: training digits are dark (values < 100), test digits bright (>= 156).
        Directory.CreateDirectory(dir.Combine("mnist"));
        var dark = TestFiles.Pixels(30, 28, 28).Select(b => (byte)(b % 100)).ToArray();
        var bright = TestFiles.Pixels(20, 28, 28).Select(b => (byte)(156 + b % 100)).ToArray();
        TestFiles.WriteIdx(dir.Combine("mnist", "train-images-idx3-ubyte"), dark, [30, 28, 28], gzip: false);
        TestFiles.WriteIdx(dir.Combine("mnist", "train-labels-idx1-ubyte"), Enumerable.Range(0, 30).Select(i => (byte)(i % 10)).ToArray(), [30], gzip: false);
        TestFiles.WriteIdx(dir.Combine("mnist", "t10k-images-idx3-ubyte"), bright, [20, 28, 28], gzip: true);
        TestFiles.WriteIdx(dir.Combine("mnist", "t10k-labels-idx1-ubyte"), Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray(), [20], gzip: true);
        using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { CacheFolder = dir.Path, Sources = DataSources.Cache });
        var options = Small with { TrainClips = 7, TestClips = 3 };
        var train = fetcher.LoadVideo(MovingMnist.Name, DataSplit.Train, options);
        var test = fetcher.LoadVideo(MovingMnist.Name, DataSplit.Test, options);
        using (train.Dataset) using (test.Dataset)
        {
            Assert.Equal(Modality.Video, DataCatalog.Get("moving-mnist").Modality);
            Assert.Equal(new long[] { 7, 6, 1, 40, 40 }, train.Dataset.Data.shape);
            Assert.Equal(new long[] { 3, 6, 1, 40, 40 }, test.Dataset.Data.shape);
            Assert.True(train.Dataset.Data.max().item<byte>() < 100);
            Assert.True(test.Dataset.Data.max().item<byte>() >= 156);
            Assert.Equal("moving-mnist/test", test.Dataset.Name);
        }
        Assert.Contains("video", Assert.Throws<ArgumentException>(() => fetcher.LoadSplit("moving-mnist", DataSplit.Train)).Message);
    }

    private static byte[] Frame(int value) => TestFiles.Png(8, 6, 1, (x, y) => [(byte)((value + x * 10 + y) % 256)]);

    [Fact]
    public void FrameFoldersAndGifsLoadInOrderAndBadClipsAreNamed()
    {
        using var dir = new TempDirectory();
        // A good clip whose frames sort naturally (frame2 before frame10), one of the wrong length, one with a corrupt frame.
        Directory.CreateDirectory(dir.Combine("walk"));
        foreach (int f in new[] { 1, 2, 10 }) File.WriteAllBytes(dir.Combine("walk", $"frame{f}.png"), Frame(f * 20));
        Directory.CreateDirectory(dir.Combine("short"));
        foreach (int f in new[] { 1, 2 }) File.WriteAllBytes(dir.Combine("short", $"f{f}.png"), Frame(f));
        Directory.CreateDirectory(dir.Combine("broken"));
        File.WriteAllBytes(dir.Combine("broken", "a.png"), Frame(1));
        File.WriteAllBytes(dir.Combine("broken", "b.png"), [1, 2, 3, 4]);
        File.WriteAllBytes(dir.Combine("broken", "c.png"), Frame(3));
        File.WriteAllBytes(dir.File("spin.gif"), Gif(8, 6, [0, 1, 2, 3, 2, 1], [3, 2, 1, 0, 1, 2], [1, 1, 1, 1, 1, 1]));
        File.WriteAllBytes(dir.File("long.gif"), Gif(8, 6, [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2], [3, 3, 3, 3, 3, 3]));

        var options = new VideoClipOptions { Frames = 3, Size = 4 };
        var error = Assert.Throws<InvalidDataException>(() => VideoClips.Load(dir.Path, options));
        Assert.Contains("'broken'", error.Message);
        Assert.Contains("b.png", error.Message);

        var messages = new List<string>();
        var load = VideoClips.Load(dir.Path, options with { SkipBad = true, Log = messages.Add });
        using var data = load.Dataset;
        Assert.Equal(["spin.gif", "walk"], Enumerable.Range(0, (int)data.Count).Select(i => data.SampleId(i)));
        Assert.Equal(new long[] { 2, 3, 1, 4, 4 }, data.Data.shape);
        Assert.Equal(3, load.Skipped.Count);
        Assert.Contains(load.Skipped, s => s.StartsWith("broken: frame 'b.png'", StringComparison.Ordinal));
        Assert.Contains(load.Skipped, s => s.StartsWith("short: has 2 frames, expected 3", StringComparison.Ordinal));
        Assert.Contains(load.Skipped, s => s.StartsWith("long.gif: has more than 3 frames", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("short", StringComparison.Ordinal));
        // Frames in natural order: frame1 (20), frame2 (40), frame10 (200) get brighter.
        var walk = data.Data[1].to(ScalarType.Float32).mean([1, 2, 3]).data<float>().ToArray();
        Assert.True(walk[0] < walk[1] && walk[1] < walk[2]);
        // The GIF's three frames (palette greys 0, 85, 170, 255): two mirrored gradients of mean 127.5 (about, after
        // resampling 6 rows to 4), then a flat 85; the fourth frame of long.gif never counts.
        var spin = data.Data[0].to(ScalarType.Float32).mean([1, 2, 3]).data<float>().ToArray();
        Assert.Equal(127.5, spin[0], 3.0);
        Assert.Equal(127.5, spin[1], 3.0);
        Assert.Equal(85, spin[2], 0.5);
    }

    /// <summary>
    /// An animated GIF of grey frames with a 4-entry palette (0, 85, 170, 255). Each frame is given as 6 palette indices,
    /// one per row of the <paramref name="width"/> x <paramref name="height"/> image. LZW with a clear code after every two
    /// pixels keeps the codes at 3 bits (a valid, uncompressed-size stream).
    /// </summary>
    private static byte[] Gif(int width, int height, params int[][] frames)
    {
        var gif = new MemoryStream();
        void U16(int v) { gif.WriteByte((byte)(v & 0xff)); gif.WriteByte((byte)(v >> 8)); }
        gif.Write("GIF89a"u8);
        U16(width); U16(height);
        gif.Write([0xF1, 0, 0]);
        foreach (byte g in new byte[] { 0, 85, 170, 255 }) gif.Write([g, g, g]);
        foreach (var rows in frames)
        {
            gif.Write([0x21, 0xF9, 0x04, 0x00, 10, 0, 0, 0]);   // graphic control: no disposal, 0.1 s, no transparency
            gif.WriteByte(0x2C); U16(0); U16(0); U16(width); U16(height); gif.WriteByte(0);
            gif.WriteByte(2);                                     // LZW minimum code size: 4 colours
            var codes = new List<int>();
            int n = 0;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    if (n % 2 == 0) codes.Add(4);                 // clear
                    codes.Add(rows[y]);
                    n++;
                }
            codes.Add(5);                                         // end of information
            var bytes = new List<byte>();
            int acc = 0, bits = 0;
            foreach (int c in codes)
            {
                acc |= c << bits; bits += 3;
                while (bits >= 8) { bytes.Add((byte)(acc & 0xff)); acc >>= 8; bits -= 8; }
            }
            if (bits > 0) bytes.Add((byte)acc);
            for (int i = 0; i < bytes.Count; i += 255)
            {
                int len = Math.Min(255, bytes.Count - i);
                gif.WriteByte((byte)len);
                gif.Write(bytes.GetRange(i, len).ToArray());
            }
            gif.WriteByte(0);
        }
        gif.WriteByte(0x3B);
        return gif.ToArray();
    }
}
