using System.Text.RegularExpressions;

namespace ZImage.Web.Api;

/// <summary>
/// Where the server keeps its files is nobody's business but its administrator's: sentences shown to callers who may
/// not be one (probes, A1111 clients) keep a path's last part only.
/// </summary>
public static partial class ServerPaths
{
    public static string? Hide(string? sentence) => sentence is null ? null : AbsolutePath().Replace(sentence, m => "…/" + LastPart(m.Value));

    /// <summary>Split on both separators: a Windows path in a sentence is still a path when the server runs on Linux.</summary>
    private static string LastPart(string path)
    {
        var trimmed = path.TrimEnd('/', '\\');
        return trimmed[(trimmed.LastIndexOfAny(['/', '\\']) + 1)..];
    }

    /// <summary>A rooted path (/x/y or C:\x\y) that does not follow a letter or digit (so "1/2" and "CUDA/TensorRT" stay).</summary>
    [GeneratedRegex(@"(?<![\w.…])(?:[A-Za-z]:\\|/)[^\s'""`,;()<>]+")]
    private static partial Regex AbsolutePath();
}
