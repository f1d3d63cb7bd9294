using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Api;

/// <summary>
/// Every API error is an RFC 7807 problem (application/problem+json). Field errors use the
/// <c>errors</c> map of validation problems, keyed by the field's name as the caller spelled it.
/// </summary>
public static class ApiProblems
{
    public static IResult Status(int status, string detail, string? field = null) => field is null
        ? TypedResults.Problem(detail: detail, statusCode: status, title: TitleFor(status))
        : FieldProblem(new Dictionary<string, string[]> { [field] = [detail] }, detail, status);

    public static IResult Invalid(string field, string message) => Status(StatusCodes.Status400BadRequest, message, field);

    /// <summary>
    /// Reuses <see cref="GenerationLimits"/>' messages; <paramref name="rename"/> maps the engine's field
    /// names to the caller's (cfg becomes cfg_scale for A1111 clients), and the message's leading name with it.
    /// </summary>
    public static IResult Validation(IReadOnlyList<ValidationProblem> problems, int status = StatusCodes.Status400BadRequest,
        Func<string, string>? rename = null, string? type = null)
    {
        rename ??= f => f;
        var errors = new Dictionary<string, string[]>();
        var messages = new List<string>();
        foreach (var p in problems)
        {
            var field = rename(p.Field);
            var message = field != p.Field && p.Message.StartsWith(p.Field + " ", StringComparison.Ordinal)
                ? field + p.Message[p.Field.Length..]
                : p.Message;
            errors[field] = errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];
            messages.Add(message);
        }
        return FieldProblem(errors, string.Join(" ", messages), status, type);
    }

    private static IResult FieldProblem(Dictionary<string, string[]> errors, string detail, int status, string? type = null) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors) { Status = status, Title = TitleFor(status), Detail = detail, Type = type });

    /// <summary>The problem type of a full queue (the caller's share or everyone's), described in docs/api.md.</summary>
    public const string QueueLimitType = "https://zimage.invalid/problems/queue-limit";

    /// <summary>
    /// A fixed hint rather than a prediction: a job at 1024² on a fast GPU takes a few seconds, and a client that retries
    /// sooner is only refused again. Scripts that honour Retry-After (webuiapi's users, httpx) back off by this much.
    /// </summary>
    public const int RetryAfterSeconds = 10;

    /// <summary>Adds Retry-After to a refusal that will pass once the queue moves.</summary>
    private sealed class RetryLater(IResult inner, int seconds) : IResult, IStatusCodeHttpResult, IValueHttpResult, IContentTypeHttpResult
    {
        public int? StatusCode => (inner as IStatusCodeHttpResult)?.StatusCode;
        public object? Value => (inner as IValueHttpResult)?.Value;
        public string? ContentType => (inner as IContentTypeHttpResult)?.ContentType;

        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(http);
        }
    }

    /// <summary>
    /// Per-user cap → 429, not 409: nothing about the request conflicts with the server's state, the caller
    /// simply has too many jobs waiting and may retry once some finish, which is what 429 tells clients.
    /// A job that can never fit on this GPU → 413: the request (its pixels) is too large for the server, and
    /// retrying unchanged will never help.
    /// </summary>
    public static IResult Refusal(SubmitResult result, Func<string, string>? rename = null) => result.Refusal switch
    {
        RefusalKind.Invalid => Validation(result.Problems, StatusCodes.Status400BadRequest, rename),
        RefusalKind.UserQueueFull => new RetryLater(Validation(result.Problems, StatusCodes.Status429TooManyRequests, rename, QueueLimitType), RetryAfterSeconds),
        RefusalKind.QueueFull => new RetryLater(Validation(result.Problems, StatusCodes.Status503ServiceUnavailable, rename, QueueLimitType), RetryAfterSeconds),
        RefusalKind.TooLargeForGpu => Validation(result.Problems, StatusCodes.Status413PayloadTooLarge, rename),
        RefusalKind.ShuttingDown => Validation(result.Problems, StatusCodes.Status503ServiceUnavailable, rename),
        RefusalKind.IdempotencyKeyReused => Validation(result.Problems, StatusCodes.Status422UnprocessableEntity, rename),
        _ => Validation(result.Problems, StatusCodes.Status400BadRequest, rename),
    };

    public static string TitleFor(int status) => status switch
    {
        400 => "The request has invalid fields",
        401 => "Authentication required",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict with the job's state",
        413 => "Too large",
        415 => "Unsupported media type",
        422 => "Idempotency-Key reused for another request",
        429 => "Too many queued jobs",
        503 => "Not available right now",
        504 => "Timed out",
        _ => "Request failed",
    };
}
