using System.Text.Json.Serialization;
using ZImage.Engine.Jobs;
using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Api.Auth;
using ZImage.Web.Ui.Batches;

namespace ZImage.Web.Api.Batches;

/// <summary>
/// <c>/api/v1/batches</c>: a list of prompts becomes one batch of fair-queued jobs (see docs/batches.md). Owners and
/// admins see, cancel and download a batch; anyone else gets 404.
/// </summary>
public static class BatchEndpoints
{
    public static RouteGroupBuilder MapBatchEndpoints(this RouteGroupBuilder api)
    {
        var batches = api.MapGroup("/batches").WithTags("Batches");

        batches.MapPost("/", SubmitAsync)
            .Accepts<BatchBody>("application/json")
            .Produces<BatchDto>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary("Start a batch from a TXT (one prompt per line) or CSV (prompt, negative, seed, width, height, style) list, times styles, times pictures per prompt. Bad rows are refused by line and field.");

        batches.MapGet("/", async (HttpContext http, IBatchService service) =>
                TypedResults.Ok((await service.ListMineAsync(http.Caller(), http.RequestAborted)).Select(BatchDto.From).ToList()))
            .Produces<List<BatchDto>>()
            .WithSummary("The caller's latest 50 batches, newest first (stored: they survive a restart).");

        batches.MapGet("/{id}", async (string id, HttpContext http, IBatchService service) =>
                await service.GetAsync(id, http.Caller(), http.RequestAborted) is { } batch ? Results.Ok(BatchDto.From(batch)) : NotFound(id))
            .Produces<BatchDto>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A batch's progress: jobs submitted, succeeded, failed, cancelled, pictures made.");

        batches.MapDelete("/{id}", async Task<IResult> (string id, HttpContext http, IBatchService service) =>
                await service.CancelAsync(id, http.Caller(), http.RequestAborted) switch
                {
                    CancelOutcome.Cancelled => Results.Accepted($"/api/v1/batches/{id}", BatchDto.From((await service.GetAsync(id, http.Caller(), http.RequestAborted))!)),
                    CancelOutcome.AlreadyFinished => ApiProblems.Status(StatusCodes.Status409Conflict, $"Batch {id} has already ended."),
                    _ => NotFound(id),
                })
            .Produces<BatchDto>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Cancel the whole batch: its waiting and running job stop, nothing more is submitted.");

        batches.MapGet("/{id}/zip", async Task<IResult> (string id, HttpContext http, IBatchService service, BatchArchive archive) =>
            {
                if (await service.GetAsync(id, http.Caller(), http.RequestAborted) is not { } batch)
                    return NotFound(id);
                if (batch.Status == BatchStatus.Running)
                    return ApiProblems.Status(StatusCodes.Status409Conflict, $"Batch {id} is still running ({batch.Succeeded + batch.Failed + batch.Cancelled} of {batch.Total} jobs ended); the ZIP is made when it ends.");
                var path = await archive.GetOrBuildAsync(batch, http.RequestAborted);
                return Results.File(path, "application/zip", $"batch-{batch.Id}.zip");
            })
            .Produces(StatusCodes.Status200OK, contentType: "application/zip")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("The ended batch as a ZIP: its pictures, manifest.csv (file, line, prompt, negative, style, seed, settings) and contact-sheet.png.");
        return api;
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, IBatchService service, BatchBuilder builder)
    {
        var body = await ApiJson.ReadAsync<BatchBody>(http);
        if (body.Error is not null)
            return body.Error;
        var b = body.Value!;
        if (b.Format is not (null or "txt" or "csv"))
            return ApiProblems.Invalid("format", $"format must be txt or csv (got '{b.Format}').");
        var (items, problems) = builder.Build(new BatchOrder
        {
            Name = b.Name ?? "",
            List = b.List ?? "",
            Format = b.Format == "csv" ? BatchListFormat.Csv : BatchListFormat.Text,
            Styles = b.Styles ?? [],
            PicturesPerPrompt = b.PicturesPerPrompt ?? 1,
            Width = b.Width,
            Height = b.Height,
            Steps = b.Steps,
        });
        if (problems.Count > 0)
            return ApiProblems.Validation([.. problems.Select(p => new ValidationProblem(p.Line > 0 ? $"line {p.Line}: {p.Field}" : p.Field, p.ToString()))]);
        var result = await service.SubmitAsync(string.IsNullOrWhiteSpace(b.Name) ? (items.Count == 1 ? "1 job" : $"{items.Count} jobs") : b.Name.Trim(), items, http.Caller(), http.RequestAborted);
        if (!result.Accepted)
            return ApiProblems.Refusal(new SubmitResult(null, result.Refusal, result.Problems));
        return Results.Accepted($"/api/v1/batches/{result.Batch!.Id}", BatchDto.From(result.Batch));
    }

    private static IResult NotFound(string id) => ApiProblems.Status(StatusCodes.Status404NotFound, $"No batch {id} that you can see.");
}

/// <summary>The body of <c>POST /api/v1/batches</c>.</summary>
public sealed record BatchBody
{
    public string? Name { get; init; }
    /// <summary>The list itself: one prompt per line (txt) or a CSV with a header row.</summary>
    public string? List { get; init; }
    /// <summary>txt (default) or csv.</summary>
    public string? Format { get; init; }
    /// <summary>Style preset ids applied to every row without its own style; empty: none.</summary>
    public IReadOnlyList<string>? Styles { get; init; }
    /// <summary>1 to 4 pictures per prompt and style (one job each).</summary>
    public int? PicturesPerPrompt { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Steps { get; init; }
}

public sealed record BatchDto(string Id, string Name, string User, string Status, int Total, int Submitted, int Succeeded, int Failed,
    int Cancelled, int Pictures, double Progress, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, IReadOnlyList<string> Errors,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ZipUrl)
{
    public static BatchDto From(BatchSnapshot b) => new(b.Id, b.Name, b.UserName, b.Status.ToString().ToLowerInvariant(), b.Total, b.Submitted,
        b.Succeeded, b.Failed, b.Cancelled, b.Pictures, Math.Round(b.Fraction, 4), b.CreatedAt, b.FinishedAt, b.Errors,
        b.Status != BatchStatus.Running && b.Pictures > 0 ? $"/api/v1/batches/{b.Id}/zip" : null);
}
