using Pretext.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Methods.Shared;

/// <summary>
/// The momentum (EMA) teacher shared by BYOL, MoCo and DINO: a method declares (online, target) module
/// pairs of identical architecture; the target starts as a copy of the online module, takes no
/// gradients, and after every optimiser step moves towards it:
/// target = m * target + (1 - m) * online, with m raised from <see cref="BaseMomentum"/> to
/// <see cref="FinalMomentum"/> on a cosine schedule over training (BYOL, Grill et al. 2020, section 3.2).
/// Buffers (batch-norm running statistics) are copied from the online module, as the reference
/// implementations do. The target modules stay registered in the method, so checkpoints carry them.
/// </summary>
public sealed class MomentumTeacher
{
    private readonly List<(nn.Module Online, nn.Module Target)> pairs = [];
    private readonly HashSet<IntPtr> targetParameters = [];

    /// <param name="baseMomentum">m at the first step (BYOL 0.996, MoCo 0.999, DINO 0.996).</param>
    /// <param name="finalMomentum">m at the last step (1.0 in BYOL and DINO; equal to the base for a constant m as in MoCo v2).</param>
    public MomentumTeacher(double baseMomentum, double finalMomentum = 1.0)
    {
        if (!(baseMomentum >= 0 && baseMomentum <= 1) || !(finalMomentum >= 0 && finalMomentum <= 1))
            throw new ArgumentOutOfRangeException(nameof(baseMomentum), $"({baseMomentum}, {finalMomentum})", "Momenta must lie in [0, 1].");
        BaseMomentum = baseMomentum;
        FinalMomentum = finalMomentum;
    }

    public double BaseMomentum { get; }
    public double FinalMomentum { get; }

    /// <summary>Declares a pair: copies <paramref name="online"/>'s parameters and buffers into <paramref name="target"/> and freezes the target.</summary>
    /// <exception cref="ArgumentException">The two modules differ in parameter names or shapes.</exception>
    public void Track(nn.Module online, nn.Module target)
    {
        var o = online.named_parameters().ToList();
        var t = target.named_parameters().ToList();
        if (o.Count != t.Count || o.Zip(t).Any(p => p.First.name != p.Second.name || !p.First.parameter.shape.SequenceEqual(p.Second.parameter.shape)))
            throw new ArgumentException("Online and target modules of a momentum teacher must have the same architecture.");
        using (no_grad())
        {
            foreach (var ((_, op), (_, tp)) in o.Zip(t))
            {
                tp.copy_(op);
                tp.requires_grad = false;
                targetParameters.Add(tp.Handle);
            }
            CopyBuffers(online, target);
        }
        pairs.Add((online, target));
    }

    /// <summary>
    /// The pairs of <paramref name="named"/> that belong to no declared target: what the optimiser may
    /// update. Targets move only by the EMA, so a method builds its parameter groups from this.
    /// </summary>
    public IEnumerable<(string name, TorchSharp.Modules.Parameter parameter)> ExcludeTargets(IEnumerable<(string name, TorchSharp.Modules.Parameter parameter)> named) =>
        named.Where(p => !targetParameters.Contains(p.parameter.Handle));

    /// <summary>m at <paramref name="progress"/>: final - (final - base) * (cos(pi * t / T) + 1) / 2.</summary>
    public double MomentumAt(TrainingProgress progress) =>
        FinalMomentum - (FinalMomentum - BaseMomentum) * (Math.Cos(Math.PI * progress.Fraction) + 1) / 2;

    /// <summary>One EMA update of every declared target; call from <see cref="ITrainingTask.AfterOptimizerStep"/>.</summary>
    public void Update(TrainingProgress progress) => Update(MomentumAt(progress));

    /// <summary>One EMA update with an explicit momentum.</summary>
    public void Update(double momentum)
    {
        using var noGrad = no_grad();
        foreach (var (online, target) in pairs)
        {
            foreach (var ((_, op), (_, tp)) in online.named_parameters().Zip(target.named_parameters()))
                tp.mul_(momentum).add_(op, alpha: 1 - momentum);
            CopyBuffers(online, target);
        }
    }

    private static void CopyBuffers(nn.Module online, nn.Module target)
    {
        foreach (var ((_, ob), (_, tb)) in online.named_buffers().Zip(target.named_buffers()))
            tb.copy_(ob);
    }
}
