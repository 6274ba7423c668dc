using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Training;

/// <summary>
/// Parameters optimised alike. Weight decay and LARS trust-ratio adaptation apply only where
/// <see cref="WeightDecay"/> is true; biases and normalisation scales are excluded, as in SimCLR
/// (Chen et al. 2020, appendix B.1) and LARS practice (You et al. 2017).
/// </summary>
/// <param name="Name">Stable name, used as the checkpoint key prefix of optimiser state.</param>
/// <param name="Parameters">(name, parameter) pairs.</param>
/// <param name="WeightDecay">Whether weight decay (and LARS adaptation) applies.</param>
/// <param name="LrScale">Multiplier on the scheduled learning rate.</param>
/// <param name="DecayLr">False: the group follows the warmup but then keeps the peak learning rate instead of
/// decaying with the schedule (SimSiam's predictor, Chen and He 2021, section 4.2 and Table 1).</param>
public sealed record ParameterGroup(string Name, IReadOnlyList<(string Name, Parameter Parameter)> Parameters, bool WeightDecay, double LrScale = 1.0, bool DecayLr = true)
{
    /// <summary>Splits parameters into "decay" (matrices and conv kernels) and "no_decay" (1-D: biases, norms).</summary>
    public static IReadOnlyList<ParameterGroup> SplitDecay(IEnumerable<(string name, Parameter parameter)> named, string prefix = "", bool decayLr = true)
    {
        var decay = new List<(string, Parameter)>();
        var noDecay = new List<(string, Parameter)>();
        foreach (var (name, p) in named)
        {
            if (!p.requires_grad) continue;
            (p.dim() <= 1 ? noDecay : decay).Add((name, p));
        }
        return [new ParameterGroup(prefix + "decay", decay, true, DecayLr: decayLr), new ParameterGroup(prefix + "no_decay", noDecay, false, DecayLr: decayLr)];
    }
}
