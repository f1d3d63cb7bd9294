using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Api.Jobs;

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
    GenerationRequest Parameters,
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
        j.Id, j.UserName, StatusName(j.Status), j.Request, j.SeedPolicy == Engine.Jobs.SeedPolicy.Random ? "random" : "fixed",
        j.Position, j.SubmittedAt, j.StartedAt, j.FinishedAt,
        j.Progress is { } p ? new ProgressDto(p.ImageIndex, p.ImageCount, p.Step, p.TotalSteps, p.Fraction) : null,
        j.EtaStart?.TotalSeconds, j.EtaFinish?.TotalSeconds,
        [.. j.ImageIds.Select(ImageLinkDto.For)], j.Error, j.Notice,
        new JobLinksDto(ApiRoutes.Job(j.Id), ApiRoutes.JobEvents(j.Id)))
    {
        GpuSeconds = j.GpuTime.TotalSeconds,
    };

    /// <summary>How long the worker held the pipeline for this job (0 until it ends); usage and cost are its sums.</summary>
    public double GpuSeconds { get; init; }

    public static string StatusName(JobStatus s) => s.ToString().ToLowerInvariant();
}

/// <summary>Prompt: present only where the caller may see it (theirs, an admin, or an owner who shares with the team).</summary>
public sealed record QueueEntryDto(int Position, string Status, bool IsMine, string? JobId, double? EtaStartSeconds, string? Prompt);

public sealed record ImageDto(long Id, string JobId, string User, int Index, int Width, int Height, long Seed, bool Favourite,
    DateTimeOffset CreatedAt, string Url, string ThumbUrl, GenerationRequest Parameters, string Model)
{
    public static ImageDto From(ImageRecord r) => new(r.Id, r.JobId, r.UserName, r.Index, r.Width, r.Height, r.Seed, r.Favourite,
        r.CreatedAt, ApiRoutes.Image(r.Id), ApiRoutes.Thumb(r.Id), r.Parameters, r.Model);
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
