using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Tests.Compute;

public class NativeLoadTests
{
    [Fact]
    public void LibTorchLoadsAndComputes()
    {
        // Proves the build's libstdc++ fix took effect: this process could not load libLibTorchSharp otherwise on Debian 12.
        set_num_threads(1);
        using var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }

    [Fact]
    public void PatchedLibraryMarksGlibcxxVersionWeakOrSystemHasIt()
    {
        var lib = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        Assert.True(File.Exists(lib), $"{lib} missing from the test output");
        var bytes = File.ReadAllBytes("/usr/lib/x86_64-linux-gnu/libstdc++.so.6");
        bool systemHasIt = System.Text.Encoding.ASCII.GetString(bytes).Contains("GLIBCXX_3.4.32\0");
        var nuget = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!systemHasIt && File.Exists(nuget))
        {
            // The output copy differs from the cache copy (patched), and the cache copy is untouched (same size, differs only in flags).
            var a = File.ReadAllBytes(lib);
            var b = File.ReadAllBytes(nuget);
            Assert.Equal(b.Length, a.Length);
            Assert.InRange(a.Zip(b).Count(p => p.First != p.Second), 1, 2);
        }
    }
}
