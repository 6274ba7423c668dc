using System.Text.RegularExpressions;
using TorchSharp;

namespace Pretext.Compute;

/// <summary>
/// The device a command computes on (<c>--device</c>): the CPU, or a CUDA GPU where the native libtorch is a CUDA build and
/// a driver sees the GPU. Pretext's projects reference the CPU build (<c>libtorch-cpu-linux-x64</c>); docs/gpu.md says how to
/// swap it and what is tested.
/// </summary>
public static partial class ComputeDevice
{
    /// <summary>How to get CUDA, for every error that finds none.</summary>
    public const string CudaFix =
        "use --device cpu, or build Pretext with a CUDA libtorch instead of libtorch-cpu-linux-x64 (TorchSharp-cuda-linux; docs/gpu.md) on a machine whose NVIDIA driver sees a GPU";

    /// <summary>CUDA devices this process's libtorch sees: 0 with a CPU build of libtorch or without a GPU and driver.</summary>
    public static int CudaDeviceCount() => torch.cuda.is_available() ? torch.cuda.device_count() : 0;

    /// <summary>Parses a <c>--device</c> value against the GPUs libtorch sees here.</summary>
    /// <exception cref="ArgumentException">See <see cref="Parse(string, int)"/>.</exception>
    public static torch.Device Parse(string text) => Parse(text, text.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase) ? 0 : CudaDeviceCount());

    /// <summary>
    /// Parses <c>cpu</c>, <c>cuda</c> (the first GPU) or <c>cuda:N</c>, given that <paramref name="cudaDevices"/> GPUs are visible.
    /// </summary>
    /// <exception cref="ArgumentException">Another name, or a GPU that is not there; one line naming the fix.</exception>
    public static torch.Device Parse(string text, int cudaDevices)
    {
        var m = DeviceName().Match(text.Trim().ToLowerInvariant());
        if (!m.Success)
            throw new ArgumentException($"--device '{text}': use cpu, cuda (the first GPU) or cuda:N.");
        if (m.Groups["kind"].Value == "cpu") return torch.CPU;
        int index = m.Groups["index"].Success ? int.Parse(m.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (cudaDevices == 0)
            throw new ArgumentException($"--device {text}: no CUDA device is available (this libtorch is a CPU build, or no GPU and driver are visible); {CudaFix}.");
        if (index >= cudaDevices)
            throw new ArgumentException($"--device {text}: libtorch sees {cudaDevices} CUDA device(s), cuda:0 to cuda:{cudaDevices - 1}; pick one of those.");
        return new torch.Device(DeviceType.CUDA, index);
    }

    /// <summary>One line for logs: the device and, for a GPU, its number.</summary>
    public static string Describe(torch.Device device) => device.type == DeviceType.CPU ? "cpu" : $"cuda:{device.index}";

    [GeneratedRegex(@"^(?<kind>cpu|cuda)(:(?<index>[0-9]{1,3}))?$")]
    private static partial Regex DeviceName();
}
