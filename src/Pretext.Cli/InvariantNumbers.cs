using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Pretext.Cli;

/// <summary>
/// Numbers on the command line mean the same on every machine. System.CommandLine parses them with the
/// current culture, so under LANG=de_DE.UTF-8 "--lr 0.5" read as 5 ('.' groups thousands there) and
/// "--lr 0,5" as 0.5 on one machine and 5 on the next. Every numeric option of every command gets a
/// parser here that reads the invariant culture (a dot before the decimals, no digit grouping) and
/// rejects anything else with a message that names the option and the fix.
/// </summary>
internal static class InvariantNumbers
{
    /// <summary>Gives every numeric option of <paramref name="command"/> and its sub-commands the invariant parser.</summary>
    public static void Apply(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<double> o: o.CustomParser = r => Decimal(r, o.Name) ?? 0; break;
                case Option<double?> o: o.CustomParser = r => Decimal(r, o.Name); break;
                case Option<int> o: o.CustomParser = r => Whole<int>(r, o.Name); break;
                case Option<int?> o: o.CustomParser = r => Whole<int>(r, o.Name); break;
                case Option<long> o: o.CustomParser = r => Whole<long>(r, o.Name); break;
                case Option<long?> o: o.CustomParser = r => Whole<long>(r, o.Name); break;
            }
        }
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    /// <summary>Reads a decimal number in the invariant culture; null (with a parse error naming the option) when it is not one.</summary>
    internal static double? ParseDecimal(string text, out string? problem, string option)
    {
        problem = null;
        // NumberStyles.Float: sign, decimal point and exponent, but no thousands separator, so "0,5" cannot become 5.
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return v;
        problem = LooksLikeDecimalComma(text)
            ? $"{option} takes numbers with a dot before the decimals, whatever the system language: write {text.Replace(',', '.')}, not {text} (no digit grouping: a thousand is 1000)."
            : $"{option} takes a number such as 0.5 or 1e-4; got '{text}'.";
        return null;
    }

    /// <summary>True for "0,5", "-1,25": a decimal comma (the invariant culture would read it as digit grouping).</summary>
    internal static bool LooksLikeDecimalComma(string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text.Trim(), @"^[+-]?\d*,\d+$");

    private static double? Decimal(ArgumentResult r, string option)
    {
        if (r.Tokens.Count == 0) return null;
        var value = ParseDecimal(r.Tokens[^1].Value, out var problem, option);
        if (problem is not null) r.AddError(problem);
        return value;
    }

    private static T Whole<T>(ArgumentResult r, string option) where T : struct, IBinaryInteger<T>
    {
        if (r.Tokens.Count == 0) return default;
        string text = r.Tokens[^1].Value;
        if (T.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var v)) return v;
        r.AddError($"{option} takes a whole number such as 6; got '{text}'.");
        return default;
    }
}
