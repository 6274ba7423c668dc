using Pretext.Encoders;
using Pretext.Heads;
using Pretext.Losses;
using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods;

public sealed partial record MethodSettings
{
    /// <summary>SimCLR's options.</summary>
    public SimClrOptions SimClr { get; init; } = new();
}

/// <summary>Options of <see cref="SimClr"/>.</summary>
public sealed record SimClrOptions
{
    /// <summary>Hidden width of the projection head; 0 means the encoder's feature width (paper, section 2.1).</summary>
    public int ProjectionHiddenDim { get; init; }
    /// <summary>Width of z; 128 in the paper (section B.4).</summary>
    public int ProjectionDim { get; init; } = 128;
    /// <summary>NT-Xent temperature tau.</summary>
    public double Temperature { get; init; } = 0.5;
}

/// <summary>
/// SimCLR (Chen et al. 2020): two augmented views of each sample, encoder f, projection head g,
/// NT-Xent between g(f(v1)) and g(f(v2)) with the rest of the batch as negatives.
/// </summary>
public sealed class SimClr : nn.Module, ISslMethod
{
    /// <summary>
    /// SimCLR's defaults on top of a data set's base preset: temperature 0.2 (the base image recipe's learning rate
    /// and batch were tuned with it; the paper's table 5 finds 0.1-0.5 best depending on batch size) and a
    /// 128-wide projection (section B.4).
    /// </summary>
    public static MethodSetup Preset(MethodSetup cfg) => cfg with { Methods = cfg.Methods with { SimClr = cfg.Methods.SimClr with { Temperature = 0.2, ProjectionDim = 128 } } };

    private readonly Encoder encoder;
    private readonly SimClrProjectionHead projector;
    private readonly NtXentLoss loss;

    public SimClr(Encoder encoder, SimClrOptions? options = null) : base(nameof(SimClr))
    {
        options ??= new SimClrOptions();
        this.encoder = encoder;
        int hidden = options.ProjectionHiddenDim > 0 ? options.ProjectionHiddenDim : encoder.FeatureDim;
        projector = new SimClrProjectionHead(encoder.FeatureDim, hidden, options.ProjectionDim);
        loss = new NtXentLoss(options.Temperature);
        Options = options;
        RegisterComponents();
    }

    public SimClrOptions Options { get; }
    public string Name => "simclr";
    public int ViewCount => 2;
    public Encoder Encoder => encoder;
    public nn.Module Module => this;

    public IReadOnlyList<ParameterGroup> ParameterGroups() => ParameterGroup.SplitDecay(this.named_parameters());

    public StepOutput ComputeLoss(Batch batch, TrainingProgress progress)
    {
        if (batch.Views.Count != 2) throw new ArgumentException($"SimCLR needs 2 views per sample, got {batch.Views.Count}.");
        // The two views go through the encoder separately so batch-norm statistics are per view
        // (measured faster than one concatenated batch on CPU, FACTS).
        // Same-entity positives (Batch.Partners): the second view is of another image of the same entity (MICLe, Azizi et al. 2021).
        var second = batch.Partners is { Count: 2 } partners ? partners[1] : batch.Views[1];
        var z1 = projector.forward(encoder.forward(batch.Views[0]));
        var z2 = projector.forward(encoder.forward(second));
        return new StepOutput(loss.Compute(z1, z2), z1, z2);
    }
}
