using ZImage.Engine.Pipeline;

namespace ZImage.Web.Ui.Settings;

/// <summary>
/// "Defaults for new pictures" from Settings (the <see cref="SettingsKeys.Defaults"/> section): what a fresh Generate
/// form shows and what an API job gets for every field it leaves out. Read on every use, so a save applies at once.
/// A hand-edited value the engine's rules refuse falls back to the built-in defaults, with a warning in the log,
/// rather than make every job fail.
/// </summary>
public sealed class NewPictureDefaults(IConfiguration configuration, ILogger<NewPictureDefaults> logger)
{
    public GenerationRequest Current
    {
        get
        {
            var (saved, unreadable) = Read(configuration);
            var problems = saved.ValidateAsDefaults();
            if (unreadable is null && problems.Count == 0)
                return saved;
            logger.LogWarning("Ignoring the saved defaults for new pictures: {Reason}",
                unreadable ?? string.Join(" ", problems.Select(p => p.Message)));
            return GenerationRequest.Defaults;
        }
    }

    /// <summary>
    /// The saved defaults as written, unchecked (Settings shows them and says what is wrong). Only the fields Settings
    /// offers are taken: a prompt, seed or CFG truncation in the file is not a default for new pictures.
    /// </summary>
    public static (GenerationRequest Defaults, string? Unreadable) Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SettingsKeys.Defaults);
        var bound = GenerationRequest.Defaults with { };
        try
        {
            section.Bind(bound);
        }
        catch (InvalidOperationException e)
        {
            return (GenerationRequest.Defaults, e.Message);
        }
        return (GenerationRequest.Defaults with
        {
            Steps = bound.Steps,
            Cfg = bound.Cfg,
            Width = bound.Width,
            Height = bound.Height,
            Count = bound.Count,
            NegativePrompt = bound.NegativePrompt ?? "",
        }, null);
    }
}
