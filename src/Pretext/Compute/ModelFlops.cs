namespace Pretext.Compute;

/// <summary>
/// Floating-point operations of the image training step, counted from the encoder layout: the numerator of model-FLOPs
/// utilisation (MFU: achieved FLOP/s over the machine's measured matrix-multiply peak, as nanoGPT's estimate_mfu reports it).
/// Only convolutions and linear layers count (a multiply-add is 2 FLOPs; batch norm, ReLU, pooling, biases, the loss and
/// the optimiser are left out: together a few percent, and no matrix unit runs them). The backward pass costs twice the
/// forward (gradients for the inputs and for the weights) except in the first layer, whose input needs no gradient.
/// </summary>
public static class ModelFlops
{
    /// <summary>Side of the output of a convolution with kernel <paramref name="kernel"/>, stride and padding on a <paramref name="side"/>-pixel input.</summary>
    public static int ConvOutputSide(int side, int kernel, int stride, int padding) => (side + 2 * padding - kernel) / stride + 1;

    /// <summary>
    /// Forward FLOPs of one image through the layout of the ResNet in Encoders/ResNet.cs (3x3 stride-1 stem, basic blocks, stride 2 at
    /// the first block of every stage after the first, a 1x1 projection shortcut where the shape changes), and of its stem alone.
    /// </summary>
    /// <exception cref="ArgumentException">Widths and blocks differ in length or hold a non-positive entry, or a size is not positive.</exception>
    public static (double Total, double Stem) ResNetForward(int inChannels, int imageSize, IReadOnlyList<int> widths, IReadOnlyList<int> blocks)
    {
        if (inChannels <= 0 || imageSize <= 0) throw new ArgumentException($"Input channels ({inChannels}) and image size ({imageSize}) must be positive.");
        if (widths.Count == 0 || widths.Count != blocks.Count || widths.Any(w => w <= 0) || blocks.Any(b => b <= 0))
            throw new ArgumentException($"Widths [{string.Join(",", widths)}] and blocks [{string.Join(",", blocks)}] must be positive and of the same non-zero length.");
        static double Conv(int cin, int cout, int k, int outSide) => 2.0 * cin * cout * k * k * outSide * outSide;
        int side = imageSize;
        double stem = Conv(inChannels, widths[0], 3, side);
        double total = stem;
        int c = widths[0];
        for (int s = 0; s < widths.Count; s++)
        {
            for (int b = 0; b < blocks[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                int outSide = ConvOutputSide(side, 3, stride, 1);
                total += Conv(c, widths[s], 3, outSide) + Conv(widths[s], widths[s], 3, outSide);
                if (stride != 1 || c != widths[s]) total += Conv(c, widths[s], 1, outSide);
                side = outSide;
                c = widths[s];
            }
        }
        return (total, stem);
    }

    /// <summary>Forward FLOPs of one row through an MLP head of the given widths (input, hidden..., output).</summary>
    public static double MlpForward(IReadOnlyList<int> dims)
    {
        double f = 0;
        for (int i = 0; i + 1 < dims.Count; i++) f += 2.0 * dims[i] * dims[i + 1];
        return f;
    }

    /// <summary>
    /// FLOPs of one SimCLR training step per image (two views, each forward and backward through the ResNet and the projection
    /// head <c>featureDim -> hidden -> projectionDim</c>); multiply by the batch size for a step.
    /// </summary>
    public static double SimClrTrainingPerImage(int inChannels, int imageSize, IReadOnlyList<int> widths, IReadOnlyList<int> blocks, int projectionHidden, int projectionDim)
    {
        var (encoder, stem) = ResNetForward(inChannels, imageSize, widths, blocks);
        double forward = encoder + MlpForward([widths[^1], projectionHidden, projectionDim]);
        return 2 * (3 * forward - stem);
    }
}
