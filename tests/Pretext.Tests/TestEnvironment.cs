using System.Runtime.CompilerServices;

namespace Pretext.Tests;

/// <summary>Process-wide settings of the test run, made before any test starts.</summary>
internal static class TestEnvironment
{
    /// <summary>
    /// The CLI's evaluations keep their from-scratch and baseline rows in ~/.cache/pretext/baselines; tests that run the CLI must not
    /// read rows an earlier test run left there (or leave any), so the cache is off for the whole run. BaselineCacheTests pass a
    /// cache of their own.
    /// </summary>
    [ModuleInitializer]
    internal static void Initialize() => Environment.SetEnvironmentVariable(Pretext.Runs.BaselineCache.EnvironmentVariable, "off");
}
