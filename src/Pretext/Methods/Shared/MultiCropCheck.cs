using Pretext.Augmentations;
using Pretext.Compute;
using Pretext.Encoders;
using static TorchSharp.torch;

namespace Pretext.Methods.Shared;

/// <summary>What the multi-crop methods (SwAV, DINO) check of their encoder before training.</summary>
public static class MultiCropCheck
{
    /// <summary>
    /// Checks that <paramref name="encoder"/> maps local crops to features, by one forward pass of two blank
    /// crops in evaluation mode (no statistics change). Encoders with global pooling (ResNet) take any size;
    /// encoders that flatten a fixed-size input (Mlp) cannot.
    /// </summary>
    /// <exception cref="ArgumentException">The encoder does not take the crops; the message says how to fix the config.</exception>
    public static void CheckEncoder(Encoder encoder, MultiCropOptions crops, string where)
    {
        if (crops.LocalCount == 0) return;
        var shape = encoder.InputShape;
        if (shape.Length != 3)
            throw new ArgumentException($"{where}: multi-crop makes image crops, but the encoder takes samples of shape [{string.Join(",", shape)}]. Use --set {where}.localCount=0.");
        int size = crops.LocalSizeFor((int)shape[2]);
        try
        {
            using var mode = ModeScope.Eval(encoder);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var f = encoder.forward(zeros(2, shape[0], size, size));
            if (f.dim() != 2 || f.shape[0] != 2 || f.shape[1] != encoder.FeatureDim) throw new InvalidOperationException($"got features of shape [{string.Join(",", f.shape)}]");
        }
        catch (Exception e)
        {
            throw new ArgumentException($"{where}: the {encoder.GetType().Name} encoder cannot take {size}x{size} local crops ({e.Message.Split('\n')[0]}). " +
                $"Use --encoder ResNet (global average pooling takes any crop size) or --set {where}.localCount=0.", e);
        }
    }
}
