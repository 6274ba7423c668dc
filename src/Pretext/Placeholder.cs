namespace Pretext;
internal static class Init { }
