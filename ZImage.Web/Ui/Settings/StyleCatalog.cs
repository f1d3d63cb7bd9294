using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Ui.Settings;

/// <summary>
/// The style presets a person can pick: the built-in set (<see cref="StylePreset.BuiltIn"/>) then the team's own,
/// saved by Settings under <see cref="SettingsKeys.StylePresets"/>. Read on every use, so a save applies at once.
/// A team preset whose id is a built-in one or is repeated is skipped (the first wins), as is one the rules refuse.
/// </summary>
public sealed class StyleCatalog(IConfiguration configuration)
{
    public IReadOnlyList<StylePreset> All
    {
        get
        {
            var list = new List<StylePreset>(StylePreset.BuiltIn);
            foreach (var entry in ReadTeam(configuration))
            {
                var preset = entry.ToPreset();
                if (preset.Validate().Count == 0 && !list.Any(p => p.Id == preset.Id))
                    list.Add(preset);
            }
            return list;
        }
    }

    public StylePreset? Find(string? id) =>
        string.IsNullOrEmpty(id) ? null : All.FirstOrDefault(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase));

    /// <summary>A preset's name in the page's language.</summary>
    public static string Name(StylePreset preset, UiLanguage language) => language == UiLanguage.Chinese ? preset.NameZh : preset.NameEn;

    /// <summary>The style words' language for a prompt with nothing typed yet: the page's own.</summary>
    public static PromptLanguage WordsFor(UiLanguage language) => language == UiLanguage.Chinese ? PromptLanguage.Chinese : PromptLanguage.English;

    /// <summary>
    /// The name a picture's recorded style id goes by in the page's language; the id itself when no preset has it any more
    /// (a team preset removed since), so the record still says what was used.
    /// </summary>
    public string NameOf(string id, UiLanguage language) => Find(id) is { } preset ? Name(preset, language) : id;

    /// <summary>
    /// The settings with the named style's fragments added (empty style: unchanged). An unknown style is a problem
    /// naming the field and the ids that exist. The words' language follows the prompt's (<see cref="StylePreset.Apply"/>).
    /// </summary>
    /// <param name="whenEmpty">The words' language when the prompt has none yet.</param>
    public (GenerationRequest Settings, ValidationProblem? Problem) Apply(GenerationRequest settings, PromptLanguage whenEmpty = PromptLanguage.English)
    {
        if (string.IsNullOrEmpty(settings.Style))
            return (settings, null);
        if (Find(settings.Style) is not { } preset)
            return (settings, new ValidationProblem("style", $"style must be one of {string.Join(", ", All.Select(p => p.Id))} (got '{settings.Style}').")
            {
                Rule = "choice",
                Args = [string.Join(", ", All.Select(p => p.Id))],
            });
        var (prompt, negative) = preset.Apply(settings.Prompt, settings.NegativePrompt, whenEmpty);
        return (settings with { Prompt = prompt, NegativePrompt = negative, Style = preset.Id }, null);
    }

    /// <summary>The team's presets as saved (unchecked: Settings shows them and says what is wrong).</summary>
    public static List<TeamStyle> ReadTeam(IConfiguration configuration)
    {
        var list = new List<TeamStyle>();
        try
        {
            configuration.GetSection(SettingsKeys.StylePresets).Bind(list);
        }
        catch (InvalidOperationException)
        {
            return [];
        }
        return list;
    }
}

/// <summary>One team preset as Settings edits and saves it.</summary>
public sealed class TeamStyle
{
    public string Id { get; set; } = "";
    public string NameEn { get; set; } = "";
    public string NameZh { get; set; } = "";
    public string Prompt { get; set; } = "";
    public string Negative { get; set; } = "";
    /// <summary>Optional Chinese words for Chinese prompts; empty: the English ones are used.</summary>
    public string PromptZh { get; set; } = "";
    public string NegativeZh { get; set; } = "";

    public StylePreset ToPreset() => new()
    {
        Id = Id.Trim(),
        NameEn = NameEn.Trim(),
        NameZh = NameZh.Trim(),
        Prompt = Prompt.Trim(),
        Negative = Negative.Trim(),
        PromptZh = (PromptZh ?? "").Trim(),
        NegativeZh = (NegativeZh ?? "").Trim(),
        IsTeam = true,
    };
}
