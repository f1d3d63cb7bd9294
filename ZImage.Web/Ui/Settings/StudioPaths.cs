using ZImage.Engine.Jobs;

namespace ZImage.Web.Ui.Settings;

/// <summary>
/// Where the studio keeps things. Relative settings resolve against the content root, as the jobs room resolves its
/// data and output folders (JobsSetup); the engine's model loader takes ModelDirectory as given, so a relative model
/// folder resolves against the process's working directory there.
/// </summary>
public sealed class StudioPaths
{
    public const string SettingsFileName = "settings.json";
    /// <summary>The committed tiny model whose pictures are noise: it exists so the whole flow can be tried.</summary>
    public const string SelfTestModelRelative = "models/self-test-tiny";

    private readonly IConfiguration _configuration;
    private readonly string _contentRoot;

    public StudioPaths(IConfiguration configuration, IWebHostEnvironment environment)
        : this(configuration, environment.ContentRootPath)
    {
    }

    public StudioPaths(IConfiguration configuration, string contentRoot)
    {
        _configuration = configuration;
        _contentRoot = contentRoot;
    }

    public string DataDirectory() => Resolve(_configuration[$"{JobsOptions.Section}:DataDirectory"] ?? "data");

    public string SettingsFile() => Path.Combine(DataDirectory(), SettingsFileName);

    public string? ModelDirectory() =>
        _configuration[SettingsKeys.ModelDirectory] is { Length: > 0 } dir ? Resolve(dir) : null;

    /// <summary>
    /// The absolute path a setting names, relative ones from the content root. A path no file system accepts (a NUL
    /// character, typed or pasted) comes back as it was, so the checks report it missing instead of throwing.
    /// </summary>
    public string Resolve(string path) => path.Contains('\0')
        ? path
        : Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(_contentRoot, path));

    /// <summary>Looks upward from the content root, so it is found both from the repository and from ZImage.Web/.</summary>
    public string? SelfTestModelDirectory()
    {
        for (var dir = new DirectoryInfo(_contentRoot); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, SelfTestModelRelative);
            if (Directory.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
