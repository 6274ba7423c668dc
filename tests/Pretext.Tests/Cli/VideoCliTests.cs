using Pretext.Tests.Data;

namespace Pretext.Tests.Cli;

/// <summary>The user's path through the CLI on their own clips: pretrain nextframe, evaluate (probes and next-frame error); bad clips named.</summary>
[Collection("console")]
public class VideoCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static readonly string[] Tiny =
    [
        "--set", "encoder.video.frames=4", "--set", "encoder.video.size=32", "--set", "encoder.video.widths=[4,8]", "--set", "encoder.video.dim=8",
    ];

    private static readonly string[] SmallEvaluation =
    [
        "--set", "evaluation.probe.iterations=30", "--set", "evaluation.knnK=3", "--set", "evaluation.perClass=[2]", "--set", "evaluation.trainedPerClass=[2]",
        "--set", "evaluation.supervised.steps=2", "--set", "evaluation.maps.samples=0",
    ];

    /// <summary>A class folder of <paramref name="n"/> clips of 4 PNG frames in which an 8-pixel square moves 4 pixels a frame by <paramref name="step"/>.</summary>
    private static void WriteClips(string folder, int n, int step)
    {
        for (int c = 0; c < n; c++)
        {
            string clip = Path.Combine(folder, $"clip{c}");
            Directory.CreateDirectory(clip);
            int x0 = 8 + c % 4, y0 = 4 + 2 * (c % 5);
            for (int f = 0; f < 4; f++)
            {
                int left = x0 + step * f;
                File.WriteAllBytes(Path.Combine(clip, $"frame{f + 1}.png"),
                    TestFiles.Png(32, 32, 1, (x, y) => [(byte)(x >= left && x < left + 8 && y >= y0 && y < y0 + 8 ? 255 : 0)]));
            }
        }
    }

    [Fact]
    public void PretrainAndEvaluateNextFramePredictionOnAFolderOfClips()
    {
        using var dir = new TempDirectory();
        WriteClips(dir.Combine("clips", "left"), 10, -4);
        WriteClips(dir.Combine("clips", "right"), 10, 4);
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run(["pretrain", "--dataset", dir.Combine("clips"), "--method", "nextframe", "--run-dir", run, "--max-steps", "2", "--batch-size", "4", "--threads", "1", .. Tiny]);
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains("Done: 2 steps", o1);
        Assert.Contains("16 clips of 4 frames of 32x32", o1); // the held-out fifth stays out of pretraining

        var ckpt = Path.Combine(run, "checkpoints", "step-00000002.safetensors");
        var (c2, o2, e2) = Run(["evaluate", "--checkpoint", ckpt, "--threads", "1", "--seeds", "1", .. SmallEvaluation]);
        Assert.True(c2 == 0, o2 + e2);
        foreach (var model in new[] { "kNN (frozen)", "linear probe (frozen)", "from scratch", "raw pixels of the first and last frames (no learning)" }) Assert.Contains(model, o2);
        Assert.Contains("Next-frame prediction: Mean squared pixel error", o2);
        Assert.Contains("for copying the last frame", o2);
        Assert.True(File.Exists(Path.Combine(run, "evaluation", "plots", "next_frames.png")));
        Assert.Contains("\"copylast_mse\"", File.ReadAllText(Path.Combine(run, "evaluation", "summary.json")));
    }

    [Fact]
    public void AnUnreadableFrameAndAShortClipAreNamed()
    {
        using var dir = new TempDirectory();
        WriteClips(dir.Combine("clips"), 2, 4);
        File.WriteAllBytes(dir.Combine("clips", "clip1", "frame3.png"), [1, 2, 3, 4]);
        var (c, _, e) = Run(["pretrain", "--dataset", dir.Combine("clips"), "--method", "nextframe", "--run-dir", dir.Combine("r"), "--max-steps", "1", "--threads", "1", .. Tiny]);
        Assert.Equal(2, c);
        Assert.Contains("Clip 'clip1'", e);
        Assert.Contains("frame 'frame3.png' is unreadable", e);

        File.Delete(dir.Combine("clips", "clip1", "frame3.png"));
        var (c2, _, e2) = Run(["pretrain", "--dataset", dir.Combine("clips"), "--method", "nextframe", "--run-dir", dir.Combine("r"), "--max-steps", "1", "--threads", "1", .. Tiny]);
        Assert.Equal(2, c2);
        Assert.Contains("Clip 'clip1'", e2);
        Assert.Contains("has 3 frames, expected 4", e2);
    }
}
