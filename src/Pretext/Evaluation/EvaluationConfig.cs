namespace Pretext.Evaluation;

/// <summary>How a run is evaluated.</summary>
public sealed record EvaluationConfig
{
    /// <summary>Label fractions for the linear probe.</summary>
    public double[] LinearFractions { get; init; } = [1.0, 0.1, 0.01];
    /// <summary>Label fractions for the baseline that trains the same architecture from random weights (config.json files
    /// written before this name had it as SupervisedFractions; they load with the default).</summary>
    public double[] ScratchFractions { get; init; } = [0.1, 0.01];
    /// <summary>
    /// Labelled samples per class for the frozen protocols (linear probe, the no-learning baseline) besides the fractions:
    /// the label counts users have. Each is drawn <see cref="Seeds"/> times; probes on a few labels cost little.
    /// </summary>
    public int[] PerClass { get; init; } = [1, 5, 10, 25];
    /// <summary>
    /// Labelled samples per class for fine-tuning and training from scratch (each subset a training run of its own): 10 per
    /// class, the 100 labels of a 10-class data set that the headline compares at.
    /// </summary>
    public int[] TrainedPerClass { get; init; } = [10];
    /// <summary>
    /// Fraction of the training split carved off as the validation split every choice is made on (<see cref="ValidationSplit"/>;
    /// 1/6 = 10,000 of Fashion-MNIST's 60,000); label subsets come from the rest. 0: no validation split (label subsets from the
    /// whole training split, the probe's penalty chosen on a held-out fifth of its labelled subset).
    /// </summary>
    public double ValidationFraction { get; init; } = ValidationSplit.DefaultFraction;
    /// <summary>Seed of the validation split.</summary>
    public int ValidationSeed { get; init; }
    public int KnnK { get; init; } = 200;
    public double KnnTemperature { get; init; } = 0.1;
    /// <summary>Seed of the first label subset of each fraction (further subsets: SubsetSeed + 1, ...).</summary>
    public int SubsetSeed { get; init; } = 0;
    public LinearProbeOptions Probe { get; init; } = new();
    /// <summary>End-to-end supervised training on a label subset (encoder + linear head), for fine-tuning and from scratch alike.</summary>
    public SupervisedOptions Supervised { get; init; } = new();
    /// <summary>Label fractions for fine-tuning the pretrained encoder end to end (empty: only at <see cref="TrainedPerClass"/> when <see cref="FineTune"/>).</summary>
    public double[] FineTuneFractions { get; init; } = [];
    /// <summary>Fine-tune the pretrained encoder at <see cref="TrainedPerClass"/> even when <see cref="FineTuneFractions"/> is empty.</summary>
    public bool FineTune { get; init; }
    /// <summary>Label subsets per fraction under 10 % and per count per class (mean and standard deviation are reported): which few
    /// samples carry labels moves accuracy by points, so one draw is noise.</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>
    /// Images: the smallest crop of fine-tuning alone (null: <see cref="SupervisedOptions.CropScaleMin"/> of <see cref="Supervised"/>, which
    /// training from scratch keeps). The image preset fine-tunes on whole images (1.0) and trains from scratch on crops of at least half
    /// the image: each was the better on validation for that pipeline (docs/quickstart.md).
    /// </summary>
    public double? FineTuneCropScaleMin { get; init; }
    /// <summary>Encoder learning rate as a multiple of the head's when fine-tuning (0.1: the pretrained features move slowly while the random head settles).</summary>
    public double FineTuneEncoderLrScale { get; init; } = 0.1;
    /// <summary>
    /// Fine-tuning starts its head from a linear probe on the pretrained encoder's frozen features of the labelled subset, on
    /// standardised features (<see cref="SupervisedOptions.HeadFromProbe"/>, LP-FT); training from scratch is unchanged.
    /// </summary>
    public bool FineTuneFromProbe { get; init; }
    /// <summary>
    /// Score the no-learning baseline (a linear probe on raw pixels for images, on TF-IDF for text) on the same label subsets
    /// as the linear probe: what the data gives without any learning from the unlabelled samples.
    /// </summary>
    public bool Baseline { get; init; } = true;
    /// <summary>
    /// Distil each fine-tuned network, and each network trained from scratch, into a student through the unlabelled training
    /// samples (<see cref="DistillationOptions"/>), at the budgets where both run; the second is the fair baseline for the first.
    /// </summary>
    public bool Distill { get; init; }
    public DistillationOptions Distillation { get; init; } = new();
    /// <summary>
    /// Label propagation (<see cref="LabelPropagation"/>) at the frozen budgets under 10 % of the labels, on the pretrained
    /// features and on the no-learning baseline's: a pseudo-label for every unlabelled training sample, learnt by a linear probe.
    /// </summary>
    public bool Propagate { get; init; }
    /// <summary>
    /// A linear probe on the frozen features and the no-learning baseline's features side by side (each standardised), at the linear
    /// probe's budgets: a pretrained pipeline the validation split can choose, for data where a hand-made description (MFCC
    /// statistics) holds what the pretrained features miss. Needs dense baseline features (not TF-IDF).
    /// </summary>
    public bool ProbeWithBaseline { get; init; }
    /// <summary>
    /// Images: a baseline row of the 512 ImageNet features of the ResNet-18 in the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
    /// (<see cref="ImageNetResNet18"/>; images resized to 224 x 224), with the frozen encoder's probes (kNN, and the linear probe at its
    /// budgets and label subsets). Off by default: at 224 x 224 one CPU thread extracted about 15 images a second here (66 ms each, docs/evaluation.md).
    /// </summary>
    public bool ResNet18 { get; init; }
    /// <summary>Images per batch of the ResNet-18 feature extraction.</summary>
    public int ResNet18BatchSize { get; init; } = 32;
    public PropagationOptions Propagation { get; init; } = new();
    /// <summary>Evaluations beyond classification accuracy.</summary>
    public EvaluationExtras Extras { get; init; } = EvaluationExtras.None;
    public KMeansOptions Clustering { get; init; } = new();
    public AnomalyOptions Anomaly { get; init; } = new();
    /// <summary>Embedding maps (PCA, t-SNE) and diagnostics of the frozen features on a sample of the test set.</summary>
    public EmbeddingMapOptions Maps { get; init; } = new();
    /// <summary>The text evaluation (probe, fine-tuning, baselines, accuracy and F1).</summary>
    public TextEvaluationOptions Text { get; init; } = new();
    /// <summary>The series evaluation (window labels: probes, kNN, raw windows, F1 of the anomaly class).</summary>
    public SeriesEvaluationOptions Series { get; init; } = new();
    /// <summary>The table evaluation's own option (the rest is this record's general fields).</summary>
    public TableEvaluationOptions Table { get; init; } = new();
    /// <summary>The video evaluation's own options (which label the probes learn, the strip of predicted frames).</summary>
    public VideoEvaluationOptions Video { get; init; } = new();
}

/// <summary>What the video evaluation adds to the general fields of <see cref="EvaluationConfig"/>.</summary>
public sealed record VideoEvaluationOptions
{
    /// <summary>
    /// The label of a Moving MNIST clip that probes and from-scratch training learn: the first digit's class (default) or its
    /// starting direction (8 sectors). Clips from folders take their labels from class folders whatever this says.
    /// </summary>
    public Data.Video.VideoLabel Label { get; init; } = Data.Video.VideoLabel.Digit;
    /// <summary>Test clips shown in the PNG strip of true and predicted frames (methods that predict frames).</summary>
    public int StripClips { get; init; } = 3;
    /// <summary>
    /// Moving MNIST only: frames of single MNIST training digits for the frame encoder's linear probe on single digits (a validation part
    /// carved from them chooses the probes' penalties); 0 turns the probe off.
    /// </summary>
    public int SingleDigitTrainFrames { get; init; } = 6000;
    /// <summary>Frames of single MNIST test digits the single-digit probe is scored on.</summary>
    public int SingleDigitTestFrames { get; init; } = 2000;
}

/// <summary>What the table evaluation adds to the general fields of <see cref="EvaluationConfig"/>.</summary>
public sealed record TableEvaluationOptions
{
    /// <summary>Class whose F1 is reported for two-class tables (credit-g: bad; unbalanced: Active; diabetes: tested_positive); class 1 when no class has this name. More classes: macro F1.</summary>
    public string PositiveClass { get; init; } = "";
    /// <summary>Gradient-boosted trees on the raw columns beside logistic regression, at the baseline's label budgets (labels from the training part only).</summary>
    public bool GradientBoostedTrees { get; init; } = true;
    /// <summary>The trees' settings when there is no validation split (or <see cref="TreeCandidates"/> is empty).</summary>
    public TreeOptions Trees { get; init; } = new();
    /// <summary>
    /// Settings the trees choose among on the validation split, for each label subset (<see cref="GradientBoostedTrees.FitChosen"/>):
    /// 4, 15 or 31 leaves, at least 2 or 10 rows a leaf, 100 or 300 rounds, learning rate 0.1 (12 fits a subset).
    /// </summary>
    public TreeOptions[] TreeCandidates { get; init; } =
        [.. from leaves in new[] { 4, 15, 31 } from minimum in new[] { 2, 10 } from rounds in new[] { 100, 300 }
            select new TreeOptions { Leaves = leaves, MinimumLeafRows = minimum, Iterations = rounds }];
}

/// <summary>Evaluations beyond classification accuracy, combinable.</summary>
[Flags]
public enum EvaluationExtras
{
    None = 0,
    /// <summary>k-means on test embeddings (and raw inputs), NMI and ARI against the labels.</summary>
    Clustering = 1,
    /// <summary>One-class anomaly detection for each class (kNN distance, reconstruction error), AUROC and AUPRC.</summary>
    Anomaly = 2,
}

/// <summary>What the text evaluation runs, with how many labels; part of <see cref="EvaluationConfig"/>.</summary>
public sealed record TextEvaluationOptions
{
    /// <summary>Label fractions of the training documents (class-stratified subsets, the same for every model).</summary>
    public double[] Fractions { get; init; } = [1.0, 0.1, 0.01];
    /// <summary>Weighted kNN on the frozen embeddings, with all labels.</summary>
    public bool Knn { get; init; } = true;
    /// <summary>Linear probe on the frozen embeddings.</summary>
    public bool LinearProbe { get; init; } = true;
    /// <summary>Fine-tune the whole pretrained encoder with a linear classifier.</summary>
    public bool FineTune { get; init; } = true;
    /// <summary>The same encoder trained from random weights on the same labels.</summary>
    public bool FromScratch { get; init; } = true;
    /// <summary>TF-IDF of the whole documents + logistic regression.</summary>
    public bool TfIdf { get; init; } = true;
    /// <summary>Fine-tuning: AdamW at a small learning rate so the pretrained weights are adjusted, not overwritten
    /// (BERT's fine-tuning range is 2e-5 to 5e-5 for a 110M model; this small one takes 1e-4).</summary>
    public SupervisedOptions FineTuning { get; init; } = new() { Steps = 150, MinEpochs = 3, BatchSize = 32, LearningRate = 1e-4, WeightDecay = 0.01, StandardizeFeatures = true };
    /// <summary>From scratch: the same budget at the pretraining learning rate.</summary>
    public SupervisedOptions Scratch { get; init; } = new() { Steps = 150, MinEpochs = 3, BatchSize = 32, LearningRate = 5e-4, WeightDecay = 0.01 };
    public TfIdfOptions TfIdfFeatures { get; init; } = new();
    /// <summary>Class whose F1 is reported for two-class data (spam); class 1 when no class has this name. More classes: macro F1.</summary>
    public string PositiveClass { get; init; } = "spam";
}

/// <summary>
/// Semi-supervised distillation after fine-tuning (SimCLRv2, Chen et al. 2020, section 2.3): the teacher labels every
/// training sample outside the validation split with its temperature-softened distribution and a student learns from it on
/// augmented views. The student trains with its teacher's optimiser settings (learning rate, weight decay, encoder scale),
/// so text students get text's small rates. Defaults sized for 2 CPU cores: one pass over Fashion-MNIST's 50,000 (195 steps of 256).
/// </summary>
public sealed record DistillationOptions
{
    /// <summary>Passes over the unlabelled samples.</summary>
    public int Epochs { get; init; } = 1;
    public int BatchSize { get; init; } = 256;
    /// <summary>Temperature of teacher and student softmax (SimCLRv2 uses tau = 1 for self-distillation).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Seed of the student's head and sample order (the evaluation sets it to the label subset's seed).</summary>
    public int Seed { get; init; }
}

/// <summary>
/// What the series evaluation runs; part of <see cref="EvaluationConfig"/>. Windows are classified by their label (by default
/// "anomaly" when any reading in them is labelled, <c>series.label</c>), so accuracy is dominated by the normal class and F1 of
/// <see cref="PositiveClass"/> is the number to read. Counts per class come from <see cref="EvaluationConfig.PerClass"/>.
/// </summary>
public sealed record SeriesEvaluationOptions
{
    /// <summary>Label fractions of the training windows for the probes (the anomaly class is rare, so small fractions hold only a few).</summary>
    public double[] Fractions { get; init; } = [1.0, 0.1];
    /// <summary>Weighted kNN on the frozen embeddings, with all labels.</summary>
    public bool Knn { get; init; } = true;
    /// <summary>Linear probe on the frozen embeddings.</summary>
    public bool LinearProbe { get; init; } = true;
    /// <summary>The same encoder trained from random weights on the same labels (off by default: it trains one network per subset).</summary>
    public bool FromScratch { get; init; }
    /// <summary>Logistic regression on the raw normalised windows (no learning).</summary>
    public bool RawWindows { get; init; } = true;
    /// <summary>Fine-tuning and training from scratch: a short run on the few labelled windows.</summary>
    public SupervisedOptions Supervised { get; init; } = new() { Steps = 200, MinEpochs = 5, BatchSize = 64, LearningRate = 1e-3, WeightDecay = 0.01 };
    /// <summary>Class whose F1 is reported for two-class window labels; class 1 when no class has this name. More classes: macro F1.</summary>
    public string PositiveClass { get; init; } = "anomaly";
}
