namespace ZImage.Web.Ui.Settings;

/// <summary>
/// Reads and saves the Settings tab. The file lives in the data folder and is a configuration source
/// (added by AddZImageWeb), so saved values reach every options class and survive a restart.
/// </summary>
public sealed class SettingsStore
{
    private readonly IConfiguration _configuration;
    private readonly StudioPaths _paths;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public SettingsStore(IConfiguration configuration, StudioPaths paths)
    {
        _configuration = configuration;
        _paths = paths;
    }

    public SettingsForm Load() => SettingsForm.From(_configuration);

    /// <summary>Nothing is written unless every field is valid; the file is replaced whole, never half-written.</summary>
    public async Task<IReadOnlyList<SettingsProblem>> SaveAsync(SettingsForm form, CancellationToken ct = default)
    {
        var problems = form.Validate(_paths.Resolve);
        if (problems.Count > 0)
            return problems;
        await _writeLock.WaitAsync(ct);
        try
        {
            var file = _paths.SettingsFile();
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            var temporary = file + ".tmp";
            await File.WriteAllTextAsync(temporary, form.ToJson(), ct);
            File.Move(temporary, file, overwrite: true);
            // The file watcher would get there too, but later; reading back at once keeps the tab truthful.
            (_configuration as IConfigurationRoot)?.Reload();
        }
        finally
        {
            _writeLock.Release();
        }
        return [];
    }
}
