namespace Pretext.Data.Video;

/// <summary>Which recorded fact about a Moving MNIST clip is its label in evaluation (<see cref="MovingMnistClips"/>).</summary>
public enum VideoLabel
{
    /// <summary>The first digit's class, "0".."9".</summary>
    Digit,
    /// <summary>The first digit's starting direction of motion, one of 8 compass sectors (<see cref="MovingMnist.DirectionNames"/>).</summary>
    Direction,
}

/// <summary>How a video run reads its clips; travels in config.json as <c>video</c>. Frame count, side and channels are the encoder's (<c>encoder.video</c>).</summary>
public sealed record VideoDataConfig
{
    /// <summary>Moving MNIST clips generated from the MNIST training digits (the generator's default, 2,000).</summary>
    public int TrainClips { get; init; } = 2000;
    /// <summary>Moving MNIST clips generated from the MNIST test digits (500).</summary>
    public int TestClips { get; init; } = 500;
    /// <summary>Seed of the Moving MNIST generator (2015).</summary>
    public int Seed { get; init; } = 2015;
    /// <summary>Leave out clips of a folder that have the wrong length or an unreadable frame (logged by name) instead of stopping.</summary>
    public bool SkipBad { get; init; }

    /// <summary>The generator's options for clips of <paramref name="frames"/> frames of side <paramref name="size"/>.</summary>
    public MovingMnistOptions MovingMnist(int frames, int size) => new() { Frames = frames, Size = size, TrainClips = TrainClips, TestClips = TestClips, Seed = Seed };
}
