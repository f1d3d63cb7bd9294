using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ZImage.Engine;

/// <summary>
/// The one rule for relative paths in settings (model folder, data folder, pictures folder): they resolve against
/// the content root, the folder the app runs from (<c>ZImage.Web/</c> under <c>dotnet run --project ZImage.Web</c>,
/// the app folder when published, the current directory for command words).
/// </summary>
public static class ContentPaths
{
    /// <summary>The host's content root, or the current directory outside a host.</summary>
    public static string Root(IServiceProvider services) =>
        services.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();

    /// <summary>
    /// The absolute path. A path no file system accepts (a NUL character, typed or pasted) comes back as it was, so
    /// the checks report it missing instead of throwing.
    /// </summary>
    public static string Resolve(string path, string contentRoot) => path.Contains('\0')
        ? path
        : Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(contentRoot, path));
}
