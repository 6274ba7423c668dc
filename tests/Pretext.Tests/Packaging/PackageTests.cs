using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Pretext.Tests.Packaging;

/// <summary>
/// The packages users get (docs/packages.md): scripts/pack.sh packs the library and the dotnet tool from this build into a
/// folder feed; the tool installs from that feed alone with `dotnet tool install` and the installed `pretext` runs, native
/// libtorch included; an application referencing the library package and the native package the docs name builds and runs.
/// One to two minutes, most of it compressing, unpacking and copying libtorch.
/// </summary>
public class PackageTests
{
    private static readonly string Root = FindRoot();

    [Fact]
    public void PackedPackagesInstallFromAFolderFeedAndRun()
    {
        using var dir = new TempDirectory();
        string feed = dir.File("feed");
        // A version of its own, so no package of the same name and version cached by an earlier run can stand in for these.
        string packVersion = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var pack = Run("bash", [Path.Combine(Root, "scripts", "pack.sh"), "--no-build", "--configuration", Configuration(), "--out", feed, "--version", packVersion], Root);
        Assert.True(pack.Code == 0, $"scripts/pack.sh failed ({pack.Code}):\n{pack.Out}\n{pack.Err}");

        var library = Directory.GetFiles(feed, "Pretext.0*.nupkg").Single();
        AssertLibraryPackage(library);
        AssertFeaturizerPackage(Directory.GetFiles(feed, "Pretext.MLNet.*.nupkg").Single(), packVersion);
        var tool = Directory.GetFiles(feed, "Pretext.Cli.*.nupkg").Single();
        string version = Path.GetFileNameWithoutExtension(tool)["Pretext.Cli.".Length..];

        // Only the feed: a package of the same name elsewhere (nuget.org, the local cache) must not stand in for the packed one.
        string config = dir.File("nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="pretext-feed" value="{feed}" /></packageSources>
            </configuration>
            """);
        string tools = dir.File("tools");
        // A private package folder keeps an earlier install of the same version in ~/.nuget/packages from standing in too.
        var install = Run("dotnet", ["tool", "install", "Pretext.Cli", "--version", version, "--tool-path", tools, "--configfile", config], dir.Path,
            packages: dir.File("nuget-packages"));
        Assert.True(install.Code == 0, $"dotnet tool install failed ({install.Code}):\n{install.Out}\n{install.Err}");

        string pretext = Path.Combine(tools, "pretext");
        var help = Run(pretext, ["--help"], dir.Path);
        Assert.True(help.Code == 0, $"pretext --help exited {help.Code}:\n{help.Out}\n{help.Err}");
        foreach (var command in new[] { "quickstart", "pretrain", "evaluate", "embed", "methods", "info" })
            Assert.Contains(command, help.Out);

        // `info` loads libtorch: the tool carries its native library, patched where this system's libstdc++ needs it.
        var info = Run(pretext, ["info"], dir.Path);
        Assert.True(info.Code == 0, $"pretext info exited {info.Code}:\n{info.Out}\n{info.Err}");
        Assert.Contains("libtorch", info.Out);
        Assert.Contains("cpu", info.Out);

        AssertAnApplicationBuildsAgainstTheLibrary(dir, feed, packVersion);
    }

    /// <summary>
    /// A console application referencing Pretext and the native package docs/packages.md names builds and computes with libtorch
    /// (on Debian 12 only because the package's buildTransitive step fixes its copy of libLibTorchSharp.so). Packages other than
    /// Pretext come from this machine's package cache (a fallback folder), else the usual sources.
    /// </summary>
    private static void AssertAnApplicationBuildsAgainstTheLibrary(TempDirectory dir, string feed, string version)
    {
        string app = dir.File("app");
        Directory.CreateDirectory(app);
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><add key="pretext-feed" value="{feed}" /></packageSources>
              <fallbackPackageFolders><add key="machine-cache" value="{cache}" /></fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
                <SelfContained>false</SelfContained>
                <ImplicitUsings>enable</ImplicitUsings>
                <NoWarn>NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Pretext" Version="{version}" />
                <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Pretext.Runs;
            using static TorchSharp.torch;

            var config = Presets.For("simclr", "fashion-mnist", threads: 1);
            using var x = ones(2, 3);
            Console.WriteLine($"{config.Method} {x.sum().item<float>()}");
            """);
        string packages = dir.File("app-packages");
        var build = Run("dotnet", ["build", app, "-c", "Release", "-v", "quiet", "-nologo"], app, packages);
        Assert.True(build.Code == 0, $"building an application against the Pretext package failed ({build.Code}):\n{build.Out}\n{build.Err}");
        var run = Run(Path.Combine(app, "bin", "Release", "net10.0", "linux-x64", "app"), [], app);
        Assert.True(run.Code == 0, $"the application exited {run.Code}:\n{run.Out}\n{run.Err}");
        Assert.Equal("simclr 6", run.Out.Trim());
    }

    /// <summary>The library references managed TorchSharp only (the application picks the native bundle) and ships the Debian 12 fix.</summary>
    private static void AssertLibraryPackage(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/Pretext.Core.dll", names);
        Assert.Contains("lib/net10.0/Pretext.Core.xml", names);
        Assert.Contains("README.md", names);
        Assert.Contains("buildTransitive/Pretext.targets", names);
        Assert.Contains("buildTransitive/LibTorchSharpPatch.targets", names);
        using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var dependencies = XDocument.Load(nuspec).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => (string)e.Attribute("id")!).ToList();
        Assert.Contains("TorchSharp", dependencies);
        Assert.DoesNotContain(dependencies, d => d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The ML.NET featurizer: its assembly and docs, depending on the library of the same version and on Microsoft.ML, never on a native libtorch.</summary>
    private static void AssertFeaturizerPackage(string nupkg, string version)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/Pretext.MLNet.dll", names);
        Assert.Contains("lib/net10.0/Pretext.MLNet.xml", names);
        Assert.Contains("README.md", names);
        using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var dependencies = XDocument.Load(nuspec).Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!);
        Assert.Equal(version, dependencies["Pretext"]);
        Assert.Contains("Microsoft.ML", dependencies.Keys);
        Assert.DoesNotContain(dependencies.Keys, d => d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The build configuration this test assembly was built in (its folder: bin/CONFIG/net10.0/RID/).</summary>
    private static string Configuration() =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Parent!.Name;

    private static string FindRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Pretext.slnx")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException($"No Pretext.slnx above {AppContext.BaseDirectory}.");
        return root;
    }

    private static (int Code, string Out, string Err) Run(string file, string[] args, string workingDirectory, string? packages = null)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // `dotnet test` hands MSBuild settings to its children; a nested pack must find its own.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        if (packages is not null) psi.Environment["NUGET_PACKAGES"] = packages;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(600_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within 10 minutes.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
