using Pretext.Compute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pretext.Encoders;

/// <summary>Options of <see cref="ResNet"/>, a ResNet for small images (CIFAR-style: 3x3 stem, no max-pool).</summary>
public sealed record ResNetOptions
{
    /// <summary>Input channels: 1 for grey, 3 for RGB.</summary>
    public int InChannels { get; init; } = 1;
    /// <summary>Input height and width; only used for the contract's InputShape.</summary>
    public int ImageSize { get; init; } = 28;
    /// <summary>Channel width of each stage; stages after the first halve the resolution.</summary>
    public int[] Widths { get; init; } = [32, 64, 128, 256];
    /// <summary>Basic blocks per stage; [2,2,2,2] is the ResNet-18 layout.</summary>
    public int[] Blocks { get; init; } = [1, 1, 1, 1];
    /// <summary>Precision and memory layout.</summary>
    public ComputeOptions Compute { get; init; } = ComputeOptions.Default;
    /// <summary>
    /// The ImageNet stem (He et al. 2016): a 7x7 stride-2 convolution and a 3x3 stride-2 max-pool, so 224x224 inputs reach the
    /// first stage at 56x56; false: the small-image stem (3x3 stride 1, no pooling).
    /// </summary>
    public bool ImageNetStem { get; init; }

    /// <summary>The ResNet-18 layout for small images (He et al. 2016, CIFAR variant) at the given widths.</summary>
    public static ResNetOptions ResNet18(int inChannels = 1, int imageSize = 28) =>
        new() { InChannels = inChannels, ImageSize = imageSize, Widths = [32, 64, 128, 256], Blocks = [2, 2, 2, 2] };

    internal void Validate()
    {
        if (InChannels <= 0) throw new ArgumentException($"InChannels must be positive, got {InChannels}.");
        if (Widths.Length == 0 || Widths.Length != Blocks.Length)
            throw new ArgumentException($"Widths ({Widths.Length}) and Blocks ({Blocks.Length}) must have the same non-zero length.");
        if (Widths.Any(w => w <= 0) || Blocks.Any(b => b <= 0))
            throw new ArgumentException("Every width and block count must be positive.");
    }
}

/// <summary>Two 3x3 conv-BN layers with an identity or 1x1 projection shortcut (He et al. 2016).</summary>
internal sealed class BasicBlock : Module<Tensor, Tensor>
{
    private readonly MixedConv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly MixedConv2d? shortcutConv;
    private readonly BatchNorm2d? shortcutBn;

    public BasicBlock(int inC, int outC, int stride, ComputeOptions compute) : base(nameof(BasicBlock))
    {
        conv1 = new MixedConv2d(inC, outC, 3, stride, 1, compute);
        bn1 = BatchNorm2d(outC);
        conv2 = new MixedConv2d(outC, outC, 3, 1, 1, compute);
        bn2 = BatchNorm2d(outC);
        if (stride != 1 || inC != outC)
        {
            shortcutConv = new MixedConv2d(inC, outC, 1, stride, 0, compute);
            shortcutBn = BatchNorm2d(outC);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(conv1.ForwardWithBatchNorm(x, bn1));
        h = conv2.ForwardWithBatchNorm(h, bn2);
        var s = shortcutConv is null ? x : shortcutConv.ForwardWithBatchNorm(x, shortcutBn!);
        return functional.relu(h.add_(s)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// ResNet for small images: 3x3 stride-1 stem, no max-pool, one stage per width (stride 2 after the
/// first), global average pooling; or, with <see cref="ResNetOptions.ImageNetStem"/>, ImageNet's 7x7 stride-2 stem and 3x3
/// stride-2 max-pool. Input (B, C, H, W) fp32; output (B, Widths[^1]) fp32.
/// </summary>
public sealed class ResNet : Encoder
{
    private readonly MixedConv2d stem;
    private readonly BatchNorm2d stemBn;
    private readonly Sequential stages;
    private readonly ResNetOptions options;

    public ResNet(ResNetOptions options) : base(nameof(ResNet))
    {
        options.Validate();
        this.options = options;
        var c = options.Compute;
        stem = options.ImageNetStem ? new MixedConv2d(options.InChannels, options.Widths[0], 7, 2, 3, c) : new MixedConv2d(options.InChannels, options.Widths[0], 3, 1, 1, c);
        stemBn = BatchNorm2d(options.Widths[0]);
        var blocks = new List<(string, Module<Tensor, Tensor>)>();
        int inC = options.Widths[0];
        for (int s = 0; s < options.Widths.Length; s++)
        {
            for (int b = 0; b < options.Blocks[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                blocks.Add(($"s{s}b{b}", new BasicBlock(inC, options.Widths[s], stride, c)));
                inC = options.Widths[s];
            }
        }
        stages = Sequential(blocks);
        RegisterComponents();
        // Zero-init the last BN gamma of each residual branch (Goyal et al. 2017): blocks start as identity.
        using (no_grad())
            foreach (var m in stages.children().OfType<BasicBlock>())
                ((BatchNorm2d)m.named_children().First(n => n.name == "bn2").module).weight!.zero_();
    }

    public ResNetOptions Options => options;
    public override int FeatureDim => options.Widths[^1];
    public override long[] InputShape => [options.InChannels, options.ImageSize, options.ImageSize];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var c = options.Compute;
        var h = c.ToLayout(x.dtype == c.ComputeType ? x : x.to(c.ComputeType));
        h = functional.relu(stem.ForwardWithBatchNorm(h, stemBn));
        if (options.ImageNetStem) h = functional.max_pool2d(h, [3L, 3L], [2L, 2L], [1L, 1L]);
        h = stages.forward(h);
        h = h.mean([2L, 3L]);
        return (h.dtype == ScalarType.Float32 ? h : h.to(ScalarType.Float32)).MoveToOuterDisposeScope();
    }
}
