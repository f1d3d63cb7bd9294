using Microsoft.Extensions.Options;
using ZImage.Web.Api.Auth;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Api.Styles;

/// <summary>
/// <c>/api/v1/styles</c>: the presets a job's or batch's <c>style</c> field may name, and the team's own list, which
/// Settings → Team styles edits. Changing the team's list follows the Settings page's rule: anyone in open mode, only
/// administrators in accounts mode.
/// </summary>
public static class StyleEndpoints
{
    public static RouteGroupBuilder MapStyleEndpoints(this RouteGroupBuilder api)
    {
        var styles = api.MapGroup("/styles").WithTags("Styles");

        styles.MapGet("/", (StyleCatalog catalog) => TypedResults.Ok(catalog.All.Select(StyleDto.From).ToList()))
            .Produces<List<StyleDto>>()
            .WithSummary("Every style preset, built-in ones first, then the team's: id (what style and styles take), names in English and Chinese, and the words added to the prompt and the avoid box for English prompts (prompt, negative) and for Chinese ones (promptZh, negativeZh; empty for a team preset without them: the English words are used).");

        styles.MapPut("/team", ReplaceTeamAsync)
            .Accepts<TeamStylesBody>("application/json")
            .Produces<List<StyleDto>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Replace the team's presets with this list, as Settings saves them (an empty list removes them all). Accounts mode: administrators only. Every bad field is named with its row; nothing is saved then.");
        return api;
    }

    private static async Task<IResult> ReplaceTeamAsync(HttpContext http, SettingsStore settings, StyleCatalog catalog, IOptions<ApiOptions> options)
    {
        if (options.Value.AuthMode == ApiAuthMode.Accounts && !http.Caller().IsAdmin)
            return ApiProblems.Status(StatusCodes.Status403Forbidden, "Only administrators change the team's styles in accounts mode (as in Settings).");
        var body = await ApiJson.ReadAsync<TeamStylesBody>(http);
        if (body.Error is not null)
            return body.Error;
        if (body.Value!.Styles is not { } team)
            return ApiProblems.Invalid("styles", "styles is required: the team's whole list of presets (an empty list removes them all).");

        var form = settings.Load();
        form.StylePresets = [.. team.Select(s => new TeamStyle { Id = s.Id ?? "", NameEn = s.NameEn ?? "", NameZh = s.NameZh ?? "", Prompt = s.Prompt ?? "", Negative = s.Negative ?? "", PromptZh = s.PromptZh ?? "", NegativeZh = s.NegativeZh ?? "" })];
        var problems = await settings.SaveAsync(form, http.RequestAborted);
        if (problems.Count > 0)
        {
            // The Settings page's own sentences, in English (the API's language), each naming the row.
            var english = new Localizer();
            return ApiProblems.Validation([.. problems.Select(p => new ValidationProblem(p.Field == nameof(SettingsForm.StylePresets) ? "styles" : p.Field, p.Text(english)))]);
        }
        return TypedResults.Ok(catalog.All.Select(StyleDto.From).ToList());
    }
}

public sealed record StyleDto(string Id, string NameEn, string NameZh, string Prompt, string Negative, string PromptZh, string NegativeZh, bool Team)
{
    public static StyleDto From(StylePreset p) => new(p.Id, p.NameEn, p.NameZh, p.Prompt, p.Negative, p.PromptZh, p.NegativeZh, p.IsTeam);
}

/// <summary>The body of <c>PUT /api/v1/styles/team</c>.</summary>
public sealed record TeamStylesBody
{
    public IReadOnlyList<TeamStyleBody>? Styles { get; init; }
}

/// <summary>
/// One team preset: id (a-z, 0-9, -), both names, the words for the prompt and (optional) the avoid box, and optional
/// Chinese words for Chinese prompts (left out: Chinese prompts get the English words).
/// </summary>
public sealed record TeamStyleBody(string? Id, string? NameEn, string? NameZh, string? Prompt, string? Negative, string? PromptZh = null, string? NegativeZh = null);
