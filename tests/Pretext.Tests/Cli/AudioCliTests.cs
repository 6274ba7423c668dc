using Pretext.Tests.Data.Audio;

namespace Pretext.Tests.Cli;

/// <summary>The user's path through the CLI on their own clips: pretrain COLA on a folder of WAV files, evaluate, embed.</summary>
[Collection("console")]
public class AudioCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    // A tiny front end and encoder, and tiny evaluation budgets, set at pretraining time: they travel in the checkpoint.
    private static readonly string[] Small =
    [
        "--set", "encoder.audio.clip.sampleRate=8000", "--set", "encoder.audio.clip.seconds=0.25", "--set", "encoder.audio.logMel.fftSize=256",
        "--set", "encoder.audio.logMel.windowLength=200", "--set", "encoder.audio.logMel.hopLength=80", "--set", "encoder.audio.logMel.mels=16",
        "--set", "encoder.audio.convWidths=[8,8]", "--set", "encoder.audio.convStrides=[1,2]", "--set", "methods.cola.projectionDim=16",
        "--set", "methods.cola.segmentSeconds=0.1", "--set", "evaluation.perClass=[2]", "--set", "evaluation.trainedPerClass=[2]",
        "--set", "evaluation.supervised.steps=3", "--set", "evaluation.supervised.minEpochs=1", "--set", "evaluation.supervised.batchSize=8",
        "--set", "evaluation.probe.iterations=30", "--set", "evaluation.knnK=5", "--set", "evaluation.maps.samples=0",
    ];

    [Fact]
    public void PretrainEvaluateEmbedOnAFolderOfClips()
    {
        using var dir = new TempDirectory();
        var clips = dir.Combine("clips");
        TestAudio.WriteClassFolder(clips, perClass: 15);
        var run = dir.Combine("run");
        // No --method: a folder of audio files gets the audio default, COLA.
        var (c1, o1, e1) = Run(["pretrain", "--dataset", clips, "--run-dir", run, "--batch-size", "8", "--max-steps", "4", "--threads", "1", "--data-dir", dir.Combine("data"), "--checkpoint-every", "2", .. Small]);
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains("Pretraining cola", o1);
        Assert.Contains("Done: 4 steps", o1);
        Assert.Contains("6 held-out test samples stay out of pretraining", o1);

        // Resuming takes the band statistics from the run's config.json (the resume check would refuse any difference).
        var ckpt = Path.Combine(run, "checkpoints", "step-00000004.safetensors");
        File.Delete(ckpt);
        var (cr, or, er) = Run(["pretrain", "--dataset", clips, "--run-dir", run, "--batch-size", "8", "--max-steps", "4", "--threads", "1", "--data-dir", dir.Combine("data"), "--resume", .. Small]);
        Assert.True(cr == 0, or + er);
        Assert.Contains("Resuming from", or);
        Assert.Contains("Done: 4 steps", or);

        var (c2, o2, e2) = Run("evaluate", "--checkpoint", ckpt, "--threads", "1", "--data-dir", dir.Combine("data"), "--seeds", "1");
        Assert.True(c2 == 0, o2 + e2);
        foreach (var model in new[] { "linear probe (frozen)", "from scratch", "MFCC statistics (no learning)", "kNN (frozen)", "F1 of low" })
            Assert.Contains(model, o2);
        var summary = File.ReadAllText(Path.Combine(run, "evaluation", "summary.json"));
        Assert.Contains("\"baseline\": \"MFCC statistics\"", summary);

        var csv = dir.File("emb.csv");
        var (c3, o3, e3) = Run("embed", "--checkpoint", ckpt, "--out", csv, "--threads", "1", "--data-dir", dir.Combine("data"));
        Assert.True(c3 == 0, o3 + e3);
        var table = Pretext.Export.EmbeddingWriter.ReadCsv(csv);
        Assert.Equal(30, table.Count);
        Assert.Equal(16, table.Dim); // twice the last convolution's 8 channels: mean and std

        var (c4, o4, e4) = Run("curate", "--checkpoint", ckpt, "--dataset", clips, "--select", "5", "--out", dir.File("curation.csv"), "--threads", "1", "--data-dir", dir.Combine("data"));
        Assert.True(c4 == 0, o4 + e4);
        Assert.True(File.Exists(dir.File("curation.csv")));
    }

    [Fact]
    public void BadClipsAreNamedOnTheCommandLine()
    {
        using var dir = new TempDirectory();
        var clips = dir.Combine("clips");
        TestAudio.WriteClassFolder(clips, perClass: 3);
        File.WriteAllBytes(Path.Combine(clips, "low", "broken.wav"), [1, 2, 3, 4]);
        var (c, _, e) = Run(["pretrain", "--dataset", clips, "--method", "cola", "--run-dir", dir.Combine("run"), "--max-steps", "1", "--threads", "1", "--data-dir", dir.Combine("data"), .. Small]);
        Assert.Equal(2, c);
        Assert.Contains("low/broken.wav", e);
        Assert.Contains("skipBad=true", e);
    }

    [Fact]
    public void LabelPatternLabelsAFlatFolderForPretrainEvaluateAndEmbed()
    {
        using var dir = new TempDirectory();
        var clips = dir.Combine("flat");
        // One folder, the class in the file name: "low-00.wav", "high-07.wav".
        TestAudio.WriteClassFolder(clips, perClass: 15);
        foreach (var f in Directory.GetFiles(clips, "*.wav", SearchOption.AllDirectories)) File.Move(f, Path.Combine(clips, Path.GetFileName(f)));
        const string pattern = "^(?<label>low|high)-";
        var run = dir.Combine("run");
        var (c1, o1, e1) = Run(["pretrain", "--dataset", clips, "--run-dir", run, "--batch-size", "8", "--max-steps", "2", "--threads", "1", "--data-dir", dir.Combine("data"), "--label-pattern", pattern, .. Small]);
        Assert.True(c1 == 0, o1 + e1);
        // The clips' log-mels went to the data cache given; evaluate reads them from there.
        Assert.Single(Directory.GetFiles(dir.Combine("data", "log-mels")));
        // Labelled by the pattern, so a stratified fifth is held out as test.
        Assert.Contains("6 held-out test samples stay out of pretraining", o1);
        var ckpt = Path.Combine(run, "checkpoints", "step-00000002.safetensors");

        var (c2, o2, e2) = Run("evaluate", "--checkpoint", ckpt, "--threads", "1", "--data-dir", dir.Combine("data"), "--seeds", "1", "--no-supervised", "--label-pattern", pattern);
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("log-mels of 30 clips from the cache", o2);
        Assert.Contains("F1 of", o2);

        var csv = dir.File("emb.csv");
        var (c3, o3, e3) = Run("embed", "--checkpoint", ckpt, "--out", csv, "--threads", "1", "--data-dir", dir.Combine("data"), "--dataset", clips, "--label-pattern", "^(?<label>low|high)-");
        Assert.True(c3 == 0, o3 + e3);
        var table = Pretext.Export.EmbeddingWriter.ReadCsv(csv);
        Assert.Equal(30, table.Count);
        Assert.NotNull(table.Labels);
        Assert.Equal(2, table.Labels!.Distinct().Count());
    }

    [Fact]
    public void LabelPatternIsInTheHelpAndABadOneIsAOneLineError()
    {
        foreach (var command in new[] { "pretrain", "evaluate", "embed" })
        {
            var (code, o, e) = Run(command, "--help");
            Assert.True(code == 0, o + e);
            Assert.Contains("--label-pattern", o);
        }
        using var dir = new TempDirectory();
        var clips = dir.Combine("clips");
        TestAudio.WriteClassFolder(clips, perClass: 2);
        var (c1, o1, e1) = Run("pretrain", "--dataset", clips, "--run-dir", dir.Combine("run"), "--label-pattern", "^(low|high)-");
        Assert.Equal(2, c1);
        Assert.Contains("--label-pattern '^(low|high)-' has no group named \"label\"", e1);
        Assert.False(Directory.Exists(Path.Combine(dir.Combine("run"), "checkpoints")), o1);
        var (c2, _, e2) = Run("pretrain", "--dataset", clips, "--run-dir", dir.Combine("run"), "--label-pattern", "(?<label>");
        Assert.Equal(2, c2);
        Assert.Contains("is not a regular expression", e2);
        var (c3, _, e3) = Run("pretrain", "--dataset", "fillets-speaker", "--run-dir", dir.Combine("run"), "--label-pattern", "(?<label>m)");
        Assert.Equal(2, c3);
        Assert.Contains("catalogued data set with its own labels", e3);
        var (c4, _, e4) = Run("pretrain", "--dataset", "fashion-mnist", "--run-dir", dir.Combine("run"), "--label-pattern", "(?<label>m)");
        Assert.Equal(2, c4);
        Assert.Contains("audio folder", e4);
    }
}
