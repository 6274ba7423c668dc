using Pretext.Encoders;
using System.Runtime.InteropServices;
using Pretext.Compute;
using Pretext.Runs;

namespace Pretext.Tests.Compute;

public class NativeBf16Tests
{
    private const string Zen2 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme sse sse2 avx f16c avx2 sha_ni clwb\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n";
    private const string Zen4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n";
    private const string SapphireRapids = "flags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n";
    private const string Graviton3 = "processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve i8mm bf16 dcpop\n";

    [Fact]
    public void Finds_the_bf16_feature_named_on_the_flags_line()
    {
        Assert.Null(NativeBf16.Detect(Zen2, Architecture.X64));
        Assert.Equal("avx512_bf16", NativeBf16.Detect(Zen4, Architecture.X64));
        Assert.Equal("amx_bf16", NativeBf16.Detect(SapphireRapids, Architecture.X64));
        Assert.Equal("bf16", NativeBf16.Detect(Graviton3, Architecture.Arm64));
    }

    [Fact]
    public void No_cpuinfo_or_a_feature_only_in_another_field_means_fp32()
    {
        Assert.Null(NativeBf16.Detect(null, Architecture.X64));
        Assert.Null(NativeBf16.Detect("", Architecture.X64));
        Assert.Null(NativeBf16.Detect("model name\t: avx512_bf16 lookalike\nflags\t\t: avx2\n", Architecture.X64));
        // An Arm "bf16" word means nothing on x86, where the features are spelled avx512_bf16/amx_bf16.
        Assert.Null(NativeBf16.Detect("flags\t\t: bf16\n", Architecture.X64));
    }

    [Fact]
    public void Auto_resolves_to_what_this_machine_has_and_explicit_choices_stand()
    {
        var expected = NativeBf16.Available ? Precision.BFloat16 : Precision.Float32;
        Assert.Equal(expected, ComputeOptions.Resolve(Precision.Auto));
        Assert.Equal(Precision.Float32, ComputeOptions.Resolve(Precision.Float32));
        Assert.Equal(Precision.BFloat16, ComputeOptions.Resolve(Precision.BFloat16));
        Assert.Equal(expected == Precision.BFloat16 ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32,
            new ComputeOptions(Precision.Auto).ComputeType);
        Assert.Contains("auto", ComputeOptions.Describe(Precision.Auto), StringComparison.Ordinal);
    }

    [Fact]
    public void Presets_default_to_auto_precision()
    {
        Assert.Equal(Precision.Auto, Presets.For("simclr", "fashion-mnist").Encoder.Precision);
        Assert.Equal(Precision.Auto, new EncoderConfig().Precision);
    }
}
