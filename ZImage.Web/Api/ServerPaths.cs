using System.Text.RegularExpressions;

namespace ZImage.Web.Api;

/// <summary>
/// Where the server keeps its files is nobody's business but its administrator's: sentences shown to callers who may
/// not be one (probes, A1111 clients) keep a path's last two parts only.
/// </summary>
public static partial class ServerPaths
{
    public static string? Hide(string? sentence) => sentence is null ? null : AbsolutePath().Replace(sentence, m => "…/" + LastPart(m.Value));

    /// <summary>
    /// The last two parts ("transformer/model.onnx.data" says which part of a model is broken; the folders above it are
    /// the server's business). Split on both separators: a Windows path in a sentence is still a path on Linux.
    /// </summary>
    private static string LastPart(string path)
    {
        var parts = path.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries);
        return string.Join('/', parts.Skip(Math.Max(0, parts.Length - 2)));
    }

    /// <summary>A rooted path (/x/y or C:\x\y) that does not follow a letter or digit (so "1/2" and "CUDA/TensorRT" stay).</summary>
    [GeneratedRegex(@"(?<![\w.…])(?:[A-Za-z]:\\|/)[^\s'""`,;()<>]+")]
    private static partial Regex AbsolutePath();
}
