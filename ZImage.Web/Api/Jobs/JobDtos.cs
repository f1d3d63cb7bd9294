using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Api.Jobs;

/// <summary>Body of <c>POST /api/v1/jobs</c>. A missing or null seed draws a random one when the job is accepted.</summary>
public sealed record JobCreateRequest
{
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Steps { get; init; }
    public float? Cfg { get; init; }
    public float? CfgTruncation { get; init; }
    public float? CfgNormalization { get; init; }
    public long? Seed { get; init; }
    public int? Count { get; init; }

    public JobRequest ToJobRequest(string? idempotencyKey)
    {
        var defaults = new JobRequest { Prompt = "" };
        return new()
        {
            Prompt = Prompt!,
            NegativePrompt = NegativePrompt ?? defaults.NegativePrompt,
            Width = Width ?? defaults.Width,
            Height = Height ?? defaults.Height,
            Steps = Steps ?? defaults.Steps,
            Cfg = Cfg ?? defaults.Cfg,
            CfgTruncation = CfgTruncation ?? defaults.CfgTruncation,
            CfgNormalization = CfgNormalization ?? defaults.CfgNormalization,
            SeedPolicy = Seed is null ? SeedPolicy.Random : SeedPolicy.Fixed,
            Seed = Seed,
            Count = Count ?? defaults.Count,
            IdempotencyKey = idempotencyKey,
        };
    }
}

public sealed record ParametersDto(string Prompt, string NegativePrompt, int Width, int Height, int Steps, float Cfg,
    float CfgTruncation, float CfgNormalization, long Seed, int Count)
{
    public static ParametersDto From(GenerationRequest r) =>
        new(r.Prompt, r.NegativePrompt, r.Width, r.Height, r.Steps, r.Cfg, r.CfgTruncation, r.CfgNormalization, r.Seed, r.Count);
}

public sealed record ProgressDto(int ImageIndex, int ImageCount, int Step, int TotalSteps, double Fraction);

public sealed record ImageLinkDto(long Id, string Url, string ThumbUrl)
{
    public static ImageLinkDto For(long id) => new(id, ApiRoutes.Image(id), ApiRoutes.Thumb(id));
}

public sealed record JobLinksDto(string Self, string Events);

public sealed record JobDto(
    string Id,
    string User,
    string Status,
    ParametersDto Parameters,
    string SeedPolicy,
    int? Position,
    DateTimeOffset SubmittedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    ProgressDto? Progress,
    double? EtaStartSeconds,
    double? EtaFinishSeconds,
    IReadOnlyList<ImageLinkDto> Images,
    string? Error,
    string? Notice,
    JobLinksDto Links)
{
    public static JobDto From(JobSnapshot j) => new(
        j.Id, j.UserName, StatusName(j.Status), ParametersDto.From(j.Request), j.SeedPolicy == Engine.Jobs.SeedPolicy.Random ? "random" : "fixed",
        j.Position, j.SubmittedAt, j.StartedAt, j.FinishedAt,
        j.Progress is { } p ? new ProgressDto(p.ImageIndex, p.ImageCount, p.Step, p.TotalSteps, p.Fraction) : null,
        j.EtaStart?.TotalSeconds, j.EtaFinish?.TotalSeconds,
        [.. j.ImageIds.Select(ImageLinkDto.For)], j.Error, j.Notice,
        new JobLinksDto(ApiRoutes.Job(j.Id), ApiRoutes.JobEvents(j.Id)));

    public static string StatusName(JobStatus s) => s.ToString().ToLowerInvariant();
}

public sealed record QueueEntryDto(int Position, string Status, bool IsMine, string? JobId, double? EtaStartSeconds);

public sealed record ImageDto(long Id, string JobId, string User, int Index, int Width, int Height, long Seed, bool Favourite,
    DateTimeOffset CreatedAt, string Url, string ThumbUrl, ParametersDto Parameters, string Model)
{
    public static ImageDto From(ImageRecord r) => new(r.Id, r.JobId, r.UserName, r.Index, r.Width, r.Height, r.Seed, r.Favourite,
        r.CreatedAt, ApiRoutes.Image(r.Id), ApiRoutes.Thumb(r.Id), ParametersDto.From(r.Parameters), r.Model);
}

public sealed record HistoryPageDto(IReadOnlyList<ImageDto> Items, int TotalCount, int Page, int PageSize);

public sealed record FavouriteRequest(bool? Favourite);

public static class ApiRoutes
{
    public static string Job(string id) => $"/api/v1/jobs/{Uri.EscapeDataString(id)}";
    public static string JobEvents(string id) => $"/api/v1/jobs/{Uri.EscapeDataString(id)}/events";
    public static string Image(long id) => $"/api/v1/images/{id}";
    public static string Thumb(long id) => $"/api/v1/images/{id}/thumb";
}
