using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods.Shared;

/// <summary>
/// A per-sample random patch mask (MAE, He et al. 2022, section 3 "random sampling"): which patch
/// tokens an encoder sees and which it must reconstruct.
/// </summary>
/// <param name="Keep">(B, K) int64 indices of the visible patches, in the order the encoder sees them.</param>
/// <param name="Restore">(B, N) int64: position of each original patch in [visible..., masked...]; gathering by it undoes the shuffle.</param>
/// <param name="Mask">(B, N) fp32: 1 where the patch is masked, 0 where visible.</param>
public sealed record PatchMask(Tensor Keep, Tensor Restore, Tensor Mask)
{
    public int Visible => (int)Keep.shape[1];
    public int Patches => (int)Mask.shape[1];
}

/// <summary>Random patch masking: every sample gets its own uniformly random subset of exactly round(ratio * N) masked patches.</summary>
public static class PatchMasking
{
    /// <summary>Masked patches out of <paramref name="patches"/> for <paramref name="ratio"/>: round(ratio * N), half away from zero.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The ratio would mask no patch or every patch.</exception>
    public static int MaskedCount(int patches, double ratio)
    {
        if (!(ratio > 0 && ratio < 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "The mask ratio must lie strictly between 0 and 1 (MAE uses 0.75).");
        int masked = (int)Math.Round(ratio * patches, MidpointRounding.AwayFromZero);
        if (masked < 1 || masked > patches - 1)
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, $"A mask ratio of {ratio} masks {masked} of {patches} patches; at least one must be masked and one visible. Change the ratio or the patch size.");
        return masked;
    }

    /// <summary>
    /// Draws a mask for <paramref name="batch"/> samples of <paramref name="patches"/> patches from
    /// <paramref name="generator"/> (a CPU generator): each sample's patches are ranked by uniform
    /// noise and the lowest N - round(ratio * N) stay visible. Same generator state, same mask.
    /// The tensors are created on <paramref name="device"/> (CPU when null).
    /// </summary>
    public static PatchMask Draw(long batch, int patches, double ratio, Generator generator, Device? device = null)
    {
        int keep = patches - MaskedCount(patches, ratio);
        using var scope = NewDisposeScope();
        var noise = rand(batch, patches, generator: generator);
        var shuffle = noise.argsort(1);
        var restore = shuffle.argsort(1);
        var keepIds = shuffle.narrow(1, 0, keep);
        // Mask in shuffled order is [0]*keep + [1]*masked; unshuffling puts each flag at its patch.
        var shuffledMask = cat([zeros(batch, keep), ones(batch, patches - keep)], 1);
        var mask = shuffledMask.gather(1, restore);
        if (device is not null && device.type != DeviceType.CPU)
        {
            keepIds = keepIds.to(device); restore = restore.to(device); mask = mask.to(device);
        }
        return new PatchMask(keepIds.contiguous().MoveToOuterDisposeScope(), restore.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }
}
