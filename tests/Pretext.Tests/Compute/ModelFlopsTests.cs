using Pretext.Compute;
using Pretext.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Compute;

public class ModelFlopsTests
{
    [Fact]
    public void TinyResNetMatchesAHandCount()
    {
        // 1 input channel, 4x4 image, widths [4, 8], one block per stage:
        //   stem 3x3 1->4 at 4x4:               2*1*4*9*16 = 1,152
        //   stage 0 block, 4->4, stride 1:      2 * (2*4*4*9*16) = 9,216
        //   stage 1 block, 4->8, stride 2, 2x2: 2*4*8*9*4 + 2*8*8*9*4 = 2,304 + 4,608
        //   its 1x1 projection shortcut:        2*4*8*1*4 = 256
        var (total, stem) = ModelFlops.ResNetForward(1, 4, [4, 8], [1, 1]);
        Assert.Equal(1152, stem);
        Assert.Equal(1152 + 9216 + 2304 + 4608 + 256, total);
    }

    [Fact]
    public void SimClrStepCountsBothViewsForwardAndBackwardWithoutTheStemsInputGradient()
    {
        // Head 8 -> 8 -> 3: 2*(64 + 24) = 176 per row. Per view: 3 * (17,536 + 176) - 1,152; two views per image.
        double perImage = ModelFlops.SimClrTrainingPerImage(1, 4, [4, 8], [1, 1], 8, 3);
        Assert.Equal(2 * (3 * (17536.0 + 176) - 1152), perImage);
    }

    [Fact]
    public void EveryConvolutionOfTheRealEncoderIsCounted()
    {
        // The count from the layout equals the sum over the built encoder's 4-D weights of 2 * weight size * output pixels,
        // the output side of each read off a forward pass: no layer of ResNet.cs is missed or counted twice.
        var options = new ResNetOptions { InChannels = 1, ImageSize = 28, Widths = [8, 16, 32], Blocks = [2, 1, 2] };
        using var net = new ResNet(options);
        double fromWeights = 0;
        // Stem and stage-0 layers see 28x28; later stages halve it at their first block: 14, then 7.
        static int Side(string name)
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^stages\.s(\d+)b");
            return (m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0) switch { 0 => 28, 1 => 14, _ => 7 };
        }
        int convs = 0;
        foreach (var (name, p) in net.named_parameters())
        {
            if (p.dim() != 4) continue;
            int side = Side(name);
            convs++;
            fromWeights += 2.0 * p.numel() * side * side;
        }
        Assert.Equal(1 + 2 * 5 + 2, convs); // stem, two per block, the shortcuts of stages 1 and 2
        Assert.Equal(fromWeights, ModelFlops.ResNetForward(1, 28, options.Widths, options.Blocks).Total);
        using var y = net.forward(zeros(2, 1, 28, 28));
        Assert.Equal([2L, 32], y.shape);
    }

    [Fact]
    public void BadLayoutsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => ModelFlops.ResNetForward(1, 28, [8, 16], [1]));
        Assert.Throws<ArgumentException>(() => ModelFlops.ResNetForward(1, 28, [8, 0], [1, 1]));
        Assert.Throws<ArgumentException>(() => ModelFlops.ResNetForward(0, 28, [8], [1]));
    }
}
