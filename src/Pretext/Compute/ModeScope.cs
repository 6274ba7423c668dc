using TorchSharp;

namespace Pretext.Compute;

/// <summary>
/// A module switched to evaluation (or training) mode for a scope; disposing restores the mode it had, also when the
/// scope ends with an exception. Frozen feature extraction, diagnostics and reconstruction scoring must not change a
/// model that is still being trained (batch-norm statistics, dropout).
/// </summary>
public readonly struct ModeScope : IDisposable
{
    private readonly torch.nn.Module module;
    private readonly bool wasTraining;

    private ModeScope(torch.nn.Module module, bool training)
    {
        this.module = module;
        wasTraining = module.training;
        module.train(training);
    }

    /// <summary><paramref name="module"/> in evaluation mode until disposed.</summary>
    public static ModeScope Eval(torch.nn.Module module) => new(module, training: false);

    /// <summary><paramref name="module"/> in training mode until disposed.</summary>
    public static ModeScope Train(torch.nn.Module module) => new(module, training: true);

    public void Dispose() => module.train(wasTraining);
}
