using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// The loss of masked spectrogram modelling: the mean squared error between predicted and true (standardised) log-mel values,
/// over the frames of the masked tokens only (Mockingjay, Liu et al. 2020, reconstructs masked frames; MAE-AST, Baade et al.
/// 2022, scores masked patches only).
/// </summary>
public static class MaskedFrameLoss
{
    /// <summary>
    /// (B, tokens, framesPerToken x mels) targets from (B, mels, frames) log-mels: token n holds frames n x framesPerToken onward, each
    /// frame's mels together (frame-major), the order a token's prediction is laid out in.
    /// </summary>
    /// <exception cref="ArgumentException">Not (B, mels, frames), or fewer frames than the tokens cover.</exception>
    public static Tensor Targets(Tensor spectrogram, int framesPerToken, long tokens)
    {
        if (spectrogram.dim() != 3 || spectrogram.shape[2] < tokens * framesPerToken)
            throw new ArgumentException($"Masked frame targets need log-mels (B, mels, at least {tokens * framesPerToken} frames), got [{LossChecks.Shape(spectrogram)}].");
        long b = spectrogram.shape[0], mels = spectrogram.shape[1];
        return spectrogram.narrow(2, 0, tokens * framesPerToken).transpose(1, 2).reshape(b, tokens, framesPerToken * mels);
    }

    /// <summary>The scalar loss of <paramref name="prediction"/> (B, tokens, framesPerToken x mels) against <paramref name="spectrogram"/>
    /// (B, mels, frames) where <paramref name="tokenMask"/> (B, tokens) is true; 0 when nothing is masked.</summary>
    /// <exception cref="ArgumentException">Shapes that do not fit.</exception>
    public static Tensor Compute(Tensor prediction, Tensor spectrogram, Tensor tokenMask, int framesPerToken)
    {
        if (prediction.dim() != 3 || tokenMask.dim() != 2 || tokenMask.shape[0] != prediction.shape[0] || tokenMask.shape[1] != prediction.shape[1])
            throw new ArgumentException($"Masked frame loss: prediction (B, tokens, values) and mask (B, tokens) must agree, got [{LossChecks.Shape(prediction)}] and [{LossChecks.Shape(tokenMask)}].");
        using var scope = NewDisposeScope();
        var target = Targets(spectrogram.to(ScalarType.Float32), framesPerToken, prediction.shape[1]);
        return ReconstructionLoss.MaskedMse(prediction.to(ScalarType.Float32), target, tokenMask.unsqueeze(-1)).MoveToOuterDisposeScope();
    }
}
