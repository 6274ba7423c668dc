using Pretext.Augmentations;
using Pretext.Data;
using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Evaluation;

/// <summary>
/// Supervised classification as a <see cref="Trainer"/> task: an encoder plus a fresh linear head, cross-entropy
/// on the labels of the data the loop trains on. Fine-tuning and training from scratch are this task with
/// different starting weights and encoder learning-rate scale (<see cref="SupervisedTraining"/>). The encoder
/// belongs to the caller: disposing the task disposes the head only.
/// </summary>
public sealed class SupervisedClassifier : ITrainingTask
{
    private readonly Encoder encoder;
    private readonly MlpHead head;
    private readonly EncoderWithHead module;
    private readonly double encoderLrScale;
    private readonly Normalize? normalize;
    private readonly bool standardizeFeatures;
    private readonly bool headFromProbe;
    private readonly int numClasses;
    private readonly nn.Module[] frozenNorms;
    private int[]? labels;
    private Tensor? mean, std;
    private Tensor? softTargets;
    private double temperature = 1;

    /// <summary>Builds the head, drawing its initial weights from torch's global generator (seed it first).</summary>
    /// <param name="encoder">Trained in place; (B, ...) -> (B, FeatureDim).</param>
    /// <param name="numClasses">Width of the head's output.</param>
    /// <param name="encoderLrScale">The encoder's learning rate as a multiple of the head's (0 freezes it).</param>
    /// <param name="normalize">Applied to raw samples before the encoder when features are measured (standardisation,
    /// prediction); null for inputs that take none (tokens).</param>
    /// <param name="standardizeFeatures">Standardise the features the head sees with their mean and std over the training data,
    /// measured once by <see cref="Prepare"/> on the starting encoder (<see cref="SupervisedOptions.StandardizeFeatures"/>).</param>
    /// <param name="freezeNorms">Keep the encoder's batch-norm layers in evaluation mode during training (<see cref="SupervisedOptions.FreezeNorms"/>).</param>
    /// <param name="headFromProbe">Start the head from a linear probe fitted by <see cref="Prepare"/> on the starting encoder's features, which it
    /// then standardises as that probe does (<see cref="SupervisedOptions.HeadFromProbe"/>).</param>
    public SupervisedClassifier(Encoder encoder, int numClasses, double encoderLrScale, Normalize? normalize, bool standardizeFeatures, bool freezeNorms = false,
        bool headFromProbe = false)
    {
        frozenNorms = freezeNorms
            ? [.. encoder.modules().Where(m => m is TorchSharp.Modules.BatchNorm1d or TorchSharp.Modules.BatchNorm2d)]
            : [];
        this.encoder = encoder;
        this.encoderLrScale = encoderLrScale;
        this.normalize = normalize;
        this.standardizeFeatures = standardizeFeatures;
        this.headFromProbe = headFromProbe;
        this.numClasses = numClasses;
        head = new MlpHead(encoder.FeatureDim, [], numClasses, name: "classifier");
        module = new EncoderWithHead(encoder, head);
    }

    /// <summary>
    /// Train on <paramref name="probabilities"/> (N, classes), a teacher's temperature-softened predictions for every sample of
    /// the data the loop trains on, instead of labels: the loss becomes the cross-entropy of the teacher's distribution with
    /// the head's softmax at <paramref name="temperatureOfStudent"/> (SimCLRv2's distillation loss, Chen et al. 2020, eq. 3).
    /// The tensor stays the caller's.
    /// </summary>
    public SupervisedClassifier WithSoftTargets(Tensor probabilities, double temperatureOfStudent)
    {
        if (!(temperatureOfStudent > 0)) throw new ArgumentOutOfRangeException(nameof(temperatureOfStudent), temperatureOfStudent, "The distillation temperature must be positive.");
        softTargets = probabilities;
        temperature = temperatureOfStudent;
        return this;
    }

    public string Name => "supervised";
    public int ViewCount => 1;
    /// <summary>Cross-entropy is defined on a single sample; a labelled subset smaller than the batch trains in one batch of all of it.</summary>
    public int MinBatchSize => 1;
    public nn.Module Module => module;

    /// <summary>The encoder's two groups at <c>encoderLrScale</c>, then the head's, each split into decay and no-decay.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups() =>
        ParameterGroup.SplitDecay(encoder.named_parameters(), "encoder.")
            .Select(g => g with { LrScale = encoderLrScale })
            .Concat(ParameterGroup.SplitDecay(head.named_parameters(), "head."))
            .ToList();

    /// <summary>Reads the labels of <paramref name="data"/> and, when asked, measures the feature statistics on it.</summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> has no labels.</exception>
    public void Prepare(IDataset data)
    {
        if (softTargets is not null && softTargets.shape[0] != data.Count)
            throw new ArgumentException($"{softTargets.shape[0]} soft targets for the {data.Count} samples of '{data.Name}'.");
        labels = softTargets is not null ? [] : data.Labels ?? throw new ArgumentException($"Supervised training needs labelled data; '{data.Name}' has no labels.");
        if (headFromProbe && softTargets is not null) throw new InvalidOperationException("A head started from a linear probe needs labels, not a teacher's soft targets.");
        if (!standardizeFeatures && !headFromProbe) return;
        using var scope = NewDisposeScope();
        using var f = Features.Extract(encoder, data, normalize);
        mean?.Dispose(); std?.Dispose();
        if (headFromProbe)
        {
            // The probe's penalty is chosen on a held-out fifth of the labelled subset: nothing outside it is read here.
            using var probe = LinearProbe.Train(f, labels, numClasses, new LinearProbeOptions());
            using var noGrad = no_grad();
            var state = head.state_dict();
            state["layers.out.weight"].copy_(probe.Weight.t());
            state["layers.out.bias"].copy_(probe.Bias);
            mean = probe.Mean!.clone().MoveToOuterDisposeScope();
            std = probe.Std!.clone().MoveToOuterDisposeScope();
            return;
        }
        var (m, s) = Features.Moments(f);
        mean = m.MoveToOuterDisposeScope();
        std = s.MoveToOuterDisposeScope();
    }

    /// <summary>Cross-entropy of the head's logits on the one view (B, ...); the embedding is the encoder's (B, D) features.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Prepare"/> has not run (supervised runs do not resume).</exception>
    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (labels is null) throw new InvalidOperationException("Supervised training starts at step 0: Prepare reads the labels.");
        foreach (var norm in frozenNorms) norm.eval();   // the loop put the whole module in training mode
        var features = encoder.forward(batch.Views[0]);
        var logits = Logits(features).to(ScalarType.Float32);
        if (softTargets is not null)
        {
            using var ix = tensor(batch.Indices);
            var p = softTargets.index_select(0, ix);
            var loss = p.mul(nn.functional.log_softmax(logits.div(temperature), 1)).sum(1).mean().neg();
            return new StepOutput(loss, features);
        }
        var y = tensor(batch.Indices.Select(i => (long)labels[i]).ToArray());
        return new StepOutput(nn.functional.cross_entropy(logits, y), features);
    }

    /// <summary>The predicted class of every sample of <paramref name="data"/>, with the head in evaluation mode.</summary>
    public int[] Predict(IDataset data)
    {
        using var logits = Logits(data);
        return Features.Classes(logits);
    }

    /// <summary>(N, classes) fp32 logits of every sample of <paramref name="data"/>, with the head in evaluation mode.</summary>
    public Tensor Logits(IDataset data)
    {
        head.eval();
        using var feats = Features.Extract(encoder, data, normalize);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return Logits(feats).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    private Tensor Logits(Tensor features) => head.forward(mean is null || std is null ? features : features.sub(mean).div(std));

    public void Dispose()
    {
        module.Dispose();
        mean?.Dispose(); std?.Dispose();
    }

    /// <summary>The root module: the caller's encoder and the task's head, so one train() and state_dict cover both.</summary>
    private sealed class EncoderWithHead : nn.Module
    {
        private readonly Encoder encoder;
        private readonly MlpHead head;

        public EncoderWithHead(Encoder encoder, MlpHead head) : base(nameof(SupervisedClassifier))
        {
            this.encoder = encoder;
            this.head = head;
            RegisterComponents();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                head.Dispose();
                // The encoder belongs to the caller; unregistered, the base disposes this module's own handle only.
                ClearModules();
            }
            base.Dispose(disposing);
        }
    }
}
