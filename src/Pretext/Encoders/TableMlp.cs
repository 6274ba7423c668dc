using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>
/// MLP over table rows with one learned embedding per categorical column (Guo and Berkhahn 2016, "entity embeddings"): the standardised
/// numbers and their missing indicators are concatenated with each category's embedding, then Linear-BN-ReLU layers. Input (B, F) fp32 as
/// <see cref="TableEncoderConfig"/> lays it out; output (B, Hidden[^1]).
/// </summary>
public sealed class TableMlp : Encoder
{
    private readonly ModuleList<Embedding> embeddings;
    private readonly Sequential body;
    private readonly TableEncoderConfig config;

    /// <exception cref="ArgumentException">An invalid shape (<see cref="TableEncoderConfig.Validate"/>).</exception>
    public TableMlp(TableEncoderConfig config) : base(nameof(TableMlp))
    {
        config.Validate();
        this.config = config;
        embeddings = new ModuleList<Embedding>([.. config.Cardinalities.Select(c => Embedding(c, config.EmbeddingWidth(c)))]);
        long inF = 2L * config.Numeric + config.Cardinalities.Sum(config.EmbeddingWidth);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        for (int i = 0; i < config.Hidden.Length; i++)
        {
            layers.Add(($"fc{i}", Linear(inF, config.Hidden[i])));
            layers.Add(($"bn{i}", BatchNorm1d(config.Hidden[i])));
            layers.Add(($"act{i}", ReLU()));
            if (config.Dropout > 0) layers.Add(($"drop{i}", Dropout(config.Dropout)));
            inF = config.Hidden[i];
        }
        body = Sequential(layers);
        RegisterComponents();
    }

    public override int FeatureDim => config.Hidden[^1];
    public override long[] InputShape => [config.Width];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        int nn = 2 * config.Numeric, nc = config.Cardinalities.Length;
        var parts = new List<Tensor>(nc + 1);
        if (nn > 0) parts.Add(x.narrow(1, 0, nn));
        if (nc > 0)
        {
            // Codes arrive as floats; out-of-range codes (a table with a larger vocabulary than the model's) fall into the unknown bucket.
            var codes = x.narrow(1, nn, nc).round().to(ScalarType.Int64);
            for (int k = 0; k < nc; k++)
            {
                var c = codes.select(1, k);
                c = c.where(c.ge(0).logical_and(c.lt(config.Cardinalities[k])), zeros_like(c));
                parts.Add(embeddings[k].forward(c));
            }
        }
        return body.forward(cat(parts, 1)).MoveToOuterDisposeScope();
    }
}
