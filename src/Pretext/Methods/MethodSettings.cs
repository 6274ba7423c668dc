namespace Pretext.Methods;

/// <summary>
/// The options of every registered method, in one record that travels in config.json and in each
/// checkpoint. Each method's source file adds its own property to this partial record, so adding a
/// method touches no shared file but the registry. Set from the command line with
/// <c>--set methods.simclr.temperature=0.1</c> (see <see cref="Runs.ConfigOverrides"/>).
/// </summary>
public sealed partial record MethodSettings;
