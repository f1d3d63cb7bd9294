using System.Globalization;

namespace ZImage.Engine.Memory;

/// <summary>
/// Memory as the studio's reports print it: whole mebibytes, rounded down (NVML and RSS figures, benchmark JSON, the
/// idle-unload check). One home, so a figure printed by one tool compares with another's.
/// </summary>
public static class Mebibytes
{
    public const double Bytes = 1024 * 1024;

    public static long Of(long bytes) => bytes / (1024 * 1024);

    public static long? Of(long? bytes) => bytes is { } b ? Of(b) : null;

    /// <summary>"512 MiB", or "n/a" where the figure could not be read.</summary>
    public static string Show(long? bytes) => bytes is { } b ? string.Create(CultureInfo.InvariantCulture, $"{Of(b)} MiB") : "n/a";
}
