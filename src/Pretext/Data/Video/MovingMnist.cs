using static TorchSharp.torch;

namespace Pretext.Data.Video;

/// <summary>Options of <see cref="MovingMnist"/>; defaults from Srivastava et al. 2015 (section 3: two digits in 64x64 frames, 20 frames).</summary>
public sealed record MovingMnistOptions
{
    /// <summary>Frames per clip (the paper: 10 input and 10 future frames).</summary>
    public int Frames { get; init; } = 20;
    /// <summary>Frame side in pixels.</summary>
    public int Size { get; init; } = 64;
    /// <summary>Digits per clip.</summary>
    public int Digits { get; init; } = 2;
    /// <summary>Pixels a digit moves per frame. The paper draws a speed per clip; one fixed speed keeps every clip equally hard.</summary>
    public double Speed { get; init; } = 3.0;
    /// <summary>Clips made from the MNIST training digits. The paper generates clips on the fly; a fixed set is what a 2-core machine trains on (each clip is 80 KiB).</summary>
    public int TrainClips { get; init; } = 2000;
    /// <summary>Clips made from the MNIST test digits.</summary>
    public int TestClips { get; init; } = 500;
    /// <summary>Seed of the generator; the test split uses its own stream derived from it, so its clips do not depend on how many training clips were made.</summary>
    public int Seed { get; init; } = 2015;

    internal void Validate()
    {
        if (Frames < 2 || Size < 29 || Digits < 1 || !(Speed > 0) || TrainClips < 1 || TestClips < 1)
            throw new ArgumentException($"Moving MNIST needs at least 2 frames of side > 28, at least one digit, a positive speed and at least one clip per split (got {Frames} frames, side {Size}, {Digits} digits, speed {Speed}, {TrainClips}/{TestClips} clips).");
    }
}

/// <summary>Generated clips and what each clip is made of.</summary>
/// <param name="Dataset">(N, T, 1, S, S) uint8 clips; its label is the first digit's class (classes "0".."9"), its ids "clip-00000"...</param>
/// <param name="DigitClasses">(N, Digits) class of each digit.</param>
/// <param name="Directions">(N, Digits) compass sector 0..7 of each digit's starting direction of motion (0 = right, 2 = down, 4 = left, 6 = up; image axes).</param>
/// <param name="SourceDigits">(N, Digits) index of each digit's image in the split it was drawn from.</param>
public sealed record MovingMnistClips(TensorDataset Dataset, int[,] DigitClasses, int[,] Directions, int[,] SourceDigits);

/// <summary>
/// Moving MNIST (Srivastava, Mansimov and Salakhutdinov 2015): MNIST digits bouncing inside a frame. Each digit starts at
/// a uniform position with a uniform direction and moves at a fixed speed; it bounces off the edges by reflecting the
/// velocity component that would take it out; digits are overlaid by the pixel-wise maximum. Clips of the training
/// split take only training digits and clips of the test split only test digits, so no digit image is in both.
/// Deterministic for a seed (<see cref="System.Random"/> with a seed is stable across runs).
/// </summary>
public static class MovingMnist
{
    /// <summary>Name in the data catalogue.</summary>
    public const string Name = "moving-mnist";

    /// <summary>Direction names of <see cref="MovingMnistClips.Directions"/>.</summary>
    public static readonly string[] DirectionNames = ["right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right"];

    /// <summary>The seed of a split's stream: the train split uses the seed itself.</summary>
    public static int StreamSeed(int seed, DataSplit split) => split == DataSplit.Train ? seed : unchecked(seed * 31 + 7);

    /// <summary>
    /// <paramref name="count"/> clips from <paramref name="digits"/> (N, 28, 28) or (N, 1, 28, 28) uint8 with their
    /// <paramref name="labels"/>, drawn with a generator seeded by <paramref name="seed"/>.
    /// </summary>
    public static MovingMnistClips Generate(Tensor digits, int[] labels, int count, int seed, MovingMnistOptions options, string name)
    {
        options.Validate();
        if (digits.dtype != ScalarType.Byte || digits.shape[^1] != 28 || digits.shape[^2] != 28 || labels.Length != digits.shape[0])
            throw new ArgumentException($"Moving MNIST takes uint8 28x28 digits with one label each, got {digits.dtype} [{string.Join(",", digits.shape)}] and {labels.Length} labels.");
        if (count < 1) throw new ArgumentException($"Generate at least one clip, got {count}.");
        const int d = 28;
        int n = (int)digits.shape[0], s = options.Size, t = options.Frames, k = options.Digits;
        var source = digits.reshape(n, d * d).contiguous().data<byte>().ToArray();
        var rng = new Random(seed);
        long frame = (long)s * s;
        var pixels = new byte[count * t * frame];
        var classes = new int[count, k];
        var directions = new int[count, k];
        var sources = new int[count, k];
        int limit = s - d;
        for (int c = 0; c < count; c++)
        {
            for (int j = 0; j < k; j++)
            {
                int idx = rng.Next(n);
                sources[c, j] = idx; classes[c, j] = labels[idx];
                double x = rng.NextDouble() * limit, y = rng.NextDouble() * limit;
                double angle = rng.NextDouble() * 2 * Math.PI;
                double vx = Math.Cos(angle) * options.Speed, vy = Math.Sin(angle) * options.Speed;
                directions[c, j] = (int)Math.Round(angle / (Math.PI / 4)) % 8;
                for (int f = 0; f < t; f++)
                {
                    int ox = (int)Math.Round(x), oy = (int)Math.Round(y);
                    long offset = ((long)c * t + f) * frame;
                    for (int r = 0; r < d; r++)
                        for (int q = 0; q < d; q++)
                        {
                            byte v = source[idx * d * d + r * d + q];
                            long p = offset + (long)(oy + r) * s + ox + q;
                            if (v > pixels[p]) pixels[p] = v;
                        }
                    // Move, then bounce: reflect the position into the frame and turn the velocity component around.
                    x += vx; y += vy;
                    if (x < 0) { x = -x; vx = -vx; } else if (x > limit) { x = 2 * limit - x; vx = -vx; }
                    if (y < 0) { y = -y; vy = -vy; } else if (y > limit) { y = 2 * limit - y; vy = -vy; }
                }
            }
        }
        var data = tensor(pixels, [count, t, 1, s, s], ScalarType.Byte);
        var first = Enumerable.Range(0, count).Select(c => classes[c, 0]).ToArray();
        var ids = Enumerable.Range(0, count).Select(c => $"clip-{c:D5}").ToArray();
        var dataset = new TensorDataset(name, data, first, Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), ids);
        return new MovingMnistClips(dataset, classes, directions, sources);
    }
}
