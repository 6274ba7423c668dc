using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>Options of <see cref="MlpEncoder"/>.</summary>
public sealed record MlpOptions
{
    /// <summary>Shape of one sample; it is flattened to prod(InputShape) inputs.</summary>
    public long[] InputShape { get; init; } = [784];
    /// <summary>Hidden widths; the last one is the feature width.</summary>
    public int[] Hidden { get; init; } = [512, 256];
}

/// <summary>Flatten then Linear-BN-ReLU layers. Input (B, ...) ; output (B, Hidden[^1]).</summary>
public sealed class MlpEncoder : Encoder
{
    private readonly Sequential body;
    private readonly MlpOptions options;

    public MlpEncoder(MlpOptions options) : base(nameof(MlpEncoder))
    {
        if (options.Hidden.Length == 0 || options.Hidden.Any(h => h <= 0)) throw new ArgumentException("MLP needs at least one positive hidden width.");
        this.options = options;
        long inF = options.InputShape.Aggregate(1L, (a, b) => a * b);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        for (int i = 0; i < options.Hidden.Length; i++)
        {
            layers.Add(($"fc{i}", Linear(inF, options.Hidden[i])));
            layers.Add(($"bn{i}", BatchNorm1d(options.Hidden[i])));
            layers.Add(($"act{i}", ReLU()));
            inF = options.Hidden[i];
        }
        body = Sequential(layers);
        RegisterComponents();
    }

    public override int FeatureDim => options.Hidden[^1];
    public override long[] InputShape => options.InputShape;
    public override Tensor forward(Tensor x) => body.forward(x.flatten(1));
}
