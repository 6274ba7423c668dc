using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pretext.Training;

/// <summary>Optimisation algorithm.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with (optionally Nesterov) momentum and coupled L2 weight decay.</summary>
    Sgd,
    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter 2019).</summary>
    AdamW,
    /// <summary>
    /// LARS (You et al. 2017): SGD momentum with a per-layer trust ratio eta*||w||/||g + wd*w||, applied
    /// to the weight-decay group only, as SimCLR does for large batches (Chen et al. 2020, section B.1).
    /// </summary>
    Lars,
}

/// <summary>Optimiser hyper-parameters; one documented default per knob.</summary>
public sealed record OptimizerOptions
{
    public OptimizerKind Kind { get; init; } = OptimizerKind.Lars;
    /// <summary>Weight decay for the decay group (SimCLR: 1e-6 with LARS; typical AdamW: 0.05).</summary>
    public double WeightDecay { get; init; } = 1e-6;
    /// <summary>Momentum for SGD/LARS.</summary>
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; }
    /// <summary>Adam betas.</summary>
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>LARS trust coefficient eta (SimCLR uses 0.001).</summary>
    public double LarsEta { get; init; } = 0.001;
}

/// <summary>
/// The optimiser of the training loop: SGD, AdamW or LARS over named parameter groups. Written here
/// (not TorchSharp's) so that its whole state is a dictionary of tensors that goes into the same
/// checkpoint file as the weights and resumes bit-exactly.
/// </summary>
public sealed class Optimizer : IDisposable
{
    private readonly IReadOnlyList<ParameterGroup> groups;
    private readonly Dictionary<string, Tensor> state = new();

    public Optimizer(IReadOnlyList<ParameterGroup> groups, OptimizerOptions options)
    {
        this.groups = groups;
        Options = options;
        if (options.WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(options), "Weight decay must be >= 0.");
    }

    public OptimizerOptions Options { get; }
    /// <summary>Number of optimiser steps taken (Adam bias correction uses it).</summary>
    public long StepCount { get; private set; }
    public IReadOnlyList<ParameterGroup> Groups => groups;

    public void ZeroGrad()
    {
        foreach (var g in groups)
            foreach (var (_, p) in g.Parameters)
                p.grad?.zero_();
    }

    /// <summary>
    /// Scales every gradient by one factor so that their joint L2 norm (all parameters as one vector) is at most
    /// <paramref name="maxNorm"/>, as torch.nn.utils.clip_grad_norm_ does; gradients already within it are left alone.
    /// </summary>
    /// <returns>The joint norm before clipping.</returns>
    public double ClipGradientNorm(double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The gradient-norm limit must be positive.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var grads = groups.SelectMany(g => g.Parameters).Select(p => p.Parameter.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        double total = stack(grads.Select(g => g.to(ScalarType.Float32).square().sum()).ToArray()).sum().sqrt().item<float>();
        if (total > maxNorm)
        {
            double scale = maxNorm / (total + 1e-6);
            foreach (var g in grads) g.mul_(scale);
        }
        return total;
    }

    /// <summary>One update with the scheduled learning rate <paramref name="lr"/> (scaled per group), for every group.</summary>
    public void Step(double lr) => Step(lr, lr);

    /// <summary>
    /// One update: groups with <see cref="ParameterGroup.DecayLr"/> take the scheduled <paramref name="lr"/>,
    /// the others <paramref name="undecayedLr"/> (the schedule without its decay); both scaled per group.
    /// </summary>
    public void Step(double lr, double undecayedLr)
    {
        StepCount++;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var g in groups)
        {
            double glr = (g.DecayLr ? lr : undecayedLr) * g.LrScale;
            double wd = g.WeightDecay ? Options.WeightDecay : 0;
            foreach (var (name, p) in g.Parameters)
            {
                var grad = p.grad;
                if (grad is null) continue;
                string key = $"{g.Name}/{name}";
                switch (Options.Kind)
                {
                    case OptimizerKind.Sgd: SgdStep(key, p, grad, glr, wd, trust: false); break;
                    case OptimizerKind.Lars: SgdStep(key, p, grad, glr, wd, trust: g.WeightDecay); break;
                    case OptimizerKind.AdamW: AdamWStep(key, p, grad, glr, wd); break;
                }
            }
        }
    }

    private void SgdStep(string key, Parameter p, Tensor grad, double lr, double wd, bool trust)
    {
        var d = wd > 0 ? grad.add(p, alpha: wd) : grad;
        if (trust)
        {
            var wNorm = p.norm();
            var dNorm = d.norm();
            var ratio = torch.where(wNorm.gt(0).logical_and(dNorm.gt(0)), wNorm.mul(Options.LarsEta).div(dNorm), ones_like(wNorm));
            d = d.mul(ratio);
        }
        if (Options.Momentum > 0)
        {
            var buf = Buffer(key + ".momentum", p);
            buf.mul_(Options.Momentum).add_(d);
            d = Options.Nesterov ? d.add(buf, alpha: Options.Momentum) : buf;
        }
        p.add_(d, alpha: -lr);
    }

    private void AdamWStep(string key, Parameter p, Tensor grad, double lr, double wd)
    {
        var m = Buffer(key + ".exp_avg", p);
        var v = Buffer(key + ".exp_avg_sq", p);
        m.mul_(Options.Beta1).add_(grad, alpha: 1 - Options.Beta1);
        v.mul_(Options.Beta2).addcmul_(grad, grad, value: 1 - Options.Beta2);
        double bc1 = 1 - Math.Pow(Options.Beta1, StepCount);
        double bc2 = 1 - Math.Pow(Options.Beta2, StepCount);
        if (wd > 0) p.mul_(1 - lr * wd);
        var denom = v.div(bc2).sqrt_().add_(Options.Epsilon);
        p.addcdiv_(m, denom, value: -lr / bc1);
    }

    private Tensor Buffer(string key, Tensor like)
    {
        if (!state.TryGetValue(key, out var t))
        {
            t = zeros_like(like).DetachFromDisposeScope();
            state[key] = t;
        }
        return t;
    }

    /// <summary>The state as tensors (keys stable across runs), plus the step count as a 0-d tensor.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>(state) { ["step_count"] = tensor(StepCount) };
        return d;
    }

    /// <summary>Restores state saved by <see cref="StateDict"/>; copies values, so the source may be disposed.</summary>
    /// <exception cref="InvalidDataException">A buffer's shape does not match its parameter.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> source)
    {
        var byKey = groups.SelectMany(g => g.Parameters.Select(p => ($"{g.Name}/{p.Name}", p.Parameter))).ToDictionary(x => x.Item1, x => x.Item2);
        foreach (var t in state.Values) t.Dispose();
        state.Clear();
        foreach (var (k, v) in source)
        {
            if (k == "step_count") { StepCount = v.item<long>(); continue; }
            int dot = k.LastIndexOf('.');
            string pk = dot > 0 ? k[..dot] : k;
            if (!byKey.TryGetValue(pk, out var p))
                throw new InvalidDataException($"Optimiser state '{k}' belongs to no parameter of this model: the checkpoint was written for a different model or optimiser.");
            if (!p.shape.SequenceEqual(v.shape))
                throw new InvalidDataException($"Optimiser state '{k}' has shape [{string.Join(",", v.shape)}], parameter has [{string.Join(",", p.shape)}].");
            var copy = empty_like(p).DetachFromDisposeScope();
            using (no_grad()) copy.copy_(v);
            state[k] = copy;
        }
    }

    public void Dispose()
    {
        foreach (var t in state.Values) t.Dispose();
        state.Clear();
    }
}

/// <summary>Learning-rate schedule: linear warmup from 0 then cosine decay to a final fraction (SimCLR, section B.1).</summary>
/// <param name="BaseLr">Peak learning rate.</param>
/// <param name="WarmupSteps">Steps of linear warmup.</param>
/// <param name="TotalSteps">Total steps of the run.</param>
/// <param name="FinalFraction">LR at the end as a fraction of <paramref name="BaseLr"/>.</param>
public sealed record WarmupCosineSchedule(double BaseLr, long WarmupSteps, long TotalSteps, double FinalFraction = 0.0)
{
    /// <summary>Learning rate for the update made at 0-based step <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return BaseLr * (step + 1) / WarmupSteps;
        long decay = Math.Max(1, TotalSteps - WarmupSteps);
        double t = Math.Clamp((double)(step - WarmupSteps) / decay, 0, 1);
        double final = BaseLr * FinalFraction;
        return final + (BaseLr - final) * 0.5 * (1 + Math.Cos(Math.PI * t));
    }

    /// <summary>The same warmup, then <see cref="BaseLr"/> without decay (for groups with a fixed learning rate).</summary>
    public double Undecayed(long step) => WarmupSteps > 0 && step < WarmupSteps ? At(step) : BaseLr;
}
