using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Api.Jobs;

public static class JobEndpoints
{
    public const string IdempotencyHeader = "Idempotency-Key";
    public const int MaxIdempotencyKeyLength = 200;

    public static RouteGroupBuilder MapJobEndpoints(this RouteGroupBuilder api)
    {
        var jobs = api.MapGroup("/jobs").WithTags("Jobs");

        jobs.MapPost("/", Submit)
            .Accepts<GenerationRequest>("application/json")
            .Produces<JobDto>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary("Queue a job; answers at once with its id and place in line. An Idempotency-Key header makes a repeat return the same job.");

        jobs.MapGet("/", async Task<IResult> (HttpContext http, IJobService service) =>
            {
                var q = new ApiQuery(http.Request);
                var limit = q.Int("limit", 1, 500);
                if (q.Error is not null)
                    return q.Error;
                var mine = await service.ListMineAsync(http.Caller(), limit ?? 50, http.RequestAborted);
                return TypedResults.Ok(mine.Select(JobDto.From).ToList());
            })
            .Produces<List<JobDto>>()
            .WithMetadata(new DocumentedQuery("limit", Microsoft.OpenApi.JsonSchemaType.Integer, "How many jobs, newest first (default 50).", 1, 500))
            .WithSummary("The caller's own jobs, newest first.");

        jobs.MapGet("/queue", (HttpContext http, IJobService service) =>
                TypedResults.Ok(service.ListQueue(http.Caller())
                    .Select(e => new QueueEntryDto(e.Position, JobDto.StatusName(e.Status), e.IsMine, e.Job?.Id, e.EtaStart?.TotalSeconds, e.Prompt))
                    .ToList()))
            .WithSummary("The shared queue in predicted start order; other users' jobs without details, and their prompts only where they share their pictures with the team.");

        jobs.MapGet("/{id}", async Task<IResult> (string id, HttpContext http, IJobService service) =>
                await service.GetAsync(id, http.Caller(), http.RequestAborted) is { } job
                    ? TypedResults.Ok(JobDto.From(job))
                    : NotFound(id))
            .Produces<JobDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        jobs.MapDelete("/{id}", Cancel)
            .Produces<JobDto>()
            .Produces<JobDto>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Cancel a queued job (200) or stop a running one (202, the cancelled event follows within one step).");

        jobs.MapGet("/{id}/events", JobEventStream.StreamAsync)
            .WithMetadata(new SignedInBrowserMayCall())
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Server-sent events: queued, started, progress, preview, completed, failed, cancelled. In accounts mode a signed-in browser's own cookie is accepted here (EventSource cannot send Authorization).");

        return api;
    }

    private static async Task<IResult> Submit(HttpContext http, IJobService service, JobBody jobBody)
    {
        var key = http.Request.Headers[IdempotencyHeader].ToString();
        if (key.Length > MaxIdempotencyKeyLength)
            return ApiProblems.Invalid(IdempotencyHeader, $"{IdempotencyHeader} must be at most {MaxIdempotencyKeyLength} characters (got {key.Length}).");
        var (request, error) = await jobBody.ReadAsync(http, key.Length == 0 ? null : key);
        if (error is not null)
            return error;

        var result = await service.SubmitAsync(request!, http.Caller(), http.RequestAborted);
        if (!result.Accepted)
            return ApiProblems.Refusal(result);
        if (result.Repeated)
            http.Response.Headers["Idempotent-Replayed"] = "true";
        return TypedResults.Accepted(ApiRoutes.Job(result.Job!.Id), JobDto.From(result.Job));
    }

    private static async Task<IResult> Cancel(string id, HttpContext http, IJobService service)
    {
        var caller = http.Caller();
        var outcome = await service.CancelAsync(id, caller, http.RequestAborted);
        var job = await service.GetAsync(id, caller, http.RequestAborted);
        return outcome switch
        {
            CancelOutcome.Cancelled => job is null ? TypedResults.NoContent() : TypedResults.Ok(JobDto.From(job)),
            CancelOutcome.Stopping => job is null ? TypedResults.Accepted(ApiRoutes.Job(id)) : TypedResults.Accepted(ApiRoutes.Job(id), JobDto.From(job)),
            CancelOutcome.AlreadyFinished => ApiProblems.Status(StatusCodes.Status409Conflict,
                $"Job {id} has already finished{(job is null ? "" : $" ({JobDto.StatusName(job.Status)})")}; there is nothing to cancel."),
            // A foreign job answers like a missing one, so ids cannot be probed.
            _ => NotFound(id),
        };
    }

    internal static IResult NotFound(string id) =>
        ApiProblems.Status(StatusCodes.Status404NotFound, $"No job {id} that you can see.");
}
