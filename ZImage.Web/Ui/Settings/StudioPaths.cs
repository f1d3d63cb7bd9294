using ZImage.Engine;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;

namespace ZImage.Web.Ui.Settings;

/// <summary>Where the studio keeps things, resolved against the content root the same way the engine does (ContentPaths).</summary>
public sealed class StudioPaths
{
    public const string SettingsFileName = "settings.json";
    /// <summary>The committed tiny model whose pictures are noise: it exists so the whole flow can be tried.</summary>
    public const string SelfTestModelRelative = "models/self-test-tiny";

    private readonly IConfiguration _configuration;
    private readonly string _contentRoot;
    private readonly string _appBase;

    public StudioPaths(IConfiguration configuration, IWebHostEnvironment environment)
        : this(configuration, environment.ContentRootPath)
    {
    }

    public StudioPaths(IConfiguration configuration, string contentRoot, string? appBase = null)
    {
        _configuration = configuration;
        _contentRoot = contentRoot;
        _appBase = appBase ?? AppContext.BaseDirectory;
    }

    public string DataDirectory() => Resolve(_configuration[$"{JobsOptions.Section}:DataDirectory"] ?? JobsOptions.DefaultDataDirectory);

    public string SettingsFile() => Path.Combine(DataDirectory(), SettingsFileName);

    /// <summary>The absolute path a setting names, relative ones from the content root (the engine's one rule).</summary>
    public string Resolve(string path) => ContentPaths.Resolve(path, _contentRoot);

    /// <summary>
    /// The self-test model that passes its check. The app's own copy comes first: the build completes it with the
    /// tokenizer.json it fetched, while the committed models/self-test-tiny of a fresh clone lacks that file (it is
    /// 11 MB and git-ignored). Then upward from the content root, for a folder someone completed by hand.
    /// </summary>
    public string? SelfTestModelDirectory() => SelfTestCandidates(_appBase, _contentRoot)
        .FirstOrDefault(dir => ModelEntry.Read(dir, dir).IsUsable);

    internal static IEnumerable<string> SelfTestCandidates(string appBase, string contentRoot)
    {
        yield return Path.GetFullPath(Path.Combine(appBase, SelfTestModelRelative));
        for (var dir = new DirectoryInfo(contentRoot); dir is not null; dir = dir.Parent)
            yield return Path.Combine(dir.FullName, SelfTestModelRelative);
    }
}
